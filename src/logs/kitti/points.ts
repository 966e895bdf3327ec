// Velodyne .bin scans (float32 x, y, z, reflectance; 16 bytes per point) and PNG sizes from the
// IHDR chunk, read without decoding the image.
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { LogError } from '../errors.js';
import type { PointCloud } from '../model.js';
import { IDENTITY_POSE } from '../transforms.js';

const POINT_BYTES = 16;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Reads a whole file into a fresh, 4-byte-aligned buffer (Buffer pools may hand out unaligned views). */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r').catch((error: Error) => {
    throw new LogError(`Cannot read ${path}: ${error.message}`, { path });
  });
  try {
    const { size } = await handle.stat();
    const bytes = new Uint8Array(new ArrayBuffer(size));
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, size - done, done);
      if (bytesRead === 0) throw new LogError(`${path}: unexpected end of file at byte ${done} of ${size}`, { path, offset: done });
      done += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

export interface VelodyneScan {
  cloud: PointCloud;
  warnings: string[];
}

/** One scan in the velodyne (= ego) frame. Non-finite points are dropped and counted; a ragged tail is ignored. */
export async function readVelodyneScan(path: string, sensorId: string, stampNs: string): Promise<VelodyneScan> {
  const bytes = await readWholeFile(path);
  const warnings: string[] = [];
  const whole = Math.floor(bytes.byteLength / POINT_BYTES);
  if (bytes.byteLength % POINT_BYTES !== 0) {
    warnings.push(
      `${path}: size ${bytes.byteLength} bytes is not a multiple of ${POINT_BYTES} (x, y, z, reflectance float32); read the ${whole} whole points, ignored the last ${bytes.byteLength % POINT_BYTES} bytes`,
    );
  }
  let src: Float32Array;
  if (LITTLE_ENDIAN_HOST) {
    src = new Float32Array(bytes.buffer, bytes.byteOffset, whole * 4);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, whole * POINT_BYTES);
    src = new Float32Array(whole * 4);
    for (let i = 0; i < src.length; i++) src[i] = view.getFloat32(i * 4, true);
  }
  const positions = new Float32Array(whole * 3);
  const intensity = new Float32Array(whole);
  let count = 0;
  for (let i = 0; i < whole; i++) {
    const x = src[i * 4]!;
    const y = src[i * 4 + 1]!;
    const z = src[i * 4 + 2]!;
    const r = src[i * 4 + 3]!;
    // x - x is NaN exactly when x is NaN or ±Infinity: one cheap finiteness test per value.
    if (x - x !== 0 || y - y !== 0 || z - z !== 0 || r - r !== 0) continue;
    positions[count * 3] = x;
    positions[count * 3 + 1] = y;
    positions[count * 3 + 2] = z;
    intensity[count] = r;
    count++;
  }
  if (count < whole) warnings.push(`${path}: dropped ${whole - count} of ${whole} points with NaN or infinite values`);
  return {
    cloud: {
      sensorId,
      frameId: sensorId,
      stampNs,
      count,
      positions: count < whole ? positions.slice(0, count * 3) : positions,
      fields: { intensity: count < whole ? intensity.slice(0, count) : intensity },
      extrinsic: IDENTITY_POSE,
    },
    warnings,
  };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR (bytes 16-24), or a LogError naming the file. */
export function pngSize(head: Uint8Array, path: string): { width: number; height: number } {
  const isPng = head.length >= 24 && PNG_SIGNATURE.every((b, i) => head[i] === b) && String.fromCharCode(...head.subarray(12, 16)) === 'IHDR';
  if (!isPng) throw new LogError(`${path} is not a PNG image (no PNG signature and IHDR chunk in its first 24 bytes)`, { path, offset: 0 });
  const view = new DataView(head.buffer, head.byteOffset, 24);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Reads only the first 24 bytes of a PNG. */
export async function readPngSize(path: string): Promise<{ width: number; height: number }> {
  const handle = await open(path, 'r').catch((error: Error) => {
    throw new LogError(`Cannot read ${path}: ${error.message}`, { path });
  });
  try {
    const head = new Uint8Array(24);
    const { bytesRead } = await handle.read(head, 0, 24, 0);
    return pngSize(head.subarray(0, bytesRead), path);
  } finally {
    await handle.close();
  }
}
