// Random access to an indexed MCAP file. @mcap/core parses the summary (schemas, channels,
// chunk indexes, statistics); we then read each chunk's message-index block once (small reads)
// to know, per channel, every message's log time and its place inside its chunk. Chunks written
// without message indexes are decompressed once at open and their records walked instead.
// Reading a message decompresses only its chunk, through a byte-budgeted LRU of decompressed chunks.
//
// Problems with the index itself (no summary, no chunk index, a broken message index, counts that
// disagree with the statistics) raise McapIndexUnusableError: openMcapSource then scans the file.
import { McapIndexedReader, type DecompressHandlers } from '@mcap/core';
import { LogError } from '../errors.js';
import type { MessageRef, MessageSource, SourceChannel } from '../messages/source.js';
import {
  DecompressedChunks,
  UnsupportedCompressionError,
  asLogError,
  decompressHandlers,
  isSupportedCompression,
  readChunk,
  unsupportedCompression,
} from './chunks.js';
import { FileReadable } from './fileReadable.js';
import {
  ChannelIndexBuilder,
  Definitions,
  payloadAt,
  refOf,
  scanChunkRecords,
  timesOf,
  type ChannelIndex,
} from './indexing.js';
import { Op, RecordError, parseMessageIndex, recordAt } from './records.js';

export { decompressHandlers } from './chunks.js';
export { crc32 } from './records.js';

const MAX_HEADER_BYTES = 1 << 20;
const DATA_END_BYTES = 13; // opcode, length, CRC
const FOOTER_AND_MAGIC_BYTES = 9 + 20 + 8;

/**
 * McapIndexedReader trusts the header length and the footer's summary offset and reads whatever
 * span they give in one piece: a corrupt value could make it read most of a large file into memory.
 * Checks both first (the summary must follow a DataEnd record, as that reader also expects).
 */
async function checkFraming(readable: FileReadable, path: string): Promise<void> {
  const size = Number(readable.knownSize);
  if (size < 8 + 9 + FOOTER_AND_MAGIC_BYTES) return; // too small to hold a summary: McapIndexedReader reports it
  const head = await readable.read(0n, 17n);
  const headerLength = new DataView(head.buffer).getBigUint64(9, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new McapIndexUnusableError(`the header record claims ${headerLength} bytes`, { path, offset: 8 });
  }
  const footerOffset = size - FOOTER_AND_MAGIC_BYTES;
  const footer = await readable.read(BigInt(footerOffset), BigInt(FOOTER_AND_MAGIC_BYTES));
  const view = new DataView(footer.buffer);
  if (view.getUint8(0) !== Op.footer) return; // no footer: McapIndexedReader reports it
  const summaryStart = view.getBigUint64(9, true);
  if (summaryStart === 0n) return;
  if (summaryStart < BigInt(8 + DATA_END_BYTES) || summaryStart > BigInt(footerOffset)) {
    throw new McapIndexUnusableError(`the footer's summary offset ${summaryStart} is outside the file's data`, { path, offset: footerOffset });
  }
  const dataEnd = await readable.read(summaryStart - BigInt(DATA_END_BYTES), 9n);
  const dataEndView = new DataView(dataEnd.buffer);
  if (dataEndView.getUint8(0) !== Op.dataEnd || dataEndView.getBigUint64(1, true) !== 4n) {
    throw new McapIndexUnusableError(`the footer's summary offset ${summaryStart} does not follow a DataEnd record`, {
      path,
      offset: footerOffset,
    });
  }
}

/** The file's index cannot be used as it is; a full scan may still read it. */
export class McapIndexUnusableError extends LogError {
  constructor(
    readonly reason: string,
    where: { path: string; offset?: number },
  ) {
    super(`${where.path}: ${reason}`, where);
  }
}

export class McapIndexedSource implements MessageSource {
  readonly indexed = true;
  readonly warnings: string[] = [];
  private channelList: SourceChannel[] = [];
  private index: ReadonlyMap<number, ChannelIndex> = new Map();
  private readonly chunks: DecompressedChunks;

  private constructor(
    readonly path: string,
    private readonly readable: FileReadable,
    readonly reader: McapIndexedReader,
    private readonly handlers: DecompressHandlers,
    chunkCacheBytes: number,
  ) {
    this.chunks = new DecompressedChunks(chunkCacheBytes);
  }

