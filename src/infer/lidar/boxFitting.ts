// Oriented 3D boxes for lidar clusters: the model-free baseline detector's output.
//
// The yaw comes from L-shape fitting (search-based rectangle fitting with the "closeness" criterion,
// Zhang et al., IV 2017): for each heading in [0°, 90°) the bird's-eye points are projected onto the
// two box axes and scored by how tightly they hug the nearest rectangle edge; the best heading wins
// (coarse 3° search, then 0.5° around the best). This suits lidar, which sees one or two faces of a
// vehicle, better than a minimum-area rectangle of the convex hull.
//
// A vehicle seen from one side shows a single face, so its box would be centred on that face. With
// completePartialViews, a car-sized, car-tall cluster whose footprint is thinner than a car is
// extended away from the sensor to a typical car's length or width (the label stays 'obstacle').

import type { Box3D, Vec3 } from '../../logs/model.js';
import type { Clustering } from './clustering.js';

export interface OrientedBox {
  center: Vec3;
  /** [length, width, height]: length along the yaw direction. */
  size: Vec3;
  /** About +z, in (-π/2, π/2]. */
  yaw: number;
  /** True when the box was extended from a one-sided view (completePartialViews). */
  completed: boolean;
}

export interface BoxFittingOptions {
  /** Bird's-eye points used for the heading search at most (evenly subsampled). */
  maxFitPoints?: number;
  /** Extend thin, car-like clusters to a car's footprint, away from the sensor. */
  completePartialViews?: boolean;
  /** Footprint used by completePartialViews, metres [length, width]. */
  carFootprint?: [number, number];
}

const DEFAULTS: Required<BoxFittingOptions> = { maxFitPoints: 400, completePartialViews: true, carFootprint: [4.2, 1.8] };

let xs = new Float64Array(0);
let ys = new Float64Array(0);

/** Closeness score of the heading θ for the centred points xs/ys[0..n). */
function closeness(n: number, theta: number): number {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  let min1 = Infinity;
  let max1 = -Infinity;
  let min2 = Infinity;
  let max2 = -Infinity;
  for (let k = 0; k < n; k++) {
    const p1 = xs[k]! * c + ys[k]! * s;
    const p2 = -xs[k]! * s + ys[k]! * c;
    if (p1 < min1) min1 = p1;
    if (p1 > max1) max1 = p1;
    if (p2 < min2) min2 = p2;
    if (p2 > max2) max2 = p2;
  }
  let score = 0;
  for (let k = 0; k < n; k++) {
    const p1 = xs[k]! * c + ys[k]! * s;
    const p2 = -xs[k]! * s + ys[k]! * c;
    const d1 = Math.min(max1 - p1, p1 - min1);
    const d2 = Math.min(max2 - p2, p2 - min2);
    score += 1 / Math.max(Math.min(d1, d2), 0.01);
  }
  return score;
}

/**
 * Fits an oriented box to the points positions[indices[k]] (xyz interleaved). `groundZ`, when
 * known, puts the box bottom on the ground rather than on the lowest non-ground point.
 */
