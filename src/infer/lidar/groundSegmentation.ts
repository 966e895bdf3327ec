// Ground segmentation: labels every lidar point ground (1) or non-ground (0).
//
// Method (a polar-grid, Patchwork-style local plane fit):
// 1. A global plane is fitted to the points near the expected ground (z ≈ -sensorHeight, 3-25 m).
// 2. The sweep is cut into patches: rings of growing width, each ring split into sectors ~2 m wide.
// 3. In each patch, seeds are the points within `seedThreshold` of the patch's lowest points
//    (mean of the lowest few z values), a plane is fitted to them by PCA, and refitted twice to the
//    points within `distanceThreshold` of it.
// 4. Rings are processed outward. Each patch inherits a reference plane from the patch inward of it
//    in the same direction (the global plane for the first ring). A patch's own plane is accepted
//    only if it is upright (tilt <= maxTiltDeg) and continues the reference where the two patches
//    meet (height step <= maxStep, plus maxGradeChange per metre of ground unseen since the reference
//    was last confirmed, e.g. behind a car): this follows slopes and ramps while rejecting car roofs,
//    walls and bushes. Rejected or sparse patches keep the reference plane, lowered onto their
//    lowest points when those lie below it.
// 5. A point is ground when it lies less than `distanceThreshold` above its patch's plane; its signed
//    distance to that plane is returned as its height above ground.
//
// Everything runs in O(n) passes over typed arrays (plus a quickselect of z values per patch); the
// scratch buffers are module-level and reused between calls (one instance per worker thread).

import { PlaneAccumulator } from './planeFit.js';

export interface GroundSegmentationOptions {
  /** Height of the sensor above the ground, metres (KITTI's Velodyne: 1.73). */
  sensorHeight?: number;
  /** Ring boundaries in metres, increasing, starting at 0; the last ring extends to infinity. */
  ringEdges?: readonly number[];
  /** Target arc length of a patch, metres: sets the sector count of each ring. */
  sectorArc?: number;
  /** A point is ground when it is less than this above the local plane, metres. */
  distanceThreshold?: number;
  /** Seeds: points within this of the patch's lowest points, metres. */
  seedThreshold?: number;
  /** How many of the lowest z values average into the patch's lowest-point estimate. */
  lowestPointCount?: number;
  /** Patches with fewer points keep the reference plane. */
  minPatchPoints?: number;
  /** A patch plane steeper than this is not ground, degrees. */
  maxTiltDeg?: number;
  /** Largest height step between a patch plane and its reference where the patches meet, metres. */
  maxStep?: number;
  /**
   * Extra step allowed per metre of ground not seen since the reference was last confirmed (an
   * occluding car ahead breaks the chain of patches; the road may have changed grade behind it).
   */
  maxGradeChange?: number;
  /** Largest deviation of an accepted patch from the global plane: maxGlobalOffset + slope × range. */
  maxGlobalOffset?: number;
  maxGlobalSlope?: number;
}

/** A plane n·p + d = 0 with |n| = 1 and n pointing up; n·p + d is the height above it. */
export interface GroundPlane {
  normal: [number, number, number];
  d: number;
}

export interface GroundSegmentation {
  /** 1 = ground, 0 = not ground; one per point. */
  labels: Uint8Array;
  /** Signed distance of each point above its local ground plane, metres. */
  heights: Float32Array;
  groundCount: number;
  /** Plane fitted to the near ground; the fallback where the sweep says nothing better. */
  globalPlane: GroundPlane;
  /** The polar grid: ring edges and each ring's first patch index (length rings + 1). */
  ringEdges: Float64Array;
  ringPatchOffsets: Uint32Array;
  /** Per patch [nx, ny, nz, d] of the plane its points were labelled against. */
  patchPlanes: Float32Array;
  /** Per patch: 1 where the patch's own fitted plane was accepted, 0 where it kept the reference. */
  patchAccepted: Uint8Array;
}

const DEFAULT_RING_EDGES = [0, 4, 6, 8, 10, 12.5, 15, 18, 21, 25, 30, 36, 43, 52, 62, 80];

