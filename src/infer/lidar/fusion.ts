// Camera-lidar fusion: gives a 2D camera detection a position in the world from the lidar points in
// its frustum.
//
// 1. All points are projected into the camera once per sweep (projectPointsToCamera).
// 2. The frustum of a detection is its 2D box shrunk by `shrink` on each side (box edges bleed onto
//    the background), minus ground points and points behind the camera.
// 3. With cluster ids, the cluster that best explains the frustum wins: most frustum points, weighted
//    by the share of the cluster that falls inside the (unshrunk) box, so a wall behind a car does
//    not win. Its fitted oriented box is the answer.
// 4. Without a dominant cluster, the depth is the densest 2 m slab of frustum depths (rejecting
//    background and stray foreground points), and a class-prior-sized box is placed on the ray
//    through the box centre, half its depth behind the visible surface.

import type { Box3D, CameraIntrinsics, Pose, Vec3 } from '../../logs/model.js';
import { applyPose, invertPose } from '../../logs/transforms.js';
import { fitOrientedBox, type BoxFittingOptions } from './boxFitting.js';
import type { Clustering } from './clustering.js';

export interface Detection2DLike {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  label: string;
  score: number;
}

export interface FusionCamera {
  intrinsics: CameraIntrinsics;
  /** ego (or lidar) <- camera optical frame: the frame of the points. */
  extrinsic: Pose;
}

/** Pixel coordinates and camera depth of every point; depth <= 0 marks points behind the camera. */
export interface CameraProjection {
  u: Float32Array;
  v: Float32Array;
  depth: Float32Array;
}

export interface FusionContext {
  /** From segmentGround: ground points never count as the object. */
  groundLabels?: Uint8Array;
  /** From clusterPoints: enables the cluster-based estimate. */
  clustering?: Clustering;
  /** Fitted boxes by cluster id (e.g. from clustersToBoxes); fitted on demand when absent. */
  clusterBoxes?: ReadonlyArray<Pick<Box3D, 'center' | 'size' | 'yaw'>>;
  /** Precomputed projection of these points into this camera (saves a pass per detection). */
  projection?: CameraProjection;
  options?: FusionOptions;
}

export interface FusionOptions {
  /** Fraction of the box width/height dropped on each side before collecting points. */
  shrink?: number;
  /** Points nearer than this to the camera are ignored, metres. */
  minDepth?: number;
  maxDepth?: number;
  /** Fewest frustum points for any estimate. */
  minPoints?: number;
  /** A cluster must hold this share of the frustum's non-ground points to dominate it. */
  minClusterShare?: number;
  /** Class prior sizes [length, width, height] by label, metres. */
  priors?: Record<string, Vec3>;
  boxFitting?: BoxFittingOptions;
}

export type FusionMethod = 'cluster' | 'depth-mode' | 'none';

export interface FusedDetection {
  method: FusionMethod;
  /** Indices of the non-ground points in the (shrunk) frustum. */
  frustumPoints: Uint32Array;
  /** Cluster chosen for the estimate, when method is 'cluster'. */
  clusterId?: number;
  /** Camera-axis depth of the object's visible surface, metres (NaN when method is 'none'). */
  surfaceDepth: number;
  /** Horizontal distance from the points' origin to the box centre, metres (NaN when 'none'). */
  distance: number;
  /** The 3D box in the frame of the points; absent when method is 'none'. */
  box?: Box3D;
}

/** Typical object sizes [length, width, height], metres (KITTI / nuScenes averages, rounded). */
export const CLASS_PRIORS: Record<string, Vec3> = {
  car: [4.2, 1.8, 1.6],
  truck: [8, 2.5, 3.2],
  bus: [11, 2.6, 3.2],
  pedestrian: [0.8, 0.7, 1.75],
  cyclist: [1.8, 0.6, 1.7],
  motorcycle: [2.1, 0.8, 1.5],
  'traffic light': [0.3, 0.3, 1],
  'stop sign': [0.1, 0.75, 0.75],
};

