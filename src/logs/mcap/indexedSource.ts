// Random access to an indexed MCAP file. @mcap/core parses the summary (schemas, channels,
// chunk indexes, statistics); we then read each chunk's message-index block once (small reads)
// to know, per channel, every message's log time and its place inside its chunk. Reading a
// message decompresses only its chunk, through a byte-budgeted LRU of decompressed chunks.
import { McapIndexedReader, type DecompressHandlers, type McapTypes } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import { ByteLru } from '../../util/lru.js';
import { FileReadable } from './fileReadable.js';
import { LogError } from '../errors.js';

const OP_MESSAGE = 0x05;
const OP_CHUNK = 0x06;
const OP_MESSAGE_INDEX = 0x07;

/** Per-channel message index as parallel typed arrays (sorted by log time). */
export interface ChannelIndex {
  channelId: number;
  logTimes: BigInt64Array;
  chunk: Uint32Array;
  offset: Float64Array; // offset of the message record inside the uncompressed chunk
}

export interface McapMessageRef {
  channelId: number;
  logTime: bigint;
  chunk: number;
  offset: number;
}

export interface DecodedRecordMessage {
  channelId: number;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
}

let decompressHandlersPromise: Promise<DecompressHandlers> | undefined;
function decompressHandlers(): Promise<DecompressHandlers> {
  decompressHandlersPromise ??= loadDecompressHandlers();
  return decompressHandlersPromise;
}

export class McapIndexedSource {
  private readonly chunkCache: ByteLru<number, Uint8Array>;
  private readonly pending = new Map<number, Promise<Uint8Array>>();

  private constructor(
    readonly path: string,
    private readonly readable: FileReadable,
    readonly reader: McapIndexedReader,
    readonly channels: ReadonlyMap<number, ChannelIndex>,
    private readonly handlers: DecompressHandlers,
    chunkCacheBytes: number,
  ) {
    this.chunkCache = new ByteLru(chunkCacheBytes, (b) => b.byteLength);
  }

  static async open(path: string, options: { chunkCacheBytes?: number } = {}): Promise<McapIndexedSource> {
    const readable = await FileReadable.open(path);
    try {
      const handlers = await decompressHandlers();
      let reader: McapIndexedReader;
      try {
        reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: handlers });
      } catch (error) {
        throw new LogError(
          `${path} has no readable MCAP summary (${(error as Error).message}); the file may be truncated or unindexed`,
          { path, offset: Number(readable.knownSize) },
        );
      }
      if (reader.chunkIndexes.length === 0 && (reader.statistics?.messageCount ?? 0n) > 0n) {
        throw new LogError(`${path} has messages but no chunk index; unindexed MCAP is not supported yet`, { path });
      }
      const channels = await readChannelIndexes(readable, reader, path);
      return new McapIndexedSource(path, readable, reader, channels, handlers, options.chunkCacheBytes ?? 256 << 20);
    } catch (error) {
      await readable.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.chunkCache.clear();
    await this.readable.close();
  }

  get sizeBytes(): number {
    return Number(this.readable.knownSize);
  }

  /** Index position of the message nearest to `timeNs` on a channel, within `toleranceNs`. */
  nearest(channelId: number, timeNs: bigint, toleranceNs: bigint): McapMessageRef | undefined {
    const index = this.channels.get(channelId);
    if (!index || index.logTimes.length === 0) return undefined;
    const times = index.logTimes;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < timeNs) lo = mid + 1;
      else hi = mid;
    }
    let best = -1;
    let bestGap = 0n;
    for (const i of [lo - 1, lo]) {
      if (i < 0 || i >= times.length) continue;
      const gap = times[i]! > timeNs ? times[i]! - timeNs : timeNs - times[i]!;
      if (best < 0 || gap < bestGap) {
        best = i;
        bestGap = gap;
      }
    }
    if (best < 0 || bestGap > toleranceNs) return undefined;
    return this.refAt(index, best);
  }

  /** Messages on a channel with log time in [startNs, endNs]. */
  range(channelId: number, startNs: bigint, endNs: bigint): McapMessageRef[] {
    const index = this.channels.get(channelId);
    if (!index) return [];
    const out: McapMessageRef[] = [];
    for (let i = 0; i < index.logTimes.length; i++) {
      const t = index.logTimes[i]!;
      if (t >= startNs && t <= endNs) out.push(this.refAt(index, i));
    }
    return out;
  }

  refAt(index: ChannelIndex, i: number): McapMessageRef {
    return { channelId: index.channelId, logTime: index.logTimes[i]!, chunk: index.chunk[i]!, offset: index.offset[i]! };
  }

  async readMessage(ref: McapMessageRef): Promise<DecodedRecordMessage> {
    const records = await this.chunkRecords(ref.chunk);
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const at = ref.offset;
    if (at + 9 > records.byteLength || view.getUint8(at) !== OP_MESSAGE) {
      throw new LogError(`${this.path}: message index points at a non-message record`, {
        path: this.path,
        offset: Number(this.reader.chunkIndexes[ref.chunk]!.chunkStartOffset),
      });
    }
    const length = Number(view.getBigUint64(at + 1, true));
    const body = at + 9;
    if (body + length > records.byteLength || length < 22) {
      throw new LogError(`${this.path}: message record overruns its chunk`, { path: this.path });
    }
    return {
      channelId: view.getUint16(body, true),
      logTime: view.getBigUint64(body + 6, true),
      publishTime: view.getBigUint64(body + 14, true),
      data: records.subarray(body + 22, body + length),
    };
  }

  private chunkRecords(chunkNumber: number): Promise<Uint8Array> {
    const cached = this.chunkCache.get(chunkNumber);
    if (cached) return Promise.resolve(cached);
    let inflight = this.pending.get(chunkNumber);
    if (!inflight) {
      inflight = this.loadChunk(chunkNumber).finally(() => this.pending.delete(chunkNumber));
      this.pending.set(chunkNumber, inflight);
    }
    return inflight;
  }

  private async loadChunk(chunkNumber: number): Promise<Uint8Array> {
    const index = this.reader.chunkIndexes[chunkNumber]!;
    const raw = await this.readable.read(index.chunkStartOffset, index.chunkLength);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const fail = (why: string): never => {
      throw new LogError(`${this.path}: corrupt chunk at byte ${index.chunkStartOffset}: ${why}`, {
        path: this.path,
        offset: Number(index.chunkStartOffset),
      });
    };
    if (raw.byteLength < 9 + 32 || view.getUint8(0) !== OP_CHUNK) fail('not a chunk record');
    let p = 9;
    p += 16; // message start/end time
    const uncompressedSize = view.getBigUint64(p, true);
    p += 8;
    const uncompressedCrc = view.getUint32(p, true);
    p += 4;
    const compressionLength = view.getUint32(p, true);
    p += 4;
    const compression = new TextDecoder().decode(raw.subarray(p, p + compressionLength));
    p += compressionLength;
    const recordsLength = Number(view.getBigUint64(p, true));
    p += 8;
    if (p + recordsLength > raw.byteLength) fail('records overrun the chunk');
    const compressed = raw.subarray(p, p + recordsLength);
    let records: Uint8Array;
    if (compression === '') {
      records = compressed;
    } else {
      const decompress = this.handlers[compression];
      if (!decompress) fail(`unsupported compression '${compression}'`);
      try {
        records = decompress!(compressed, uncompressedSize);
      } catch (error) {
        return fail(`decompression failed (${(error as Error).message})`);
      }
    }
    if (uncompressedCrc !== 0 && crc32(records) !== uncompressedCrc) fail('CRC mismatch');
    this.chunkCache.set(chunkNumber, records);
    return records;
  }
}

