// Pieces shared by the indexed and the scanned MCAP sources: the per-channel message index
// (growable typed arrays, sorted once at the end), schema/channel definitions gathered from
// wherever they appear, and the walk over a decompressed chunk's records.
import { LogError } from '../errors.js';
import type { MessageRef, SourceChannel } from '../messages/source.js';
import {
  MESSAGE_PREFIX,
  Op,
  RecordError,
  parseChannel,
  parseMessageHead,
  parseSchema,
  recordAt,
  type ChannelRecord,
  type SchemaRecord,
} from './records.js';

/** `block` value of a message that sits in the data section, outside any chunk. */
export const FILE_BLOCK = 0xffffffff;

export interface ChannelIndex {
  times: BigInt64Array;
  /** Chunk ordinal, or FILE_BLOCK. */
  block: Uint32Array;
  /** Offset of the message record in the decompressed chunk, or in the file for FILE_BLOCK. */
  locator: Float64Array;
}

class GrowingIndex {
  times = new BigInt64Array(16);
  block = new Uint32Array(16);
  locator = new Float64Array(16);
  length = 0;
  sorted = true;
  private last = 0n;

  add(time: bigint, block: number, locator: number): void {
    if (this.length === this.times.length) {
      const capacity = this.length * 2;
      const times = new BigInt64Array(capacity);
      times.set(this.times);
      const block = new Uint32Array(capacity);
      block.set(this.block);
      const locator = new Float64Array(capacity);
      locator.set(this.locator);
      this.times = times;
      this.block = block;
      this.locator = locator;
    }
    const i = this.length++;
    const stored = BigInt.asIntN(64, time); // as BigInt64Array keeps it: u64 times above 2^63 wrap
    this.times[i] = stored;
    if (i > 0 && stored < this.last) this.sorted = false;
    this.last = stored;
    this.block[i] = block;
    this.locator[i] = locator;
  }

  finish(): ChannelIndex {
    const n = this.length;
    if (this.sorted) {
      return { times: this.times.slice(0, n), block: this.block.slice(0, n), locator: this.locator.slice(0, n) };
    }
    // Stable sort by time: equal times keep their order of appearance in the file.
    const times = this.times;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => (times[a]! < times[b]! ? -1 : times[a]! > times[b]! ? 1 : a - b));
    const out: ChannelIndex = { times: new BigInt64Array(n), block: new Uint32Array(n), locator: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      const j = order[i]!;
      out.times[i] = times[j]!;
      out.block[i] = this.block[j]!;
      out.locator[i] = this.locator[j]!;
    }
    return out;
  }
}

export class ChannelIndexBuilder {
  private readonly perChannel = new Map<number, GrowingIndex>();
  count = 0;

  add(channelId: number, logTime: bigint, block: number, locator: number): void {
    let entry = this.perChannel.get(channelId);
    if (!entry) {
      entry = new GrowingIndex();
      this.perChannel.set(channelId, entry);
    }
    entry.add(logTime, block, locator);
    this.count++;
  }

  channelIds(): number[] {
    return [...this.perChannel.keys()];
  }

  countOf(channelId: number): number {
    return this.perChannel.get(channelId)?.length ?? 0;
  }

  drop(channelId: number): void {
    this.count -= this.countOf(channelId);
    this.perChannel.delete(channelId);
  }

  finish(): Map<number, ChannelIndex> {
    const out = new Map<number, ChannelIndex>();
    for (const [id, entry] of this.perChannel) out.set(id, entry.finish());
    return out;
  }
}

const EMPTY_TIMES = new BigInt64Array();

/** MessageSource.times/refAt over a finished index, with LogErrors instead of undefined reads. */
export function timesOf(index: ReadonlyMap<number, ChannelIndex>, channelId: number): BigInt64Array {
  return index.get(channelId)?.times ?? EMPTY_TIMES;
}

export function refOf(index: ReadonlyMap<number, ChannelIndex>, channelId: number, i: number, path: string): MessageRef {
  const entry = index.get(channelId);
  if (!entry || !Number.isInteger(i) || i < 0 || i >= entry.times.length) {
    throw new LogError(`${path}: channel ${channelId} has no message #${i}`, { path });
  }
  return { channelId, logTime: entry.times[i]!, block: entry.block[i]!, locator: entry.locator[i]! };
}

/** Schemas and channels by id; the first definition wins, a conflicting repeat is reported. */
export class Definitions {
  readonly schemas = new Map<number, SchemaRecord>();
  readonly channels = new Map<number, ChannelRecord>();
  readonly warnings: string[] = [];

