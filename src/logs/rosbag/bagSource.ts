// Random access to a ROS 1 bag (format 2.0). Opening reads the bag header and the index at the end
// of the file (through @foxglove/rosbag), then the IndexData records after each chunk: per
// connection, every message's time and place, without decompressing anything. A bag without a
// usable index (not closed, cut short) is scanned once instead, keeping everything before the
// damage. Reading a message decompresses only its chunk, through a byte-budgeted LRU of
// decompressed chunks; concurrent reads of one chunk share one load.
import { Bag } from '@foxglove/rosbag';
import { ByteLru } from '../../util/lru.js';
import { LogError } from '../errors.js';
import { buildChannelIndex, type MessageRef, type MessageSource, type SourceChannel } from '../messages/source.js';
import { BagFile } from './bagFile.js';
import { decompressChunk } from './decompress.js';
import { messageCount, type BagLayout, type ChunkLocation, type ProgressCallback } from './layout.js';
import { readIndexedLayout, type BagHeaderInfo } from './readIndex.js';
import { BAG_MAGIC, BAG_MAGIC_LENGTH, checkBagHeader, messageHead, opName, parseRecordHead, RecordError } from './records.js';
import { scanLayout } from './scan.js';

const EMPTY_TIMES = new BigInt64Array();
const latin1 = new TextDecoder('latin1');

export interface RosbagOpenOptions {
  /** Budget for decompressed chunks kept in memory (default 256 MiB). */
  chunkCacheBytes?: number;
  /** Bytes of the file indexed so far. */
  onProgress?: ProgressCallback;
}

interface ChannelIndex {
  times: BigInt64Array;
  block: Uint32Array; // chunk number
  locator: Float64Array; // offset of the MessageData record inside the uncompressed chunk
}

export class RosbagSource implements MessageSource {
  readonly channels: SourceChannel[];
  readonly warnings: string[];
  private readonly index = new Map<number, ChannelIndex>();
  private readonly chunks: ChunkLocation[];
  private readonly chunkCache: ByteLru<number, Uint8Array>;
  private readonly pending = new Map<number, Promise<Uint8Array>>();

  private constructor(
    readonly path: string,
    private readonly file: BagFile,
    layout: BagLayout,
    chunkCacheBytes: number,
  ) {
    this.chunkCache = new ByteLru(chunkCacheBytes, (b) => b.byteLength);
    this.chunks = layout.chunks;
    this.warnings = layout.warnings;
    this.channels = [...layout.connections.values()]
      .sort((a, b) => a.conn - b.conn)
      .map((c) => ({
        id: c.conn,
        topic: c.topic,
        schemaName: c.type,
        schemaEncoding: 'ros1msg',
        schemaData: c.messageDefinition,
        messageEncoding: 'ros1',
      }));
    for (const [conn, entries] of layout.entries) this.index.set(conn, buildChannelIndex(entries));
  }

  static async open(path: string, options: RosbagOpenOptions = {}): Promise<RosbagSource> {
    let file: BagFile;
    try {
      file = await BagFile.open(path);
    } catch (error) {
      throw new LogError(`${path}: cannot open the bag (${(error as Error).message})`, { path });
    }
    try {
      const layout = await readLayout(file, path, options.onProgress);
      return new RosbagSource(path, file, layout, options.chunkCacheBytes ?? 256 << 20);
    } catch (error) {
      await file.close();
      if (error instanceof LogError) throw error;
      throw new LogError(`${path}: cannot read the bag (${(error as Error).message})`, { path });
    }
  }

  async close(): Promise<void> {
    this.chunkCache.clear();
    await this.file.close();
  }

  get sizeBytes(): number {
    return this.file.size();
  }

  times(channelId: number): BigInt64Array {
    return this.index.get(channelId)?.times ?? EMPTY_TIMES;
  }

  refAt(channelId: number, i: number): MessageRef {
    const index = this.index.get(channelId);
    if (!index || !Number.isInteger(i) || i < 0 || i >= index.times.length) {
      throw new LogError(`${this.path}: connection ${channelId} has no message ${i}`, { path: this.path });
    }
    return { channelId, logTime: index.times[i]!, block: index.block[i]!, locator: index.locator[i]! };
  }

