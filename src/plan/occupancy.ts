// Bird's-eye occupancy grid in the ego frame, from non-ground lidar points and 3D boxes, with an
// exact Euclidean distance transform (Felzenszwalb & Huttenlocher) for clearance checks.
//
// Ground without per-point labels: the grid is split into coarse tiles; each tile's ground is a
// low percentile of its point heights, then limited by a slope from its neighbours (a tile seen
// only on a car roof cannot sit metres above the road around it) and filled where a tile is empty.
// Points between minHeight and maxHeight above that ground are obstacles; higher ones (trees,
// signs, bridges) overhang the road and are ignored.
import type { Box3D } from '../logs/model.js';
import { footprintCorners } from './geometry2d.js';

/** Bits of OccupancyGrid.cells. */
export const CELL_POINTS = 1;
export const CELL_BOX = 2;

export interface GridExtent {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export interface OccupancyOptions {
  /** Cell size, metres. */
  resolution: number;
  extent: GridExtent;
  /** Points lower than this above the ground are ground or kerbs, metres. */
  minHeight: number;
  /** Points higher than this above the ground overhang the road (trees, signs), metres. */
  maxHeight: number;
  /** A cell is occupied by points when at least this many obstacle points fall in it. */
  minPointsPerCell: number;
  /** Ground tile size, metres. */
  groundTileM: number;
  /** Percentile of point heights per tile taken as the ground (without ground labels). */
  groundPercentile: number;
  /** Largest ground slope between tiles (rise per metre). */
  maxGroundSlope: number;
  /** Points inside this ego-frame rectangle are returns from the ego's own body. */
  egoFootprint?: GridExtent;
}

export const DEFAULT_OCCUPANCY: OccupancyOptions = {
  resolution: 0.2,
  extent: { xMin: -20, xMax: 80, yMin: -30, yMax: 30 },
  minHeight: 0.3,
  maxHeight: 2.5,
  minPointsPerCell: 1,
  groundTileM: 4,
  groundPercentile: 0.1,
  maxGroundSlope: 0.12,
};

export interface OccupancyInput {
  /** xyz interleaved, ego frame. */
  points?: Float32Array;
  count?: number;
  /** 1 = ground, per point; when absent the ground is estimated from the heights. */
  groundLabels?: Uint8Array;
  /** Detections or ground truth, ego frame: their footprints are occupied. */
  obstacles?: readonly Box3D[];
  options?: Partial<OccupancyOptions>;
}

export interface OccupancyGrid {
  resolution: number;
  /** Ego-frame x, y of the corner of cell (0, 0). */
  originX: number;
  originY: number;
  /** Cells along x (columns) and y (rows); cell (ix, iy) is cells[iy * width + ix]. */
  width: number;
  height: number;
  /** CELL_POINTS | CELL_BOX bits; 0 = free. */
  cells: Uint8Array;
  /** Metres from each cell centre to the nearest occupied cell centre (a huge value when none is). */
  distance: Float32Array;
  /** Ground height per tile (row-major, tilesX * tilesY), ego-frame z. */
  ground: { tileM: number; tilesX: number; tilesY: number; z: Float32Array };
  stats: { points: number; obstaclePoints: number; occupiedCells: number; boxes: number; buildMs: number };
}

const FAR = 1e20;

/**
 * Builds the grid. Pass the previous grid as `reuse` to recycle its buffers when the extent and
 * resolution are unchanged (then the previous grid's contents are overwritten).
 */
export function buildOccupancyGrid(input: OccupancyInput, reuse?: OccupancyGrid): OccupancyGrid {
  const started = performance.now();
  const o: OccupancyOptions = { ...DEFAULT_OCCUPANCY, ...input.options, extent: { ...DEFAULT_OCCUPANCY.extent, ...input.options?.extent } };
  const { resolution: res, extent } = o;
  if (!(res > 0) || !(extent.xMax > extent.xMin) || !(extent.yMax > extent.yMin)) {
    throw new RangeError(`occupancy grid: bad resolution ${res} or extent ${JSON.stringify(extent)}`);
  }
  const points = input.points ?? new Float32Array(0);
  const count = Math.min(input.count ?? Math.floor(points.length / 3), Math.floor(points.length / 3));
  if (input.groundLabels && input.groundLabels.length < count) {
    throw new RangeError(`occupancy grid: ${input.groundLabels.length} ground labels for ${count} points`);
  }
  const width = Math.ceil((extent.xMax - extent.xMin) / res - 1e-9);
  const height = Math.ceil((extent.yMax - extent.yMin) / res - 1e-9);
  const n = width * height;
  const reusable = reuse && reuse.width === width && reuse.height === height && reuse.resolution === res && reuse.originX === extent.xMin && reuse.originY === extent.yMin;
  const cells = reusable ? reuse.cells : new Uint8Array(n);
  const distance = reusable ? reuse.distance : new Float32Array(n);
  cells.fill(0);

  const ground = estimateGround(points, count, input.groundLabels, o);
  const hits = scratchU16(n);
  let obstaclePoints = 0;
  const ego = o.egoFootprint;
  const { tileM, tilesX, tilesY, z: gz } = ground;
  for (let i = 0; i < count; i++) {
    if (input.groundLabels && input.groundLabels[i] === 1) continue;
    const x = points[3 * i]!;
    const y = points[3 * i + 1]!;
    const ix = Math.floor((x - extent.xMin) / res);
    const iy = Math.floor((y - extent.yMin) / res);
    if (ix < 0 || iy < 0 || ix >= width || iy >= height) continue;
    if (ego && x >= ego.xMin && x <= ego.xMax && y >= ego.yMin && y <= ego.yMax) continue;
    const h = points[3 * i + 2]! - groundAt(gz, tilesX, tilesY, (x - extent.xMin) / tileM, (y - extent.yMin) / tileM);
    if (!(h > o.minHeight && h < o.maxHeight)) continue; // also drops NaN points
    obstaclePoints++;
    const c = iy * width + ix;
    if (hits[c]! < 65535) hits[c]!++;
  }
  for (let c = 0; c < n; c++) if (hits[c]! >= o.minPointsPerCell) cells[c] = CELL_POINTS;

  let boxes = 0;
  for (const box of input.obstacles ?? []) {
    const bx = box.center[0];
    const by = box.center[1];
    const bottom = box.center[2] - box.size[2] / 2 - groundAt(gz, tilesX, tilesY, (bx - extent.xMin) / tileM, (by - extent.yMin) / tileM);
    if (bottom > o.maxHeight) continue; // a box overhead (a sign gantry) does not block the road
    if (rasterizeBox(cells, width, height, extent.xMin, extent.yMin, res, box)) boxes++;
  }

  let occupied = 0;
  for (let c = 0; c < n; c++) if (cells[c]) occupied++;
  distanceTransform(cells, width, height, res, distance);
  return {
    resolution: res,
    originX: extent.xMin,
    originY: extent.yMin,
    width,
    height,
    cells,
    distance,
    ground,
    stats: { points: count, obstaclePoints, occupiedCells: occupied, boxes, buildMs: performance.now() - started },
  };
}

/** Marks the cells whose centres lie in the box footprint grown by half a cell diagonal (conservative). Returns whether any cell was marked. */
function rasterizeBox(cells: Uint8Array, width: number, height: number, x0: number, y0: number, res: number, box: Box3D): boolean {
  const grow = res * Math.SQRT1_2;
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const hl = box.size[0] / 2 + grow;
  const hw = box.size[1] / 2 + grow;
  if (!(hl > 0 && hw > 0) || !Number.isFinite(box.center[0] + box.center[1] + c)) return false;
  const corners = footprintCorners(box.center[0], box.center[1], box.size[0] + 2 * grow, box.size[1] + 2 * grow, box.yaw);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let k = 0; k < 4; k++) {
    minX = Math.min(minX, corners[2 * k]!);
    maxX = Math.max(maxX, corners[2 * k]!);
    minY = Math.min(minY, corners[2 * k + 1]!);
    maxY = Math.max(maxY, corners[2 * k + 1]!);
  }
  const ix0 = Math.max(0, Math.floor((minX - x0) / res));
  const ix1 = Math.min(width - 1, Math.floor((maxX - x0) / res));
  const iy0 = Math.max(0, Math.floor((minY - y0) / res));
  const iy1 = Math.min(height - 1, Math.floor((maxY - y0) / res));
  let marked = false;
  for (let iy = iy0; iy <= iy1; iy++) {
    const dy = y0 + (iy + 0.5) * res - box.center[1];
    for (let ix = ix0; ix <= ix1; ix++) {
      const dx = x0 + (ix + 0.5) * res - box.center[0];
      // Into the box frame: rotate by -yaw.
      if (Math.abs(c * dx + s * dy) <= hl && Math.abs(-s * dx + c * dy) <= hw) {
        cells[iy * width + ix]! |= CELL_BOX;
        marked = true;
      }
    }
  }
  return marked;
}

