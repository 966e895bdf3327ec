// MessageSource for MCAP files without a usable index (unindexed, summary-less, truncated):
// one streaming pass over the file in fixed-size blocks builds the per-channel index. Chunks are
// decompressed and CRC-checked once during the pass; their messages are indexed by
// (chunk ordinal, offset in the decompressed records), messages outside chunks by file offset.
// A truncated or corrupt record ends the pass with a warning; everything before it stays usable.
import type { DecompressHandlers } from '@mcap/core';
import { LogError } from '../errors.js';
import type { MessageRef, MessageSource, SourceChannel } from '../messages/source.js';
import {
  DecompressedChunks,
  asLogError,
  decodeChunk,
  decompressHandlers,
  isSupportedCompression,
  readChunk,
  unsupportedCompression,
} from './chunks.js';
import { FileReadable } from './fileReadable.js';
import {
  ChannelIndexBuilder,
  Definitions,
  FILE_BLOCK,
  payloadAt,
  refOf,
  scanChunkRecords,
  timesOf,
  type ChannelIndex,
} from './indexing.js';
import {
  MCAP_MAGIC,
  MESSAGE_PREFIX,
  Op,
  RECORD_PREFIX,
  RecordError,
  opName,
  parseChannel,
  parseChunkHead,
  parseSchema,
} from './records.js';

export interface ScanOptions {
  /** Called as the scan advances (about every MiB), and with (total, total) when it is done. */
  onProgress?(doneBytes: number, totalBytes: number): void;
  chunkCacheBytes?: number;
}

/** Scan window: holds typical (≤ 4 MiB) chunk records whole, with room to spare. */
const WINDOW_BYTES = 16 << 20;
const AHEAD_BYTES = 8 << 20;
const PROGRESS_STEP = 1 << 20;
/** First read for a message outside chunks: its header and, usually, all of it. */
const FILE_MESSAGE_GUESS = 16 << 10;

interface ChunkLocation {
  offset: number;
  length: number;
}

export class McapScannedSource implements MessageSource {
  readonly indexed = false;
  private readonly chunkCache: DecompressedChunks;

  private constructor(
    readonly path: string,
    private readonly readable: FileReadable,
    private readonly handlers: DecompressHandlers,
    readonly channels: readonly SourceChannel[],
    private readonly index: ReadonlyMap<number, ChannelIndex>,
    private readonly chunks: readonly ChunkLocation[],
    readonly warnings: string[],
    /** Byte offset where the scan stopped early (truncation or corruption); undefined when it read to the footer. */
    readonly stoppedAt: number | undefined,
    readonly messageCount: number,
    readonly scanMs: number,
    chunkCacheBytes: number,
  ) {
    this.chunkCache = new DecompressedChunks(chunkCacheBytes);
  }

  static async open(path: string, options: ScanOptions = {}): Promise<McapScannedSource> {
    const readable = await FileReadable.open(path);
    try {
      const started = performance.now();
      const handlers = await decompressHandlers();
      const scan = new Scan(path, readable, handlers, options.onProgress);
      try {
        await scan.run();
      } finally {
        await scan.settle();
      }
      options.onProgress?.(Number(readable.knownSize), Number(readable.knownSize));
      const { channels, index, messageCount } = scan.finish();
      return new McapScannedSource(
        path,
        readable,
        handlers,
        channels,
        index,
        scan.chunks,
        scan.warnings,
        scan.stoppedAt,
        messageCount,
        performance.now() - started,
        options.chunkCacheBytes ?? 256 << 20,
      );
    } catch (error) {
      await readable.close();
      throw asLogError(error, path);
    }
  }

  get sizeBytes(): number {
    return Number(this.readable.knownSize);
  }

  times(channelId: number): BigInt64Array {
    return timesOf(this.index, channelId);
  }

  refAt(channelId: number, i: number): MessageRef {
    return refOf(this.index, channelId, i, this.path);
  }

