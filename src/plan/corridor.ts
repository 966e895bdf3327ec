// Corridor analysis: which obstacles come into the band of half-width h around a path (the ego's
// swept corridor), how far along the path they do, and when the ego would reach them.
//
// Exact bird's-eye geometry: an obstacle is its oriented box footprint (a convex polygon); the
// corridor is the path polyline buffered by h across (each segment's slab, plus the round joints on
// the outside of bends), with flat ends: something just beyond the last point is not in it. The
// arc length of an intrusion is where the footprint first enters: its smallest station inside a
// slab, i.e. where the ego's reference point is level with it.
//
// Pure functions, any path: the planned path, the driven path ahead, or a path found in the log.
import type { Box3D, Vec3 } from '../logs/model.js';
import { footprintCorners, pointConvexDistance, segmentConvexClosest } from './geometry2d.js';
import { distanceAt, type OccupancyGrid } from './occupancy.js';
import { polylineStations, projectOntoPolyline } from './paths.js';

export interface CorridorIntrusion {
  obstacleId: string;
  label?: string;
  /** Arc length along the path where the obstacle first enters the corridor; for one that stays outside, where it comes closest. */
  arcLengthM: number;
  /** Signed lateral offset of the obstacle centre (or point) from the path at its nearest path point, left positive. */
  lateralM: number;
  /** Smallest distance between the path centreline and the obstacle footprint; 0 when it covers the centreline. */
  minDistanceM: number;
  /** minDistanceM − halfWidth: negative values are the depth of the intrusion. */
  clearanceM: number;
  intrudes: boolean;
  /** For the occupied-points entry: the index of the point that decided arcLengthM. */
  pointIndex?: number;
}

export interface CorridorPoints {
  /** xyz interleaved, the path's frame (only x, y are used). */
  positions: Float32Array;
  count?: number;
  /** obstacleId of the single entry the points produce. */
  id?: string;
}

export interface CorridorOptions {
  /** Occupied points (e.g. non-ground lidar points): reported together as one entry (none when no point is near the path). */
  points?: CorridorPoints;
  /** Skip obstacles whose footprint stays farther than this from the centreline (they are not reported). */
  maxDistanceM?: number;
}

/**
 * Every obstacle against the corridor of `halfWidth` around `path` (ego width / 2 + margin),
 * intruding ones first by arc length, then the others by distance.
 */
export function corridorIntrusions(
  path: readonly Vec3[],
  halfWidth: number,
  obstacles: readonly Box3D[],
  options: CorridorOptions = {},
): CorridorIntrusion[] {
  if (!(halfWidth >= 0)) throw new RangeError(`corridorIntrusions: halfWidth must be >= 0, got ${halfWidth}`);
  const pts = path.filter((p) => Number.isFinite(p[0] + p[1]));
  if (pts.length === 0) return [];
  if (pts.length === 1) pts.push(pts[0]!);
  const stations = polylineStations(pts);
  const maxDistance = options.maxDistanceM ?? Infinity;
  const out: CorridorIntrusion[] = [];
  const poly = new Float64Array(8);
  for (const box of obstacles) {
    footprintCorners(box.center[0], box.center[1], box.size[0], box.size[1], box.yaw, poly);
    if (!poly.every(Number.isFinite)) continue;
    const r = boxAgainstPath(pts, stations, poly, Math.hypot(box.size[0], box.size[1]) / 2, box.center[0], box.center[1], halfWidth);
    if (r.minDistance > maxDistance) continue;
    const lateral = projectOntoPolyline(pts, box.center[0], box.center[1], stations)?.lateral ?? 0;
    const entry: CorridorIntrusion = {
      obstacleId: box.id,
      arcLengthM: r.entry ?? r.closestStation,
      lateralM: lateral,
      minDistanceM: r.minDistance,
      clearanceM: r.minDistance - halfWidth,
      intrudes: r.entry !== undefined,
    };
    if (box.label) entry.label = box.label;
    out.push(entry);
  }
  if (options.points) {
    const p = pointsAgainstPath(pts, stations, options.points, halfWidth, maxDistance);
    if (p) out.push(p);
  }
  return out.sort((a, b) => (a.intrudes !== b.intrudes ? (a.intrudes ? -1 : 1) : a.intrudes ? a.arcLengthM - b.arcLengthM : a.minDistanceM - b.minDistanceM));
}

