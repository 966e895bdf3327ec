// Bounds-checked parsing of the few MCAP records Sightline needs (Header, Schema, Channel,
// Message, Chunk, Message Index, DataEnd, Footer). Every read is checked against the record's
// own length, so corrupt bytes become a RecordError that callers turn into a LogError with the
// file offset; nothing here throws RangeError on bad input.

export const MCAP_MAGIC = Uint8Array.of(0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a);
export const RECORD_PREFIX = 9; // opcode (1) + content length (8)
export const MESSAGE_PREFIX = 22; // channel id (2) + sequence (4) + log time (8) + publish time (8)

export const Op = {
  header: 0x01,
  footer: 0x02,
  schema: 0x03,
  channel: 0x04,
  message: 0x05,
  chunk: 0x06,
  messageIndex: 0x07,
  dataEnd: 0x0f,
} as const;

const OP_NAMES: Record<number, string> = {
  0x01: 'Header',
  0x02: 'Footer',
  0x03: 'Schema',
  0x04: 'Channel',
  0x05: 'Message',
  0x06: 'Chunk',
  0x07: 'MessageIndex',
  0x08: 'ChunkIndex',
  0x09: 'Attachment',
  0x0a: 'AttachmentIndex',
  0x0b: 'Statistics',
  0x0c: 'Metadata',
  0x0d: 'MetadataIndex',
  0x0e: 'SummaryOffset',
  0x0f: 'DataEnd',
};

export function opName(op: number): string {
  return OP_NAMES[op] ?? `record 0x${op.toString(16).padStart(2, '0')}`;
}

/** A record whose fields do not fit its length. `at` is relative to the parsed bytes. */
export class RecordError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
    this.name = 'RecordError';
  }
}

const utf8 = new TextDecoder('utf-8');

/** Little-endian field reader confined to [start, end) of a byte array. */
export class FieldReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  private need(n: number, what: string): number {
    const at = this.pos;
    if (n > this.end - at) throw new RecordError(`${what} (${n} bytes) runs past the end of its record`, at);
    this.pos = at + n;
    return at;
  }

  u16(what: string): number {
    return this.view.getUint16(this.need(2, what), true);
  }

  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }

  u64(what: string): bigint {
    return this.view.getBigUint64(this.need(8, what), true);
  }

  bytesOf(length: number | bigint, what: string): Uint8Array {
    if (typeof length === 'bigint') {
      if (length > BigInt(this.end - this.pos)) throw new RecordError(`${what} (${length} bytes) runs past the end of its record`, this.pos);
      length = Number(length);
    }
    const at = this.need(length, what);
    return this.bytes.subarray(at, at + length);
  }

  string(what: string): string {
    return utf8.decode(this.bytesOf(this.u32(`${what} length`), what));
  }

  skip(length: number, what: string): void {
    this.need(length, what);
  }
}

export interface SchemaRecord {
  id: number;
  name: string;
  encoding: string;
  data: Uint8Array;
}

export interface ChannelRecord {
  id: number;
  schemaId: number;
  topic: string;
  messageEncoding: string;
}

export interface MessageHead {
  channelId: number;
  logTime: bigint;
}

export interface ChunkHead {
  messageStartTime: bigint;
  messageEndTime: bigint;
  uncompressedSize: bigint;
  uncompressedCrc: number;
  compression: string;
  /** The chunk's (possibly compressed) records, a view into the parsed bytes. */
  records: Uint8Array;
}

/** Schema record content in bytes[start, end). The data is copied: the source buffer is reused. */
export function parseSchema(bytes: Uint8Array, start: number, end: number): SchemaRecord {
  const r = new FieldReader(bytes, start, end);
  const id = r.u16('schema id');
  const name = r.string('schema name');
  const encoding = r.string('schema encoding');
  const data = new Uint8Array(r.bytesOf(r.u32('schema data length'), 'schema data'));
  return { id, name, encoding, data };
}

export function parseChannel(bytes: Uint8Array, start: number, end: number): ChannelRecord {
  const r = new FieldReader(bytes, start, end);
  const id = r.u16('channel id');
  const schemaId = r.u16('channel schema id');
  const topic = r.string('channel topic');
  const messageEncoding = r.string('channel message encoding');
  r.skip(r.u32('channel metadata length'), 'channel metadata'); // metadata is not needed here
  return { id, schemaId, topic, messageEncoding };
}

/** Only the fields the index needs; the payload stays where it is. */
export function parseMessageHead(bytes: Uint8Array, start: number, end: number): MessageHead {
  const r = new FieldReader(bytes, start, end);
  const channelId = r.u16('message channel id');
  r.skip(4, 'message sequence');
  const logTime = r.u64('message log time');
  r.skip(8, 'message publish time');
  return { channelId, logTime };
}

export function parseChunkHead(bytes: Uint8Array, start: number, end: number): ChunkHead {
  const r = new FieldReader(bytes, start, end);
  const messageStartTime = r.u64('chunk start time');
  const messageEndTime = r.u64('chunk end time');
  const uncompressedSize = r.u64('chunk uncompressed size');
  const uncompressedCrc = r.u32('chunk CRC');
  const compression = r.string('chunk compression');
  const records = r.bytesOf(r.u64('chunk records length'), 'chunk records');
  return { messageStartTime, messageEndTime, uncompressedSize, uncompressedCrc, compression, records };
}

/** Message-index entries (log time, offset in the uncompressed chunk) of one channel. */
export function parseMessageIndex(
  bytes: Uint8Array,
  start: number,
  end: number,
  onEntry: (channelId: number, logTime: bigint, offset: bigint) => void,
): void {
  const r = new FieldReader(bytes, start, end);
  const channelId = r.u16('message index channel id');
  const length = r.u32('message index entries length');
  if (length % 16 !== 0) throw new RecordError(`message index entries length ${length} is not a multiple of 16`, start + 2);
  const entriesEnd = r.pos + length;
  if (entriesEnd > end) throw new RecordError(`message index entries (${length} bytes) run past the end of their record`, r.pos);
  while (r.pos < entriesEnd) onEntry(channelId, r.u64('message index time'), r.u64('message index offset'));
}

/** Reads a record prefix at `at`: opcode and content length, or a RecordError if they do not fit in `end`. */
export function recordAt(bytes: Uint8Array, at: number, end: number): { op: number; body: number; next: number } {
  if (end - at < RECORD_PREFIX) throw new RecordError(`record header at ${at} is cut off`, at);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = view.getUint8(at);
  const length = view.getBigUint64(at + 1, true);
  const body = at + RECORD_PREFIX;
  if (length > BigInt(end - body)) throw new RecordError(`${opName(op)} of ${length} bytes runs past the end (${end - body} bytes left)`, at);
  return { op, body, next: body + Number(length) };
}

// Slicing-by-8 tables: table k advances the CRC over a byte followed by k zero bytes, so eight
// bytes fold in per step (several times faster than the byte-wise loop on large chunks).
const CRC_TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC-32 (IEEE), as MCAP uses for chunks, the data section and the summary. */
export function crc32(bytes: Uint8Array): number {
  const t = CRC_TABLES;
  let crc = 0xffffffff;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    const a = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) ^ crc;
    const b = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^
      t[512 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^
      t[b >>> 24]!;
  }
  for (; i < n; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