  async readMessage(ref: MessageRef): Promise<Uint8Array> {
    try {
      if (ref.block === FILE_BLOCK) return await this.readFileMessage(ref);
      const chunk = this.chunks[ref.block];
      if (!chunk) throw new LogError(`${this.path}: no chunk #${ref.block}`, { path: this.path });
      const records = await this.chunkCache.get(ref.block, () =>
        readChunk(this.readable, chunk.offset, chunk.length, this.handlers, this.path),
      );
      const payload = payloadAt(records, ref.locator, ref);
      if (typeof payload === 'string') {
        throw new LogError(`${this.path}: chunk at byte ${chunk.offset} changed since it was scanned: ${payload}`, {
          path: this.path,
          offset: chunk.offset,
        });
      }
      return payload;
    } catch (error) {
      throw asLogError(error, this.path);
    }
  }

  async close(): Promise<void> {
    this.chunkCache.clear();
    await this.readable.close();
  }

  private async readFileMessage(ref: MessageRef): Promise<Uint8Array> {
    const at = ref.locator;
    const size = Number(this.readable.knownSize);
    const fail = (why: string): never => {
      throw new LogError(`${this.path}: message at byte ${at} ${why}`, { path: this.path, offset: at });
    };
    if (!Number.isInteger(at) || at < 0 || at + RECORD_PREFIX + MESSAGE_PREFIX > size) fail('is out of the file');
    // One read covers most messages whole; a larger one takes a second read for the rest.
    let record = await this.readable.read(BigInt(at), BigInt(Math.min(size - at, FILE_MESSAGE_GUESS)));
    const length = new DataView(record.buffer, record.byteOffset, record.byteLength).getBigUint64(1, true);
    if (length > BigInt(size - at - RECORD_PREFIX)) fail('runs past the end of the file');
    const total = RECORD_PREFIX + Number(length);
    if (total > record.byteLength) record = await this.readable.read(BigInt(at), BigInt(total));
    const payload = payloadAt(record.subarray(0, total), 0, ref);
    if (typeof payload === 'string') fail(`changed since it was scanned: ${payload}`);
    // A small message should not pin the whole read-ahead buffer.
    return total < record.byteLength ? new Uint8Array(payload as Uint8Array) : (payload as Uint8Array);
  }
}

/**
 * A forward-only window over the file in one reusable buffer. Moving the window keeps the unparsed
 * tail (moved to the front) and refills the rest; the next block is read ahead into a second buffer
 * while the current one is parsed, so disk reads overlap parsing. Steady state allocates nothing;
 * a record larger than the window gets a larger buffer until the window is back to normal.
 */
class BlockCursor {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));
  /** File offset of bytes[0]. */
  start = 0;
  private buffer: Uint8Array = new Uint8Array(0);
  private aheadBuffer: Uint8Array | undefined;
  private ahead: { at: number; length: number; done: Promise<void> } | undefined;

  constructor(
    private readonly readable: FileReadable,
    private readonly size: number,
  ) {}

  has(pos: number, length: number): boolean {
    return pos >= this.start && pos + length <= this.start + this.bytes.byteLength;
  }

  async slice(pos: number, length: number): Promise<Uint8Array> {
    if (!this.has(pos, length)) await this.load(pos, length);
    return this.bytes.subarray(pos - this.start, pos - this.start + length);
  }

  /** Moves the window to start at `pos` and cover at least `length` bytes (inside the file: the caller checked). */
  async load(pos: number, length: number): Promise<void> {
    const windowEnd = this.start + this.bytes.byteLength;
    const kept = pos >= this.start && pos < windowEnd ? windowEnd - pos : 0;
    const fillTo = Math.min(this.size, Math.max(pos + length, pos + WINDOW_BYTES));
    const need = fillTo - pos;
    const tail = this.bytes.subarray(pos - this.start, pos - this.start + kept);
    if (this.buffer.byteLength < need || (this.buffer.byteLength > WINDOW_BYTES && need <= WINDOW_BYTES)) {
      const next = new Uint8Array(Math.max(need, Math.min(WINDOW_BYTES, this.size)));
      next.set(tail);
      this.buffer = next;
    } else if (kept > 0) {
      this.buffer.copyWithin(0, pos - this.start, pos - this.start + kept);
    }
    let have = pos + kept;
    while (have < fillTo) {
      const ahead = this.ahead;
      this.ahead = undefined;
      if (ahead && ahead.at === have) {
        await ahead.done;
        const n = Math.min(ahead.length, fillTo - have);
        this.buffer.set(this.aheadBuffer!.subarray(0, n), have - pos);
        have += n;
      } else {
        if (ahead) await ahead.done.catch(() => undefined); // the scan jumped past it: let it land before reusing its buffer
        await this.readable.readInto(this.buffer.subarray(have - pos, need), have);
        have = fillTo;
      }
    }
    this.bytes = this.buffer.subarray(0, need);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.start = pos;
    if (fillTo < this.size) {
      const n = Math.min(AHEAD_BYTES, this.size - fillTo);
      this.aheadBuffer ??= new Uint8Array(AHEAD_BYTES);
      const done = this.readable.readInto(this.aheadBuffer.subarray(0, n), fillTo);
      done.catch(() => undefined); // an unused read-ahead may fail (the file shrank); a used one reports
      this.ahead = { at: fillTo, length: n, done };
    }
  }

  /** Waits for a read still in flight, so closing the file cannot race it. */
  async settle(): Promise<void> {
    await this.ahead?.done.catch(() => undefined);
    this.ahead = undefined;
  }
}