export function fitOrientedBox(positions: Float32Array, indices: ArrayLike<number>, groundZ?: number, options: BoxFittingOptions = {}): OrientedBox {
  const o = { ...DEFAULTS, ...options };
  const n = indices.length;
  if (n === 0) throw new RangeError('box fitting: a cluster needs at least one point');
  let cx = 0;
  let cy = 0;
  let zMin = Infinity;
  let zMax = -Infinity;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    cx += positions[3 * i]!;
    cy += positions[3 * i + 1]!;
    const z = positions[3 * i + 2]!;
    if (z < zMin) zMin = z;
    if (z > zMax) zMax = z;
  }
  cx /= n;
  cy /= n;
  const stride = Math.max(1, Math.ceil(n / o.maxFitPoints));
  const m = Math.ceil(n / stride);
  if (xs.length < m) {
    xs = new Float64Array(Math.max(m, o.maxFitPoints));
    ys = new Float64Array(Math.max(m, o.maxFitPoints));
  }
  for (let k = 0, j = 0; k < n; k += stride, j++) {
    const i = indices[k]!;
    xs[j] = positions[3 * i]! - cx;
    ys[j] = positions[3 * i + 1]! - cy;
  }

  let best = 0;
  let bestScore = -1;
  const coarse = (3 * Math.PI) / 180;
  for (let theta = 0; theta < Math.PI / 2; theta += coarse) {
    const score = closeness(m, theta);
    if (score > bestScore) {
      bestScore = score;
      best = theta;
    }
  }
  const fine = (0.5 * Math.PI) / 180;
  const around = best;
  for (let step = -5; step <= 5; step++) {
    if (step === 0) continue;
    const theta = around + step * fine;
    const score = closeness(m, theta);
    if (score > bestScore) {
      bestScore = score;
      best = theta;
    }
  }

  // Extent along the chosen axes over all points (not just the subsample).
  const c = Math.cos(best);
  const s = Math.sin(best);
  let min1 = Infinity;
  let max1 = -Infinity;
  let min2 = Infinity;
  let max2 = -Infinity;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const x = positions[3 * i]! - cx;
    const y = positions[3 * i + 1]! - cy;
    const p1 = x * c + y * s;
    const p2 = -x * s + y * c;
    if (p1 < min1) min1 = p1;
    if (p1 > max1) max1 = p1;
    if (p2 < min2) min2 = p2;
    if (p2 > max2) max2 = p2;
  }
  const m1 = (min1 + max1) / 2;
  const m2 = (min2 + max2) / 2;
  let centerX = cx + m1 * c - m2 * s;
  let centerY = cy + m1 * s + m2 * c;
  let ext1 = max1 - min1;
  let ext2 = max2 - min2;
  // Axis 1 becomes the length axis.
  let ax = c;
  let ay = s;
  if (ext2 > ext1) {
    [ext1, ext2] = [ext2, ext1];
    ax = -s;
    ay = c;
  }
  const bottom = groundZ !== undefined && groundZ < zMin ? groundZ : zMin;
  const height = Math.max(zMax - bottom, 0.05);

  let completed = false;
  if (o.completePartialViews) {
    const [carLength, carWidth] = o.carFootprint;
    const carLike = height >= 1 && height <= 2.4 && ext1 >= 1.2 && ext1 <= carLength + 1.5 && ext2 < 1.0;
    if (carLike) {
      // Unit vector across the visible face, pointing away from the sensor.
      let ux = -ay;
      let uy = ax;
      if (ux * centerX + uy * centerY < 0) {
        ux = -ux;
        uy = -uy;
      }
      const depth = ext1 < 2.6 ? carLength : carWidth;
      const shift = (depth - ext2) / 2;
      centerX += ux * shift;
      centerY += uy * shift;
      if (ext1 < 2.6) {
        // A front or back face: the hidden depth is the car's length.
        ext2 = ext1;
        ext1 = carLength;
        ax = ux;
        ay = uy;
      } else ext2 = carWidth;
      completed = true;
    }
  }

  let yaw = Math.atan2(ay, ax);
  if (yaw > Math.PI / 2) yaw -= Math.PI;
  else if (yaw <= -Math.PI / 2) yaw += Math.PI;
  return {
    center: [centerX, centerY, bottom + height / 2],
    size: [Math.max(ext1, 0.05), Math.max(ext2, 0.05), height],
    yaw,
    completed,
  };
}

/** Detection score from the point count: more evidence, more confidence (saturates near 200 points). */
export function scoreFromPointCount(count: number): number {
  return 1 - Math.exp(-count / 60);
}

/** One 'obstacle' Box3D per cluster, in the frame of the points. */
export function clustersToBoxes(positions: Float32Array, clustering: Clustering, options: BoxFittingOptions & { idPrefix?: string } = {}): Box3D[] {
  const { order, offsets, clusters } = clustering;
  const prefix = options.idPrefix ?? 'lidar-';
  const boxes: Box3D[] = [];
  for (const cluster of clusters) {
    const indices = order.subarray(offsets[cluster.id]!, offsets[cluster.id + 1]!);
    const fitted = fitOrientedBox(positions, indices, Number.isFinite(cluster.groundZ) ? cluster.groundZ : undefined, options);
    boxes.push({
      id: `${prefix}${cluster.id}`,
      label: 'obstacle',
      center: fitted.center,
      size: fitted.size,
      yaw: fitted.yaw,
      score: scoreFromPointCount(cluster.count),
      attributes: { pointCount: cluster.count, clusterId: cluster.id, completed: fitted.completed },
    });
  }
  return boxes;
}