function boxAgainstPath(
  pts: readonly Vec3[],
  stations: Float64Array,
  poly: Float64Array,
  circumradius: number,
  cx: number,
  cy: number,
  h: number,
): { minDistance: number; closestStation: number; entry?: number } {
  let minDistance = Infinity;
  let closestStation = 0;
  let entry: number | undefined;
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i]!;
    const b = pts[i + 1]!;
    // Cheap rejection by the footprint's circumscribed circle.
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((cx - a[0]) * dx + (cy - a[1]) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const lower = Math.hypot(a[0] + t * dx - cx, a[1] + t * dy - cy) - circumradius;
    if (lower >= minDistance && (entry !== undefined || lower > h)) continue;
    const c = segmentConvexClosest(a[0], a[1], b[0], b[1], poly);
    const segLen = stations[i + 1]! - stations[i]!;
    if (c.distance < minDistance) {
      minDistance = c.distance;
      closestStation = stations[i]! + c.t * segLen;
    }
    if (entry === undefined && c.distance <= h) {
      // The round wedge at the joint with the previous segment (outside of a bend), then this segment's slab.
      if (i > 0 && inJointWedge(pts[i - 1]!, a, b, poly, h)) entry = stations[i]!;
      else entry = slabEntry(a, dx, dy, segLen, poly, h, stations[i]!);
    }
  }
  return entry === undefined ? { minDistance, closestStation } : { minDistance, closestStation, entry };
}

let clipA = new Float64Array(24);
let clipB = new Float64Array(24);

/** Clips the convex polygon in clipA (n vertices) to n·p >= c; the result is in clipA again. Returns its vertex count. */
function clipHalfPlane(n: number, nx: number, ny: number, c: number): number {
  const src = clipA;
  const dst = clipB;
  let m = 0;
  for (let k = 0; k < n; k++) {
    const j = (k + 1) % n;
    const vk = nx * src[2 * k]! + ny * src[2 * k + 1]! - c;
    const vj = nx * src[2 * j]! + ny * src[2 * j + 1]! - c;
    if (vk >= 0) {
      dst[2 * m] = src[2 * k]!;
      dst[2 * m + 1] = src[2 * k + 1]!;
      m++;
    }
    if (vk >= 0 !== vj >= 0) {
      const t = vk / (vk - vj);
      dst[2 * m] = src[2 * k]! + t * (src[2 * j]! - src[2 * k]!);
      dst[2 * m + 1] = src[2 * k + 1]! + t * (src[2 * j + 1]! - src[2 * k + 1]!);
      m++;
    }
  }
  clipA = dst;
  clipB = src;
  return m;
}

function loadPolygon(poly: Float64Array): number {
  clipA.set(poly.subarray(0, 8));
  return 4;
}

/**
 * Where the footprint first enters the segment's slab (its station range × [−h, h] across): the
 * smallest station of the footprint clipped to that rectangle, or undefined when they miss.
 */
function slabEntry(a: Vec3, dx: number, dy: number, len: number, poly: Float64Array, h: number, station0: number): number | undefined {
  if (!(len > 0)) return undefined;
  const ux = dx / len;
  const uy = dy / len;
  const along0 = ux * a[0] + uy * a[1];
  const across0 = -uy * a[0] + ux * a[1];
  let n = loadPolygon(poly);
  n = clipHalfPlane(n, ux, uy, along0);
  if (n) n = clipHalfPlane(n, -ux, -uy, -(along0 + len));
  if (n) n = clipHalfPlane(n, -uy, ux, across0 - h);
  if (n) n = clipHalfPlane(n, uy, -ux, -(across0 + h));
  if (n === 0) return undefined;
  let first = Infinity;
  for (let k = 0; k < n; k++) first = Math.min(first, ux * clipA[2 * k]! + uy * clipA[2 * k + 1]! - along0);
  return station0 + Math.max(0, first);
}

/** Whether the footprint reaches the round wedge at joint v (beyond the previous segment, before the next) within h of v. */
function inJointWedge(prev: Vec3, v: Vec3, next: Vec3, poly: Float64Array, h: number): boolean {
  const px = v[0] - prev[0];
  const py = v[1] - prev[1];
  const qx = next[0] - v[0];
  const qy = next[1] - v[1];
  let n = loadPolygon(poly);
  n = clipHalfPlane(n, px, py, px * v[0] + py * v[1]);
  if (n) n = clipHalfPlane(n, -qx, -qy, -(qx * v[0] + qy * v[1]));
  if (n === 0) return false;
  return pointConvexDistance(v[0], v[1], clipA.subarray(0, 2 * n)) <= h;
}

/** Without maxDistanceM, points farther than halfWidth + this from the path's bounding box are not examined. */
const POINTS_SEARCH_MARGIN_M = 5;