const DEFAULT_PRIOR: Vec3 = [1, 1, 1.5];

const DEFAULTS: Required<Omit<FusionOptions, 'boxFitting'>> = {
  shrink: 0.1,
  minDepth: 1,
  maxDepth: 120,
  minPoints: 3,
  minClusterShare: 0.3,
  priors: CLASS_PRIORS,
};

/** Camera <- points transform as a 3x4 matrix premultiplied by P: pixel = (M·p) / (M·p)[2]. */
function projectionMatrix(camera: FusionCamera): { M: Float64Array; R: Float64Array } {
  const cameraFromPoints = invertPose(camera.extrinsic);
  // Columns of the rotation are the images of the basis vectors; translation is the image of 0.
  const t = applyPose(cameraFromPoints, [0, 0, 0]);
  const cols = [applyPose(cameraFromPoints, [1, 0, 0]), applyPose(cameraFromPoints, [0, 1, 0]), applyPose(cameraFromPoints, [0, 0, 1])].map(
    (p) => [p[0] - t[0], p[1] - t[1], p[2] - t[2]],
  );
  const R = new Float64Array(12);
  for (let r = 0; r < 3; r++) {
    R[4 * r] = cols[0]![r]!;
    R[4 * r + 1] = cols[1]![r]!;
    R[4 * r + 2] = cols[2]![r]!;
    R[4 * r + 3] = t[r]!;
  }
  const P = camera.intrinsics.P;
  if (P.length !== 12) throw new RangeError(`fusion: camera P must be 3x4 (12 numbers), got ${P.length}`);
  const M = new Float64Array(12);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      let sum = c === 3 ? P[4 * r + 3]! : 0;
      for (let k = 0; k < 3; k++) sum += P[4 * r + k]! * R[4 * k + c]!;
      M[4 * r + c] = sum;
    }
  }
  return { M, R };
}

/** Projects every point into the camera: pixel (u, v) and depth along the optical axis. */
export function projectPointsToCamera(positions: Float32Array, count: number, camera: FusionCamera, out?: CameraProjection): CameraProjection {
  if (positions.length < count * 3) throw new RangeError(`fusion: positions hold ${Math.floor(positions.length / 3)} points, fewer than count ${count}`);
  const { M, R } = projectionMatrix(camera);
  const u = out && out.u.length >= count ? out.u : new Float32Array(count);
  const v = out && out.v.length >= count ? out.v : new Float32Array(count);
  const depth = out && out.depth.length >= count ? out.depth : new Float32Array(count);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = M;
  const [r8, r9, r10, r11] = [R[8]!, R[9]!, R[10]!, R[11]!];
  for (let i = 0; i < count; i++) {
    const x = positions[3 * i]!;
    const y = positions[3 * i + 1]!;
    const z = positions[3 * i + 2]!;
    const w = m8! * x + m9! * y + m10! * z + m11!;
    depth[i] = r8 * x + r9 * y + r10 * z + r11;
    if (w > 1e-6) {
      u[i] = (m0! * x + m1! * y + m2! * z + m3!) / w;
      v[i] = (m4! * x + m5! * y + m6! * z + m7!) / w;
    } else {
      u[i] = Number.NaN;
      v[i] = Number.NaN;
      depth[i] = -1;
    }
  }
  return { u, v, depth };
}

let depthScratch = new Float32Array(0);

/**
 * Estimates where a 2D detection is in 3D from the lidar points (in the camera extrinsic's parent
 * frame). Returns method 'none' with no box when too few points fall in the detection's frustum.
 */
