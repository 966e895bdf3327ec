// Bounds-checked parsing of the ROS 1 bag (format 2.0) records that @foxglove/rosbag leaves to us:
// chunk headers, the index-data records after each chunk, and the connection and message records
// inside a chunk. (The library parses these only from a whole chunk read at once, and silently
// clamps records that run past their buffer.) Every read is checked against the record's own
// lengths, so corrupt bytes become a RecordError that callers turn into a LogError with the file
// offset; nothing here throws RangeError on bad input.

export const BAG_MAGIC = '#ROSBAG V2.0\n';
export const BAG_MAGIC_LENGTH = BAG_MAGIC.length; // the bag header record starts right after it

export const Op = {
  messageData: 0x02,
  bagHeader: 0x03,
  indexData: 0x04,
  chunk: 0x05,
  chunkInfo: 0x06,
  connection: 0x07,
} as const;

const OP_NAMES: Record<number, string> = {
  0x02: 'MessageData',
  0x03: 'BagHeader',
  0x04: 'IndexData',
  0x05: 'Chunk',
  0x06: 'ChunkInfo',
  0x07: 'Connection',
};

export function opName(op: number): string {
  return OP_NAMES[op] ?? `record op 0x${op.toString(16).padStart(2, '0')}`;
}

/** Header length (4) + data length (4) around every record's header fields. */
export const RECORD_OVERHEAD = 8;
/** No writer puts more than a few hundred bytes in a record header; a larger length is corruption. */
export const MAX_RECORD_HEADER = 1 << 20;

/** A record whose fields do not fit its lengths. `at` is relative to the parsed bytes. */
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

export type Fields = Map<string, Uint8Array>;

/** `name=value` fields, each prefixed by its int32 length, filling bytes[start, end). */
export function parseFields(bytes: Uint8Array, start: number, end: number): Fields {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Fields = new Map();
  let p = start;
  while (p < end) {
    if (end - p < 4) throw new RecordError(`field length at ${p} is cut off`, p);
    const length = view.getInt32(p, true);
    p += 4;
    if (length < 0 || length > end - p) throw new RecordError(`field of ${length} bytes at ${p - 4} runs past its record`, p - 4);
    const field = bytes.subarray(p, p + length);
    const equals = field.indexOf(0x3d);
    if (equals < 0) throw new RecordError(`field at ${p - 4} has no '='`, p - 4);
    fields.set(utf8.decode(field.subarray(0, equals)), field.subarray(equals + 1));
    p += length;
  }
  return fields;
}

export interface RecordHead {
  op: number;
  fields: Fields;
  /** Offsets relative to the record's first byte. */
  dataStart: number;
  dataLength: number;
  length: number;
}

/**
 * Length of the record header at `at`, or undefined when its 4-byte length does not fit in
 * `bytes` (the caller decides whether that means "read more" or "truncated").
 */
export function headerLengthAt(bytes: Uint8Array, at: number): number | undefined {
  if (bytes.byteLength - at < 4) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(at, true);
  if (length < 0 || length > MAX_RECORD_HEADER) throw new RecordError(`record header length ${length} is impossible`, at);
  return length;
}

/**
 * The record header (op and fields) and data length of the record starting at `at`. The header
 * and the data length must lie inside `bytes`; the data itself need not (the caller checks it
 * against the file or chunk it came from). Returns undefined when they are cut off.
 */
export function parseRecordHead(bytes: Uint8Array, at: number): RecordHead | undefined {
  const headerLength = headerLengthAt(bytes, at);
  if (headerLength === undefined || bytes.byteLength - at < RECORD_OVERHEAD + headerLength) return undefined;
  const fields = parseFields(bytes, at + 4, at + 4 + headerLength);
  const op = fields.get('op');
  if (!op) throw new RecordError(`record at ${at} has no 'op' field`, at);
  if (op.byteLength !== 1) throw new RecordError(`record at ${at} has an 'op' field of ${op.byteLength} bytes`, at);
  const dataLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(at + 4 + headerLength, true);
  if (dataLength < 0) throw new RecordError(`${opName(op[0]!)} at ${at} has a negative data length`, at);
  const dataStart = RECORD_OVERHEAD + headerLength;
  return { op: op[0]!, fields, dataStart, dataLength, length: dataStart + dataLength };
}

function field(fields: Fields, name: string, size: number | undefined, record: string): Uint8Array {
  const value = fields.get(name);
  if (!value) throw new RecordError(`${record} has no '${name}' field`, 0);
  if (size !== undefined && value.byteLength !== size) {
    throw new RecordError(`${record} field '${name}' has ${value.byteLength} bytes, expected ${size}`, 0);
  }
  return value;
}

