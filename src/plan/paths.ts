// Path helpers: polylines in the ego frame, the reference line the planner searches along, and the
// driven path from a pose history.
import type { Polyline, Pose, Vec3 } from '../logs/model.js';
import { applyPose, interpolatePose, invertPose } from '../logs/transforms.js';
import { pointSegment } from './geometry2d.js';

export interface PlanarPose {
  x: number;
  y: number;
  /** Radians about +z. */
  heading: number;
}

export const EGO_START: PlanarPose = { x: 0, y: 0, heading: 0 };

/** Cumulative arc length at each point (xy only). */
export function polylineStations(points: readonly Vec3[]): Float64Array {
  const s = new Float64Array(points.length);
  for (let i = 1; i < points.length; i++) {
    s[i] = s[i - 1]! + Math.hypot(points[i]![0] - points[i - 1]![0], points[i]![1] - points[i - 1]![1]);
  }
  return s;
}

export function polylineLength(points: readonly Vec3[]): number {
  return points.length ? polylineStations(points)[points.length - 1]! : 0;
}

/** The point of a polyline nearest to (x, y): segment index, parameter, station, distance, signed lateral offset (left positive). */
export function projectOntoPolyline(
  points: readonly Vec3[],
  x: number,
  y: number,
  stations: Float64Array = polylineStations(points),
): { segment: number; t: number; station: number; distance: number; lateral: number } | undefined {
  if (points.length === 0) return undefined;
  if (points.length === 1) {
    const p = points[0]!;
    return { segment: 0, t: 0, station: 0, distance: Math.hypot(x - p[0], y - p[1]), lateral: 0 };
  }
  let best = { segment: 0, t: 0, d2: Infinity };
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!;
    const b = points[i + 1]!;
    const r = pointSegment(x, y, a[0], a[1], b[0], b[1]);
    if (r.d2 < best.d2) best = { segment: i, t: r.t, d2: r.d2 };
  }
  const a = points[best.segment]!;
  const b = points[best.segment + 1]!;
  const tx = b[0] - a[0];
  const ty = b[1] - a[1];
  const len = Math.hypot(tx, ty) || 1;
  const px = a[0] + best.t * tx;
  const py = a[1] + best.t * ty;
  const cross = (tx * (y - py) - ty * (x - px)) / len;
  const distance = Math.sqrt(best.d2);
  return {
    segment: best.segment,
    t: best.t,
    station: stations[best.segment]! + best.t * (stations[best.segment + 1]! - stations[best.segment]!),
    distance,
    lateral: cross >= 0 ? distance : -distance,
  };
}

/** Evenly spaced points along a polyline (the last point included). */
export function resamplePolyline(points: readonly Vec3[], stepM: number): Vec3[] {
  if (points.length < 2 || !(stepM > 0)) return points.map((p) => [...p] as Vec3);
  const s = polylineStations(points);
  const total = s[s.length - 1]!;
  const out: Vec3[] = [];
  let seg = 0;
  for (let k = 0; ; k++) {
    const at = Math.min(k * stepM, total);
    while (seg < points.length - 2 && s[seg + 1]! < at) seg++;
    const span = s[seg + 1]! - s[seg]!;
    const u = span > 0 ? (at - s[seg]!) / span : 0;
    const a = points[seg]!;
    const b = points[seg + 1]!;
    out.push([a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1]), a[2] + u * (b[2] - a[2])]);
    if (at >= total) break;
  }
  return out;
}

/** The part of a polyline from the point nearest to (x, y) onwards (the driven path also holds the past). */
export function pathAhead(points: readonly Vec3[], x = 0, y = 0): Vec3[] {
  const p = projectOntoPolyline(points, x, y);
  if (!p || points.length < 2) return points.map((q) => [...q] as Vec3);
  const a = points[p.segment]!;
  const b = points[p.segment + 1]!;
  const first: Vec3 = [a[0] + p.t * (b[0] - a[0]), a[1] + p.t * (b[1] - a[1]), a[2] + p.t * (b[2] - a[2])];
  return [first, ...points.slice(p.segment + 1).map((q) => [...q] as Vec3)];
}

/** A reference line sampled every `step` metres: position, heading, curvature, height. */
export interface ReferenceLine {
  step: number;
  count: number;
  x: Float64Array;
  y: Float64Array;
  z: Float64Array;
  heading: Float64Array;
  curvature: Float64Array;
}

export interface ReferenceChoice {
  line: ReferenceLine;
  /** Lateral offset of the start from the line (left positive). */
  startLateral: number;
  source: 'hint' | 'straight';
  warnings: string[];
}

/**
 * The line the planner searches along: the hint (e.g. the driven path) from the start onwards,
 * smoothed and extended straight to `lengthM`; straight ahead of the start when there is no usable
 * hint (too short, too far from the start, or pointing backwards).
 */
export function referenceLine(hint: readonly Vec3[] | undefined, start: PlanarPose, lengthM: number, step: number): ReferenceChoice {
  const warnings: string[] = [];
  const count = Math.max(2, Math.ceil(lengthM / step) + 1);
  if (hint && hint.length >= 2) {
    const usable = hintAhead(hint, start, warnings);
    if (usable) {
      const line = lineFromPolyline(usable, count, step);
      const offset = projectOntoPolyline(usable, start.x, start.y);
      return { line, startLateral: offset?.lateral ?? 0, source: 'hint', warnings };
    }
  }
  const line = allocLine(count, step);
  const c = Math.cos(start.heading);
  const s = Math.sin(start.heading);
  for (let k = 0; k < count; k++) {
    line.x[k] = start.x + c * k * step;
    line.y[k] = start.y + s * k * step;
    line.heading[k] = start.heading;
  }
  return { line, startLateral: 0, source: 'straight', warnings };
}

