// Fitting a label's 3D box to lidar points: pure geometry over typed arrays (no I/O, no DOM), used by
// the `fitLabelBox3d` API method and usable anywhere else.
//
// - The footprint is the minimum-area rectangle of the points' bird's-eye convex hull (rotating
//   calipers: the best rectangle has a side on a hull edge); the length is its longer side.
// - Height runs from the local ground under the points (from ground segmentation) or their lowest
//   point, to their highest point.
// - Ground points never count: ground segmentation of the whole sweep (src/infer/lidar) marks them.
// - A region fit takes the points inside a box grown by a margin; a frustum fit takes the points whose
//   projection falls inside a 2D box and keeps their largest Euclidean cluster; a cluster fit grows
//   the cluster around a picked point.
import type { CameraIntrinsics, Pose, PointCloud, Vec3 } from '../logs/model.js';
import { clusterPoints, type ClusteringOptions } from '../infer/lidar/clustering.js';
import { projectPointsToCamera } from '../infer/lidar/fusion.js';
import { segmentGround } from '../infer/lidar/groundSegmentation.js';
import { lidarToEgo } from '../plan/frame.js';
import { wrapAngle } from './geometry.js';
import type { LabelBox2D, LabelBox3D } from './model.js';

/** A sweep prepared for fitting: positions in the ego frame, with ground labels and heights above ground. */
export interface FitCloud {
  /** xyz interleaved, ego frame. */
  positions: Float32Array;
  count: number;
  /** 1 = ground (never part of an object). */
  groundLabels?: Uint8Array;
  /** Height of each point above its local ground, metres. */
  heights?: Float32Array;
}

export interface BoxFit {
  box: LabelBox3D;
  /** Indices (into the cloud) of the points the box was fitted to. */
  points: Uint32Array;
}

/** An oriented rectangle in the xy plane: centre, length along `yaw`, width across it. */
export interface Rectangle2D {
  center: [number, number];
  length: number;
  width: number;
  yaw: number;
}

/** Smallest box side, metres: a single point or a flat wall still gives a drawable box. */
const MIN_SIZE = 0.1;

// ---- plane geometry --------------------------------------------------------------------------

/** Convex hull of the points (Andrew's monotone chain), counter-clockwise, as indices into xs/ys. */
export function convexHull(xs: ArrayLike<number>, ys: ArrayLike<number>): number[] {
  const n = xs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a]! - xs[b]! || ys[a]! - ys[b]!);
  const cross = (o: number, a: number, b: number) => (xs[a]! - xs[o]!) * (ys[b]! - ys[o]!) - (ys[a]! - ys[o]!) * (xs[b]! - xs[o]!);
  const lower: number[] = [];
  for (const i of order) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, i) <= 0) lower.pop();
    lower.push(i);
  }
  const upper: number[] = [];
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, i) <= 0) upper.pop();
    upper.push(i);
  }
  lower.pop();
  upper.pop();
  const hull = lower.concat(upper);
  return hull.length > 0 ? hull : order.slice(0, 1);
}

/**
 * The minimum-area rectangle enclosing the points. One of its sides lies on an edge of the convex hull,
 * so only the hull's edge directions are tried. Yaw is that of the longer side, in (−π/2, π/2].
 */
