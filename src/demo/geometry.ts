// Small, allocation-light geometry for the demo generator: yaw-only rigid transforms, upright
// boxes, ray/box slab tests and the near-plane-clipped projection of a box into a pinhole camera.
import type { Pose, Quat, Vec3 } from '../logs/model.js';

/** An upright box (rotated about +z only): centre, size [length (x), width (y), height (z)], yaw. */
export interface UprightBox {
  center: Vec3;
  size: Vec3;
  yaw: number;
}

/** Planar pose of something standing on the flat ground: position and heading. */
export interface Pose2 {
  x: number;
  y: number;
  yaw: number;
}

export function yawQuat(yaw: number): Quat {
  return [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)];
}

export function normalizeAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}

/** Quaternion [x, y, z, w] of a row-major 3x3 rotation matrix. */
export function quatFromRotation(m: readonly number[]): Quat {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = m as [number, number, number, number, number, number, number, number, number];
  const trace = m00 + m11 + m22;
  let q: Quat;
  if (trace > 0) {
    const s = 0.5 / Math.sqrt(trace + 1);
    q = [(m21 - m12) * s, (m02 - m20) * s, (m10 - m01) * s, 0.25 / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    q = [0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s];
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    q = [(m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    q = [(m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s];
  }
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
}

/** Pose of a frame standing on the ground (z = 0) with the given planar pose. */
export function groundPose(p: Pose2): Pose {
  return { translation: [p.x, p.y, 0], rotation: yawQuat(p.yaw) };
}

/** The 8 corners: bottom face first, counter-clockwise from (+l/2, +w/2), then the top face. */
export function uprightBoxCorners(b: UprightBox): Vec3[] {
  const [l, w, h] = b.size;
  const c = Math.cos(b.yaw);
  const s = Math.sin(b.yaw);
  const out: Vec3[] = [];
  for (const dz of [-h / 2, h / 2]) {
    for (const [dx, dy] of [
      [l / 2, w / 2],
      [-l / 2, w / 2],
      [-l / 2, -w / 2],
      [l / 2, -w / 2],
    ] as const) {
      out.push([b.center[0] + c * dx - s * dy, b.center[1] + s * dx + c * dy, b.center[2] + dz]);
    }
  }
  return out;
}

const BOX_EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [1, 2], [2, 3], [3, 0],
  [4, 5], [5, 6], [6, 7], [7, 4],
  [0, 4], [1, 5], [2, 6], [3, 7],
];

export interface PinholeModel {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  width: number;
  height: number;
}

export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Points closer than this to the camera plane are clipped away before projecting. */
export const NEAR_PLANE = 0.01;

/**
 * Bounding rectangle of the image of a box given by its 8 corners in the camera optical frame.
 * The box's edges are clipped against the near plane first, so a box that is partly behind the
 * camera yields the image of its visible part only (dropping the corners behind the camera, as
 * naive code does, gets that wrong). Unclipped to the image; undefined when nothing is in front.
 */
export function projectedBoxRect(cornersCam: readonly Vec3[], cam: PinholeModel): Rect | undefined {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  const add = (x: number, y: number, z: number): void => {
    const u = cam.cx + (cam.fx * x) / z;
    const v = cam.cy + (cam.fy * y) / z;
    if (u < x1) x1 = u;
    if (u > x2) x2 = u;
    if (v < y1) y1 = v;
    if (v > y2) y2 = v;
  };
  for (const p of cornersCam) if (p[2] >= NEAR_PLANE) add(p[0], p[1], p[2]);
  for (const [i, j] of BOX_EDGES) {
    const a = cornersCam[i]!;
    const b = cornersCam[j]!;
    if (a[2] >= NEAR_PLANE === b[2] >= NEAR_PLANE) continue;
    const f = (NEAR_PLANE - a[2]) / (b[2] - a[2]);
    add(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), NEAR_PLANE);
  }
  return x1 === Infinity ? undefined : { x1, y1, x2, y2 };
}

/**
 * Pixel convention (OpenCV): pixel (i, j) has its centre at image coordinates (i, j), so the image
 * spans [-0.5, width - 0.5]; rectangles are clipped to the pixel centres [0, width-1] x [0, height-1].
 */
export function clipRectToImage(r: Rect, width: number, height: number): Rect | undefined {
  const x1 = Math.max(0, r.x1);
  const y1 = Math.max(0, r.y1);
  const x2 = Math.min(width - 1, r.x2);
  const y2 = Math.min(height - 1, r.y2);
  if (x2 < x1 || y2 < y1) return undefined;
  return { x1, y1, x2, y2 };
}

/**
 * Ray / axis-aligned box (centred at the origin, half sizes hx, hy, hz) slab test.
 * Returns the entry distance (> tMin) or Infinity; the entered face is left in `slabFace`
 * (0:+x 1:-x 2:+y 3:-y 4:+z 5:-z).
 */
export let slabFace = -1;
export function raySlab(
  ox: number, oy: number, oz: number,
  dx: number, dy: number, dz: number,
  hx: number, hy: number, hz: number,
  tMin: number,
): number {
  let t0 = -Infinity;
  let t1 = Infinity;
  let face = -1;
  if (dx !== 0) {
    const inv = 1 / dx;
    let a = (-hx - ox) * inv;
    let b = (hx - ox) * inv;
    let f = 1; // entering through -x when moving +x
    if (a > b) {
      const tmp = a;
      a = b;
      b = tmp;
      f = 0;
    }
    if (a > t0) {
      t0 = a;
      face = f;
    }
    if (b < t1) t1 = b;
  } else if (ox < -hx || ox > hx) return Infinity;
  if (dy !== 0) {
    const inv = 1 / dy;
    let a = (-hy - oy) * inv;
    let b = (hy - oy) * inv;
    let f = 3;
    if (a > b) {
      const tmp = a;
      a = b;
      b = tmp;
      f = 2;
    }
    if (a > t0) {
      t0 = a;
      face = f;
    }
    if (b < t1) t1 = b;
  } else if (oy < -hy || oy > hy) return Infinity;
  if (dz !== 0) {
    const inv = 1 / dz;
    let a = (-hz - oz) * inv;
    let b = (hz - oz) * inv;
    let f = 5;
    if (a > b) {
      const tmp = a;
      a = b;
      b = tmp;
      f = 4;
    }
    if (a > t0) {
      t0 = a;
      face = f;
    }
    if (b < t1) t1 = b;
  } else if (oz < -hz || oz > hz) return Infinity;
  if (t0 > t1 || t0 <= tMin) return Infinity;
  slabFace = face;
  return t0;
}
