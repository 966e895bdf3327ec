// Euclidean clustering of the non-ground points: two points belong to one cluster when a chain of
// points links them with every step shorter than `tolerance`.
//
// Neighbour search uses a dense voxel grid (no hashing, no O(n²)): voxels are tolerance/√3 wide, so
// all points in one voxel are within tolerance of each other and a voxel is one union-find node.
// Two voxels can only hold points within tolerance when they are at most 2 voxels apart on every
// axis, so each voxel is compared with its 62 "forward" neighbours: skipped when already joined or
// when their point bounding boxes are too far apart, joined at once when even their farthest corners
// are within tolerance, and otherwise by an early-exit scan of point pairs.
//
// Coordinates are (x, y, height above ground), so that on a slope the height limits and the vertical
// neighbour search follow the terrain; heights come from segmentGround, or z + sensorHeight.

export interface ClusteringOptions {
  /** Largest gap between neighbouring points of one cluster, metres. */
  tolerance?: number;
  /** Clusters with fewer points are noise (id -1). */
  minPoints?: number;
  /** Clusters with more points (buildings, hedges) are dropped too. */
  maxPoints?: number;
  /** Points lower than this above ground are skipped (kerbs, residual ground), metres. */
  minHeight?: number;
  /** Points higher than this above ground are skipped (trees, bridges, signs), metres. */
  maxHeight?: number;
  /** Points farther than this from the sensor (horizontally) are skipped, metres. */
  maxRange?: number;
  /** Used for the height above ground when no per-point heights are given. */
  sensorHeight?: number;
}

export interface ClusterInfo {
  id: number;
  count: number;
  centroid: [number, number, number];
  min: [number, number, number];
  max: [number, number, number];
  /** Mean ground height under the cluster (z of its points minus their height above ground). */
  groundZ: number;
}

export interface Clustering {
  /** Cluster id per point, -1 for ground, filtered and noise points. */
  clusterIds: Int32Array;
  clusters: ClusterInfo[];
  /** Point indices grouped by cluster: cluster c is order[offsets[c] .. offsets[c + 1]). */
  order: Uint32Array;
  offsets: Uint32Array;
}

export interface ClusteringInputs {
  /** From segmentGround: ground points (1) are skipped. */
  groundLabels?: Uint8Array;
  /** From segmentGround: height of each point above its local ground. */
  heights?: Float32Array;
}

const DEFAULTS: Required<ClusteringOptions> = {
  tolerance: 0.5,
  minPoints: 8,
  maxPoints: 30000,
  minHeight: 0.1,
  maxHeight: 3,
  maxRange: 60,
  sensorHeight: 1.73,
};

/** Forward half of the {-2..2}³ neighbourhood, nearest first so cheap joins happen early. */
const OFFSETS: Array<[number, number, number]> = (() => {
  const out: Array<[number, number, number]> = [];
  for (let dz = -2; dz <= 2; dz++)
    for (let dy = -2; dy <= 2; dy++)
      for (let dx = -2; dx <= 2; dx++) {
        if (dz > 0 || (dz === 0 && (dy > 0 || (dy === 0 && dx > 0)))) out.push([dx, dy, dz]);
      }
  return out.sort((a, b) => a[0] ** 2 + a[1] ** 2 + a[2] ** 2 - (b[0] ** 2 + b[1] ** 2 + b[2] ** 2));
})();

/** Voxels of padding around the grid, so that neighbour lookups need no bounds checks. */
const PAD = 2;

/** The dense voxel grid and per-call scratch, reused between sweeps (one per worker thread). */
class VoxelWorkspace {
  key = '';
  /** Cells along x and y, and layers along the height (with PAD on each side). */
  nx = 0;
  ny = 0;
  nz = 0;
  /** Neighbour offsets as linear cell-index deltas: adjacent ones, then those 2 voxels away. */
  nearOffsets = new Int32Array(0);
  farOffsets = new Int32Array(0);
  /**
   * Voxel -> node id, -1 when empty; height is the fastest-varying index so that a voxel's
   * neighbours share cache lines. Reset after each call through the node list.
   */
  nodeOfCell = new Int32Array(0);
  nodeCell = new Int32Array(0);
  nodeHead = new Int32Array(0);
  nodeCount = new Int32Array(0);
  parent = new Int32Array(0);
  box = new Float32Array(0);
  next = new Int32Array(0);
  /** Candidate point coordinates (x, y, height above ground), compacted. */
  coords = new Float32Array(0);
  pointIndex = new Uint32Array(0);

  configure(extent: number, voxel: number, layers: number): void {
    const key = `${extent}|${voxel}|${layers}`;
    if (key === this.key) return;
    this.nx = this.ny = Math.ceil((2 * extent) / voxel) + 1 + 2 * PAD;
    this.nz = layers + 2 * PAD;
    const cells = this.nx * this.ny * this.nz;
    if (cells > 64_000_000) throw new RangeError(`clustering: voxel grid of ${cells} cells is too large (raise tolerance or lower maxRange)`);
    this.nodeOfCell = new Int32Array(cells).fill(-1);
    const linear = ([dx, dy, dz]: [number, number, number]) => (dy * this.nx + dx) * this.nz + dz;
    this.nearOffsets = Int32Array.from(OFFSETS.filter((o) => Math.max(...o.map(Math.abs)) === 1).map(linear));
    this.farOffsets = Int32Array.from(OFFSETS.filter((o) => Math.max(...o.map(Math.abs)) === 2).map(linear));
    this.key = key;
  }