async function readChannelIndexes(
  readable: FileReadable,
  reader: McapIndexedReader,
  path: string,
): Promise<Map<number, ChannelIndex>> {
  const perChannel = new Map<number, { times: bigint[]; chunk: number[]; offset: number[] }>();
  const chunks = reader.chunkIndexes;
  for (let c = 0; c < chunks.length; c++) {
    const ci: McapTypes.ChunkIndex = chunks[c]!;
    if (ci.messageIndexLength === 0n) continue;
    const start = ci.chunkStartOffset + ci.chunkLength;
    const block = await readable.read(start, ci.messageIndexLength);
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    let p = 0;
    while (p + 9 <= block.byteLength) {
      const op = view.getUint8(p);
      const len = Number(view.getBigUint64(p + 1, true));
      const body = p + 9;
      if (body + len > block.byteLength) {
        throw new LogError(`${path}: truncated message index at byte ${start + BigInt(p)}`, {
          path,
          offset: Number(start) + p,
        });
      }
      if (op === OP_MESSAGE_INDEX) {
        const channelId = view.getUint16(body, true);
        const recordsLength = view.getUint32(body + 2, true);
        let entry = perChannel.get(channelId);
        if (!entry) {
          entry = { times: [], chunk: [], offset: [] };
          perChannel.set(channelId, entry);
        }
        for (let q = body + 6; q + 16 <= body + 6 + recordsLength; q += 16) {
          entry.times.push(view.getBigUint64(q, true));
          entry.chunk.push(c);
          entry.offset.push(Number(view.getBigUint64(q + 8, true)));
        }
      }
      p = body + len;
    }
  }
  const out = new Map<number, ChannelIndex>();
  for (const [channelId, e] of perChannel) {
    const order = e.times.map((_, i) => i).sort((a, b) => (e.times[a]! < e.times[b]! ? -1 : e.times[a]! > e.times[b]! ? 1 : 0));
    out.set(channelId, {
      channelId,
      logTimes: BigInt64Array.from(order, (i) => e.times[i]!),
      chunk: Uint32Array.from(order, (i) => e.chunk[i]!),
      offset: Float64Array.from(order, (i) => e.offset[i]!),
    });
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
