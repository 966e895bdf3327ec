// Small, allocation-light rigid-transform math on row-major 3x4 matrices (no three.js): the camera
// panels project thousands of points per frame with it.
import type { Pose } from '../../src/logs/model.js';

/** Row-major 3x4 [R | t]: p' = R p + t. */
export type Mat34 = Float64Array;

export function poseToMat34(pose: Pose, out: Mat34 = new Float64Array(12)): Mat34 {
  let [x, y, z, w] = pose.rotation;
  const n = Math.hypot(x, y, z, w);
  if (n < 1e-12) [x, y, z, w] = [0, 0, 0, 1];
  else [x, y, z, w] = [x / n, y / n, z / n, w / n];
  const [tx, ty, tz] = pose.translation;
  out[0] = 1 - 2 * (y * y + z * z);
  out[1] = 2 * (x * y - z * w);
  out[2] = 2 * (x * z + y * w);
  out[3] = tx;
  out[4] = 2 * (x * y + z * w);
  out[5] = 1 - 2 * (x * x + z * z);
  out[6] = 2 * (y * z - x * w);
  out[7] = ty;
  out[8] = 2 * (x * z - y * w);
  out[9] = 2 * (y * z + x * w);
  out[10] = 1 - 2 * (x * x + y * y);
  out[11] = tz;
  return out;
}

/** Inverse of a rigid transform. */
export function invertMat34(m: Mat34, out: Mat34 = new Float64Array(12)): Mat34 {
  const r00 = m[0]!, r01 = m[1]!, r02 = m[2]!, r10 = m[4]!, r11 = m[5]!, r12 = m[6]!, r20 = m[8]!, r21 = m[9]!, r22 = m[10]!;
  const tx = m[3]!, ty = m[7]!, tz = m[11]!;
  out[0] = r00; out[1] = r10; out[2] = r20; out[3] = -(r00 * tx + r10 * ty + r20 * tz);
  out[4] = r01; out[5] = r11; out[6] = r21; out[7] = -(r01 * tx + r11 * ty + r21 * tz);
  out[8] = r02; out[9] = r12; out[10] = r22; out[11] = -(r02 * tx + r12 * ty + r22 * tz);
  return out;
}

/** a · b (both rigid or a general 3x4 times a rigid one). */
export function multiplyMat34(a: ArrayLike<number>, b: Mat34, out: Mat34 = new Float64Array(12)): Mat34 {
  for (let r = 0; r < 3; r++) {
    const a0 = a[r * 4]!, a1 = a[r * 4 + 1]!, a2 = a[r * 4 + 2]!, a3 = a[r * 4 + 3]!;
    out[r * 4] = a0 * b[0]! + a1 * b[4]! + a2 * b[8]!;
    out[r * 4 + 1] = a0 * b[1]! + a1 * b[5]! + a2 * b[9]!;
    out[r * 4 + 2] = a0 * b[2]! + a1 * b[6]! + a2 * b[10]!;
    out[r * 4 + 3] = a0 * b[3]! + a1 * b[7]! + a2 * b[11]! + a3;
  }
  return out;
}

export function applyMat34(m: ArrayLike<number>, x: number, y: number, z: number, out: [number, number, number]): [number, number, number] {
  out[0] = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
  out[1] = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
  out[2] = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
  return out;
}

/** The 8 corners of a box (ego frame) into `out` (24 numbers): bottom face first, then the top. */
export function boxCornersInto(box: { center: readonly number[]; size: readonly number[]; yaw: number }, out: Float64Array): Float64Array {
  const [cx, cy, cz] = box.center as [number, number, number];
  const [l, w, h] = box.size as [number, number, number];
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const xs = [0.5, -0.5, -0.5, 0.5];
  const ys = [0.5, 0.5, -0.5, -0.5];
  for (let k = 0; k < 8; k++) {
    const dx = xs[k % 4]! * l;
    const dy = ys[k % 4]! * w;
    out[k * 3] = cx + c * dx - s * dy;
    out[k * 3 + 1] = cy + s * dx + c * dy;
    out[k * 3 + 2] = cz + (k < 4 ? -h / 2 : h / 2);
  }
  return out;
}

/** Corner pairs of the 12 edges for `boxCornersInto` order, plus a cross on the front face (+x). */
export const BOX_EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [1, 2], [2, 3], [3, 0],
  [4, 5], [5, 6], [6, 7], [7, 4],
  [0, 4], [1, 5], [2, 6], [3, 7],
];
export const BOX_FRONT_CROSS: ReadonlyArray<readonly [number, number]> = [
  [0, 7], [3, 4],
];

/** Rectangle intersection over union. */
export function rectIoU(a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}