function u32(fields: Fields, name: string, record: string): number {
  const v = field(fields, name, 4, record);
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
}

/** ROS time (uint32 sec, uint32 nsec) as integer nanoseconds. */
export function timeNs(bytes: Uint8Array, at: number): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return BigInt(view.getUint32(at, true)) * 1_000_000_000n + BigInt(view.getUint32(at + 4, true));
}

function time(fields: Fields, name: string, record: string): bigint {
  return timeNs(field(fields, name, 8, record), 0);
}

function text(fields: Fields, name: string, record: string): string {
  return utf8.decode(field(fields, name, undefined, record));
}

function expectOp(head: RecordHead, op: number): void {
  if (head.op !== op) throw new RecordError(`expected ${opName(op)} but found ${opName(head.op)}`, 0);
}

/** Checks a BagHeader record's fields (op, index_pos, conn_count, chunk_count): throws a RecordError naming the bad one. */
export function checkBagHeader(head: RecordHead): void {
  expectOp(head, Op.bagHeader);
  field(head.fields, 'index_pos', 8, 'BagHeader');
  field(head.fields, 'conn_count', 4, 'BagHeader');
  field(head.fields, 'chunk_count', 4, 'BagHeader');
}

export interface ChunkHead {
  compression: string;
  uncompressedSize: number;
}

export function chunkHead(head: RecordHead): ChunkHead {
  expectOp(head, Op.chunk);
  return { compression: text(head.fields, 'compression', 'Chunk'), uncompressedSize: u32(head.fields, 'size', 'Chunk') };
}

export interface IndexEntry {
  logTime: bigint;
  /** Offset of the message record inside the uncompressed chunk. */
  offset: number;
}

/** An IndexData record (version 1): one connection's messages in the chunk just before it. */
export function parseIndexData(head: RecordHead, data: Uint8Array): { conn: number; entries: IndexEntry[] } {
  expectOp(head, Op.indexData);
  const ver = u32(head.fields, 'ver', 'IndexData');
  if (ver !== 1) throw new RecordError(`IndexData version ${ver} is not supported`, 0);
  const conn = u32(head.fields, 'conn', 'IndexData');
  const count = u32(head.fields, 'count', 'IndexData');
  if (data.byteLength !== count * 12) {
    throw new RecordError(`IndexData of ${count} entries has ${data.byteLength} bytes of data, expected ${count * 12}`, head.dataStart);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const entries: IndexEntry[] = new Array<IndexEntry>(count);
  for (let i = 0; i < count; i++) entries[i] = { logTime: timeNs(data, i * 12), offset: view.getUint32(i * 12 + 8, true) };
  return { conn, entries };
}

export interface ConnectionRecord {
  conn: number;
  topic: string;
  type: string;
  md5sum: string;
  messageDefinition: Uint8Array;
}

/** A Connection record: topic in its header, type and definition in its data (more fields). */
export function parseConnection(head: RecordHead, data: Uint8Array): ConnectionRecord {
  expectOp(head, Op.connection);
  const conn = u32(head.fields, 'conn', 'Connection');
  const topic = text(head.fields, 'topic', 'Connection');
  let info: Fields;
  try {
    info = parseFields(data, 0, data.byteLength);
  } catch (error) {
    throw new RecordError(`Connection ${conn} data: ${(error as RecordError).message}`, head.dataStart + (error as RecordError).at);
  }
  return {
    conn,
    topic,
    type: text(info, 'type', 'Connection data'),
    md5sum: text(info, 'md5sum', 'Connection data'),
    messageDefinition: new Uint8Array(field(info, 'message_definition', undefined, 'Connection data')),
  };
}

export function messageHead(head: RecordHead): { conn: number; logTime: bigint } {
  expectOp(head, Op.messageData);
  return { conn: u32(head.fields, 'conn', 'MessageData'), logTime: time(head.fields, 'time', 'MessageData') };
}

/**
 * Walks the records packed in an uncompressed chunk. Stops at the first damaged record and returns
 * its offset (undefined when the chunk parsed to its end).
 */
export function walkChunkRecords(
  records: Uint8Array,
  onRecord: (head: RecordHead, at: number) => void,
): { damagedAt?: number; why?: string } {
  let at = 0;
  while (at < records.byteLength) {
    let head: RecordHead | undefined;
    try {
      head = parseRecordHead(records, at);
      if (!head) return { damagedAt: at, why: 'a record header is cut off by the end of the chunk' };
      if (head.length > records.byteLength - at) return { damagedAt: at, why: `${opName(head.op)} runs past the end of the chunk` };
      onRecord(head, at);
    } catch (error) {
      if (error instanceof RecordError) return { damagedAt: at, why: error.message };
      throw error;
    }
    at += head.length;
  }
  return {};
}
