// Binary wire format for HTTP/WebSocket payloads: a JSON header plus 8-byte-aligned blobs,
// so typed arrays (points, images) cross as raw bytes and decode as zero-copy views.
// Layout: "SLW1" | u32 headerLength | header JSON (utf-8) | padding | blob0 | padding | blob1 ...
// Runs in Node and in the browser: no Node APIs.

const MAGIC = 0x31574c53; // "SLW1" little-endian

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const typedArrayConstructors = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedArrayName = keyof typeof typedArrayConstructors;

interface BlobRef {
  $blob: number;
  type: TypedArrayName;
}

interface Header {
  value: unknown;
  blobs: Array<{ offset: number; byteLength: number }>;
}

export const WIRE_CONTENT_TYPE = 'application/x-sightline-wire';

function typedArrayName(value: ArrayBufferView): TypedArrayName | undefined {
  // Node's Buffer is a Uint8Array subclass; send it as Uint8Array.
  for (const name of Object.keys(typedArrayConstructors) as TypedArrayName[]) {
    if (value instanceof typedArrayConstructors[name]) return name;
  }
  return undefined;
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeWire(value: unknown): Uint8Array {
  const blobs: ArrayBufferView[] = [];
  const replaced = replaceBlobs(value, blobs);
  const layout: Header['blobs'] = [];
  // Offsets are relative to the start of the blob section, which is itself 8-byte aligned.
  let cursor = 0;
  for (const blob of blobs) {
    layout.push({ offset: cursor, byteLength: blob.byteLength });
    cursor = align8(cursor + blob.byteLength);
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify({ value: replaced, blobs: layout } satisfies Header));
  const blobStart = align8(8 + headerBytes.byteLength);
  const out = new Uint8Array(blobStart + cursor);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, headerBytes.byteLength, true);
  out.set(headerBytes, 8);
  blobs.forEach((blob, i) => {
    out.set(new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength), blobStart + layout[i]!.offset);
  });
  return out;
}

function replaceBlobs(value: unknown, blobs: ArrayBufferView[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const type = typedArrayName(value);
    if (!type) throw new Error('encodeWire: unsupported typed array');
    blobs.push(value);
    return { $blob: blobs.length - 1, type } satisfies BlobRef;
  }
  if (value instanceof ArrayBuffer) {
    blobs.push(new Uint8Array(value));
    return { $blob: blobs.length - 1, type: 'Uint8Array' } satisfies BlobRef;
  }
  if (Array.isArray(value)) return value.map((v) => replaceBlobs(v, blobs));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k] = replaceBlobs(v, blobs);
  }
  return out;
}

export function decodeWire<T = unknown>(bytes: Uint8Array | ArrayBuffer): T {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.byteLength < 8) throw new Error('decodeWire: payload too short');
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error('decodeWire: bad magic');
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > u8.byteLength) throw new Error('decodeWire: truncated header');
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + headerLength))) as Header;
  const blobStart = align8(8 + headerLength);
  // Views need aligned absolute offsets; copy once if the caller's buffer is misaligned.
  const base = (u8.byteOffset + blobStart) % 8 === 0 ? u8 : new Uint8Array(u8); // a copy (Buffer#slice would be a view)
  return restoreBlobs(header.value, header.blobs, base, blobStart) as T;
}

function isBlobRef(value: unknown): value is BlobRef {
  return typeof value === 'object' && value !== null && typeof (value as BlobRef).$blob === 'number';
}

function restoreBlobs(value: unknown, layout: Header['blobs'], u8: Uint8Array, blobStart: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isBlobRef(value)) {
    const entry = layout[value.$blob];
    const Ctor = typedArrayConstructors[value.type];
    if (!entry || !Ctor) throw new Error('decodeWire: bad blob reference');
    const start = u8.byteOffset + blobStart + entry.offset;
    if (blobStart + entry.offset + entry.byteLength > u8.byteLength) throw new Error('decodeWire: truncated blob');
    return new Ctor(u8.buffer as ArrayBuffer, start, entry.byteLength / Ctor.BYTES_PER_ELEMENT) as TypedArray;
  }
  if (Array.isArray(value)) return value.map((v) => restoreBlobs(v, layout, u8, blobStart));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = restoreBlobs(v, layout, u8, blobStart);
  return out;
}
