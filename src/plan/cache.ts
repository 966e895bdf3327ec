// Per-frame cache of planning results, so the review UI can ask for a frame's planned path again
// (stepping back and forth, several panels) without re-planning.
//
// Keys are the frame id plus a hash of everything else the result depends on (detections, options).
// The hash is FNV-1a over a canonical encoding; large typed arrays are sampled (length and a strided
// subset), which is enough to tell inputs apart when the frame id already fixes the sensor data.

export class PlanCache<V> {
  private readonly entries = new Map<string, V>();
  private hitCount = 0;
  private missCount = 0;

  constructor(private readonly capacity = 64) {
    if (!(capacity >= 1)) throw new RangeError(`PlanCache capacity must be >= 1, got ${capacity}`);
  }

  static key(frameId: string, inputsHash: string): string {
    return `${frameId}\u0000${inputsHash}`;
  }

  get(frameId: string, inputsHash: string): V | undefined {
    const key = PlanCache.key(frameId, inputsHash);
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, value);
    return value;
  }

  set(frameId: string, inputsHash: string, value: V): void {
    const key = PlanCache.key(frameId, inputsHash);
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  getOrCompute(frameId: string, inputsHash: string, compute: () => V): V {
    const cached = this.get(frameId, inputsHash);
    if (cached !== undefined) {
      this.hitCount++;
      return cached;
    }
    this.missCount++;
    const value = compute();
    this.set(frameId, inputsHash, value);
    return value;
  }

  delete(frameId: string, inputsHash: string): void {
    this.entries.delete(PlanCache.key(frameId, inputsHash));
  }

  /** Drops every entry of one frame (e.g. when its detections change). */
  invalidateFrame(frameId: string): void {
    const prefix = `${frameId}\u0000`;
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  get stats(): { hits: number; misses: number; size: number; capacity: number } {
    return { hits: this.hitCount, misses: this.missCount, size: this.entries.size, capacity: this.capacity };
  }
}

const TYPED_ARRAY_SAMPLES = 4096;

/** A 64-bit (16 hex digit) hash of plain data: objects (key order ignored), arrays, typed arrays, primitives. */
export function hashPlanInputs(value: unknown): string {
  const h = { a: 0x811c9dc5, b: 0x9747b28c };
  feed(h, value, 0);
  return (h.a >>> 0).toString(16).padStart(8, '0') + (h.b >>> 0).toString(16).padStart(8, '0');
}

function mix(h: { a: number; b: number }, code: number): void {
  h.a = Math.imul(h.a ^ (code & 0xffff), 0x01000193);
  h.b = Math.imul(h.b ^ (code & 0xffff), 0x5bd1e995) ^ (h.b >>> 15);
}

function feedString(h: { a: number; b: number }, s: string): void {
  mix(h, s.length);
  for (let i = 0; i < s.length; i++) mix(h, s.charCodeAt(i));
}

function feed(h: { a: number; b: number }, value: unknown, depth: number): void {
  if (depth > 32) throw new RangeError('hashPlanInputs: nesting too deep');
  if (value === undefined) return mix(h, 1);
  if (value === null) return mix(h, 2);
  switch (typeof value) {
    case 'number':
      return feedString(h, `n${Object.is(value, -0) ? 0 : value}`);
    case 'bigint':
      return feedString(h, `b${value}`);
    case 'string':
      return feedString(h, `s${value}`);
    case 'boolean':
      return mix(h, value ? 3 : 4);
    case 'function':
    case 'symbol':
      return mix(h, 5);
    default:
      break;
  }
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    feedString(h, `t${value.constructor.name}:${bytes.length}`);
    // Whole 4-byte words at a stride, so every sampled float is hashed entirely.
    const stride = Math.max(1, Math.floor(bytes.length / 4 / TYPED_ARRAY_SAMPLES)) * 4;
    for (let i = 0; i < bytes.length; i += stride) {
      for (let j = i; j < Math.min(i + 4, bytes.length); j++) mix(h, bytes[j]!);
    }
    return;
  }
  if (Array.isArray(value)) {
    feedString(h, `a${value.length}`);
    for (const item of value) feed(h, item, depth + 1);
    return;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  feedString(h, `o${keys.length}`);
  for (const k of keys) {
    feedString(h, k);
    feed(h, obj[k], depth + 1);
  }
}