// ---------------------------------------------------------------------------------------------
// Ground estimate

const Z_BIN = 0.1;
const Z_BINS = 128;

function estimateGround(points: Float32Array, count: number, labels: Uint8Array | undefined, o: OccupancyOptions): OccupancyGrid['ground'] {
  const { extent, groundTileM: tileM } = o;
  const tilesX = Math.max(1, Math.ceil((extent.xMax - extent.xMin) / tileM));
  const tilesY = Math.max(1, Math.ceil((extent.yMax - extent.yMin) / tileM));
  const tiles = tilesX * tilesY;
  const z = new Float32Array(tiles).fill(Number.POSITIVE_INFINITY);

  // A robust floor for the per-tile histograms: a low percentile of all heights in the extent.
  const global = new Uint32Array(400); // 0.1 m bins over [-20, 20) m
  let inExtent = 0;
  for (let i = 0; i < count; i++) {
    if (labels && labels[i] !== 1) continue;
    const x = points[3 * i]!;
    const y = points[3 * i + 1]!;
    if (!(x >= extent.xMin && x < extent.xMax && y >= extent.yMin && y < extent.yMax)) continue;
    const b = Math.floor((points[3 * i + 2]! + 20) / Z_BIN);
    if (b >= 0 && b < 400) {
      global[b]!++;
      inExtent++;
    }
  }
  if (inExtent === 0) {
    z.fill(0);
    return { tileM, tilesX, tilesY, z };
  }
  const zLo = percentileBin(global, 0, inExtent, labels ? 0.02 : 0.005) * Z_BIN - 20 - Z_BIN;

  const hist = scratchU32(tiles * Z_BINS);
  hist.fill(0, 0, tiles * Z_BINS);
  const tileCount = new Uint32Array(tiles);
  for (let i = 0; i < count; i++) {
    if (labels && labels[i] !== 1) continue;
    const x = points[3 * i]!;
    const y = points[3 * i + 1]!;
    if (!(x >= extent.xMin && x < extent.xMax && y >= extent.yMin && y < extent.yMax)) continue;
    const b = Math.floor((points[3 * i + 2]! - zLo) / Z_BIN);
    if (!(b >= 0)) continue;
    const t = Math.min(tilesY - 1, Math.floor((y - extent.yMin) / tileM)) * tilesX + Math.min(tilesX - 1, Math.floor((x - extent.xMin) / tileM));
    hist[t * Z_BINS + Math.min(Z_BINS - 1, b)]!++;
    tileCount[t]!++;
  }
  const percentile = labels ? 0.5 : o.groundPercentile;
  let known = 0;
  for (let t = 0; t < tiles; t++) {
    if (tileCount[t]! < 3) continue;
    z[t] = zLo + (percentileBin(hist, t * Z_BINS, tileCount[t]!, percentile) - t * Z_BINS + 0.5) * Z_BIN;
    known++;
  }
  if (known === 0) {
    z.fill(zLo + Z_BIN);
    return { tileM, tilesX, tilesY, z };
  }
  // Empty tiles take the nearest known tile's ground (repeated 8-neighbour dilation).
  let missing = tiles - known;
  while (missing > 0) {
    const next = Float32Array.from(z);
    for (let ty = 0; ty < tilesY; ty++) {
      for (let tx = 0; tx < tilesX; tx++) {
        const t = ty * tilesX + tx;
        if (Number.isFinite(z[t]!)) continue;
        let sum = 0;
        let k = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const nx = tx + dx;
            const ny = ty + dy;
            if (nx < 0 || ny < 0 || nx >= tilesX || ny >= tilesY) continue;
            const v = z[ny * tilesX + nx]!;
            if (Number.isFinite(v)) {
              sum += v;
              k++;
            }
          }
        }
        if (k) {
          next[t] = sum / k;
          missing--;
        }
      }
    }
    z.set(next);
  }
  // Slope limit: ground(t) <= ground(neighbour) + slope * distance, by a forward and a backward
  // chamfer pass (each tile looks at the neighbours already visited in that pass).
  const step = o.maxGroundSlope * tileM;
  const diag = step * Math.SQRT2;
  const relax = (t: number, nx: number, ny: number, cost: number): void => {
    if (nx >= 0 && ny >= 0 && nx < tilesX && ny < tilesY) z[t] = Math.min(z[t]!, z[ny * tilesX + nx]! + cost);
  };
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      const t = ty * tilesX + tx;
      relax(t, tx - 1, ty, step);
      relax(t, tx - 1, ty - 1, diag);
      relax(t, tx, ty - 1, step);
      relax(t, tx + 1, ty - 1, diag);
    }
  }
  for (let ty = tilesY - 1; ty >= 0; ty--) {
    for (let tx = tilesX - 1; tx >= 0; tx--) {
      const t = ty * tilesX + tx;
      relax(t, tx + 1, ty, step);
      relax(t, tx + 1, ty + 1, diag);
      relax(t, tx, ty + 1, step);
      relax(t, tx - 1, ty + 1, diag);
    }
  }
  return { tileM, tilesX, tilesY, z };
}