export function minAreaRectangle(xs: ArrayLike<number>, ys: ArrayLike<number>): Rectangle2D {
  if (xs.length === 0) throw new RangeError('minAreaRectangle: no points');
  const hull = convexHull(xs, ys);
  const angles = hull.length < 2 ? [0] : hull.map((a, k) => {
    const b = hull[(k + 1) % hull.length]!;
    return Math.atan2(ys[b]! - ys[a]!, xs[b]! - xs[a]!);
  });
  let best: { area: number; theta: number; min1: number; max1: number; min2: number; max2: number } | null = null;
  for (const theta of angles) {
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    let min1 = Infinity;
    let max1 = -Infinity;
    let min2 = Infinity;
    let max2 = -Infinity;
    for (const i of hull) {
      const p1 = xs[i]! * c + ys[i]! * s;
      const p2 = -xs[i]! * s + ys[i]! * c;
      if (p1 < min1) min1 = p1;
      if (p1 > max1) max1 = p1;
      if (p2 < min2) min2 = p2;
      if (p2 > max2) max2 = p2;
    }
    const area = (max1 - min1) * (max2 - min2);
    // Ties (a rectangle's hull has two edge directions of equal area): the first found wins.
    if (!best || area < best.area - 1e-12) best = { area, theta, min1, max1, min2, max2 };
  }
  const { theta, min1, max1, min2, max2 } = best!;
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const m1 = (min1 + max1) / 2;
  const m2 = (min2 + max2) / 2;
  const center: [number, number] = [m1 * c - m2 * s, m1 * s + m2 * c];
  const ext1 = max1 - min1;
  const ext2 = max2 - min2;
  const longFirst = ext1 >= ext2;
  return { center, length: longFirst ? ext1 : ext2, width: longFirst ? ext2 : ext1, yaw: halfTurn(longFirst ? theta : theta + Math.PI / 2) };
}

/** An axis angle (a heading known only up to π) folded into (−π/2, π/2]. */
function halfTurn(a: number): number {
  let r = wrapAngle(a);
  if (r > Math.PI / 2) r -= Math.PI;
  else if (r <= -Math.PI / 2) r += Math.PI;
  return r;
}

/** The yaw among `yaw + kπ` nearest to `reference` (a fitted axis keeps the heading the label had). */
export function nearestHeading(yaw: number, reference: number): number {
  const turned = wrapAngle(yaw + Math.PI);
  return Math.abs(wrapAngle(yaw - reference)) <= Math.abs(wrapAngle(turned - reference)) ? wrapAngle(yaw) : turned;
}

/** Bird's-eye IoU of two boxes' footprints (the evaluation's rotated-polygon overlap). */
export { bevIoU } from '../eval/iou.js';

// ---- fitting ---------------------------------------------------------------------------------

/**
 * The box of the points positions[indices[k]]: minimum-area footprint, bottom on the local ground
 * under them (mean of z − height, when heights are known and that lies below them) or their lowest
 * point, top at their highest. Yaw in (−π/2, π/2].
 */
export function fitBoxToPoints(cloud: FitCloud, indices: ArrayLike<number>): LabelBox3D {
  const n = indices.length;
  if (n === 0) throw new RangeError('fitBoxToPoints: no points');
  const { positions, heights } = cloud;
  // Centred coordinates keep the hull arithmetic exact enough far from the origin.
  const ox = positions[3 * indices[0]!]!;
  const oy = positions[3 * indices[0]! + 1]!;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  let zMin = Infinity;
  let zMax = -Infinity;
  let groundSum = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    xs[k] = positions[3 * i]! - ox;
    ys[k] = positions[3 * i + 1]! - oy;
    const z = positions[3 * i + 2]!;
    if (z < zMin) zMin = z;
    if (z > zMax) zMax = z;
    if (heights) groundSum += z - heights[i]!;
  }
  const rect = minAreaRectangle(xs, ys);
  const ground = heights ? groundSum / n : Infinity;
  const bottom = ground < zMin ? ground : zMin;
  const height = Math.max(zMax - bottom, MIN_SIZE);
  return {
    center: [rect.center[0] + ox, rect.center[1] + oy, bottom + height / 2],
    size: [Math.max(rect.length, MIN_SIZE), Math.max(rect.width, MIN_SIZE), height],
    yaw: rect.yaw,
  };
}

