// Reading, decompressing and caching MCAP chunks. The declared uncompressed size is checked
// against what the compressed frames say before any buffer is allocated: the wasm decoders
// allocate whatever size they are given, so a corrupt size field must never reach them.
import type { DecompressHandlers } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import zstd from '@foxglove/wasm-zstd';
import { loadLz4 } from '../compression/lz4.js';
import { ByteLru } from '../../util/lru.js';
import { LogError } from '../errors.js';
import type { FileReadable } from './fileReadable.js';
import { Op, RecordError, crc32, parseChunkHead, recordAt, type ChunkHead } from './records.js';

/** No real chunk comes near this; anything larger is a corrupt size field. */
export const MAX_CHUNK_BYTES = 1 << 30;

let decompressHandlersPromise: Promise<DecompressHandlers> | undefined;
/**
 * @mcap/support's handlers, with zstd and lz4 called directly: the support wrappers copy every
 * decompressed chunk once more (new Uint8Array(buffer)), a third of the scan time on large files.
 */
export function decompressHandlers(): Promise<DecompressHandlers> {
  decompressHandlersPromise ??= (async () => {
    const [support, lz4] = await Promise.all([loadDecompressHandlers(), loadLz4(), zstd.isLoaded]);
    return {
      ...support,
      zstd: (data: Uint8Array, size: bigint) => zstd.decompress(data, Number(size)),
      lz4: (data: Uint8Array, size: bigint) => lz4(data, Number(size)),
    };
  })();
  return decompressHandlersPromise;
}

/** A chunk compressed with something Sightline cannot decompress: the file is fine, the reader is not. */
export class UnsupportedCompressionError extends LogError {}

export function isSupportedCompression(compression: string, handlers: DecompressHandlers): boolean {
  return compression === '' || Object.hasOwn(handlers, compression);
}

export function unsupportedCompression(path: string, compression: string, offset: number, handlers: DecompressHandlers): UnsupportedCompressionError {
  const known = ['none', ...Object.keys(handlers)].join(', ');
  return new UnsupportedCompressionError(
    `${path}: the chunk at byte ${offset} uses compression '${compression}', which Sightline cannot read (supported: ${known})`,
    { path, offset },
  );
}