const MAX_HINT_OFFSET_M = 3;
const MAX_HINT_ANGLE = Math.PI / 3;
const MIN_HINT_AHEAD_M = 2;

function hintAhead(hint: readonly Vec3[], start: PlanarPose, warnings: string[]): Vec3[] | undefined {
  const clean = hint.filter((p) => Number.isFinite(p[0] + p[1] + p[2]));
  const ahead = pathAhead(clean, start.x, start.y);
  const offset = projectOntoPolyline(clean, start.x, start.y);
  if (!offset || ahead.length < 2 || polylineLength(ahead) < MIN_HINT_AHEAD_M) {
    warnings.push('goal hint: less than 2 m of it lies ahead; planning straight ahead');
    return undefined;
  }
  if (offset.distance > MAX_HINT_OFFSET_M) {
    warnings.push(`goal hint: ${offset.distance.toFixed(1)} m from the start; planning straight ahead`);
    return undefined;
  }
  const resampled = resamplePolyline(ahead, 0.5);
  const k = Math.min(resampled.length - 1, 4);
  const dirHeading = Math.atan2(resampled[k]![1] - resampled[0]![1], resampled[k]![0] - resampled[0]![0]);
  if (Math.abs(wrapAngle(dirHeading - start.heading)) > MAX_HINT_ANGLE) {
    warnings.push('goal hint: points away from the start heading; planning straight ahead');
    return undefined;
  }
  return ahead;
}

function allocLine(count: number, step: number): ReferenceLine {
  return {
    step,
    count,
    x: new Float64Array(count),
    y: new Float64Array(count),
    z: new Float64Array(count),
    heading: new Float64Array(count),
    curvature: new Float64Array(count),
  };
}

function lineFromPolyline(points: readonly Vec3[], count: number, step: number): ReferenceLine {
  const fine = resamplePolyline(points, step);
  const line = allocLine(count, step);
  const have = Math.min(fine.length, count);
  for (let k = 0; k < have; k++) {
    line.x[k] = fine[k]![0];
    line.y[k] = fine[k]![1];
    line.z[k] = fine[k]![2];
  }
  // Headings by central differences over ~2 m (pose jitter would otherwise show as curvature).
  const span = Math.max(1, Math.round(1 / step));
  for (let k = 0; k < have; k++) {
    const a = Math.max(0, k - span);
    const b = Math.min(have - 1, k + span);
    line.heading[k] = b > a ? Math.atan2(line.y[b]! - line.y[a]!, line.x[b]! - line.x[a]!) : 0;
  }
  if (have === 1) line.heading[0] = 0;
  // Extend straight along the last heading.
  for (let k = have; k < count; k++) {
    const h = line.heading[have - 1]!;
    line.x[k] = line.x[k - 1]! + Math.cos(h) * step;
    line.y[k] = line.y[k - 1]! + Math.sin(h) * step;
    line.z[k] = line.z[have - 1]!;
    line.heading[k] = h;
  }
  // Unwrap, then curvature = d(heading)/ds.
  for (let k = 1; k < count; k++) line.heading[k] = line.heading[k - 1]! + wrapAngle(line.heading[k]! - line.heading[k - 1]!);
  for (let k = 0; k < count; k++) {
    const a = Math.max(0, k - span);
    const b = Math.min(count - 1, k + span);
    line.curvature[k] = b > a ? (line.heading[b]! - line.heading[a]!) / ((b - a) * step) : 0;
  }
  return line;
}

export function wrapAngle(a: number): number {
  return a - 2 * Math.PI * Math.round(a / (2 * Math.PI));
}

/**
 * The driven path around time t, in the ego frame at t: the ego positions from `windowS` seconds
 * before to `windowS` after (or { pastS, futureS }). Poses map ego -> world; they need not be sorted.
 */
export function drivenPathFromPoses(
  poses: ReadonlyArray<{ timeNs: bigint; pose: Pose }>,
  t: bigint,
  windowS: number | { pastS: number; futureS: number },
): Polyline | undefined {
  if (poses.length === 0) return undefined;
  const sorted = [...poses].sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  const pastNs = BigInt(Math.round((typeof windowS === 'number' ? windowS : windowS.pastS) * 1e9));
  const futureNs = BigInt(Math.round((typeof windowS === 'number' ? windowS : windowS.futureS) * 1e9));
  const egoAt = poseAt(sorted, t);
  if (!egoAt) return undefined;
  const egoFromWorld = invertPose(egoAt);
  const points: Vec3[] = [];
  for (const p of sorted) {
    if (p.timeNs < t - pastNs || p.timeNs > t + futureNs) continue;
    points.push(applyPose(egoFromWorld, p.pose.translation));
  }
  if (points.length < 2) return undefined;
  return { id: 'ego-driven', source: 'ego-driven', stampNs: t.toString(), points };
}

/** Pose at t, interpolated between the neighbouring samples; undefined outside the samples' span. */
function poseAt(sorted: ReadonlyArray<{ timeNs: bigint; pose: Pose }>, t: bigint): Pose | undefined {
  let lo = 0;
  let hi = sorted.length - 1;
  if (t < sorted[0]!.timeNs || t > sorted[hi]!.timeNs) return undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.timeNs <= t) lo = mid;
    else hi = mid;
  }
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  if (b.timeNs === a.timeNs) return a.pose;
  return interpolatePose(a.pose, b.pose, Number(t - a.timeNs) / Number(b.timeNs - a.timeNs));
}