function pointsAgainstPath(pts: readonly Vec3[], stations: Float64Array, cloud: CorridorPoints, h: number, maxDistance: number): CorridorIntrusion | undefined {
  const count = Math.min(cloud.count ?? Math.floor(cloud.positions.length / 3), Math.floor(cloud.positions.length / 3));
  if (count === 0) return undefined;
  // Only points near the path matter: a bounding-box prefilter.
  const pad = Number.isFinite(maxDistance) ? Math.max(h, maxDistance) : h + POINTS_SEARCH_MARGIN_M;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of pts) {
    minX = Math.min(minX, p[0]);
    maxX = Math.max(maxX, p[0]);
    minY = Math.min(minY, p[1]);
    maxY = Math.max(maxY, p[1]);
  }
  const pos = cloud.positions;
  let minDistance = Infinity;
  let closestStation = 0;
  let closestIndex = -1;
  let entry = Infinity;
  let entryIndex = -1;
  for (let j = 0; j < count; j++) {
    const x = pos[3 * j]!;
    const y = pos[3 * j + 1]!;
    if (!Number.isFinite(x + y)) continue;
    if (x < minX - pad || x > maxX + pad || y < minY - pad || y > maxY + pad) continue;
    let firstInside = Infinity;
    for (let i = 0; i + 1 < pts.length; i++) {
      const a = pts[i]!;
      const b = pts[i + 1]!;
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len2 = dx * dx + dy * dy;
      const fx = a[0] - x;
      const fy = a[1] - y;
      const tRaw = len2 > 0 ? -(fx * dx + fy * dy) / len2 : 0;
      const t = tRaw < 0 ? 0 : tRaw > 1 ? 1 : tRaw;
      const ex = fx + t * dx;
      const ey = fy + t * dy;
      const d2 = ex * ex + ey * ey;
      const segLen = stations[i + 1]! - stations[i]!;
      if (d2 < minDistance * minDistance) {
        minDistance = Math.sqrt(d2);
        closestStation = stations[i]! + t * segLen;
        closestIndex = j;
      }
      if (firstInside === Infinity && d2 <= h * h) {
        // Inside this segment's slab (or the joint's wedge): enters at its projection (the joint).
        if (tRaw >= 0 && tRaw <= 1) firstInside = stations[i]! + t * segLen;
        else if (i > 0 && tRaw < 0 && fx * fx + fy * fy <= h * h) {
          const pa = pts[i - 1]!;
          // Beyond the end of the previous segment too: in the wedge of the joint.
          if ((a[0] - pa[0]) * -fx + (a[1] - pa[1]) * -fy > 0) firstInside = stations[i]!;
        }
      }
    }
    if (firstInside < entry) {
      entry = firstInside;
      entryIndex = j;
    }
  }
  if (minDistance > maxDistance || closestIndex < 0) return undefined;
  const index = entryIndex >= 0 ? entryIndex : closestIndex;
  const lateral = projectOntoPolyline(pts, pos[3 * index]!, pos[3 * index + 1]!, stations)?.lateral ?? 0;
  return {
    obstacleId: cloud.id ?? 'points',
    arcLengthM: entryIndex >= 0 ? entry : closestStation,
    lateralM: lateral,
    minDistanceM: minDistance,
    clearanceM: minDistance - h,
    intrudes: entryIndex >= 0,
    pointIndex: index,
  };
}

export interface TtcOptions {
  /** The obstacle's own speed along the path (positive = moving away from the ego). */
  obstacleSpeedAlongPathMps?: number;
  /** Subtracted from the arc length: e.g. the distance from the path's reference point (rear axle) to the front bumper. */
  frontOffsetM?: number;
}

/** Seconds until the ego reaches an intrusion at constant speeds; Infinity when it does not intrude or the gap is not closing. */
export function timeToCollision(intrusion: Pick<CorridorIntrusion, 'arcLengthM' | 'intrudes'>, egoSpeedMps: number, options: TtcOptions = {}): number {
  if (!intrusion.intrudes) return Infinity;
  const closing = egoSpeedMps - (options.obstacleSpeedAlongPathMps ?? 0);
  if (!(closing > 0)) return Infinity;
  return Math.max(0, intrusion.arcLengthM - (options.frontOffsetM ?? 0)) / closing;
}

/** The obstacle (or occupied point) closest to the path centreline, with where along the path it is closest. */
export function minDistanceAlongPath(
  path: readonly Vec3[],
  obstacles: readonly Box3D[],
  options: CorridorOptions = {},
): { obstacleId: string; distanceM: number; arcLengthM: number } | undefined {
  let best: { obstacleId: string; distanceM: number; arcLengthM: number } | undefined;
  for (const r of corridorIntrusions(path, 0, obstacles, options)) {
    if (!best || r.minDistanceM < best.distanceM) best = { obstacleId: r.obstacleId, distanceM: r.minDistanceM, arcLengthM: r.arcLengthM };
  }
  return best;
}

/** The grid's distance field sampled every stepM along a path: metres to the nearest occupied cell centre. */
export function clearanceAlongPath(grid: OccupancyGrid, path: readonly Vec3[], stepM = 0.5): { stations: Float64Array; distances: Float32Array } {
  const stations = polylineStations(path);
  const total = path.length ? stations[path.length - 1]! : 0;
  const n = path.length ? Math.floor(total / stepM) + 1 : 0;
  const outS = new Float64Array(n);
  const outD = new Float32Array(n);
  let seg = 0;
  for (let k = 0; k < n; k++) {
    const s = k * stepM;
    while (seg < path.length - 2 && stations[seg + 1]! < s) seg++;
    const a = path[seg]!;
    const b = path[Math.min(seg + 1, path.length - 1)]!;
    const span = stations[Math.min(seg + 1, path.length - 1)]! - stations[seg]!;
    const u = span > 0 ? (s - stations[seg]!) / span : 0;
    outS[k] = s;
    outD[k] = distanceAt(grid, a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1]));
  }
  return { stations: outS, distances: outD };
}