  async readMessage(ref: MessageRef): Promise<Uint8Array> {
    const chunk = this.chunks[ref.block];
    if (!chunk || !Number.isSafeInteger(ref.locator) || ref.locator < 0) {
      throw new LogError(`${this.path}: no message at chunk ${ref.block}, offset ${ref.locator}`, { path: this.path });
    }
    const records = await this.chunkRecords(ref.block);
    const fail = (why: string): never => {
      throw new LogError(`${this.path}: message of connection ${ref.channelId} in the chunk at byte ${chunk.offset}: ${why}`, {
        path: this.path,
        offset: chunk.offset,
      });
    };
    let head;
    try {
      head = parseRecordHead(records, ref.locator);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      return fail(`unreadable record at offset ${ref.locator} (${error.message})`);
    }
    if (!head || head.length > records.byteLength - ref.locator) return fail(`its record at offset ${ref.locator} runs past the chunk`);
    let message: { conn: number; logTime: bigint };
    try {
      message = messageHead(head);
    } catch (error) {
      return fail(`the index points at a ${opName(head.op)} record (${(error as Error).message})`);
    }
    if (message.conn !== ref.channelId || message.logTime !== ref.logTime) {
      fail(`the index says connection ${ref.channelId} at ${ref.logTime} ns, the record says connection ${message.conn} at ${message.logTime} ns`);
    }
    return records.subarray(ref.locator + head.dataStart, ref.locator + head.length);
  }

  private chunkRecords(block: number): Promise<Uint8Array> {
    const cached = this.chunkCache.get(block);
    if (cached) return Promise.resolve(cached);
    let inflight = this.pending.get(block);
    if (!inflight) {
      inflight = this.loadChunk(block).finally(() => this.pending.delete(block));
      this.pending.set(block, inflight);
    }
    return inflight;
  }

  private async loadChunk(block: number): Promise<Uint8Array> {
    const chunk = this.chunks[block]!;
    let records: Uint8Array;
    try {
      const data = await this.file.read(chunk.dataOffset, chunk.dataLength);
      records = await decompressChunk(chunk.compression, data, chunk.uncompressedSize);
    } catch (error) {
      throw new LogError(`${this.path}: the chunk at byte ${chunk.offset} cannot be read (${(error as Error).message})`, {
        path: this.path,
        offset: chunk.offset,
      });
    }
    this.chunkCache.set(block, records);
    return records;
  }
}

async function readLayout(file: BagFile, path: string, onProgress?: ProgressCallback): Promise<BagLayout> {
  const size = file.size();
  if (size < BAG_MAGIC_LENGTH) {
    throw new LogError(`${path} is not a ROS bag: ${size === 0 ? 'the file is empty' : `only ${size} bytes`}`, { path, offset: 0 });
  }
  const magic = latin1.decode(await file.readSmall(0, BAG_MAGIC_LENGTH));
  if (magic !== BAG_MAGIC) {
    const what = magic.startsWith('#ROSBAG V') ? `a ROS bag of version ${magic.slice(9).trim()} (only 2.0 is supported)` : 'not a ROS bag';
    throw new LogError(`${path} is ${what}`, { path, offset: 0 });
  }

  const bag = new Bag(file, { parse: false });
  const header = await readBagHeader(file, bag, path);
  const indexed = await readIndexedLayout(file, bag, header, onProgress);
  if (typeof indexed !== 'string') {
    onProgress?.(size, size);
    return indexed;
  }

  // No usable index: scan the records after the bag header.
  const { layout, goodEnd, stop } = await scanLayout(file, header.end, onProgress);
  const count = messageCount(layout);
  const extent =
    goodEnd >= size
      ? `scanned the whole file (${size} bytes)`
      : `the data is good up to byte ${goodEnd} of ${size} (${stop ?? 'then it stops'})`;
  if (count === 0 && goodEnd < size) {
    throw new LogError(`${path}: ${indexed}, and no message could be recovered: ${extent}`, { path, offset: goodEnd });
  }
  layout.warnings.unshift(`${indexed}; indexed by scanning instead: ${extent}; ${count} messages in ${layout.chunks.length} chunks recovered`);
  onProgress?.(size, size);
  return layout;
}

async function readBagHeader(file: BagFile, bag: Bag, path: string): Promise<BagHeaderInfo> {
  let header;
  try {
    header = await bag.reader.readHeader();
  } catch (error) {
    // The library's messages can be bare TypeErrors: name the real cause where we can find it.
    let why = (error as Error).message;
    try {
      const rec = await file.recordAt(BAG_MAGIC_LENGTH);
      if (rec.kind === 'truncated') why = `it is cut off: ${rec.why}`;
      else checkBagHeader(rec.head);
    } catch (problem) {
      if (problem instanceof RecordError) why = problem.message;
    }
    throw new LogError(`${path}: the bag header at byte ${BAG_MAGIC_LENGTH} is unreadable (${why})`, { path, offset: BAG_MAGIC_LENGTH });
  }
  const end = header.end ?? 0;
  if (end > file.size() || end <= BAG_MAGIC_LENGTH) {
    throw new LogError(`${path}: the bag header at byte ${BAG_MAGIC_LENGTH} runs past the end of the file (${file.size()} bytes)`, {
      path,
      offset: BAG_MAGIC_LENGTH,
    });
  }
  return { indexPosition: header.indexPosition, connectionCount: header.connectionCount, chunkCount: header.chunkCount, end };
}