  ensure(points: number): void {
    if (this.next.length >= points) return;
    const n = Math.max(points, 1024);
    this.nodeCell = new Int32Array(n);
    this.nodeHead = new Int32Array(n);
    this.nodeCount = new Int32Array(n);
    this.parent = new Int32Array(n);
    this.box = new Float32Array(6 * n);
    this.next = new Int32Array(n);
    this.coords = new Float32Array(3 * n);
    this.pointIndex = new Uint32Array(n);
  }

  find(a: number): number {
    const parent = this.parent;
    let root = a;
    while (parent[root] !== root) root = parent[root]!;
    while (parent[a] !== root) {
      const up = parent[a]!;
      parent[a] = root;
      a = up;
    }
    return root;
  }
}

const workspace = new VoxelWorkspace();

export function clusterPoints(positions: Float32Array, count: number, inputs: ClusteringInputs = {}, options: ClusteringOptions = {}): Clustering {
  if (!Number.isInteger(count) || count < 0 || positions.length < count * 3) {
    throw new RangeError(`lidar: positions hold ${Math.floor(positions.length / 3)} points, fewer than count ${count}`);
  }
  const { groundLabels, heights } = inputs;
  if (groundLabels && groundLabels.length < count) throw new RangeError(`clustering: ${groundLabels.length} ground labels for ${count} points`);
  if (heights && heights.length < count) throw new RangeError(`clustering: ${heights.length} heights for ${count} points`);
  const o = { ...DEFAULTS, ...options };
  if (!(o.tolerance > 0)) throw new RangeError(`clustering: tolerance must be positive (got ${o.tolerance})`);

  const voxel = o.tolerance / Math.sqrt(3);
  const layers = Math.max(1, Math.ceil((o.maxHeight - o.minHeight) / voxel));
  const ws = workspace;
  ws.configure(o.maxRange, voxel, layers);
  ws.ensure(count);
  const { nx, nz, nodeOfCell, nodeCell, nodeHead, nodeCount, parent, box, next, coords, pointIndex } = ws;
  const inv = 1 / voxel;
  const maxRange2 = o.maxRange * o.maxRange;

  // 1. Candidates -> voxels (nodes); points chained per node.
  let candidates = 0;
  let nodes = 0;
  for (let i = 0; i < count; i++) {
    if (groundLabels && groundLabels[i] === 1) continue;
    const x = positions[3 * i]!;
    const y = positions[3 * i + 1]!;
    const h = heights ? heights[i]! : positions[3 * i + 2]! + o.sensorHeight;
    if (!(h >= o.minHeight && h <= o.maxHeight)) continue; // also drops NaN
    if (x * x + y * y > maxRange2) continue;
    const ix = Math.floor((x + o.maxRange) * inv) + PAD;
    const iy = Math.floor((y + o.maxRange) * inv) + PAD;
    const iz = Math.min(layers - 1, Math.floor((h - o.minHeight) * inv)) + PAD;
    const cell = (iy * nx + ix) * nz + iz;
    let node = nodeOfCell[cell]!;
    if (node < 0) {
      node = nodes++;
      nodeOfCell[cell] = node;
      nodeCell[node] = cell;
      nodeHead[node] = -1;
      nodeCount[node] = 0;
      parent[node] = node;
      box[6 * node] = box[6 * node + 1] = box[6 * node + 2] = Infinity;
      box[6 * node + 3] = box[6 * node + 4] = box[6 * node + 5] = -Infinity;
    }
    const c = candidates++;
    coords[3 * c] = x;
    coords[3 * c + 1] = y;
    coords[3 * c + 2] = h;
    pointIndex[c] = i;
    next[c] = nodeHead[node]!;
    nodeHead[node] = c;
    nodeCount[node]!++;
    const b = 6 * node;
    if (x < box[b]!) box[b] = x;
    if (y < box[b + 1]!) box[b + 1] = y;
    if (h < box[b + 2]!) box[b + 2] = h;
    if (x > box[b + 3]!) box[b + 3] = x;
    if (y > box[b + 4]!) box[b + 4] = y;
    if (h > box[b + 5]!) box[b + 5] = h;
  }

  // 2. Join neighbouring voxels, adjacent ones first: after that pass most of the farther checks are
  //    between voxels already joined and cost one find().
  const tol2 = o.tolerance * o.tolerance;
  for (const offsets of [ws.nearOffsets, ws.farOffsets]) {
    for (let a = 0; a < nodes; a++) {
      const cell = nodeCell[a]!;
      for (let k = 0; k < offsets.length; k++) {
        const b = nodeOfCell[cell + offsets[k]!]!;
        if (b < 0) continue;
        const ra = ws.find(a);
        const rb = ws.find(b);
        if (ra === rb) continue;
        if (voxelsTouch(a, b, box, tol2, nodeHead, next, coords)) parent[rb < ra ? ra : rb] = rb < ra ? rb : ra;
      }
    }
  }

  // 3. Components -> cluster ids (in order of first appearance), size filter, grouped point order.
  const rootSize = new Int32Array(nodes);
  const rootId = new Int32Array(nodes).fill(-1);
  for (let a = 0; a < nodes; a++) rootSize[ws.find(a)]! += nodeCount[a]!;
  const clusterSizes: number[] = [];
  for (let a = 0; a < nodes; a++) {
    const r = ws.find(a);
    if (rootId[r] === -1) {
      const size = rootSize[r]!;
      if (size >= o.minPoints && size <= o.maxPoints) {
        rootId[r] = clusterSizes.length;
        clusterSizes.push(size);
      } else rootId[r] = -2;
    }
  }
  const clusterCount = clusterSizes.length;
  const offsets = new Uint32Array(clusterCount + 1);
  for (let c = 0; c < clusterCount; c++) offsets[c + 1] = offsets[c]! + clusterSizes[c]!;
  const order = new Uint32Array(offsets[clusterCount]!);
  const fill = offsets.slice(0, clusterCount);
  const clusterIds = new Int32Array(count).fill(-1);
  const sums = new Float64Array(clusterCount * 4);
  const bounds = new Float64Array(clusterCount * 6);
  for (let c = 0; c < clusterCount; c++) {
    bounds.fill(Infinity, 6 * c, 6 * c + 3);
    bounds.fill(-Infinity, 6 * c + 3, 6 * c + 6);
  }
  for (let a = 0; a < nodes; a++) {
    const id = rootId[ws.find(a)]!;
    if (id < 0) continue;
    for (let c = nodeHead[a]!; c >= 0; c = next[c]!) {
      const i = pointIndex[c]!;
      clusterIds[i] = id;
      order[fill[id]!++] = i;
      const x = positions[3 * i]!;
      const y = positions[3 * i + 1]!;
      const z = positions[3 * i + 2]!;
      sums[4 * id] += x;
      sums[4 * id + 1] += y;
      sums[4 * id + 2] += z;
      sums[4 * id + 3] += z - coords[3 * c + 2]!;
      const b = 6 * id;
      if (x < bounds[b]!) bounds[b] = x;
      if (y < bounds[b + 1]!) bounds[b + 1] = y;
      if (z < bounds[b + 2]!) bounds[b + 2] = z;
      if (x > bounds[b + 3]!) bounds[b + 3] = x;
      if (y > bounds[b + 4]!) bounds[b + 4] = y;
      if (z > bounds[b + 5]!) bounds[b + 5] = z;
    }
  }
  const clusters: ClusterInfo[] = [];
  for (let c = 0; c < clusterCount; c++) {
    const n = clusterSizes[c]!;
    clusters.push({
      id: c,
      count: n,
      centroid: [sums[4 * c]! / n, sums[4 * c + 1]! / n, sums[4 * c + 2]! / n],
      min: [bounds[6 * c]!, bounds[6 * c + 1]!, bounds[6 * c + 2]!],
      max: [bounds[6 * c + 3]!, bounds[6 * c + 4]!, bounds[6 * c + 5]!],
      groundZ: sums[4 * c + 3]! / n,
    });
  }

  // Leave the dense grid empty for the next sweep.
  for (let a = 0; a < nodes; a++) nodeOfCell[nodeCell[a]!] = -1;
  return { clusterIds, clusters, order, offsets };
}