  constructor(private readonly path: string) {}

  addSchema(schema: SchemaRecord, offset: number): void {
    if (schema.id === 0) return; // id 0 means "no schema" and cannot be defined
    const known = this.schemas.get(schema.id);
    if (!known) this.schemas.set(schema.id, schema);
    else if (known.name !== schema.name || known.encoding !== schema.encoding || !sameBytes(known.data, schema.data)) {
      this.warnings.push(`${this.path}: schema ${schema.id} is redefined differently at byte ${offset}; kept the first definition`);
    }
  }

  addChannel(channel: ChannelRecord, offset: number): void {
    const known = this.channels.get(channel.id);
    if (!known) this.channels.set(channel.id, channel);
    else if (known.topic !== channel.topic || known.schemaId !== channel.schemaId || known.messageEncoding !== channel.messageEncoding) {
      this.warnings.push(`${this.path}: channel ${channel.id} is redefined differently at byte ${offset}; kept the first definition`);
    }
  }

  /** True when the channel and the schema it names are both known. */
  isComplete(channelId: number): boolean {
    const channel = this.channels.get(channelId);
    return channel !== undefined && (channel.schemaId === 0 || this.schemas.has(channel.schemaId));
  }

  sourceChannels(): SourceChannel[] {
    const out: SourceChannel[] = [];
    for (const ch of [...this.channels.values()].sort((a, b) => a.id - b.id)) {
      const schema = this.schemas.get(ch.schemaId);
      if (ch.schemaId !== 0 && !schema) {
        this.warnings.push(`${this.path}: channel ${ch.id} (${ch.topic}) names schema ${ch.schemaId}, which is never defined`);
      }
      out.push({
        id: ch.id,
        topic: ch.topic,
        schemaName: schema?.name ?? '',
        schemaEncoding: schema?.encoding ?? '',
        schemaData: schema?.data ?? new Uint8Array(),
        messageEncoding: ch.messageEncoding,
      });
    }
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Walks the records of a decompressed chunk: definitions go to `defs`, messages (unless
 * `definitionsOnly`) to `index` with the chunk ordinal as block. Returns the offset of the first
 * corrupt record, or undefined when the whole chunk parsed.
 */
export function scanChunkRecords(
  records: Uint8Array,
  chunkOrdinal: number,
  chunkOffset: number,
  defs: Definitions,
  index: ChannelIndexBuilder | undefined,
): { corruptAt: number; why: string } | undefined {
  let at = 0;
  try {
    while (at < records.byteLength) {
      const { op, body, next } = recordAt(records, at, records.byteLength);
      if (op === Op.schema) defs.addSchema(parseSchema(records, body, next), chunkOffset);
      else if (op === Op.channel) defs.addChannel(parseChannel(records, body, next), chunkOffset);
      else if (op === Op.message && index) {
        if (next - body < MESSAGE_PREFIX) throw new RecordError(`message of ${next - body} bytes is shorter than its header`, at);
        const head = parseMessageHead(records, body, next);
        index.add(head.channelId, head.logTime, chunkOrdinal, at);
      }
      at = next;
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    return { corruptAt: at, why: error.message };
  }
}

/**
 * The payload of the message record at `at` in `bytes`, checked against the reference (so a
 * stale or corrupt index entry never returns another message's bytes). Returns a reason on failure.
 */
export function payloadAt(bytes: Uint8Array, at: number, ref: MessageRef): Uint8Array | string {
  if (!Number.isInteger(at) || at < 0) return `bad message offset ${at}`;
  let rec: { op: number; body: number; next: number };
  try {
    rec = recordAt(bytes, at, bytes.byteLength);
  } catch (error) {
    return (error as Error).message;
  }
  if (rec.op !== Op.message) return `expected a Message record at offset ${at}, found opcode 0x${rec.op.toString(16)}`;
  if (rec.next - rec.body < MESSAGE_PREFIX) return `message record at offset ${at} is shorter than its header`;
  const head = parseMessageHead(bytes, rec.body, rec.next);
  if (head.channelId !== ref.channelId || BigInt.asIntN(64, head.logTime) !== ref.logTime) {
    return `message at offset ${at} is on channel ${head.channelId} at ${head.logTime}, not channel ${ref.channelId} at ${ref.logTime}`;
  }
  return bytes.subarray(rec.body + MESSAGE_PREFIX, rec.next);
}