/** Indices of the non-ground points inside the box grown by `margin` metres on every side. */
export function pointsInBox(cloud: FitCloud, box: LabelBox3D, margin = 0): Uint32Array {
  const { positions, count, groundLabels } = cloud;
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const hl = box.size[0] / 2 + margin;
  const hw = box.size[1] / 2 + margin;
  const hh = box.size[2] / 2 + margin;
  const [cx, cy, cz] = box.center;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (groundLabels && groundLabels[i] === 1) continue;
    const dx = positions[3 * i]! - cx;
    const dy = positions[3 * i + 1]! - cy;
    const dz = positions[3 * i + 2]! - cz;
    if (Math.abs(dz) > hh) continue;
    if (Math.abs(c * dx + s * dy) > hl || Math.abs(-s * dx + c * dy) > hw) continue;
    out.push(i);
  }
  return Uint32Array.from(out);
}

export interface RegionFitOptions {
  /** Metres added on every side of the region before collecting points. */
  margin?: number;
  /** Fewest points worth fitting. */
  minPoints?: number;
}

/**
 * Refits a box to the non-ground points inside it (grown by `margin`). The fitted axis keeps the
 * region's heading (yaw + kπ nearest to it). null when fewer than `minPoints` points are inside.
 */
export function fitBoxInRegion(cloud: FitCloud, region: LabelBox3D, options: RegionFitOptions = {}): BoxFit | null {
  const points = pointsInBox(cloud, region, options.margin ?? 0.3);
  if (points.length < Math.max(1, options.minPoints ?? 5)) return null;
  const box = fitBoxToPoints(cloud, points);
  return { box: { ...box, yaw: nearestHeading(box.yaw, region.yaw) }, points };
}

/** A camera as fitting needs it: intrinsics (P) and ego ← camera optical frame. */
export interface FitCamera {
  intrinsics: CameraIntrinsics;
  extrinsic: Pose;
}

export interface FrustumFitOptions {
  /** Fraction of the 2D box's width and height dropped on each side (box edges bleed onto the background). */
  shrink?: number;
  /** Points nearer the camera than this are skipped, metres. */
  minDepth?: number;
  /** Euclidean clustering of the frustum points (tolerance, minimum size, height band). */
  clustering?: ClusteringOptions;
  minPoints?: number;
}

/**
 * A box from a 2D box in one camera: the non-ground points whose projection falls inside it (shrunk a
 * little), their largest Euclidean cluster, fitted. null when no cluster has `minPoints` points.
 */
export function boxFromFrustum(cloud: FitCloud, camera: FitCamera, box2d: Pick<LabelBox2D, 'x1' | 'y1' | 'x2' | 'y2'>, options: FrustumFitOptions = {}): BoxFit | null {
  const shrink = options.shrink ?? 0.05;
  const minDepth = options.minDepth ?? 1;
  const minPoints = Math.max(1, options.minPoints ?? 5);
  const x1 = Math.min(box2d.x1, box2d.x2);
  const x2 = Math.max(box2d.x1, box2d.x2);
  const y1 = Math.min(box2d.y1, box2d.y2);
  const y2 = Math.max(box2d.y1, box2d.y2);
  const w = x2 - x1;
  const h = y2 - y1;
  if (!(w > 0 && h > 0)) return null;
  const { u, v, depth } = projectPointsToCamera(cloud.positions, cloud.count, camera);
  const inside: number[] = [];
  for (let i = 0; i < cloud.count; i++) {
    if (cloud.groundLabels && cloud.groundLabels[i] === 1) continue;
    if (!(depth[i]! >= minDepth)) continue;
    const pu = u[i]!;
    const pv = v[i]!;
    if (pu < x1 + shrink * w || pu > x2 - shrink * w || pv < y1 + shrink * h || pv > y2 - shrink * h) continue;
    inside.push(i);
  }
  return largestClusterFit(cloud, inside, { minPoints: Math.min(minPoints, 8), ...options.clustering }, minPoints);
}

export interface ClusterFitOptions {
  clustering?: ClusteringOptions;
  /** How far (bird's-eye, metres) the nearest clustered point may lie from the picked point. */
  radius?: number;
  minPoints?: number;
}