export function fuseDetection2DWithLidar(
  det: Detection2DLike,
  positions: Float32Array,
  count: number,
  camera: FusionCamera,
  context: FusionContext = {},
): FusedDetection {
  const o = { ...DEFAULTS, ...context.options };
  const projection = context.projection ?? projectPointsToCamera(positions, count, camera);
  const { u, v, depth } = projection;
  if (u.length < count) throw new RangeError(`fusion: the projection covers ${u.length} points, fewer than count ${count}`);
  const { groundLabels, clustering } = context;
  const w = det.x2 - det.x1;
  const h = det.y2 - det.y1;
  if (!(w > 0 && h > 0)) throw new RangeError(`fusion: detection box ${det.x1},${det.y1},${det.x2},${det.y2} is empty`);
  const sx1 = det.x1 + o.shrink * w;
  const sx2 = det.x2 - o.shrink * w;
  const sy1 = det.y1 + o.shrink * h;
  const sy2 = det.y2 - o.shrink * h;

  // Frustum points (non-ground), and per-cluster counts inside the shrunk and the full box.
  const picked: number[] = [];
  const inShrunk = new Map<number, number>();
  const inFull = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const d = depth[i]!;
    if (!(d >= o.minDepth && d <= o.maxDepth)) continue;
    const pu = u[i]!;
    const pv = v[i]!;
    if (pu < det.x1 || pu > det.x2 || pv < det.y1 || pv > det.y2) continue;
    if (groundLabels && groundLabels[i] === 1) continue;
    const id = clustering ? clustering.clusterIds[i]! : -1;
    if (id >= 0) inFull.set(id, (inFull.get(id) ?? 0) + 1);
    if (pu < sx1 || pu > sx2 || pv < sy1 || pv > sy2) continue;
    picked.push(i);
    if (id >= 0) inShrunk.set(id, (inShrunk.get(id) ?? 0) + 1);
  }
  const frustumPoints = Uint32Array.from(picked);
  const none: FusedDetection = { method: 'none', frustumPoints, surfaceDepth: Number.NaN, distance: Number.NaN };
  if (frustumPoints.length < o.minPoints) return none;

  const prior = o.priors[det.label] ?? DEFAULT_PRIOR;

  // Cluster-based estimate.
  if (clustering) {
    let bestId = -1;
    let bestScore = 0;
    for (const [id, n] of inShrunk) {
      const share = n / frustumPoints.length;
      if (share < o.minClusterShare || n < o.minPoints) continue;
      const containment = (inFull.get(id) ?? 0) / clustering.clusters[id]!.count;
      const score = n * containment;
      if (score > bestScore) {
        bestScore = score;
        bestId = id;
      }
    }
    const containment = bestId >= 0 ? (inFull.get(bestId) ?? 0) / clustering.clusters[bestId]!.count : 0;
    // A cluster mostly outside the box (a hedge, a building, several merged cars) says little
    // about this object's extent: fall back to the depth estimate then.
    if (bestId >= 0 && containment >= 0.5) {
      const cluster = clustering.clusters[bestId]!;
      const fitted =
        context.clusterBoxes?.[bestId] ??
        fitOrientedBox(positions, clustering.order.subarray(clustering.offsets[bestId]!, clustering.offsets[bestId + 1]!), cluster.groundZ, context.options?.boxFitting);
      let nearest = Infinity;
      for (const i of frustumPoints) if (clustering.clusterIds[i] === bestId && depth[i]! < nearest) nearest = depth[i]!;
      return {
        method: 'cluster',
        frustumPoints,
        clusterId: bestId,
        surfaceDepth: nearest,
        distance: Math.hypot(fitted.center[0], fitted.center[1]),
        box: {
          id: `fused-cluster-${bestId}`,
          label: det.label,
          center: [...fitted.center],
          size: [...fitted.size],
          yaw: fitted.yaw,
          score: det.score,
          attributes: { pointCount: cluster.count, frustumPoints: frustumPoints.length, fusion: 'cluster' },
        },
      };
    }
  }

  // Depth-mode estimate: the densest 2 m slab of frustum depths; its median is the visible surface.
  const n = frustumPoints.length;
  if (depthScratch.length < n) depthScratch = new Float32Array(Math.max(n, 2 * depthScratch.length));
  for (let k = 0; k < n; k++) depthScratch[k] = depth[frustumPoints[k]!]!;
  const sorted = depthScratch.subarray(0, n).sort();
  const slab = 2;
  let bestStart = 0;
  let bestCount = 0;
  for (let lo = 0, hi = 0; lo < n; lo++) {
    while (hi < n && sorted[hi]! - sorted[lo]! <= slab) hi++;
    // Prefer the nearer slab unless a farther one is clearly denser (occluders are in front).
    if (hi - lo > bestCount * 1.2) {
      bestCount = hi - lo;
      bestStart = lo;
    }
  }
  const surfaceDepth = sorted[bestStart + Math.floor(bestCount / 2)]!;
  const centreDepth = surfaceDepth + Math.min(prior[0], prior[1]) / 2;
  const uc = (det.x1 + det.x2) / 2;
  const vc = (det.y1 + det.y2) / 2;
  const centreInPoints = unprojectToDepth(camera, uc, vc, centreDepth);
  // Sit the box on the lowest frustum point of the chosen slab (its bottom edge is the ground contact).
  let low = Infinity;
  for (const i of frustumPoints) {
    const d = depth[i]!;
    if (d >= sorted[bestStart]! && d <= sorted[bestStart]! + slab) low = Math.min(low, positions[3 * i + 2]!);
  }
  const center: Vec3 = [centreInPoints[0], centreInPoints[1], Number.isFinite(low) ? low + prior[2] / 2 : centreInPoints[2]];
  return {
    method: 'depth-mode',
    frustumPoints,
    surfaceDepth,
    distance: Math.hypot(center[0], center[1]),
    box: {
      id: `fused-ray-${Math.round(uc)}-${Math.round(vc)}`,
      label: det.label,
      center,
      size: [...prior],
      yaw: 0,
      score: det.score,
      attributes: { frustumPoints: frustumPoints.length, fusion: 'depth-mode' },
    },
  };
}

