// Pieces shared by the metrics: numpy-exact interpolation and cumulative means (nuScenes), the
// class-agnostic matching behind the confusion matrix, and per-object record construction.
import { distanceBand, egoDistance } from './slices.js';
import { BACKGROUND, type ConfusionCellMember, type ConfusionMatrix, type EvalBox, type IgnoreReason, type ObjectRecord, type Outcome } from './types.js';

/**
 * numpy.interp at one point, reproducing its branch structure so results match bit for bit:
 * left of xp[0] -> left, right of xp[last] -> right, otherwise the last j with xp[j] <= x, taking
 * fp[j] when x equals xp[j] (so with repeated xp the last repeat wins) and a linear blend otherwise.
 */
export function npInterp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>, left?: number, right?: number): number {
  const n = xp.length;
  if (n === 0) throw new RangeError('npInterp: empty xp');
  const lval = left ?? fp[0]!;
  const rval = right ?? fp[n - 1]!;
  if (Number.isNaN(x)) return x;
  if (x > xp[n - 1]!) return rval;
  if (x < xp[0]!) return lval;
  // Last j with xp[j] <= x (bisection, as numpy's binary_search_with_guess resolves it).
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x >= xp[mid]!) lo = mid + 1;
    else hi = mid;
  }
  const j = lo - 1;
  if (j === n - 1) return fp[j]!;
  if (xp[j] === x) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / (xp[j + 1]! - xp[j]!);
  let y = slope * (x - xp[j]!) + fp[j]!;
  if (Number.isNaN(y)) {
    y = slope * (x - xp[j + 1]!) + fp[j + 1]!;
    if (Number.isNaN(y) && fp[j] === fp[j + 1]) y = fp[j]!;
  }
  return y;
}

/** nuScenes cummean: NaN-aware running mean; all-NaN input gives ones (error 1 at every operating point). */
export function cummean(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let allNaN = true;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) allNaN = false;
  if (allNaN) return out.fill(1);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
    out[i] = count > 0 ? sum / count : 0;
  }
  return out;
}

/** Mean of the non-NaN values, NaN when there are none (numpy nanmean). */
export function nanMean(values: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : NaN;
}

export interface ConfusionSpec {
  /** Larger is better; a pair matches when accepts(similarity) holds. */
  similarity(det: EvalBox, gt: EvalBox): number;
  accepts(similarity: number): boolean;
  /** Whether an unmatched detection falls in an ignore region (crowd/DontCare) and so is not an FP. */
  inRegion(det: EvalBox, region: EvalBox): boolean;
  /** Detection order within a frame: indices, highest score first. */
  order(dets: readonly EvalBox[]): number[];
  criterion: string;
  /** Told of every count, with the boxes behind it (see CommonOptions.onConfusionCell). */
  onCell?: (cell: ConfusionCellMember) => void;
}

/**
 * Class-agnostic greedy matching per frame: each detection in score order takes the best unmatched
 * ground truth it is accepted with. Counts land in (detected class, true class); unmatched
 * detections in (class, background) unless inside an ignore region; unmatched ground truth in
 * (background, class).
 */
export function confusionMatrix(frames: ReadonlyArray<{ frameId?: string; gts: readonly EvalBox[]; dets: readonly EvalBox[] }>, spec: ConfusionSpec): ConfusionMatrix {
  const labelSet = new Set<string>();
  for (const f of frames) {
    for (const g of f.gts) if (!g.ignore) labelSet.add(g.label);
    for (const d of f.dets) labelSet.add(d.label);
  }
  labelSet.delete(BACKGROUND);
  const labels = [...labelSet].sort();
  labels.push(BACKGROUND);
  const n = labels.length;
  const index = new Map(labels.map((l, i) => [l, i]));
  const bg = n - 1;
  const counts = new Int32Array(n * n);
  let taken = new Uint8Array(64);
  const gts: EvalBox[] = [];
  const regions: EvalBox[] = [];
  for (const f of frames) {
    gts.length = 0;
    regions.length = 0;
    for (const g of f.gts) (g.ignore ? regions : gts).push(g);
    if (gts.length > taken.length) taken = new Uint8Array(gts.length * 2);
    taken.fill(0, 0, gts.length);
    for (const di of spec.order(f.dets)) {
      const det = f.dets[di]!;
      let best = -1;
      let bestSim = -Infinity;
      for (let gi = 0; gi < gts.length; gi++) {
        if (taken[gi]) continue;
        const sim = spec.similarity(det, gts[gi]!);
        if (sim > bestSim && spec.accepts(sim)) {
          bestSim = sim;
          best = gi;
        }
      }
      const row = index.get(det.label)!;
      if (best >= 0) {
        taken[best] = 1;
        counts[row * n + index.get(gts[best]!.label)!]!++;
        spec.onCell?.({ frameId: f.frameId ?? '', detId: det.id, gtId: gts[best]!.id, predicted: det.label, truth: gts[best]!.label });
      } else {
        let inRegion = false;
        for (const r of regions) if (spec.inRegion(det, r)) inRegion = true;
        if (!inRegion) {
          counts[row * n + bg]!++;
          spec.onCell?.({ frameId: f.frameId ?? '', detId: det.id, gtId: null, predicted: det.label, truth: BACKGROUND });
        }
      }
    }
    for (let gi = 0; gi < gts.length; gi++) {
      if (taken[gi]) continue;
      counts[bg * n + index.get(gts[gi]!.label)!]!++;
      spec.onCell?.({ frameId: f.frameId ?? '', detId: null, gtId: gts[gi]!.id, predicted: BACKGROUND, truth: gts[gi]!.label });
    }
  }
  return { labels, counts, criterion: spec.criterion };
}

/** Indices of boxes by score, highest first, ties in input order (a stable sort, as pycocotools' mergesort). */
export function byScoreStable(dets: readonly EvalBox[]): number[] {
  return dets.map((_, i) => i).sort((a, b) => dets[b]!.score! - dets[a]!.score! || a - b);
}

export interface RecordMatch {
  outcome: Outcome;
  ignoreReason?: IgnoreReason | null;
  matchedId?: string | null;
  iou?: number;
  centerDistance?: number;
  difficulty?: ObjectRecord['difficulty'];
}

/** A per-object record with the slice keys filled from the box. */
export function makeRecord(frameId: string, box: EvalBox, source: 'gt' | 'det', match: RecordMatch): ObjectRecord {
  const d = egoDistance(box);
  return {
    frameId,
    id: box.id,
    source,
    label: box.label,
    score: source === 'det' && typeof box.score === 'number' ? box.score : NaN,
    outcome: match.outcome,
    ignoreReason: match.ignoreReason ?? null,
    matchedId: match.matchedId ?? null,
    iou: match.iou ?? NaN,
    centerDistance: match.centerDistance ?? NaN,
    egoDistance: d,
    distanceBand: distanceBand(d),
    occlusion: typeof box.occluded === 'number' ? box.occluded : null,
    truncation: typeof box.truncated === 'number' ? box.truncated : null,
    difficulty: match.difficulty ?? null,
  };
}