class Scan {
  readonly warnings: string[] = [];
  readonly chunks: ChunkLocation[] = [];
  stoppedAt: number | undefined;
  private readonly defs: Definitions;
  private readonly index = new ChannelIndexBuilder();
  private readonly size: number;
  private readonly cursor: BlockCursor;
  private nextProgress = PROGRESS_STEP;

  constructor(
    private readonly path: string,
    readable: FileReadable,
    private readonly handlers: DecompressHandlers,
    private readonly onProgress: ScanOptions['onProgress'],
  ) {
    this.defs = new Definitions(path);
    this.size = Number(readable.knownSize);
    this.cursor = new BlockCursor(readable, this.size);
  }

  settle(): Promise<void> {
    return this.cursor.settle();
  }

  private stop(offset: number, why: string): void {
    this.stoppedAt = offset;
    this.warnings.push(`${this.path}: ${why}; reading stopped at byte ${offset}, the ${this.index.count} messages before it are kept`);
  }

  async run(): Promise<void> {
    const { path, size, cursor } = this;
    if (size === 0) throw new LogError(`${path} is empty (0 bytes), not an MCAP file`, { path, offset: 0 });
    const magic = await cursor.slice(0, Math.min(MCAP_MAGIC.length, size));
    if (magic.some((b, i) => b !== MCAP_MAGIC[i])) {
      throw new LogError(`${path} is not an MCAP file (no MCAP magic at byte 0)`, { path, offset: 0 });
    }
    if (size < MCAP_MAGIC.length) return this.stop(size, `the file is truncated inside its magic (${size} bytes)`);
    let pos = MCAP_MAGIC.length;
    let inSummary = false;
    // The hot path (one message record after another) reads fields straight from the window and
    // awaits only when the window must move.
    for (let first = true; ; first = false) {
      this.progress(pos);
      if (pos === size) return this.stop(pos, `the file ends at byte ${pos} without a footer (truncated?)`);
      if (size - pos < RECORD_PREFIX) return this.stop(pos, `the file is truncated inside a record header at byte ${pos}`);
      if (!cursor.has(pos, RECORD_PREFIX)) await cursor.load(pos, RECORD_PREFIX);
      const op = cursor.bytes[pos - cursor.start]!;
      const length = Number(cursor.view.getBigUint64(pos - cursor.start + 1, true)); // > 2^53 is past any file anyway
      const body = pos + RECORD_PREFIX;
      if (length > size - body) {
        return this.stop(pos, `the file is truncated: the ${opName(op)} record at byte ${pos} needs ${length} bytes, ${size - body} remain`);
      }
      const next = body + length;
      if (first && op !== Op.header) return this.stop(pos, `the first record at byte ${pos} is a ${opName(op)}, not a Header (corrupt?)`);
      if (op === 0) return this.stop(pos, `invalid opcode 0 at byte ${pos} (corrupt?)`);
      try {
        if (op === Op.message && !inSummary) {
          if (length < MESSAGE_PREFIX) throw new RecordError(`message of ${length} bytes is shorter than its header`, 0);
          if (!cursor.has(body, MESSAGE_PREFIX)) await cursor.load(body, MESSAGE_PREFIX);
          const at = body - cursor.start;
          this.index.add(cursor.view.getUint16(at, true), cursor.view.getBigUint64(at + 6, true), FILE_BLOCK, pos);
        } else if (op === Op.chunk && !inSummary) {
          this.indexChunk(await cursor.slice(body, length), pos, next - pos);
        } else if (op === Op.schema) {
          this.defs.addSchema(parseSchema(await cursor.slice(body, length), 0, length), pos);
        } else if (op === Op.channel) {
          this.defs.addChannel(parseChannel(await cursor.slice(body, length), 0, length), pos);
        } else if (op === Op.dataEnd) {
          inSummary = true;
        } else if (op === Op.footer) {
          return await this.finishAt(next);
        }
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        return this.stop(pos, `the ${opName(op)} record at byte ${pos} is corrupt (${error.message})`);
      }
      pos = next;
    }
  }