const DEFAULTS: Required<GroundSegmentationOptions> = {
  sensorHeight: 1.73,
  ringEdges: DEFAULT_RING_EDGES,
  sectorArc: 2,
  distanceThreshold: 0.2,
  seedThreshold: 0.3,
  lowestPointCount: 20,
  minPatchPoints: 10,
  maxTiltDeg: 20,
  maxStep: 0.3,
  maxGradeChange: 0.12,
  maxGlobalOffset: 0.5,
  maxGlobalSlope: 0.08,
};

/** Grid layout derived from the options; cached because it rarely changes between sweeps. */
interface PolarGrid {
  key: string;
  edges: Float64Array;
  sectors: Uint16Array;
  offsets: Uint32Array;
  patchCount: number;
  /** Ring of a range bucketed at 0.05 m (the last bucket covers everything beyond). */
  ringOfBucket: Uint8Array;
  /** Sector index of the inward patch for each patch (ring 0: -1). */
  inward: Int32Array;
  /** Patch centre (x, y) for the global-plane check. */
  centreX: Float64Array;
  centreY: Float64Array;
  centreRange: Float64Array;
  /** Middle of the patch's inner edge (x, y), where it meets the inward patch: the continuity check. */
  innerX: Float64Array;
  innerY: Float64Array;
}

const BUCKET = 0.05;
/** Points this far below the reference plane are multipath noise, not ground evidence, metres. */
const NOISE_FLOOR = -1;

let cachedGrid: PolarGrid | undefined;

function polarGrid(edges: readonly number[], sectorArc: number): PolarGrid {
  const key = `${edges.join(',')}|${sectorArc}`;
  if (cachedGrid?.key === key) return cachedGrid;
  if (edges.length < 2 || edges[0] !== 0 || edges.some((e, i) => i > 0 && !(e > edges[i - 1]!))) {
    throw new Error(`ground segmentation: ringEdges must start at 0 and increase (got ${edges.join(', ')})`);
  }
  if (edges.length > 255) throw new Error('ground segmentation: at most 254 rings');
  const rings = edges.length - 1;
  const sectors = new Uint16Array(rings);
  const offsets = new Uint32Array(rings + 1);
  for (let r = 0; r < rings; r++) {
    const mid = (edges[r]! + edges[r + 1]!) / 2;
    sectors[r] = Math.max(16, Math.min(512, Math.round((2 * Math.PI * mid) / sectorArc)));
    offsets[r + 1] = offsets[r]! + sectors[r]!;
  }
  const patchCount = offsets[rings]!;
  const buckets = Math.ceil(edges[rings]! / BUCKET) + 1;
  const ringOfBucket = new Uint8Array(buckets);
  for (let b = 0, r = 0; b < buckets; b++) {
    const range = (b + 0.5) * BUCKET;
    while (r < rings - 1 && range >= edges[r + 1]!) r++;
    ringOfBucket[b] = r;
  }
  const inward = new Int32Array(patchCount).fill(-1);
  const centreX = new Float64Array(patchCount);
  const centreY = new Float64Array(patchCount);
  const centreRange = new Float64Array(patchCount);
  const innerX = new Float64Array(patchCount);
  const innerY = new Float64Array(patchCount);
  for (let r = 0; r < rings; r++) {
    const count = sectors[r]!;
    const mid = (edges[r]! + edges[r + 1]!) / 2;
    for (let s = 0; s < count; s++) {
      const patch = offsets[r]! + s;
      const angle = ((s + 0.5) / count) * 2 * Math.PI - Math.PI;
      centreX[patch] = mid * Math.cos(angle);
      centreY[patch] = mid * Math.sin(angle);
      centreRange[patch] = mid;
      innerX[patch] = edges[r]! * Math.cos(angle);
      innerY[patch] = edges[r]! * Math.sin(angle);
      if (r > 0) inward[patch] = offsets[r - 1]! + Math.min(sectors[r - 1]! - 1, Math.floor(((s + 0.5) / count) * sectors[r - 1]!));
    }
  }
  cachedGrid = { key, edges: Float64Array.from(edges), sectors, offsets, patchCount, ringOfBucket, inward, centreX, centreY, centreRange, innerX, innerY };
  return cachedGrid;
}

/** atan2 to within ~0.0015 rad, several times faster than Math.atan2: good enough for binning. */
export function fastAtan2(y: number, x: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const mx = ax > ay ? ax : ay;
  if (mx === 0) return 0;
  const a = (ax > ay ? ay : ax) / mx;
  const s = a * a;
  let r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a;
  if (ay > ax) r = 1.57079637 - r;
  if (x < 0) r = 3.14159274 - r;
  return y < 0 ? -r : r;
}