/** Index (absolute, into hist) of the bin holding the q-th quantile of `total` counts starting at `from`. */
function percentileBin(hist: Uint32Array, from: number, total: number, q: number): number {
  const target = Math.max(1, Math.ceil(q * total));
  let acc = 0;
  let b = from;
  for (; ; b++) {
    acc += hist[b]!;
    if (acc >= target) return b;
  }
}

/** Ground height bilinear between tile centres; (u, v) in tile units from the grid corner. */
function groundAt(z: Float32Array, tilesX: number, tilesY: number, u: number, v: number): number {
  const fu = Math.min(Math.max(u - 0.5, 0), tilesX - 1);
  const fv = Math.min(Math.max(v - 0.5, 0), tilesY - 1);
  const x0 = Math.min(Math.floor(fu), tilesX - 2 < 0 ? 0 : tilesX - 2);
  const y0 = Math.min(Math.floor(fv), tilesY - 2 < 0 ? 0 : tilesY - 2);
  const x1 = Math.min(x0 + 1, tilesX - 1);
  const y1 = Math.min(y0 + 1, tilesY - 1);
  const ax = fu - x0;
  const ay = fv - y0;
  const a = z[y0 * tilesX + x0]!;
  const b = z[y0 * tilesX + x1]!;
  const c = z[y1 * tilesX + x0]!;
  const d = z[y1 * tilesX + x1]!;
  return (a * (1 - ax) + b * ax) * (1 - ay) + (c * (1 - ax) + d * ax) * ay;
}

