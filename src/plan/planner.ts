// The built-in reference planner: what a cautious planner would do given the current perception.
//
// A state lattice in the Frenet frame of a reference line (the driven path ahead, or straight
// ahead): layers every `stationStepM` metres along the line, nodes at lateral offsets every
// `lateralStepM`. An edge joins two nodes with a quintic lateral blend ("smootherstep"), whose
// slope and curvature vanish at both ends, so joined edges are curvature-continuous; edges may span
// several layers, which gives long, gentle swerves. Edges whose peak curvature exceeds what the
// speed allows (lateral acceleration) or the turning radius are not in the lattice.
//
// The lattice is a DAG, so dynamic programming over the layers finds the cheapest path exactly.
// Edge cost = offset from the reference (∫l²) + smoothness (∫l'², ∫l''²) + proximity to obstacles;
// collisions (the footprint as a few circles against the grid's distance field) are hard. Per node,
// the candidate edges are tried cheapest-first by their collision-free part, so most of them are
// never collision-checked (branch and bound, capped at maxEdgeChecksPerNode: exact unless a node
// needs more, which happens only right behind obstacles). A table of the footprint's clearance at
// every lattice offset settles most collision checks without touching the grid.
//
// When no edge sequence reaches the horizon the road is blocked: the path follows the best partial
// sequence and then holds its lateral offset up to the last collision-free position, where it stops.
import type { Vec3 } from '../logs/model.js';
import type { OccupancyGrid } from './occupancy.js';
import { EGO_START, referenceLine, type PlanarPose, type ReferenceLine } from './paths.js';

export interface VehicleShape {
  length: number;
  width: number;
  /** From the ego origin (the rear axle) forward to the centre of the footprint, metres. */
  rearAxleToCenter: number;
}

export const DEFAULT_VEHICLE: VehicleShape = { length: 4.6, width: 1.9, rearAxleToCenter: 1.4 };

export interface PlanWeights {
  /** Per metre travelled per m² of lateral offset from the reference. */
  offset: number;
  /** ∫ l'² ds: lateral drift. */
  slope: number;
  /** ∫ l''² ds: curvature change (comfort). */
  curvature: number;
  /** ∫ (softMargin − excess clearance)² ds where the footprint comes within softMargin beyond the clearance. */
  proximity: number;
  softMarginM: number;
}

export const DEFAULT_WEIGHTS: PlanWeights = { offset: 1, slope: 10, curvature: 100, proximity: 10, softMarginM: 0.5 };

export interface PlanOptions {
  /** Ego pose in the frame; the ego frame's origin, heading 0, by default. */
  start?: PlanarPose;
  /** Where the ego is headed: e.g. the driven path (ego frame; past points are skipped). Straight ahead when absent. */
  goalHint?: readonly Vec3[];
  vehicle?: Partial<VehicleShape>;
  /** Required gap between the footprint and occupied space, metres (ramps up from 0 over the first clearanceRampM). */
  clearance?: number;
  clearanceRampM?: number;
  /** Distance along the reference to plan, metres. */
  horizonM?: number;
  /** Ego speed: limits curvature by lateral acceleration. When unknown, comfortSpeedMps is assumed. */
  speedMps?: number;
  comfortSpeedMps?: number;
  maxLateralAccel?: number;
  minTurnRadiusM?: number;
  /** Largest lateral slope dl/ds of an edge (≈ heading change against the reference). */
  maxSlope?: number;
  /** Nodes span ±lateralRangeM around the reference. */
  lateralRangeM?: number;
  lateralStepM?: number;
  stationStepM?: number;
  /** Longest single edge (one swerve), metres. */
  maxTransitionM?: number;
  /** Collision check spacing along an edge, metres. */
  sampleStepM?: number;
  /**
   * Most incoming edges collision-checked per node (cheapest first). Behind an obstacle, dozens of
   * cheap edges run into it; past this many, the node keeps the best found (or stays unreached;
   * a layer left wholly unreached is searched again without the cap).
   */
  maxEdgeChecksPerNode?: number;
  /** Spacing of the returned points, metres. */
  outputStepM?: number;
  weights?: Partial<PlanWeights>;
}