// Reused scratch (grown on demand).
let patchOf = new Int32Array(0);
let order = new Uint32Array(0);
/** The points' xyz in patch order (order[k]'s point at 3k): later passes read memory sequentially. */
let sortedXyz = new Float32Array(0);
let patchStart = new Uint32Array(0);
let zScratch = new Float32Array(0);
const acc = new PlaneAccumulator();
const fitOut = new Float64Array(5);

function ensureScratch(count: number, patchCount: number): void {
  if (patchOf.length < count) {
    patchOf = new Int32Array(count);
    order = new Uint32Array(count);
    sortedXyz = new Float32Array(3 * count);
  }
  if (patchStart.length < patchCount + 1) patchStart = new Uint32Array(patchCount + 1);
}

function checkInput(positions: Float32Array, count: number): void {
  if (!Number.isInteger(count) || count < 0 || positions.length < count * 3) {
    throw new RangeError(`lidar: positions hold ${Math.floor(positions.length / 3)} points, fewer than count ${count}`);
  }
}

/** Fits the near-ground plane; falls back to z = -sensorHeight when the sweep has too little ground. */
function fitGlobalPlane(positions: Float32Array, count: number, sensorHeight: number, out: Float64Array): void {
  out[0] = 0;
  out[1] = 0;
  out[2] = 1;
  out[3] = sensorHeight;
  const stride = Math.max(1, Math.floor(count / 30000));
  const tolerances = [0.5, 0.25, 0.15];
  for (const tolerance of tolerances) {
    acc.reset();
    const [nx, ny, nz, d] = [out[0]!, out[1]!, out[2]!, out[3]!];
    for (let i = 0; i < count; i += stride) {
      const x = positions[3 * i]!;
      const y = positions[3 * i + 1]!;
      const z = positions[3 * i + 2]!;
      const r2 = x * x + y * y;
      if (r2 < 9 || r2 > 625) continue;
      const h = nx * x + ny * y + nz * z + d;
      if (h > -tolerance && h < tolerance) acc.add(x, y, z);
    }
    if (acc.n < 50 || !acc.fit(fitOut)) return;
    // A global "ground" steeper than 15° is not ground (e.g. a wall filled the band): keep the prior.
    if (fitOut[2]! < Math.cos((15 * Math.PI) / 180)) return;
    out.set(fitOut.subarray(0, 4));
  }
}

/**
 * Labels every point of a sweep ground / non-ground. `positions` is xyz interleaved in the sensor
 * frame (z up, origin at the sensor); `count` points are read.
 */
