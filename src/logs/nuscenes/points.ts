// nuScenes / Lyft lidar files (`.pcd.bin`, `.bin`): little-endian float32 records of
// x, y, z, intensity, ring index (5 values, 20 bytes per point), in the lidar frame.
export const NUSCENES_FLOATS_PER_POINT = 5;

export interface DecodedPoints {
  count: number;
  positions: Float32Array;
  fields: Record<string, Float32Array>;
  /** Points dropped for a NaN or infinite coordinate. */
  droppedNonFinite: number;
  /** Bytes after the last whole point (a truncated file). */
  trailingBytes: number;
}

/** Names of the values after x, y, z. */
export function pointFieldNames(floatsPerPoint: number): string[] {
  const names = ['intensity', 'ring'];
  for (let i = names.length + 3; i < floatsPerPoint; i++) names.push(`value${i}`);
  return names.slice(0, Math.max(0, floatsPerPoint - 3));
}

export function decodePointFile(bytes: Uint8Array, floatsPerPoint = NUSCENES_FLOATS_PER_POINT): DecodedPoints {
  const stride = floatsPerPoint * 4;
  const whole = Math.floor(bytes.byteLength / stride);
  const trailingBytes = bytes.byteLength - whole * stride;
  // Float32Array needs 4-byte alignment; pooled or sliced buffers may not have it.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes); // a copy: Buffer#slice is a view
  const values = new Float32Array(aligned.buffer, aligned.byteOffset, whole * floatsPerPoint);
  const names = pointFieldNames(floatsPerPoint);
  const positions = new Float32Array(whole * 3);
  const fields = names.map(() => new Float32Array(whole));
  let count = 0;
  for (let i = 0; i < whole; i++) {
    const base = i * floatsPerPoint;
    const x = values[base]!;
    const y = values[base + 1]!;
    const z = values[base + 2]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
    positions[count * 3] = x;
    positions[count * 3 + 1] = y;
    positions[count * 3 + 2] = z;
    for (let f = 0; f < fields.length; f++) fields[f]![count] = values[base + 3 + f]!;
    count++;
  }
  const trimmed: Record<string, Float32Array> = {};
  names.forEach((name, f) => (trimmed[name] = count === whole ? fields[f]! : fields[f]!.slice(0, count)));
  return {
    count,
    positions: count === whole ? positions : positions.slice(0, count * 3),
    fields: trimmed,
    droppedNonFinite: whole - count,
    trailingBytes,
  };
}