export interface PlannedPath {
  /** Ego-origin positions along the path, ego frame, every outputStepM (z follows the reference). */
  points: Vec3[];
  headings: number[];
  curvatures: number[];
  /** Arc length at each point, metres. */
  stations: number[];
  lengthM: number;
  /** Search cost of the returned path (offset, smoothness, proximity; 0 when the start itself is blocked). */
  cost: number;
  /** No collision-free path reaches the horizon: the path stops at stopDistanceM. */
  blocked: boolean;
  /** When blocked: the arc length where the ego origin stops. */
  stopDistanceM?: number;
  /** Smallest gap between the footprint circles and occupied space along the path, metres. */
  minClearanceM: number;
  referenceSource: 'hint' | 'straight';
  /** Lateral offset of the path from the reference at each point (left positive). */
  lateralOffsets: number[];
  searchMs: number;
  /** Search effort: lattice edges and poses collision-checked. */
  edgesChecked: number;
  samplesChecked: number;
  warnings: string[];
}

interface Footprint {
  offsets: Float64Array;
  radius: number;
}

/** The footprint as n circles along the body: centres' offsets from the ego origin, common radius. */
export function footprintCircles(vehicle: VehicleShape, maxOvershootM = 0.2): Footprint {
  const hw = vehicle.width / 2;
  const limit = Math.sqrt(Math.max(1e-6, (hw + maxOvershootM) ** 2 - hw * hw));
  const n = Math.max(1, Math.ceil(vehicle.length / (2 * limit)));
  const half = vehicle.length / (2 * n);
  const offsets = new Float64Array(n);
  for (let m = 0; m < n; m++) offsets[m] = vehicle.rearAxleToCenter - vehicle.length / 2 + (2 * m + 1) * half;
  return { offsets, radius: Math.sqrt(half * half + hw * hw) };
}

// ∫₀¹ q(u)² du for the quintic blend q = 10u³ − 15u⁴ + 6u⁵ (∫q = 1/2, ∫q'² = 10/7, ∫q''² = 120/7).
const Q2 = (() => {
  let sum = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const u = (i + 0.5) / n;
    const q = u * u * u * (10 + u * (-15 + 6 * u));
    sum += q * q;
  }
  return sum / n;
})();
const PEAK_CURVATURE = 5.7735; // max |q''| = 10/√3
const PEAK_SLOPE = 1.875; // max |q'|

/** Read-only views the hot loops work on (module-level functions, so the JIT inlines them). */
interface SearchSpace {
  dist: Float32Array;
  gw: number;
  gh: number;
  gx0: number;
  gy0: number;
  invRes: number;
  /** Half a cell diagonal: occupied cells are squares, the field measures to their centres. */
  cellCorr: number;
  rx: Float64Array;
  ry: Float64Array;
  rcos: Float64Array;
  rsin: Float64Array;
  rkappa: Float64Array;
  offs: Float64Array;
  radius: number;
}

/** Distance-field value (bilinear) at a point, clamped to the grid border. */
function fieldAt(f: SearchSpace, x: number, y: number): number {
  let u = (x - f.gx0) * f.invRes - 0.5;
  let v = (y - f.gy0) * f.invRes - 0.5;
  const wMax = f.gw - 1;
  const hMax = f.gh - 1;
  u = u < 0 ? 0 : u > wMax ? wMax : u;
  v = v < 0 ? 0 : v > hMax ? hMax : v;
  let ix = Math.floor(u);
  let iy = Math.floor(v);
  if (ix >= wMax) ix = wMax > 0 ? wMax - 1 : 0;
  if (iy >= hMax) iy = hMax > 0 ? hMax - 1 : 0;
  const ax = u - ix;
  const ay = v - iy;
  const c = iy * f.gw + ix;
  const dx = wMax > 0 ? 1 : 0;
  const dy = hMax > 0 ? f.gw : 0;
  const d = f.dist;
  return (d[c]! * (1 - ax) + d[c + dx]! * ax) * (1 - ay) + (d[c + dy]! * (1 - ax) + d[c + dy + dx]! * ax) * ay;
}

/**
 * Smallest clearance beyond `required` of the footprint circles at reference sample k, lateral
 * offset l and lateral slope dl/ds (negative = collision; stops at the first colliding circle).
 */