/** Ground height under an ego-frame point, from the grid's tile estimate. */
export function groundHeightAt(grid: OccupancyGrid, x: number, y: number): number {
  const g = grid.ground;
  return groundAt(g.z, g.tilesX, g.tilesY, (x - grid.originX) / g.tileM, (y - grid.originY) / g.tileM);
}

// ---------------------------------------------------------------------------------------------
// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012): two 1D lower-envelope
// passes over squared distances, O(cells).

function distanceTransform(cells: Uint8Array, width: number, height: number, res: number, out: Float32Array): void {
  const n = width * height;
  const d2 = scratchF64(n);
  const len = Math.max(width, height);
  const f = scratch1D.f.length >= len ? scratch1D.f : (scratch1D.f = new Float64Array(len));
  const g = scratch1D.g.length >= len ? scratch1D.g : (scratch1D.g = new Float64Array(len));
  const v = scratch1D.v.length >= len ? scratch1D.v : (scratch1D.v = new Int32Array(len));
  const zb = scratch1D.z.length >= len + 1 ? scratch1D.z : (scratch1D.z = new Float64Array(len + 1));
  // Rows (along x): the input is binary, so the 1D distance is to the nearest occupied cell on
  // either side, found by two sweeps.
  for (let iy = 0; iy < height; iy++) {
    const base = iy * width;
    let last = -Infinity;
    for (let ix = 0; ix < width; ix++) {
      if (cells[base + ix]) last = ix;
      const d = ix - last;
      d2[base + ix] = d === Infinity ? FAR : d * d;
    }
    last = Infinity;
    for (let ix = width - 1; ix >= 0; ix--) {
      if (cells[base + ix]) last = ix;
      const d = last - ix;
      if (d !== Infinity && d * d < d2[base + ix]!) d2[base + ix] = d * d;
    }
  }
  // Columns (along y): the lower envelope of parabolas over the row distances.
  for (let ix = 0; ix < width; ix++) {
    for (let iy = 0; iy < height; iy++) f[iy] = d2[iy * width + ix]!;
    edt1d(f, height, g, v, zb);
    for (let iy = 0; iy < height; iy++) out[iy * width + ix] = Math.sqrt(g[iy]!) * res;
  }
}