/** Any error as a LogError naming the file (and the offset, where the caller knows it). */
export function asLogError(error: unknown, path: string, offset?: number): LogError {
  if (error instanceof LogError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new LogError(`${path}: ${why}${offset === undefined ? '' : ` (at byte ${offset})`}`, { path, offset });
}

/**
 * Decompresses a parsed chunk and verifies its CRC. `offset` is the chunk record's file offset,
 * named in every error.
 */
export function decodeChunk(head: ChunkHead, handlers: DecompressHandlers, path: string, offset: number): Uint8Array {
  const fail = (why: string): never => {
    throw new LogError(`${path}: chunk at byte ${offset} is corrupt: ${why}`, { path, offset });
  };
  const { compression, records: compressed, uncompressedSize } = head;
  if (!isSupportedCompression(compression, handlers)) throw unsupportedCompression(path, compression, offset, handlers);
  if (uncompressedSize > BigInt(MAX_CHUNK_BYTES)) fail(`declared uncompressed size ${uncompressedSize} is implausible`);
  const size = Number(uncompressedSize);
  let records: Uint8Array;
  if (compression === '') {
    if (size !== compressed.byteLength) fail(`uncompressed size ${size} differs from its ${compressed.byteLength} record bytes`);
    records = compressed;
  } else {
    const framed = compression === 'zstd' ? zstdContentSize(compressed) : compression === 'lz4' ? lz4ContentSize(compressed) : undefined;
    if (typeof framed === 'string') fail(`${compression} data is malformed (${framed})`);
    if (typeof framed === 'bigint' && framed !== uncompressedSize) {
      fail(`declared uncompressed size ${size} differs from the ${framed} bytes its ${compression} frames hold`);
    }
    const ratio = compression === 'lz4' ? 256 : compression === 'zstd' ? 32_768 : Infinity;
    if (framed === undefined && size > compressed.byteLength * ratio + (1 << 20)) {
      fail(`declared uncompressed size ${size} is impossible for ${compressed.byteLength} bytes of ${compression}`);
    }
    try {
      records = handlers[compression]!(compressed, uncompressedSize);
    } catch (error) {
      return fail(`${compression} decompression failed (${(error as Error).message})`);
    }
    if (records.byteLength !== size) fail(`decompressed to ${records.byteLength} bytes, expected ${size}`);
  }
  if (head.uncompressedCrc !== 0) {
    const actual = crc32(records);
    if (actual !== head.uncompressedCrc) fail(`CRC mismatch (stored ${head.uncompressedCrc}, computed ${actual})`);
  }
  return records;
}

/** Parses a whole chunk record (opcode and length prefix included) read from `offset`. */
export function parseChunkRecord(raw: Uint8Array, path: string, offset: number): ChunkHead {
  try {
    const { op, body, next } = recordAt(raw, 0, raw.byteLength);
    if (op !== Op.chunk) throw new RecordError(`expected a Chunk record, found opcode 0x${op.toString(16)}`, 0);
    return parseChunkHead(raw, body, next);
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    throw new LogError(`${path}: chunk at byte ${offset} is corrupt: ${error.message}`, { path, offset });
  }
}

export async function readChunk(
  readable: FileReadable,
  offset: number,
  length: number,
  handlers: DecompressHandlers,
  path: string,
): Promise<Uint8Array> {
  const raw = await readable.read(BigInt(offset), BigInt(length));
  return decodeChunk(parseChunkRecord(raw, path, offset), handlers, path, offset);
}

/** Byte-budgeted LRU of decompressed chunks; concurrent requests for one chunk share one load. */
export class DecompressedChunks {
  private readonly cache: ByteLru<number, Uint8Array>;
  private readonly pending = new Map<number, Promise<Uint8Array>>();

  constructor(budgetBytes: number) {
    this.cache = new ByteLru(budgetBytes, (b) => b.byteLength);
  }

  get(chunk: number, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = this.cache.get(chunk);
    if (cached) return Promise.resolve(cached);
    let inflight = this.pending.get(chunk);
    if (!inflight) {
      inflight = load()
        .then((records) => {
          this.cache.set(chunk, records);
          return records;
        })
        .finally(() => this.pending.delete(chunk));
      this.pending.set(chunk, inflight);
    }
    return inflight;
  }

  clear(): void {
    this.cache.clear();
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const LZ4_MAGIC = 0x184d2204;
const isSkippableFrame = (magic: number): boolean => (magic & 0xfffffff0) >>> 0 === 0x184d2a50;

/**
 * Total content size declared by a sequence of zstd frames, undefined when some frame does not
 * declare it, or a reason string when the frame structure is broken.
 */
export function zstdContentSize(data: Uint8Array): bigint | undefined | string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.byteLength;
  let pos = 0;
  let total = 0n;
  let known = true;
  if (n === 0) return 'no frame';
  while (pos < n) {
    if (pos + 4 > n) return `frame header cut off at ${pos}`;
    const magic = view.getUint32(pos, true);
    if (isSkippableFrame(magic)) {
      if (pos + 8 > n) return `skippable frame cut off at ${pos}`;
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) return `no zstd frame at ${pos}`;
    pos += 4;
    if (pos >= n) return 'frame header cut off';
    const descriptor = data[pos++]!;
    if (descriptor & 0x08) return 'reserved frame header bit set';
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const hasChecksum = (descriptor >> 2) & 1;
    if (!singleSegment) pos += 1; // window descriptor
    pos += [0, 1, 2, 4][descriptor & 3]!; // dictionary id
    const fcsBytes = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag]!;
    if (pos + fcsBytes > n) return 'frame header cut off';
    if (fcsBytes === 0) known = false;
    else if (fcsBytes === 1) total += BigInt(data[pos]!);
    else if (fcsBytes === 2) total += BigInt(view.getUint16(pos, true) + 256);
    else if (fcsBytes === 4) total += BigInt(view.getUint32(pos, true));
    else total += view.getBigUint64(pos, true);
    pos += fcsBytes;
    for (;;) {
      if (pos + 3 > n) return `block header cut off at ${pos}`;
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += 3;
      const type = (header >> 1) & 3;
      if (type === 3) return `reserved block type at ${pos - 3}`;
      pos += type === 1 ? 1 : header >>> 3;
      if (header & 1) break;
    }
    if (hasChecksum) pos += 4;
    if (pos > n) return 'frame runs past the end of the data';
  }
  return known ? total : undefined;
}

/** Like zstdContentSize, for LZ4 frames. */
export function lz4ContentSize(data: Uint8Array): bigint | undefined | string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.byteLength;
  let pos = 0;
  let total = 0n;
  let known = true;
  if (n === 0) return 'no frame';
  while (pos < n) {
    if (pos + 4 > n) return `frame header cut off at ${pos}`;
    const magic = view.getUint32(pos, true);
    if (isSkippableFrame(magic)) {
      if (pos + 8 > n) return `skippable frame cut off at ${pos}`;
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== LZ4_MAGIC) return `no lz4 frame at ${pos}`;
    if (pos + 7 > n) return 'frame header cut off';
    const flags = data[pos + 4]!;
    if (flags >> 6 !== 1) return 'unknown lz4 frame version';
    pos += 6;
    if (flags & 0x08) {
      if (pos + 8 > n) return 'frame header cut off';
      total += view.getBigUint64(pos, true);
      pos += 8;
    } else {
      known = false;
    }
    if (flags & 0x01) pos += 4; // dictionary id
    pos += 1; // header checksum
    for (;;) {
      if (pos + 4 > n) return `block header cut off at ${pos}`;
      const size = view.getUint32(pos, true);
      pos += 4;
      if (size === 0) break; // end mark
      pos += (size & 0x7fffffff) + (flags & 0x10 ? 4 : 0);
    }
    if (flags & 0x04) pos += 4; // content checksum
    if (pos > n) return 'frame runs past the end of the data';
  }
  return known ? total : undefined;
}