  private progress(pos: number): void {
    if (!this.onProgress || pos < this.nextProgress) return;
    this.nextProgress = pos + PROGRESS_STEP;
    this.onProgress(pos, this.size);
  }

  /** After the footer: the closing magic, then nothing. */
  private async finishAt(pos: number): Promise<void> {
    const left = this.size - pos;
    const tail = await this.cursor.slice(pos, Math.min(left, MCAP_MAGIC.length));
    if (left < MCAP_MAGIC.length || tail.some((b, i) => b !== MCAP_MAGIC[i])) {
      this.warnings.push(`${this.path}: the closing magic after the footer is missing or damaged at byte ${pos}`);
    } else if (left > MCAP_MAGIC.length) {
      this.warnings.push(`${this.path}: ${left - MCAP_MAGIC.length} bytes after the closing magic at byte ${pos} were ignored`);
    }
  }

  private indexChunk(body: Uint8Array, offset: number, recordLength: number): void {
    const head = parseChunkHead(body, 0, body.byteLength);
    if (!isSupportedCompression(head.compression, this.handlers)) {
      throw unsupportedCompression(this.path, head.compression, offset, this.handlers);
    }
    let records: Uint8Array;
    try {
      records = decodeChunk(head, this.handlers, this.path, offset);
    } catch (error) {
      // A damaged chunk is skipped: its length is intact, so the records after it still line up.
      if (!(error instanceof LogError)) throw error;
      this.warnings.push(`${error.message}; its messages are skipped`);
      return;
    }
    const ordinal = this.chunks.length;
    const before = this.index.count;
    const corrupt = scanChunkRecords(records, ordinal, offset, this.defs, this.index);
    if (corrupt) {
      this.warnings.push(
        `${this.path}: chunk at byte ${offset} has a corrupt record at offset ${corrupt.corruptAt} of its ${records.byteLength} bytes ` +
          `(${corrupt.why}); the messages after it are skipped`,
      );
    }
    if (this.index.count > before) this.chunks.push({ offset, length: recordLength });
  }

  finish(): { channels: SourceChannel[]; index: Map<number, ChannelIndex>; messageCount: number } {
    const dropped: string[] = [];
    for (const id of this.index.channelIds()) {
      if (this.defs.channels.has(id)) continue;
      dropped.push(`${this.index.countOf(id)} on channel ${id}`);
      this.index.drop(id);
    }
    if (dropped.length > 0) this.warnings.push(`${this.path}: messages on undefined channels were dropped (${dropped.join(', ')})`);
    const channels = this.defs.sourceChannels();
    this.warnings.push(...this.defs.warnings);
    return { channels, index: this.index.finish(), messageCount: this.index.count };
  }
}
