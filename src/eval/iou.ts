// Overlap measures: image-rectangle IoU (pycocotools' bbox IoU, crowd variant), rotated BEV IoU
// (polygon clipping in the ground plane, as the KITTI devkit's boost::geometry polygons), 3D IoU
// (BEV intersection × height overlap), and the nuScenes aligned scale IoU and angle difference.
import type { EvalBox3D, Rect } from './types.js';

export function rectArea(r: Rect): number {
  return Math.max(0, r.x2 - r.x1) * Math.max(0, r.y2 - r.y1);
}

export function rectIntersection(a: Rect, b: Rect): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union; 0 when both are empty. */
export function rectIoU(a: Rect, b: Rect): number {
  const inter = rectIntersection(a, b);
  if (inter === 0) return 0;
  return inter / (rectArea(a) + rectArea(b) - inter);
}

/** Overlap with a crowd/DontCare region: intersection over the detection's own area (pycocotools iscrowd, KITTI criterion 0). */
export function rectOverlapOfFirst(det: Rect, region: Rect): number {
  const inter = rectIntersection(det, region);
  if (inter === 0) return 0;
  return inter / rectArea(det);
}

/** BEV footprint corners, counter-clockwise, as [x0, y0, x1, y1, ...] into out (length 8). */
export function bevCorners(box: EvalBox3D, out: Float64Array = new Float64Array(8)): Float64Array {
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const hl = box.size[0] / 2;
  const hw = box.size[1] / 2;
  const cx = box.center[0];
  const cy = box.center[1];
  // (+l,+w), (-l,+w), (-l,-w), (+l,-w): counter-clockwise for positive sizes.
  const lx = [hl, -hl, -hl, hl];
  const wy = [hw, hw, -hw, -hw];
  for (let i = 0; i < 4; i++) {
    out[2 * i] = cx + c * lx[i]! - s * wy[i]!;
    out[2 * i + 1] = cy + s * lx[i]! + c * wy[i]!;
  }
  return out;
}

// Scratch buffers for the clipper: clipping a convex n-gon by a convex m-gon leaves at most n + m vertices.
const clipA = new Float64Array(32);
const clipB = new Float64Array(32);
const cornersP = new Float64Array(8);
const cornersQ = new Float64Array(8);

/**
 * Area of the intersection of two convex counter-clockwise polygons (Sutherland–Hodgman: clip p by
 * each edge of q). Points on an edge count as inside, so coincident edges (a square rotated by 90°)
 * keep their full area.
 */
export function convexIntersectionArea(p: Float64Array, pCount: number, q: Float64Array, qCount: number): number {
  const big = pCount + qCount > 16;
  let src = big ? new Float64Array(4 * (pCount + qCount)) : clipA;
  let dst = big ? new Float64Array(4 * (pCount + qCount)) : clipB;
  for (let i = 0; i < 2 * pCount; i++) src[i] = p[i]!;
  let n = pCount;
  for (let e = 0; e < qCount && n > 0; e++) {
    const ax = q[2 * e]!;
    const ay = q[2 * e + 1]!;
    const bx = q[2 * ((e + 1) % qCount)]!;
    const by = q[2 * ((e + 1) % qCount) + 1]!;
    const ex = bx - ax;
    const ey = by - ay;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const sx = src[2 * i]!;
      const sy = src[2 * i + 1]!;
      const tx = src[2 * ((i + 1) % n)]!;
      const ty = src[2 * ((i + 1) % n) + 1]!;
      const sSide = ex * (sy - ay) - ey * (sx - ax);
      const tSide = ex * (ty - ay) - ey * (tx - ax);
      const sIn = sSide >= 0;
      const tIn = tSide >= 0;
      if (sIn) {
        dst[2 * m] = sx;
        dst[2 * m + 1] = sy;
        m++;
      }
      if (sIn !== tIn) {
        const f = sSide / (sSide - tSide);
        dst[2 * m] = sx + f * (tx - sx);
        dst[2 * m + 1] = sy + f * (ty - sy);
        m++;
      }
    }
    const swap = src;
    src = dst;
    dst = swap;
    n = m;
  }
  if (n < 3) return 0;
  let twice = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    twice += src[2 * i]! * src[2 * j + 1]! - src[2 * j]! * src[2 * i + 1]!;
  }
  return Math.max(0, twice / 2);
}

/** Intersection area of two boxes' ground-plane footprints. */
export function bevIntersection(a: EvalBox3D, b: EvalBox3D): number {
  // Quick reject on the circumscribed circles.
  const ra = Math.hypot(a.size[0], a.size[1]) / 2;
  const rb = Math.hypot(b.size[0], b.size[1]) / 2;
  if (Math.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1]) >= ra + rb) return 0;
  return convexIntersectionArea(bevCorners(a, cornersP), 4, bevCorners(b, cornersQ), 4);
}

export function bevIoU(a: EvalBox3D, b: EvalBox3D): number {
  const inter = bevIntersection(a, b);
  if (inter <= 0) return 0;
  return inter / (a.size[0] * a.size[1] + b.size[0] * b.size[1] - inter);
}

/** Height (z) overlap of two boxes, m. */
export function heightOverlap(a: EvalBox3D, b: EvalBox3D): number {
  const top = Math.min(a.center[2] + a.size[2] / 2, b.center[2] + b.size[2] / 2);
  const bottom = Math.max(a.center[2] - a.size[2] / 2, b.center[2] - b.size[2] / 2);
  return Math.max(0, top - bottom);
}

/** 3D IoU of yaw-only boxes: BEV intersection × height overlap over the union volume (KITTI devkit box3DOverlap). */
export function iou3d(a: EvalBox3D, b: EvalBox3D): number {
  const dz = heightOverlap(a, b);
  if (dz <= 0) return 0;
  const inter = bevIntersection(a, b) * dz;
  if (inter <= 0) return 0;
  const va = a.size[0] * a.size[1] * a.size[2];
  const vb = b.size[0] * b.size[1] * b.size[2];
  return inter / (va + vb - inter);
}

/** Centre distance in the ground plane (nuScenes center_distance, xy only), as numpy's norm computes it. */
export function centerDistance(a: EvalBox3D, b: EvalBox3D): number {
  const dx = b.center[0] - a.center[0];
  const dy = b.center[1] - a.center[1];
  return Math.sqrt(dx * dx + dy * dy);
}

/** IoU of two boxes after aligning centre and orientation (nuScenes scale_iou). */
export function scaleIoU(a: EvalBox3D, b: EvalBox3D): number {
  const inter = Math.min(a.size[0], b.size[0]) * Math.min(a.size[1], b.size[1]) * Math.min(a.size[2], b.size[2]);
  const va = a.size[0] * a.size[1] * a.size[2];
  const vb = b.size[0] * b.size[1] * b.size[2];
  return inter / (va + vb - inter);
}

/** Python's floored modulo (the sign follows the divisor). */
function floorMod(x: number, m: number): number {
  return x - Math.floor(x / m) * m;
}

/** Signed smallest difference from y to x for angles with the given period (nuScenes angle_diff), in (-π, π]. */
export function angleDiff(x: number, y: number, period: number): number {
  let diff = floorMod(x - y + period / 2, period) - period / 2;
  if (diff > Math.PI) diff -= 2 * Math.PI;
  return diff;
}