function poseExcess(f: SearchSpace, k: number, l: number, slope: number, required: number): number {
  const ch = f.rcos[k]!;
  const sh = f.rsin[k]!;
  const px = f.rx[k]! - sh * l;
  const py = f.ry[k]! + ch * l;
  let hx = ch;
  let hy = sh;
  if (slope !== 0) {
    // Heading = reference heading + atan(slope / (1 − κl)), without trigonometry.
    const p = slope / (1 - f.rkappa[k]! * l);
    const inv = 1 / Math.sqrt(1 + p * p);
    hx = (ch - sh * p) * inv;
    hy = (sh + ch * p) * inv;
  }
  const base = f.radius + f.cellCorr + required;
  const offs = f.offs;
  let worst = Infinity;
  for (let m = 0; m < offs.length; m++) {
    const e = fieldAt(f, px + offs[m]! * hx, py + offs[m]! * hy) - base;
    if (e < worst) {
      worst = e;
      if (e < 0) return e;
    }
  }
  return worst;
}

export function planReferencePath(grid: OccupancyGrid, options: PlanOptions = {}): PlannedPath {
  const started = performance.now();
  const vehicle: VehicleShape = { ...DEFAULT_VEHICLE, ...options.vehicle };
  const w: PlanWeights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const start = options.start ?? EGO_START;
  const clearance = options.clearance ?? 0.3;
  const ramp = options.clearanceRampM ?? 3;
  const horizon = options.horizonM ?? 50;
  const ds = options.stationStepM ?? 2.5;
  const sampleStep = options.sampleStepM ?? 0.25;
  const dl = options.lateralStepM ?? 0.25;
  const outputStep = options.outputStepM ?? 0.5;
  if (!(horizon > 0 && ds > 0 && sampleStep > 0 && dl > 0 && outputStep > 0 && clearance >= 0)) {
    throw new RangeError('planReferencePath: horizon, steps and clearance must be positive');
  }
  if (!(vehicle.length > 0 && vehicle.width > 0)) throw new RangeError('planReferencePath: vehicle length and width must be positive');
  const speed = options.speedMps && options.speedMps > 0.5 ? options.speedMps : (options.comfortSpeedMps ?? 5);
  const kappaMax = Math.min(1 / (options.minTurnRadiusM ?? 5), (options.maxLateralAccel ?? 3) / (speed * speed));
  const maxSlope = options.maxSlope ?? 0.5;
  const maxChecks = options.maxEdgeChecksPerNode ?? 16;

  // Layers at exact multiples of the sample step, so edge samples land on reference samples.
  const stride = Math.max(1, Math.round(ds / sampleStep));
  const layerStep = stride * sampleStep;
  const layers = Math.max(1, Math.ceil(horizon / layerStep - 1e-9));
  const maxSpan = Math.max(1, Math.floor((options.maxTransitionM ?? 25) / layerStep + 1e-9));
  const foot = footprintCircles(vehicle);
  const reach = Math.max(0, ...foot.offsets) + foot.radius + clearance + 1;
  const ref = referenceLine(options.goalHint, start, layers * layerStep + reach, sampleStep);
  const warnings = [...ref.warnings];
  const l0 = ref.startLateral;
  let range = options.lateralRangeM ?? 4;
  if (Math.abs(l0) + dl > range) range = Math.abs(l0) + dl;
  const half = Math.round(range / dl);
  const M = 2 * half + 1;
  const line = ref.line;
  const endK = layers * stride;
  if (outside(line, endK, grid.originX, grid.originX + grid.width * grid.resolution, grid.originY, grid.originY + grid.height * grid.resolution)) {
    warnings.push('the horizon reaches beyond the occupancy grid: space outside it is assumed like its border');
  }
  const space: SearchSpace = {
    dist: grid.distance,
    gw: grid.width,
    gh: grid.height,
    gx0: grid.originX,
    gy0: grid.originY,
    invRes: 1 / grid.resolution,
    cellCorr: grid.resolution * Math.SQRT1_2,
    rx: line.x,
    ry: line.y,
    rcos: line.heading.map(Math.cos),
    rsin: line.heading.map(Math.sin),
    rkappa: line.curvature,
    offs: foot.offsets,
    radius: foot.radius,
  };
  let refKappaMax = 0;
  for (let k = 0; k <= endK; k++) refKappaMax = Math.max(refKappaMax, Math.abs(line.curvature[k]!));
  let offMax = 0;
  for (const o of foot.offsets) offMax = Math.max(offMax, Math.abs(o));

  const required = (k: number): number => (k * sampleStep >= ramp ? clearance : clearance * ((k * sampleStep) / ramp));
  const proximity = (excess: number): number => {
    const gap = w.softMarginM - excess;
    return gap > 0 ? w.proximity * gap * gap * sampleStep : 0;
  };

  // Screening table: the footprint's excess clearance at every reference sample and lattice offset,
  // heading along the reference. An edge sample lies within dl/2 of a lattice offset and its heading
  // deviates by atan(slope), so no footprint circle is more than δ = |Δl| + d·|Δheading| away from
  // the tabulated pose: a table value below −δ proves a collision, one above δ proves it free (the
  // distance field is 1-Lipschitz). Only samples in between are checked against the grid.
  const table = new Float64Array((endK + 1) * M);
  for (let k = 0; k <= endK; k++) {
    const req = required(k);
    for (let a = 0; a < M; a++) table[k * M + a] = poseExcess(space, k, (a - half) * dl, 0, req);
  }
  // A circle at offset d from the pose moves by d·|Δheading| ≤ d·|slope| / (1 − κ·range).
  const headingSlack = offMax / Math.max(0.5, 1 - refKappaMax * range);

  // Nodes: layer i, lateral index a (offset (a − half)·dl); layer 0 holds only the start (index 0, lateral l0).
  const nodes = (layers + 1) * M;
  const cost = new Float64Array(nodes).fill(Infinity);
  const parent = new Int32Array(nodes).fill(-1);
  const nodeProx = new Float64Array(nodes);
  const lateralOf = (node: number): number => {
    const i = Math.floor(node / M);
    return i === 0 ? l0 : (node - i * M - half) * dl;
  };
  // The start is checked without clearance: what is already close cannot be helped.
  if (poseExcess(space, 0, l0, 0, 0) >= 0) {
    cost[0] = 0;
  } else {
    warnings.push('the ego footprint at the start overlaps occupied space');
  }

  // The quintic blend and its slope factor, per edge span, at each fine sample.
  const blend: Float64Array[] = [];
  const blendSlope: Float64Array[] = [];
  for (let span = 1; span <= maxSpan; span++) {
    const n = span * stride;
    const qv = new Float64Array(n + 1);
    const qd = new Float64Array(n + 1);
    for (let q = 0; q <= n; q++) {
      const u = q / n;
      const u2 = u * u;
      qv[q] = u2 * u * (10 + u * (-15 + 6 * u));
      qd[q] = (30 * u2 * (1 - u) * (1 - u)) / (n * sampleStep);
    }
    blend[span] = qv;
    blendSlope[span] = qd;
  }

  const pending = new Int32Array(maxSpan * stride + 1);
  // Collision check and proximity cost of an edge's interior samples (−1 on collision).
  let edgesChecked = 0;
  let samplesChecked = 0;
  const edgeProximity = (from: number, to: number): number => {
    const i = Math.floor(from / M);
    const span = Math.floor(to / M) - i;
    const la = lateralOf(from);
    const delta = lateralOf(to) - la;
    const k0 = i * stride;
    const n = span * stride;
    const qv = blend[span]!;
    const qd = blendSlope[span]!;
    // Pass 1, table only: a proven collision anywhere ends it; ambiguous samples are noted.
    let sum = 0;
    let ambiguous = 0;
    for (let q = 1; q < n; q++) {
      const l = la + delta * qv[q]!;
      const slope = delta * qd[q]!;
      const a = Math.round(l / dl) + half;
      const slack = Math.abs(l - (a - half) * dl) + headingSlack * Math.abs(slope) + 1e-9;
      const tabled = table[(k0 + q) * M + a]!;
      if (tabled + slack < 0) return -1;
      if (tabled - slack >= 0) sum += proximity(tabled - slack);
      else pending[ambiguous++] = q;
    }
    // Pass 2: the ambiguous samples against the grid.
    for (let j = 0; j < ambiguous; j++) {
      const q = pending[j]!;
      samplesChecked++;
      const e = poseExcess(space, k0 + q, la + delta * qv[q]!, delta * qd[q]!, required(k0 + q));
      if (e < 0) return -1;
      sum += proximity(e);
    }
    return sum;
  };

  // Edge costs without obstacles: a quintic blend of lateral change Δ over length L.
  const maxLateralChange = (L: number): number => Math.min((kappaMax * L * L) / PEAK_CURVATURE, (maxSlope * L) / PEAK_SLOPE);
  const smoothCost = (delta: number, L: number): number => delta * delta * ((w.slope * 10) / 7 / L + (w.curvature * 120) / 7 / (L * L * L));
  const offsetCost = (la: number, delta: number, L: number): number => w.offset * L * (la * la + la * delta + delta * delta * Q2);
  // Per span: the largest lateral index change allowed, and the smoothness cost per |Δ index|.
  const maxReach = new Int32Array(maxSpan + 1);
  const smoothTab: Float64Array[] = [];
  for (let span = 1; span <= maxSpan; span++) {
    const L = span * layerStep;
    maxReach[span] = Math.min(M - 1, Math.floor(maxLateralChange(L) / dl + 1e-9));
    smoothTab[span] = Float64Array.from({ length: M }, (_, d) => smoothCost(d * dl, L));
  }

  const candLb = new Float64Array(maxSpan * M);
  const candNode = new Int32Array(maxSpan * M);
  let lastReached = 0;
  for (let k = 1; k <= layers; k++) {
    let anyReached = false;
    // A layer that the capped search leaves wholly unreached is searched again without the cap, so
    // the cap alone cannot make the road look blocked there.
    for (let attempt = 0; attempt < 2 && !anyReached; attempt++) {
      const cap = attempt === 0 ? maxChecks : Infinity;
      for (let b = 0; b < M; b++) {
        const target = k * M + b;
        const lb = (b - half) * dl;
        // The node pose itself (slope 0 at nodes): shared by every incoming edge.
        const e = table[k * stride * M + b]!;
        if (e < 0) continue;
        nodeProx[target] = proximity(e);
        let count = 0;
        for (let span = 1; span <= Math.min(maxSpan, k); span++) {
          const i = k - span;
          const L = span * layerStep;
          const tab = smoothTab[span]!;
          if (i === 0) {
            // From the start, whose offset l0 need not be on the lattice.
            const delta = lb - l0;
            if (cost[0] === Infinity || Math.abs(delta) > maxLateralChange(L) + 1e-9) continue;
            candLb[count] = smoothCost(delta, L) + offsetCost(l0, delta, L);
            candNode[count++] = 0;
            continue;
          }
          const r = maxReach[span]!;
          const aLo = Math.max(0, b - r);
          const aHi = Math.min(M - 1, b + r);
          for (let a = aLo; a <= aHi; a++) {
            const from = i * M + a;
            const c0 = cost[from]!;
            if (c0 === Infinity) continue;
            const d = b - a;
            if (d === 0 && span > 1) continue; // the same as a chain of one-layer edges
            const la = (a - half) * dl;
            candLb[count] = c0 + tab[d < 0 ? -d : d]! + offsetCost(la, d * dl, L);
            candNode[count++] = from;
          }
        }
        // Cheapest-first by the collision-free part of the cost; stop once no candidate can beat the best.
        let best = Infinity;
        let bestFrom = -1;
        let checks = 0;
        const own = nodeProx[target]!;
        for (;;) {
          let pick = -1;
          let pickLb = Infinity;
          for (let c = 0; c < count; c++) {
            if (candLb[c]! < pickLb) {
              pickLb = candLb[c]!;
              pick = c;
            }
          }
          if (pick < 0 || pickLb + own >= best || checks >= cap) break;
          candLb[pick] = Infinity;
          checks++;
          const from = candNode[pick]!;
          edgesChecked++;
          const prox = edgeProximity(from, target);
          if (prox < 0) continue;
          const total = pickLb + prox + own;
          if (total < best) {
            best = total;
            bestFrom = from;
          }
        }
        if (bestFrom >= 0) {
          cost[target] = best;
          parent[target] = bestFrom;
          anyReached = true;
        }
      }
    }
    if (anyReached) lastReached = k;
  }

  // The goal: the cheapest node of the last layer reached (the horizon unless blocked).
  let goal = -1;
  if (cost[0] === 0) {
    let bestCost = Infinity;
    for (let b = 0; b < (lastReached === 0 ? 1 : M); b++) {
      const node = lastReached * M + b;
      if (cost[node]! < bestCost) {
        bestCost = cost[node]!;
        goal = node;
      }
    }
  }
  const blocked = goal < 0 || lastReached < layers;
  const chain: number[] = [];
  for (let node = goal; node >= 0; node = parent[node]!) chain.push(node);
  chain.reverse();

  // Profile of l(s) along the chosen chain, on the reference's samples.
  const lateralAt: number[] = [];
  const slopeAt: number[] = [];
  const curvAt: number[] = [];
  if (chain.length) {
    lateralAt.push(l0);
    slopeAt.push(0);
    curvAt.push(0);
  }
  for (let c = 1; c < chain.length; c++) {
    const from = chain[c - 1]!;
    const to = chain[c]!;
    const la = lateralOf(from);
    const delta = lateralOf(to) - la;
    const n = (Math.floor(to / M) - Math.floor(from / M)) * stride;
    const L = n * sampleStep;
    for (let q = 1; q <= n; q++) {
      const u = q / n;
      const u2 = u * u;
      lateralAt.push(la + delta * u2 * u * (10 + u * (-15 + 6 * u)));
      slopeAt.push((delta * 30 * u2 * (1 - u) * (1 - u)) / L);
      curvAt.push((delta * (60 * u - 180 * u2 + 120 * u2 * u)) / (L * L));
    }
  }
  let stopDistanceM: number | undefined;
  if (blocked) {
    if (chain.length === 0) {
      stopDistanceM = 0;
    } else {
      // Hold the last lateral offset, creeping forward to the last collision-free sample.
      const hold = lateralAt[lateralAt.length - 1]!;
      let k = lateralAt.length - 1;
      while (k + 1 <= endK && poseExcess(space, k + 1, hold, 0, required(k + 1)) >= 0) {
        k++;
        lateralAt.push(hold);
        slopeAt.push(0);
        curvAt.push(0);
      }
      stopDistanceM = (lateralAt.length - 1) * sampleStep;
    }
  }

  // Resample to the output spacing; report the smallest clearance along the way.
  const points: Vec3[] = [];
  const headings: number[] = [];
  const curvatures: number[] = [];
  const stations: number[] = [];
  const lateralOffsets: number[] = [];
  let minClearance = Infinity;
  const every = Math.max(1, Math.round(outputStep / sampleStep));
  const last = lateralAt.length - 1;
  for (let k = 0; k <= last; k++) {
    const excess = poseExcess(space, k, lateralAt[k]!, slopeAt[k]!, 0);
    if (excess < minClearance) minClearance = excess;
    if (k % every !== 0 && k !== last) continue;
    const th = line.heading[k]!;
    const l = lateralAt[k]!;
    const kappa = line.curvature[k]!;
    points.push([line.x[k]! - Math.sin(th) * l, line.y[k]! + Math.cos(th) * l, line.z[k]!]);
    headings.push(th + Math.atan2(slopeAt[k]!, 1 - kappa * l));
    curvatures.push(kappa + curvAt[k]! / Math.pow(1 + slopeAt[k]! * slopeAt[k]!, 1.5));
    stations.push(0);
    lateralOffsets.push(l);
  }
  for (let p = 1; p < points.length; p++) {
    stations[p] = stations[p - 1]! + Math.hypot(points[p]![0] - points[p - 1]![0], points[p]![1] - points[p - 1]![1]);
  }
  if (points.length === 0) {
    points.push([start.x, start.y, 0]);
    headings.push(start.heading);
    curvatures.push(0);
    stations.push(0);
    lateralOffsets.push(l0);
  }
  const result: PlannedPath = {
    points,
    headings,
    curvatures,
    stations,
    lengthM: stations[stations.length - 1]!,
    cost: goal >= 0 ? cost[goal]! : 0, // no path at all: the ego stays put
    blocked,
    minClearanceM: minClearance,
    referenceSource: ref.source,
    lateralOffsets,
    searchMs: 0,
    edgesChecked,
    samplesChecked,
    warnings,
  };
  if (stopDistanceM !== undefined) result.stopDistanceM = Math.min(stopDistanceM, result.lengthM);
  result.searchMs = performance.now() - started;
  return result;
}

function outside(line: ReferenceLine, k: number, x0: number, x1: number, y0: number, y1: number): boolean {
  const x = line.x[Math.min(k, line.count - 1)]!;
  const y = line.y[Math.min(k, line.count - 1)]!;
  return x < x0 || x > x1 || y < y0 || y > y1;
}
