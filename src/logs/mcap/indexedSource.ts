// Random access to an indexed MCAP file. @mcap/core parses the summary (schemas, channels,
// chunk indexes, statistics); we then read each chunk's message-index block once (small reads)
// to know, per channel, every message's log time and its place inside its chunk. Reading a
// message decompresses only its chunk, through a byte-budgeted LRU of decompressed chunks.
import { McapIndexedReader, type DecompressHandlers, type McapTypes } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import { ByteLru } from '../../util/lru.js';
import { FileReadable } from './fileReadable.js';
import { LogError } from '../errors.js';
import { buildChannelIndex, type MessageRef, type MessageSource, type SourceChannel } from '../messages/source.js';

const EMPTY_TIMES = new BigInt64Array();

const OP_MESSAGE = 0x05;
const OP_CHUNK = 0x06;
const OP_MESSAGE_INDEX = 0x07;

interface ChannelIndex {
  times: BigInt64Array;
  block: Uint32Array; // chunk number
  locator: Float64Array; // offset of the message record inside the uncompressed chunk
}

let decompressHandlersPromise: Promise<DecompressHandlers> | undefined;
export function decompressHandlers(): Promise<DecompressHandlers> {
  decompressHandlersPromise ??= loadDecompressHandlers();
  return decompressHandlersPromise;
}

export class McapIndexedSource implements MessageSource {
  readonly channels: SourceChannel[];
  readonly warnings: string[] = [];
  private readonly chunkCache: ByteLru<number, Uint8Array>;
  private readonly pending = new Map<number, Promise<Uint8Array>>();

  private constructor(
    readonly path: string,
    private readonly readable: FileReadable,
    readonly reader: McapIndexedReader,
    private readonly index: ReadonlyMap<number, ChannelIndex>,
    private readonly handlers: DecompressHandlers,
    chunkCacheBytes: number,
  ) {
    this.chunkCache = new ByteLru(chunkCacheBytes, (b) => b.byteLength);
    this.channels = [...reader.channelsById.values()].map((ch) => {
      const schema = reader.schemasById.get(ch.schemaId);
      return {
        id: ch.id,
        topic: ch.topic,
        schemaName: schema?.name ?? '',
        schemaEncoding: schema?.encoding ?? '',
        schemaData: schema?.data ?? new Uint8Array(),
        messageEncoding: ch.messageEncoding,
      };
    });
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

  times(channelId: number): BigInt64Array {
    return this.index.get(channelId)?.times ?? EMPTY_TIMES;
  }

  refAt(channelId: number, i: number): MessageRef {
    const index = this.index.get(channelId)!;
    return { channelId, logTime: index.times[i]!, block: index.block[i]!, locator: index.locator[i]! };
  }

  async readMessage(ref: MessageRef): Promise<Uint8Array> {
    const records = await this.chunkRecords(ref.block);
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const at = ref.locator;
    if (at + 9 > records.byteLength || view.getUint8(at) !== OP_MESSAGE) {
      throw new LogError(`${this.path}: message index points at a non-message record`, {
        path: this.path,
        offset: Number(this.reader.chunkIndexes[ref.block]!.chunkStartOffset),
      });
    }
    const length = Number(view.getBigUint64(at + 1, true));
    const body = at + 9;
    if (body + length > records.byteLength || length < 22) {
      throw new LogError(`${this.path}: message record overruns its chunk`, { path: this.path });
    }
    return records.subarray(body + 22, body + length);
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
  const perChannel = new Map<number, { times: bigint[]; block: number[]; locator: number[] }>();
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
          entry = { times: [], block: [], locator: [] };
          perChannel.set(channelId, entry);
        }
        for (let q = body + 6; q + 16 <= body + 6 + recordsLength; q += 16) {
          entry.times.push(view.getBigUint64(q, true));
          entry.block.push(c);
          entry.locator.push(Number(view.getBigUint64(q + 8, true)));
        }
      }
      p = body + len;
    }
  }
  const out = new Map<number, ChannelIndex>();
  for (const [channelId, e] of perChannel) out.set(channelId, buildChannelIndex(e));
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