/** Whether any point of voxel a is within tolerance of any point of voxel b. */
function voxelsTouch(a: number, b: number, box: Float32Array, tol2: number, head: Int32Array, next: Int32Array, coords: Float32Array): boolean {
  const pa = 6 * a;
  const pb = 6 * b;
  let gap2 = 0;
  let span2 = 0;
  for (let k = 0; k < 3; k++) {
    const aMin = box[pa + k]!;
    const aMax = box[pa + 3 + k]!;
    const bMin = box[pb + k]!;
    const bMax = box[pb + 3 + k]!;
    const gap = Math.max(0, bMin - aMax, aMin - bMax);
    gap2 += gap * gap;
    const span = Math.max(aMax, bMax) - Math.min(aMin, bMin);
    span2 += span * span;
  }
  if (gap2 > tol2) return false;
  if (span2 <= tol2) return true;
  for (let i = head[a]!; i >= 0; i = next[i]!) {
    const x = coords[3 * i]!;
    const y = coords[3 * i + 1]!;
    const z = coords[3 * i + 2]!;
    for (let j = head[b]!; j >= 0; j = next[j]!) {
      const dx = coords[3 * j]! - x;
      const dy = coords[3 * j + 1]! - y;
      const dz = coords[3 * j + 2]! - z;
      if (dx * dx + dy * dy + dz * dz <= tol2) return true;
    }
  }
  return false;
}