export function segmentGround(positions: Float32Array, count: number, options: GroundSegmentationOptions = {}): GroundSegmentation {
  checkInput(positions, count);
  const o = { ...DEFAULTS, ...options };
  const grid = polarGrid(o.ringEdges, o.sectorArc);
  const { patchCount, offsets, sectors, ringOfBucket, inward, centreX, centreY, centreRange, innerX, innerY } = grid;
  const rings = sectors.length;
  ensureScratch(count, patchCount);

  const labels = new Uint8Array(count);
  const heights = new Float32Array(count);
  const patchPlanes = new Float32Array(patchCount * 4);
  const patchAccepted = new Uint8Array(patchCount);

  const globalPlane = new Float64Array(4);
  fitGlobalPlane(positions, count, o.sensorHeight, globalPlane);

  // Bin points into patches (counting sort: order lists point indices patch by patch).
  const counts = patchStart;
  counts.fill(0, 0, patchCount + 1);
  const lastBucket = ringOfBucket.length - 1;
  const sectorScale = 1 / (2 * Math.PI);
  for (let i = 0; i < count; i++) {
    const x = positions[3 * i]!;
    const y = positions[3 * i + 1]!;
    const range = Math.sqrt(x * x + y * y);
    if (!(range === range)) {
      patchOf[i] = -1; // NaN point (some drivers emit them for no return)
      continue;
    }
    const bucket = Math.min(lastBucket, Math.floor(range / BUCKET));
    const ring = ringOfBucket[bucket]!;
    const ringSectors = sectors[ring]!;
    let sector = Math.floor((fastAtan2(y, x) + Math.PI) * sectorScale * ringSectors);
    if (sector >= ringSectors) sector = ringSectors - 1;
    else if (sector < 0) sector = 0;
    const patch = offsets[ring]! + sector;
    patchOf[i] = patch;
    counts[patch + 1]!++;
  }
  for (let p = 0; p < patchCount; p++) counts[p + 1]! += counts[p]!;
  const cursor = new Uint32Array(counts.subarray(0, patchCount));
  for (let i = 0; i < count; i++) {
    const p = patchOf[i]!;
    if (p < 0) continue;
    const k = cursor[p]!++;
    order[k] = i;
    sortedXyz[3 * k] = positions[3 * i]!;
    sortedXyz[3 * k + 1] = positions[3 * i + 1]!;
    sortedXyz[3 * k + 2] = positions[3 * i + 2]!;
  }

  const cosMaxTilt = Math.cos((o.maxTiltDeg * Math.PI) / 180);
  const ref = new Float64Array(4);
  const anchored = new Float64Array(4);
  // Range at which each patch's plane was last confirmed by an accepted fit.
  const confirmedAt = new Float32Array(patchCount);
  let groundCount = 0;
  for (let ring = 0; ring < rings; ring++) {
    for (let s = 0; s < sectors[ring]!; s++) {
      const patch = offsets[ring]! + s;
      // Reference plane: the plane the inward patch was labelled against (global plane for ring 0).
      let refConfirmedAt = grid.edges[1]!;
      if (ring === 0) ref.set(globalPlane);
      else {
        refConfirmedAt = confirmedAt[inward[patch]!]!;
        const q = inward[patch]! * 4;
        ref[0] = patchPlanes[q]!;
        ref[1] = patchPlanes[q + 1]!;
        ref[2] = patchPlanes[q + 2]!;
        ref[3] = patchPlanes[q + 3]!;
      }
      const start = counts[patch]!;
      const end = counts[patch + 1]!;
      let plane: Float64Array = ref;
      if (end - start >= o.minPatchPoints && fitPatch(start, end, ref, o)) {
        // Continuity where this patch meets the inward one (a change of grade inside this patch must
        // not read as a step), plausibility against the global plane at the patch centre.
        const ex = innerX[patch]!;
        const ey = innerY[patch]!;
        const edgeStep = -(fitOut[0]! * ex + fitOut[1]! * ey + fitOut[3]!) / fitOut[2]! + (ref[0]! * ex + ref[1]! * ey + ref[3]!) / ref[2]!;
        const cx = centreX[patch]!;
        const cy = centreY[patch]!;
        const planeZ = -(fitOut[0]! * cx + fitOut[1]! * cy + fitOut[3]!) / fitOut[2]!;
        const globalZ = -(globalPlane[0]! * cx + globalPlane[1]! * cy + globalPlane[3]!) / globalPlane[2]!;
        const upright = fitOut[2]! >= cosMaxTilt;
        const unseen = Math.max(0, grid.edges[ring]! - refConfirmedAt);
        const continuous = Math.abs(edgeStep) <= o.maxStep + o.maxGradeChange * unseen;
        const plausible = Math.abs(planeZ - globalZ) <= o.maxGlobalOffset + o.maxGlobalSlope * centreRange[patch]!;
        if (upright && continuous && plausible) {
          plane = fitOut;
          patchAccepted[patch] = 1;
        }
      }
      confirmedAt[patch] = patchAccepted[patch] ? centreRange[patch]! : refConfirmedAt;
      if (plane === ref && end > start) plane = anchorBelow(start, end, ref, anchored);
      const nx = plane[0]!;
      const ny = plane[1]!;
      const nz = plane[2]!;
      const d = plane[3]!;
      patchPlanes[patch * 4] = nx;
      patchPlanes[patch * 4 + 1] = ny;
      patchPlanes[patch * 4 + 2] = nz;
      patchPlanes[patch * 4 + 3] = d;
      for (let k = start; k < end; k++) {
        const i = order[k]!;
        const h = nx * sortedXyz[3 * k]! + ny * sortedXyz[3 * k + 1]! + nz * sortedXyz[3 * k + 2]! + d;
        heights[i] = h;
        if (h < o.distanceThreshold) {
          labels[i] = 1;
          groundCount++;
        }
      }
    }
  }
  for (let i = 0; i < count; i++) if (patchOf[i]! < 0) heights[i] = Number.NaN;

  return {
    labels,
    heights,
    groundCount,
    globalPlane: { normal: [globalPlane[0]!, globalPlane[1]!, globalPlane[2]!], d: globalPlane[3]! },
    ringEdges: grid.edges,
    ringPatchOffsets: offsets,
    patchPlanes,
    patchAccepted,
  };
}