  static async open(path: string, options: { chunkCacheBytes?: number } = {}): Promise<McapIndexedSource> {
    const readable = await FileReadable.open(path);
    try {
      const handlers = await decompressHandlers();
      await checkFraming(readable, path);
      let reader: McapIndexedReader;
      try {
        reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: handlers });
      } catch (error) {
        throw new McapIndexUnusableError(`no readable summary (${(error as Error).message})`, {
          path,
          offset: Number(readable.knownSize),
        });
      }
      for (const ci of reader.chunkIndexes) {
        if (!isSupportedCompression(ci.compression, handlers)) {
          throw unsupportedCompression(path, ci.compression, Number(ci.chunkStartOffset), handlers);
        }
      }
      const messageCount = reader.statistics?.messageCount;
      if (reader.chunkIndexes.length === 0 && messageCount !== undefined && messageCount > 0n) {
        throw new McapIndexUnusableError(`${messageCount} messages but no chunk index`, { path });
      }
      const source = new McapIndexedSource(path, readable, reader, handlers, options.chunkCacheBytes ?? 256 << 20);
      try {
        await source.buildIndex();
      } catch (error) {
        if (error instanceof UnsupportedCompressionError || error instanceof McapIndexUnusableError) throw error;
        const e = asLogError(error, path);
        throw new McapIndexUnusableError(`its index is unusable (${e.message})`, e.where);
      }
      if (messageCount !== undefined && messageCount !== BigInt(source.messageCount)) {
        throw new McapIndexUnusableError(
          `the chunk indexes list ${source.messageCount} messages but the statistics count ${messageCount} (messages outside chunks?)`,
          { path },
        );
      }
      return source;
    } catch (error) {
      await readable.close();
      throw asLogError(error, path);
    }
  }

  get channels(): readonly SourceChannel[] {
    return this.channelList;
  }

  get messageCount(): number {
    let n = 0;
    for (const entry of this.index.values()) n += entry.times.length;
    return n;
  }

  get sizeBytes(): number {
    return Number(this.readable.knownSize);
  }

  async close(): Promise<void> {
    this.chunks.clear();
    await this.readable.close();
  }

  times(channelId: number): BigInt64Array {
    return timesOf(this.index, channelId);
  }

  refAt(channelId: number, i: number): MessageRef {
    return refOf(this.index, channelId, i, this.path);
  }

  async readMessage(ref: MessageRef): Promise<Uint8Array> {
    const chunk = this.reader.chunkIndexes[ref.block];
    if (!chunk) throw new LogError(`${this.path}: no chunk #${ref.block}`, { path: this.path });
    const offset = Number(chunk.chunkStartOffset);
    try {
      const records = await this.chunkRecords(ref.block);
      const payload = payloadAt(records, ref.locator, ref);
      if (typeof payload === 'string') {
        throw new LogError(`${this.path}: message index of the chunk at byte ${offset} is wrong: ${payload}`, { path: this.path, offset });
      }
      return payload;
    } catch (error) {
      throw asLogError(error, this.path, offset);
    }
  }

  private chunkRecords(chunkNumber: number): Promise<Uint8Array> {
    const ci = this.reader.chunkIndexes[chunkNumber]!;
    return this.chunks.get(chunkNumber, () =>
      readChunk(this.readable, Number(ci.chunkStartOffset), Number(ci.chunkLength), this.handlers, this.path),
    );
  }

  /** Per-channel index from the message indexes, or from the records of chunks that have none. */
  private async buildIndex(): Promise<void> {
    const { path, reader } = this;
    const defs = new Definitions(path);
    for (const schema of reader.schemasById.values()) defs.addSchema(schema, 0);
    for (const channel of reader.channelsById.values()) defs.addChannel(channel, 0);
    const builder = new ChannelIndexBuilder();
    const walked = new Set<number>();
    const chunks = reader.chunkIndexes;
    for (let c = 0; c < chunks.length; c++) {
      const ci = chunks[c]!;
      if (ci.messageIndexLength === 0n) {
        walked.add(c);
        this.walkChunk(c, await this.chunkRecords(c), defs, builder);
        continue;
      }
      const start = ci.chunkStartOffset + ci.chunkLength;
      const block = await this.readable.read(start, ci.messageIndexLength);
      let at = 0;
      try {
        while (at < block.byteLength) {
          const { op, body, next } = recordAt(block, at, block.byteLength);
          if (op === Op.messageIndex) {
            parseMessageIndex(block, body, next, (channelId, logTime, offset) => builder.add(channelId, logTime, c, Number(offset)));
          }
          at = next;
        }
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        const offset = Number(start) + error.at;
        throw new McapIndexUnusableError(`message index at byte ${offset} is corrupt (${error.message})`, { path, offset });
      }
    }
    // Summaries may omit channel and schema records (they are optional there): look for them
    // in the chunks, in file order, until every indexed channel is defined.
    const missing = () => builder.channelIds().filter((id) => !defs.isComplete(id));
    if (missing().length > 0) {
      const byOffset = chunks.map((_, c) => c).sort((a, b) => Number(chunks[a]!.chunkStartOffset - chunks[b]!.chunkStartOffset));
      for (const c of byOffset) {
        if (missing().length === 0) break;
        if (!walked.has(c)) this.walkChunk(c, await this.chunkRecords(c), defs, undefined);
      }
      const undefinedIds = missing();
      if (undefinedIds.length > 0) {
        throw new McapIndexUnusableError(`channels ${undefinedIds.join(', ')} are not defined in the summary or in any chunk`, { path });
      }
    }
    this.channelList = defs.sourceChannels();
    this.warnings.push(...defs.warnings);
    this.index = builder.finish();
  }

  private walkChunk(c: number, records: Uint8Array, defs: Definitions, builder: ChannelIndexBuilder | undefined): void {
    const offset = Number(this.reader.chunkIndexes[c]!.chunkStartOffset);
    const corrupt = scanChunkRecords(records, c, offset, defs, builder);
    if (corrupt) {
      this.warnings.push(
        `${this.path}: chunk at byte ${offset} has a corrupt record at offset ${corrupt.corruptAt} of its ${records.byteLength} bytes ` +
          `(${corrupt.why}); the messages after it are skipped`,
      );
    }
  }
}