/**
 * A box around the lidar cluster nearest (bird's-eye) to `point`: the sweep's non-ground points are
 * clustered, and the cluster of the clustered point nearest to `point` within `radius` is fitted.
 */
export function boxFromCluster(cloud: FitCloud, point: Vec3, options: ClusterFitOptions = {}): BoxFit | null {
  const radius = options.radius ?? 1.5;
  const clustering = clusterPoints(cloud.positions, cloud.count, { groundLabels: cloud.groundLabels, heights: cloud.heights }, { maxRange: rangeFor(point), ...options.clustering });
  let best = -1;
  let bestD2 = radius * radius;
  for (let i = 0; i < cloud.count; i++) {
    if (clustering.clusterIds[i]! < 0) continue;
    const dx = cloud.positions[3 * i]! - point[0];
    const dy = cloud.positions[3 * i + 1]! - point[1];
    const d2 = dx * dx + dy * dy;
    if (d2 < bestD2) {
      bestD2 = d2;
      best = i;
    }
  }
  if (best < 0) return null;
  const id = clustering.clusterIds[best]!;
  const points = clustering.order.slice(clustering.offsets[id]!, clustering.offsets[id + 1]!);
  if (points.length < Math.max(1, options.minPoints ?? 5)) return null;
  return { box: fitBoxToPoints(cloud, points), points };
}

/** Clustering's range limit: enough to reach the picked point (the grid grows with it, so no more). */
function rangeFor(point: Vec3): number {
  return Math.max(60, Math.ceil(Math.hypot(point[0], point[1]) + 10));
}

/** The largest Euclidean cluster of the given points, fitted. */
function largestClusterFit(cloud: FitCloud, indices: readonly number[], clustering: ClusteringOptions, minPoints: number): BoxFit | null {
  if (indices.length < minPoints) return null;
  const n = indices.length;
  const positions = new Float32Array(3 * n);
  const heights = cloud.heights ? new Float32Array(n) : undefined;
  let farthest = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    positions[3 * k] = cloud.positions[3 * i]!;
    positions[3 * k + 1] = cloud.positions[3 * i + 1]!;
    positions[3 * k + 2] = cloud.positions[3 * i + 2]!;
    if (heights) heights[k] = cloud.heights![i]!;
    farthest = Math.max(farthest, Math.hypot(positions[3 * k]!, positions[3 * k + 1]!));
  }
  const result = clusterPoints(positions, n, { heights }, { maxRange: Math.max(60, Math.ceil(farthest + 1)), ...clustering });
  let best = -1;
  for (const c of result.clusters) if (best < 0 || c.count > result.clusters[best]!.count) best = c.id;
  if (best < 0 || result.clusters[best]!.count < minPoints) return null;
  const local = result.order.subarray(result.offsets[best]!, result.offsets[best + 1]!);
  const points = Uint32Array.from(local, (k) => indices[k]!);
  return { box: fitBoxToPoints(cloud, points), points };
}

// ---- preparing a sweep -------------------------------------------------------------------------

/**
 * A sweep ready for fitting: ground segmented in the sensor's own frame (where the ground model
 * expects it: sensor at the origin, z up), positions moved into the ego frame.
 */
export function prepareFitCloud(cloud: Pick<PointCloud, 'positions' | 'count' | 'extrinsic'>): FitCloud {
  // Mounting height from the extrinsic when the ego origin is on the ground; else the segmenter's default.
  const mountZ = cloud.extrinsic.translation[2];
  const ground = segmentGround(cloud.positions, cloud.count, mountZ > 0.3 && mountZ < 4 ? { sensorHeight: mountZ } : {});
  // Heights are along the sensor's z; for the usual level mounting that is the ego's z too.
  // lidarToEgo fills a buffer it reuses on the next call: keep a copy.
  const positions = lidarToEgo(cloud).slice(0, 3 * cloud.count);
  return { positions, count: cloud.count, groundLabels: ground.labels, heights: ground.heights };
}