/** The point on the pixel (u, v)'s ray at the given camera depth, in the frame of the points. */
function unprojectToDepth(camera: FusionCamera, u: number, v: number, depth: number): Vec3 {
  // In camera coordinates X: P·[X;1] = λ[u v 1]. Let A = P[:, :3], p = P[:, 3]: X = λ A⁻¹[u v 1] - A⁻¹p.
  const P = camera.intrinsics.P;
  const a = [P[0]!, P[1]!, P[2]!, P[4]!, P[5]!, P[6]!, P[8]!, P[9]!, P[10]!];
  const inv = invert3(a);
  const ray = mul3(inv, [u, v, 1]);
  const off = mul3(inv, [P[3]!, P[7]!, P[11]!]);
  const lambda = (depth + off[2]) / ray[2];
  const cameraPoint: Vec3 = [lambda * ray[0] - off[0], lambda * ray[1] - off[1], lambda * ray[2] - off[2]];
  return applyPose(camera.extrinsic, cameraPoint);
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) throw new RangeError('fusion: camera P has a singular 3x3 part');
  const s = 1 / det;
  return [A * s, -(b * i - c * h) * s, (b * f - c * e) * s, B * s, (a * i - c * g) * s, -(a * f - c * d) * s, C * s, -(a * h - b * g) * s, (a * e - b * d) * s];
}

function mul3(m: number[], v: Vec3): Vec3 {
  return [m[0]! * v[0] + m[1]! * v[1] + m[2]! * v[2], m[3]! * v[0] + m[4]! * v[1] + m[5]! * v[2], m[6]! * v[0] + m[7]! * v[1] + m[8]! * v[2]];
}

/** Fuses every detection of one camera image with one sweep, projecting the sweep only once. */
export function fuseDetectionsWithLidar(
  detections: readonly Detection2DLike[],
  positions: Float32Array,
  count: number,
  camera: FusionCamera,
  context: FusionContext = {},
): FusedDetection[] {
  const projection = context.projection ?? projectPointsToCamera(positions, count, camera);
  return detections.map((det) => fuseDetection2DWithLidar(det, positions, count, camera, { ...context, projection }));
}