/**
 * A patch without its own plane keeps the reference plane, but the ground is never above the
 * lowest points seen there: when the lowest three lie below the reference (an inherited plane
 * extrapolated too high, e.g. on a long downhill), the plane is lowered onto them. It is never
 * raised: a patch holding only an object's underside says nothing about the ground.
 */
function anchorBelow(start: number, end: number, ref: Float64Array, out: Float64Array): Float64Array {
  let h0 = Infinity;
  let h1 = Infinity;
  let h2 = Infinity;
  for (let k = start; k < end; k++) {
    const h = ref[0]! * sortedXyz[3 * k]! + ref[1]! * sortedXyz[3 * k + 1]! + ref[2]! * sortedXyz[3 * k + 2]! + ref[3]!;
    if (!(h >= NOISE_FLOOR) || h >= h2) continue; // also skips NaN (missing returns)
    if (h < h0) {
      h2 = h1;
      h1 = h0;
      h0 = h;
    } else if (h < h1) {
      h2 = h1;
      h1 = h;
    } else h2 = h;
  }
  if (h2 === Infinity) return ref;
  const lowest = (h0 + h1 + h2) / 3;
  if (lowest >= 0) return ref;
  out.set(ref);
  out[3] = ref[3]! - lowest;
  return out;
}

/** Seeds from the lowest points, then PCA refits on the inliers; the plane is left in fitOut. */
function fitPatch(start: number, end: number, ref: Float64Array, o: Required<GroundSegmentationOptions>): boolean {
  const n = end - start;
  if (zScratch.length < n) zScratch = new Float32Array(Math.max(n, 2 * zScratch.length));
  const floor = NOISE_FLOOR;
  let m = 0;
  for (let k = start; k < end; k++) {
    const x = sortedXyz[3 * k]!;
    const y = sortedXyz[3 * k + 1]!;
    const z = sortedXyz[3 * k + 2]!;
    if (ref[0]! * x + ref[1]! * y + ref[2]! * z + ref[3]! > floor) zScratch[m++] = z;
  }
  if (m < o.minPatchPoints) return false;
  const lowest = Math.min(o.lowestPointCount, m);
  selectSmallest(zScratch, m, lowest);
  let sum = 0;
  for (let k = 0; k < lowest; k++) sum += zScratch[k]!;
  const seedTop = sum / lowest + o.seedThreshold;

  acc.reset();
  for (let k = start; k < end; k++) {
    const x = sortedXyz[3 * k]!;
    const y = sortedXyz[3 * k + 1]!;
    const z = sortedXyz[3 * k + 2]!;
    if (z < seedTop && ref[0]! * x + ref[1]! * y + ref[2]! * z + ref[3]! > floor) acc.add(x, y, z);
  }
  if (!acc.fit(fitOut)) return false;
  for (let iteration = 0; iteration < 2; iteration++) {
    const nx = fitOut[0]!;
    const ny = fitOut[1]!;
    const nz = fitOut[2]!;
    const d = fitOut[3]!;
    acc.reset();
    for (let k = start; k < end; k++) {
      const x = sortedXyz[3 * k]!;
      const y = sortedXyz[3 * k + 1]!;
      const z = sortedXyz[3 * k + 2]!;
      const h = nx * x + ny * y + nz * z + d;
      if (h < o.distanceThreshold && h > -o.distanceThreshold) acc.add(x, y, z);
    }
    if (acc.n < 3) return false;
    if (!acc.fit(fitOut)) return false;
  }
  return acc.n >= Math.min(o.minPatchPoints, 5);
}

/** Quickselect: moves the k smallest of a[0..n) into a[0..k) (in no particular order); O(n) on average. */
export function selectSmallest(a: Float32Array, n: number, k: number): void {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    // Median of three as the pivot keeps sorted runs (scan order) from going quadratic.
    const mid = (lo + hi) >> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi]; keep narrowing the side holding position k - 1.
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else return;
  }
}