function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const fq = f[q]! + q * q;
    let s = (fq - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    while (s <= z[k]!) {
      k--;
      s = (fq - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const dq = q - v[k]!;
    d[q] = dq * dq + f[v[k]!]!;
  }
}

// Scratch buffers shared by successive builds (single-threaded: never held across calls).
const scratch1D = { f: new Float64Array(0), g: new Float64Array(0), v: new Int32Array(0), z: new Float64Array(0) };
let scratchD2 = new Float64Array(0);
let scratchHits = new Uint16Array(0);
let scratchHist = new Uint32Array(0);
function scratchF64(n: number): Float64Array {
  if (scratchD2.length < n) scratchD2 = new Float64Array(n);
  return scratchD2;
}
function scratchU16(n: number): Uint16Array {
  if (scratchHits.length < n) scratchHits = new Uint16Array(n);
  scratchHits.fill(0, 0, n);
  return scratchHits;
}
function scratchU32(n: number): Uint32Array {
  if (scratchHist.length < n) scratchHist = new Uint32Array(n);
  return scratchHist;
}

// ---------------------------------------------------------------------------------------------
// Queries

/** Index of the cell holding an ego-frame point, or -1 outside the grid. */
export function cellIndexAt(grid: OccupancyGrid, x: number, y: number): number {
  const ix = Math.floor((x - grid.originX) / grid.resolution);
  const iy = Math.floor((y - grid.originY) / grid.resolution);
  if (ix < 0 || iy < 0 || ix >= grid.width || iy >= grid.height) return -1;
  return iy * grid.width + ix;
}

export function isOccupied(grid: OccupancyGrid, x: number, y: number): boolean {
  const c = cellIndexAt(grid, x, y);
  return c >= 0 && grid.cells[c] !== 0;
}

/** Distance field bilinearly interpolated at an ego-frame point; outside the grid, the value at the nearest border cell. */
export function distanceAt(grid: OccupancyGrid, x: number, y: number): number {
  const res = grid.resolution;
  let u = (x - grid.originX) / res - 0.5;
  let v = (y - grid.originY) / res - 0.5;
  const w = grid.width;
  const h = grid.height;
  u = u < 0 ? 0 : u > w - 1 ? w - 1 : u;
  v = v < 0 ? 0 : v > h - 1 ? h - 1 : v;
  let ix = Math.floor(u);
  let iy = Math.floor(v);
  if (ix >= w - 1) ix = Math.max(0, w - 2);
  if (iy >= h - 1) iy = Math.max(0, h - 2);
  const ax = u - ix;
  const ay = v - iy;
  const d = grid.distance;
  const c = iy * w + ix;
  const x1 = w > 1 ? 1 : 0;
  const y1 = h > 1 ? w : 0;
  return (d[c]! * (1 - ax) + d[c + x1]! * ax) * (1 - ay) + (d[c + y1]! * (1 - ax) + d[c + y1 + x1]! * ax) * ay;
}

/** A lower bound (up to interpolation) of the distance from a point to occupied space, treating occupied cells as squares. */
export function clearanceAt(grid: OccupancyGrid, x: number, y: number): number {
  return Math.max(0, distanceAt(grid, x, y) - grid.resolution * Math.SQRT1_2);
}
