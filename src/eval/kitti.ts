// KITTI object evaluation (2D image boxes, BEV and 3D), following the devkit's
// cpp/evaluate_object.cpp (cleanData, computeStatistics, getThresholds, eval_class):
// - per class and difficulty, ground truth of the class is counted unless it is too small
//   (bbox height < 40/25/25 px), too occluded (> 0/1/2) or too truncated (> 0.15/0.3/0.5);
//   such ground truth, and the neighbouring class (Van for Car, Person_sitting for Pedestrian),
//   is ignored: a detection assigned to it is neither TP nor FP;
// - detections lower than the difficulty's minimum height are ignored (not FP);
// - a TP needs overlap strictly above the class threshold (Car 0.7, Pedestrian/Cyclist 0.5);
// - recall thresholds: the scores of the TPs (highest-score match per ground truth), sampled by
//   getThresholds at 41 recall steps; at each, ground truth takes its largest-overlap detection
//   among those scoring >= the threshold, and unassigned detections covering a DontCare region
//   (intersection over the detection's area above the class threshold) are not FP;
// - precision made monotone; AP|R40 = mean of samples 1..40, 11-point AP = mean of samples 0,4,..,40.
// - AOS (2D only, when every box has an observation angle alpha): at each threshold the TPs'
//   orientation similarity (1 + cos(alpha_det - alpha_gt)) / 2 summed over frames, FPs adding 0,
//   divided by TP + FP; made monotone and sampled like the precision (AOS_2d_*, AOS40_*, AOS11_*).
// Figures are 0..1 (the devkit prints percent).
//
// Intentional deviations, each small:
// - DontCare regions are applied to the 2D metric only. The devkit calls the metric's own overlap
//   for DontCare, and DontCare rows carry -1000 placeholder 3D boxes, so in BEV/3D they never overlap.
// - A class with no counted ground truth gets AP NaN (the devkit writes 0 when it evaluates it).
// - A precision of 0/0 (no TP and no FP at a threshold) is 0 (the C++ produces NaN).
// - Ground truth without a 2D box passes the height test, and missing occlusion/truncation count as 0.
// - alpha comes from the box's `attributes.alpha` (the label file's own); where a box has none (stored
//   detections keep no attributes) it is derived from its 3D box in the ego (Velodyne) frame as
//   -yaw - pi/2 - atan2(-y, x), i.e. without the camera's small offset from the Velodyne.
// - sampling 'interpolated' (optional) reads the monotone precision at the exact recall positions
//   k/40 (k/10) over every operating point, the textbook AP|R40; 'devkit' (default) reproduces the
//   devkit, which needs 41+ ground truth per class for a perfect detector to reach AP 1.
import { checkFrames, Warnings, type CheckedFrame } from './input.js';
import { bevIoU, iou3d, rectIoU, rectOverlapOfFirst } from './iou.js';
import { byScoreStable, confusionMatrix, makeRecord } from './matching.js';
import { compileSlice, resolveSlices, sliceMask } from './slices.js';
import {
  EvalError,
  type ClassResult,
  type CommonOptions,
  type EvalBox,
  type EvalFrame,
  type EvaluationResult,
  type IgnoreReason,
  type ObjectRecord,
  type PrCurve,
  type SliceResult,
} from './types.js';

export type KittiVariant = '2d' | 'bev' | '3d';
export type KittiDifficulty = 'easy' | 'moderate' | 'hard';

export const KITTI_DIFFICULTIES: Readonly<Record<KittiDifficulty, { minHeight: number; maxOcclusion: number; maxTruncation: number }>> = {
  easy: { minHeight: 40, maxOcclusion: 0, maxTruncation: 0.15 },
  moderate: { minHeight: 25, maxOcclusion: 1, maxTruncation: 0.3 },
  hard: { minHeight: 25, maxOcclusion: 2, maxTruncation: 0.5 },
};
const DIFFICULTIES: KittiDifficulty[] = ['easy', 'moderate', 'hard'];
const ALL_VARIANTS: KittiVariant[] = ['2d', 'bev', '3d'];
export const KITTI_CLASSES = ['Car', 'Pedestrian', 'Cyclist'];
/** Minimum overlap per class (lower case), the same for 2D, BEV and 3D as on the KITTI server. */
export const KITTI_MIN_OVERLAP: Readonly<Record<string, number>> = { car: 0.7, pedestrian: 0.5, cyclist: 0.5 };
/** Ground-truth classes ignored (not FN, detections on them not FP) when evaluating a class. */
export const KITTI_NEIGHBOURS: Readonly<Record<string, readonly string[]>> = { car: ['van'], pedestrian: ['person_sitting'] };
const N_SAMPLE_PTS = 41;
const NO_DETECTION = -10000000;

export interface KittiOptions extends CommonOptions {
  /** Default Car, Pedestrian, Cyclist; compared case-insensitively, as the devkit's strcasecmp. */
  classes?: string[];
  /** Minimum overlap per class name (any case); default KITTI_MIN_OVERLAP, 0.5 for other classes. */
  minOverlap?: Record<string, number>;
  /** Default: '2d' where ground truth and detections have 2D boxes, 'bev' and '3d' where both have 3D boxes. */
  variants?: KittiVariant[];
  /** Which AP the AP_* keys hold: 40 recall points (default) or the 11-point AP. Both are also given as AP40_* and AP11_*. */
  recallPoints?: 40 | 11;
  sampling?: 'devkit' | 'interpolated';
  /** Where per-object records are taken: default the first variant evaluated, difficulty 'hard' (the most inclusive). */
  recordsAt?: { variant?: KittiVariant; difficulty?: KittiDifficulty };
}

interface KFrame {
  frameId: string;
  gts: EvalBox[];
  dcs: EvalBox[];
  dets: EvalBox[];
  gtLabel: string[];
  detLabel: string[];
  gtHeight: Float64Array;
  gtOcc: Float64Array;
  gtTrunc: Float64Array;
  detHeight: Float64Array;
  detScore: Float64Array;
  /** Observation angle alpha (radians; NaN: unknown). */
  gtAlpha: Float64Array;
  detAlpha: Float64Array;
  /** Distinct detection scores, highest first. */
  levels: Float64Array;
  overlaps: Partial<Record<KittiVariant, Float64Array>>;
  /** Index of each kept box in the checked frame's arrays (for slice masks). */
  gtSource: Int32Array;
}

const isDontCare = (b: EvalBox) => b.ignore === true || b.label.toLowerCase() === 'dontcare';

const wrapAngle = (a: number): number => Math.atan2(Math.sin(a), Math.cos(a));

/** KITTI's observation angle: the file's own (-10 means none), else from the 3D box (see the header). */
export function observationAngle(box: EvalBox): number {
  const given = box.attributes?.alpha;
  if (typeof given === 'number' && Number.isFinite(given) && given !== -10) return given;
  if (!box.box3d) return NaN;
  const [x, y] = box.box3d.center;
  return wrapAngle(-box.box3d.yaw - Math.PI / 2 - Math.atan2(-y, x));
}

function prepareFrames(frames: CheckedFrame[], warnings: Warnings): KFrame[] {
  return frames.map((f) => {
    const gts: EvalBox[] = [];
    const gtSource: number[] = [];
    const dcs: EvalBox[] = [];
    f.gts.forEach((g, i) => {
      if (isDontCare(g)) {
        if (g.box2d) dcs.push(g);
        else warnings.add(`frame ${f.frameId} gt ${g.id}: DontCare region without a 2D box; skipped`);
      } else {
        gts.push(g);
        gtSource.push(i);
      }
    });
    const detScore = Float64Array.from(f.dets, (d) => d.score!);
    const levels = Float64Array.from(new Set(detScore)).sort().reverse();
    return {
      frameId: f.frameId,
      gts,
      dcs,
      dets: f.dets,
      gtLabel: gts.map((g) => g.label.toLowerCase()),
      detLabel: f.dets.map((d) => d.label.toLowerCase()),
      gtHeight: Float64Array.from(gts, (g) => (g.box2d ? g.box2d.y2 - g.box2d.y1 : Infinity)),
      gtOcc: Float64Array.from(gts, (g) => (typeof g.occluded === 'number' && Number.isFinite(g.occluded) ? g.occluded : 0)),
      gtTrunc: Float64Array.from(gts, (g) => (typeof g.truncated === 'number' && Number.isFinite(g.truncated) ? g.truncated : 0)),
      detHeight: Float64Array.from(f.dets, (d) => (d.box2d ? Math.abs(d.box2d.y1 - d.box2d.y2) : Infinity)),
      detScore,
      gtAlpha: Float64Array.from(gts, observationAngle),
      detAlpha: Float64Array.from(f.dets, observationAngle),
      levels,
      overlaps: {},
      gtSource: Int32Array.from(gtSource),
    };
  });
}

function overlapOf(variant: KittiVariant, det: EvalBox, gt: EvalBox): number {
  if (variant === '2d') return det.box2d && gt.box2d ? rectIoU(det.box2d, gt.box2d) : 0;
  if (!det.box3d || !gt.box3d) return 0;
  return variant === 'bev' ? bevIoU(det.box3d, gt.box3d) : iou3d(det.box3d, gt.box3d);
}

/** Overlap matrix [det][gt] of a frame for a variant, computed once and shared by every class, difficulty and slice. */
function overlaps(frame: KFrame, variant: KittiVariant): Float64Array {
  let m = frame.overlaps[variant];
  if (!m) {
    const ng = frame.gts.length;
    m = new Float64Array(frame.dets.length * ng);
    for (let j = 0; j < frame.dets.length; j++) for (let i = 0; i < ng; i++) m[j * ng + i] = overlapOf(variant, frame.dets[j]!, frame.gts[i]!);
    frame.overlaps[variant] = m;
  }
  return m;
}

function qualifies(frame: KFrame, i: number, d: KittiDifficulty): boolean {
  const c = KITTI_DIFFICULTIES[d];
  return !(frame.gtOcc[i]! > c.maxOcclusion || frame.gtTrunc[i]! > c.maxTruncation || frame.gtHeight[i]! < c.minHeight);
}

interface Clean {
  ignoredGt: Int8Array;
  ignoredDet: Int8Array;
  nGt: number;
  /** Whether anything in the frame takes part (ground truth or detection not of another class). */
  relevant: boolean;
}

/** cleanData: -1 other class, 0 counted, 1 ignored (neighbour class, difficulty, or outside the slice). */
function cleanData(frame: KFrame, cls: string, d: KittiDifficulty, gtOut: Uint8Array | null): Clean {
  const c = KITTI_DIFFICULTIES[d];
  const neighbours = KITTI_NEIGHBOURS[cls] ?? [];
  const ignoredGt = new Int8Array(frame.gts.length);
  let nGt = 0;
  for (let i = 0; i < frame.gts.length; i++) {
    const label = frame.gtLabel[i]!;
    const valid = label === cls ? 1 : neighbours.includes(label) ? 0 : -1;
    const ignore = !qualifies(frame, i, d) || (gtOut !== null && gtOut[i] === 1);
    if (valid === 1 && !ignore) {
      ignoredGt[i] = 0;
      nGt++;
    } else if (valid === 0 || valid === 1) ignoredGt[i] = 1;
    else ignoredGt[i] = -1;
  }
  let relevant = false;
  for (let i = 0; i < ignoredGt.length; i++) if (ignoredGt[i] !== -1) relevant = true;
  const ignoredDet = new Int8Array(frame.dets.length);
  for (let j = 0; j < frame.dets.length; j++) {
    // As the devkit: the height test comes first, so a small detection of any class is 'ignored' (1), not 'other class' (-1).
    if (frame.detHeight[j]! < c.minHeight) ignoredDet[j] = 1;
    else ignoredDet[j] = frame.detLabel[j] === cls ? 0 : -1;
    if (ignoredDet[j] !== -1) relevant = true;
  }
  return { ignoredGt, ignoredDet, nGt, relevant };
}

interface Stats {
  tp: number;
  fp: number;
  fn: number;
  /** Sum of the TPs' orientation similarity (1 + cos(delta alpha)) / 2 (NaN where an alpha is unknown). */
  sim: number;
}

type DetFate = 'tp' | 'fp' | 'assigned-ignored' | 'dontcare' | 'min-height' | 'other' | 'below-threshold' | 'out-of-slice';

interface Detail {
  gtDet: Int32Array;
  detGt: Int32Array;
  detFate: DetFate[];
}

let assignedScratch = new Uint8Array(64);

/** computeStatistics for one frame; `v` collects TP scores when computeFp is false. */
function frameStats(
  frame: KFrame,
  variant: KittiVariant,
  clean: Clean,
  detOut: Uint8Array | null,
  computeFp: boolean,
  thresh: number,
  minOverlap: number,
  v: number[] | null,
  detail: Detail | null,
): Stats {
  const ng = frame.gts.length;
  const nd = frame.dets.length;
  const ov = overlaps(frame, variant);
  const { ignoredGt, ignoredDet } = clean;
  if (assignedScratch.length < nd) assignedScratch = new Uint8Array(nd * 2);
  const assigned = assignedScratch;
  assigned.fill(0, 0, nd);
  // Without computeFp every detection takes part (thresh = -Infinity).
  const cut = computeFp ? thresh : -Infinity;
  const belowThreshold = (j: number) => frame.detScore[j]! < cut;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let sim = 0;
  for (let i = 0; i < ng; i++) {
    if (ignoredGt[i] === -1) continue;
    let detIdx = -1;
    let validDetection = NO_DETECTION;
    let maxOverlap = 0;
    let assignedIgnoredDet = false;
    for (let j = 0; j < nd; j++) {
      if (ignoredDet[j] === -1 || assigned[j] || belowThreshold(j)) continue;
      const overlap = ov[j * ng + i]!;
      if (!computeFp && overlap > minOverlap && frame.detScore[j]! > validDetection) {
        detIdx = j;
        validDetection = frame.detScore[j]!;
      } else if (computeFp && overlap > minOverlap && (overlap > maxOverlap || assignedIgnoredDet) && ignoredDet[j] === 0) {
        maxOverlap = overlap;
        detIdx = j;
        validDetection = 1;
        assignedIgnoredDet = false;
      } else if (computeFp && overlap > minOverlap && validDetection === NO_DETECTION && ignoredDet[j] === 1) {
        detIdx = j;
        validDetection = 1;
        assignedIgnoredDet = true;
      }
    }
    if (validDetection === NO_DETECTION && ignoredGt[i] === 0) fn++;
    else if (validDetection !== NO_DETECTION && (ignoredGt[i] === 1 || ignoredDet[detIdx] === 1)) {
      assigned[detIdx] = 1;
      if (detail) {
        detail.detGt[detIdx] = i;
        detail.gtDet[i] = detIdx;
        detail.detFate[detIdx] = ignoredDet[detIdx] === 1 ? 'min-height' : 'assigned-ignored';
      }
    } else if (validDetection !== NO_DETECTION) {
      tp++;
      sim += (1 + Math.cos(frame.detAlpha[detIdx]! - frame.gtAlpha[i]!)) / 2;
      v?.push(frame.detScore[detIdx]!);
      assigned[detIdx] = 1;
      if (detail) {
        detail.detGt[detIdx] = i;
        detail.gtDet[i] = detIdx;
        detail.detFate[detIdx] = 'tp';
      }
    }
  }
  if (computeFp) {
    for (let j = 0; j < nd; j++) {
      const counted = !(assigned[j] || ignoredDet[j] === -1 || ignoredDet[j] === 1 || belowThreshold(j));
      // Slice rule: an unmatched detection outside the slice is ignored rather than an FP.
      if (counted && !(detOut && detOut[j])) fp++;
      if (detail && !assigned[j]) {
        detail.detFate[j] =
          ignoredDet[j] === -1 ? 'other' : ignoredDet[j] === 1 ? 'min-height' : belowThreshold(j) ? 'below-threshold' : detOut && detOut[j] ? 'out-of-slice' : 'fp';
      }
    }
    if (variant === '2d') {
      let nstuff = 0;
      for (const dc of frame.dcs) {
        for (let j = 0; j < nd; j++) {
          if (assigned[j] || ignoredDet[j] === -1 || ignoredDet[j] === 1 || belowThreshold(j) || (detOut && detOut[j])) continue;
          const det = frame.dets[j]!;
          if (det.box2d && rectOverlapOfFirst(det.box2d, dc.box2d!) > minOverlap) {
            assigned[j] = 1;
            nstuff++;
            if (detail) detail.detFate[j] = 'dontcare';
          }
        }
      }
      fp -= nstuff;
    }
  }
  return { tp, fp, fn, sim };
}

/** getThresholds: scores at (about) 41 evenly spaced recall steps; v is sorted in place, highest first. */
export function kittiThresholds(v: number[], nGt: number): number[] {
  v.sort((a, b) => b - a);
  const t: number[] = [];
  let currentRecall = 0;
  for (let i = 0; i < v.length; i++) {
    const lRecall = (i + 1) / nGt;
    const rRecall = i < v.length - 1 ? (i + 2) / nGt : lRecall;
    if (rRecall - currentRecall < currentRecall - lRecall && i < v.length - 1) continue;
    t.push(v[i]!);
    currentRecall += 1 / (N_SAMPLE_PTS - 1);
  }
  return t;
}

/** First index j of a descending array with arr[j] <= x. */
function firstAtOrBelow(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! <= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * TP/FP/FN summed over frames at each threshold (descending). A frame's statistics only change
 * where the threshold crosses one of its detection scores, so each frame is evaluated once per
 * score level that some threshold falls on, and the changes are spread with a difference array.
 */
function statsAtThresholds(
  frames: KFrame[],
  cleans: Clean[],
  detOuts: (Uint8Array | null)[],
  variant: KittiVariant,
  thresholds: readonly number[],
  minOverlap: number,
): Stats[] {
  const n = thresholds.length;
  const dTp = new Float64Array(n + 1);
  const dFp = new Float64Array(n + 1);
  const dFn = new Float64Array(n + 1);
  const dSim = new Float64Array(n + 1);
  if (n === 0) return [];
  frames.forEach((frame, f) => {
    const clean = cleans[f]!;
    let prev: Stats = { tp: 0, fp: 0, fn: clean.nGt, sim: 0 };
    dFn[0]! += clean.nGt;
    if (!clean.relevant) return;
    const levels = frame.levels;
    for (let l = 0; l < levels.length; l++) {
      const start = firstAtOrBelow(thresholds, levels[l]!);
      const end = l + 1 < levels.length ? firstAtOrBelow(thresholds, levels[l + 1]!) : n;
      if (start >= end) continue;
      const s = frameStats(frame, variant, clean, detOuts[f]!, true, levels[l]!, minOverlap, null, null);
      dTp[start]! += s.tp - prev.tp;
      dFp[start]! += s.fp - prev.fp;
      dFn[start]! += s.fn - prev.fn;
      dSim[start]! += s.sim - prev.sim;
      prev = s;
    }
  });
  const out: Stats[] = [];
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let sim = 0;
  for (let j = 0; j < n; j++) {
    tp += dTp[j]!;
    fp += dFp[j]!;
    fn += dFn[j]!;
    sim += dSim[j]!;
    out.push({ tp, fp, fn, sim });
  }
  return out;
}

interface ClassRun {
  nGt: number;
  ap40: number;
  ap11: number;
  /** NaN unless asked for (2D with every alpha known). */
  aos40: number;
  aos11: number;
  curve: { recall: Float64Array; precision: Float64Array; scores: Float64Array };
}

function evalClass(
  frames: KFrame[],
  cleans: Clean[],
  variant: KittiVariant,
  minOverlap: number,
  sampling: 'devkit' | 'interpolated',
  detOuts: (Uint8Array | null)[],
  computeAos = false,
): ClassRun {
  const nGt = cleans.reduce((s, c) => s + c.nGt, 0);
  const v: number[] = [];
  frames.forEach((f, i) => cleans[i]!.relevant && frameStats(f, variant, cleans[i]!, detOuts[i]!, false, 0, minOverlap, v, null));
  const empty = { recall: new Float64Array(0), precision: new Float64Array(0), scores: new Float64Array(0) };
  if (nGt === 0) return { nGt, ap40: NaN, ap11: NaN, aos40: NaN, aos11: NaN, curve: empty };
  const precisionOf = (s: Stats) => (s.tp + s.fp > 0 ? s.tp / (s.tp + s.fp) : 0);
  const similarityOf = (s: Stats) => (s.tp + s.fp > 0 ? s.sim / (s.tp + s.fp) : 0);
  if (sampling === 'devkit') {
    const thresholds = kittiThresholds(v, nGt).slice(0, N_SAMPLE_PTS);
    const stats = statsAtThresholds(frames, cleans, detOuts, variant, thresholds, minOverlap);
    const precision = new Float64Array(N_SAMPLE_PTS);
    const recall = new Float64Array(thresholds.length);
    stats.forEach((s, i) => {
      recall[i] = s.tp / (s.tp + s.fn);
      precision[i] = precisionOf(s);
    });
    for (let i = thresholds.length - 1; i >= 0; i--) precision[i] = Math.max(precision[i]!, i + 1 < N_SAMPLE_PTS ? precision[i + 1]! : 0);
    let sum40 = 0;
    for (let i = 1; i < N_SAMPLE_PTS; i++) sum40 += precision[i]!;
    let sum11 = 0;
    for (let i = 0; i < N_SAMPLE_PTS; i += 4) sum11 += precision[i]!;
    // AOS: the same sampling over the similarity, made monotone like the precision.
    let aos40 = NaN;
    let aos11 = NaN;
    if (computeAos) {
      const aos = new Float64Array(N_SAMPLE_PTS);
      stats.forEach((s, i) => (aos[i] = similarityOf(s)));
      for (let i = thresholds.length - 1; i >= 0; i--) aos[i] = Math.max(aos[i]!, i + 1 < N_SAMPLE_PTS ? aos[i + 1]! : 0);
      aos40 = 0;
      for (let i = 1; i < N_SAMPLE_PTS; i++) aos40 += aos[i]! / 40;
      aos11 = 0;
      for (let i = 0; i < N_SAMPLE_PTS; i += 4) aos11 += aos[i]! / 11;
    }
    return {
      nGt,
      ap40: sum40 / 40,
      ap11: sum11 / 11,
      aos40,
      aos11,
      curve: { recall, precision: precision.slice(0, thresholds.length), scores: Float64Array.from(thresholds) },
    };
  }
  // Every operating point at which recall can change: each distinct TP score.
  const thresholds = [...new Set(v)].sort((a, b) => b - a);
  const stats = statsAtThresholds(frames, cleans, detOuts, variant, thresholds, minOverlap);
  const recall = Float64Array.from(stats, (s) => s.tp / (s.tp + s.fn));
  const precision = Float64Array.from(stats, precisionOf);
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i]!, precision[i + 1]!);
  // Monotone precision at recall >= r (tolerating rounding in tp / (tp + fn)).
  const at = (r: number) => {
    for (let i = 0; i < recall.length; i++) if (recall[i]! >= r - 1e-12) return precision[i]!;
    return 0;
  };
  let sum40 = 0;
  for (let k = 1; k <= 40; k++) sum40 += at(k / 40);
  let sum11 = 0;
  for (let k = 0; k <= 10; k++) sum11 += at(k / 10);
  let aos40 = NaN;
  let aos11 = NaN;
  if (computeAos) {
    const aos = Float64Array.from(stats, similarityOf);
    for (let i = aos.length - 2; i >= 0; i--) aos[i] = Math.max(aos[i]!, aos[i + 1]!);
    const aosAt = (r: number) => {
      for (let i = 0; i < recall.length; i++) if (recall[i]! >= r - 1e-12) return aos[i]!;
      return 0;
    };
    aos40 = 0;
    for (let k = 1; k <= 40; k++) aos40 += aosAt(k / 40) / 40;
    aos11 = 0;
    for (let k = 0; k <= 10; k++) aos11 += aosAt(k / 10) / 11;
  }
  return { nGt, ap40: sum40 / 40, ap11: sum11 / 11, aos40, aos11, curve: { recall, precision, scores: Float64Array.from(thresholds) } };
}

function minOverlapFor(cls: string, options: KittiOptions): number {
  if (options.minOverlap) {
    for (const [k, v] of Object.entries(options.minOverlap)) if (k.toLowerCase() === cls) return v;
  }
  return KITTI_MIN_OVERLAP[cls] ?? 0.5;
}

function easiest(frame: KFrame, i: number): ObjectRecord['difficulty'] {
  for (const d of DIFFICULTIES) if (qualifies(frame, i, d)) return d;
  return null;
}

function kittiRecords(frames: KFrame[], classes: string[], variant: KittiVariant, d: KittiDifficulty, options: KittiOptions): ObjectRecord[] {
  const out: ObjectRecord[] = [];
  const evaluated = new Set(classes);
  const neighbourOf = new Map<string, string>();
  for (const c of classes) for (const n of KITTI_NEIGHBOURS[c] ?? []) if (!evaluated.has(n)) neighbourOf.set(n, c);
  for (const frame of frames) {
    const ng = frame.gts.length;
    const ov = overlaps(frame, variant);
    const gtRec: (ObjectRecord | null)[] = new Array<ObjectRecord | null>(ng).fill(null);
    const detRec: (ObjectRecord | null)[] = new Array<ObjectRecord | null>(frame.dets.length).fill(null);
    for (const cls of classes) {
      const clean = cleanData(frame, cls, d, null);
      const detail: Detail = { gtDet: new Int32Array(ng).fill(-1), detGt: new Int32Array(frame.dets.length).fill(-1), detFate: new Array<DetFate>(frame.dets.length).fill('other') };
      frameStats(frame, variant, clean, null, true, -Infinity, minOverlapFor(cls, options), null, detail);
      const bestForGt = (i: number) => {
        let best = 0;
        for (let j = 0; j < frame.dets.length; j++) if (frame.detLabel[j] === cls) best = Math.max(best, ov[j * ng + i]!);
        return best;
      };
      const bestForDet = (j: number) => {
        let best = 0;
        for (let i = 0; i < ng; i++) if (frame.gtLabel[i] === cls) best = Math.max(best, ov[j * ng + i]!);
        return best;
      };
      for (let i = 0; i < ng; i++) {
        const label = frame.gtLabel[i]!;
        const isClass = label === cls;
        const isNeighbour = !isClass && neighbourOf.get(label) === cls;
        if (!isClass && !isNeighbour) continue;
        const j = detail.gtDet[i]!;
        const matched = j >= 0 ? frame.dets[j]! : undefined;
        const common = { matchedId: matched?.id ?? null, iou: matched ? ov[j * ng + i]! : bestForGt(i), difficulty: easiest(frame, i) };
        let rec: ObjectRecord;
        if (isNeighbour) rec = makeRecord(frame.frameId, frame.gts[i]!, 'gt', { outcome: 'ignored', ignoreReason: 'neighbour-class', ...common });
        else if (clean.ignoredGt[i] === 1) rec = makeRecord(frame.frameId, frame.gts[i]!, 'gt', { outcome: 'ignored', ignoreReason: 'difficulty', ...common });
        else if (j >= 0 && detail.detFate[j] === 'tp') rec = makeRecord(frame.frameId, frame.gts[i]!, 'gt', { outcome: 'tp', ...common });
        else if (j >= 0) rec = makeRecord(frame.frameId, frame.gts[i]!, 'gt', { outcome: 'ignored', ignoreReason: 'min-height', ...common });
        else rec = makeRecord(frame.frameId, frame.gts[i]!, 'gt', { outcome: 'fn', ...common });
        gtRec[i] = rec;
      }
      for (let j = 0; j < frame.dets.length; j++) {
        if (frame.detLabel[j] !== cls) continue;
        const i = detail.detGt[j]!;
        const gt = i >= 0 ? frame.gts[i]! : undefined;
        const common = { matchedId: gt?.id ?? null, iou: gt ? ov[j * ng + i]! : bestForDet(j) };
        const fate = detail.detFate[j]!;
        let reason: IgnoreReason | null = null;
        if (fate === 'min-height') reason = 'min-height';
        else if (fate === 'dontcare') reason = 'dontcare';
        else if (fate === 'assigned-ignored') reason = gt && frame.gtLabel[i] !== cls ? 'neighbour-class' : 'difficulty';
        const outcome = fate === 'tp' ? 'tp' : fate === 'fp' ? 'fp' : 'ignored';
        detRec[j] = makeRecord(frame.frameId, frame.dets[j]!, 'det', { outcome, ignoreReason: reason, ...common });
      }
    }
    frame.gts.forEach((g, i) => out.push(gtRec[i] ?? makeRecord(frame.frameId, g, 'gt', { outcome: 'ignored', ignoreReason: 'class-not-evaluated', difficulty: easiest(frame, i) })));
    for (const dc of frame.dcs) out.push(makeRecord(frame.frameId, dc, 'gt', { outcome: 'ignored', ignoreReason: 'dontcare' }));
    frame.dets.forEach((det, j) => out.push(detRec[j] ?? makeRecord(frame.frameId, det, 'det', { outcome: 'ignored', ignoreReason: 'class-not-evaluated' })));
  }
  return out;
}

interface Evaluated {
  perClass: ClassResult[];
  overall: Record<string, number>;
  curves: PrCurve[];
}

function evaluateAll(
  frames: KFrame[],
  classes: string[],
  labels: string[],
  variants: KittiVariant[],
  options: KittiOptions,
  gtOuts: (Uint8Array | null)[],
  detOuts: (Uint8Array | null)[],
  computeAos = false,
): Evaluated {
  const sampling = options.sampling ?? 'devkit';
  const pick = (r: ClassRun) => ((options.recallPoints ?? 40) === 11 ? r.ap11 : r.ap40);
  const curves: PrCurve[] = [];
  const sums: Record<string, { sum: number; n: number }> = {};
  const perClass = classes.map((cls, k) => {
    const metrics: Record<string, number> = {};
    let numGtModerate = 0;
    // cleanData does not depend on the variant: once per difficulty.
    const cleans = Object.fromEntries(DIFFICULTIES.map((d) => [d, frames.map((f, i) => cleanData(f, cls, d, gtOuts[i]!))])) as Record<KittiDifficulty, Clean[]>;
    for (const variant of variants) {
      for (const d of DIFFICULTIES) {
        const aos = computeAos && variant === '2d';
        const r = evalClass(frames, cleans[d], variant, minOverlapFor(cls, options), sampling, detOuts, aos);
        metrics[`AP_${variant}_${d}`] = pick(r);
        metrics[`AP40_${variant}_${d}`] = r.ap40;
        metrics[`AP11_${variant}_${d}`] = r.ap11;
        const aosPick = (options.recallPoints ?? 40) === 11 ? r.aos11 : r.aos40;
        if (aos) {
          metrics[`AOS_2d_${d}`] = aosPick;
          metrics[`AOS40_2d_${d}`] = r.aos40;
          metrics[`AOS11_2d_${d}`] = r.aos11;
        }
        metrics[`numGt_${d}`] = r.nGt;
        if (d === 'moderate') numGtModerate = r.nGt;
        const means: (readonly [string, number])[] = [
          ['mAP', pick(r)],
          ['mAP40', r.ap40],
          ['mAP11', r.ap11],
        ];
        if (aos) means.push(['mAOS', aosPick], ['mAOS40', r.aos40], ['mAOS11', r.aos11]);
        for (const [prefix, value] of means) {
          const key = `${prefix}_${variant}_${d}`;
          sums[key] ??= { sum: 0, n: 0 };
          if (!Number.isNaN(value)) {
            sums[key].sum += value;
            sums[key].n++;
          }
        }
        if (r.nGt > 0) curves.push({ label: labels[k]!, key: `${variant}/${d}`, ...r.curve });
      }
    }
    let numDet = 0;
    frames.forEach((f, i) => f.detLabel.forEach((l, j) => (numDet += l === cls && !detOuts[i]?.[j] ? 1 : 0)));
    return { label: labels[k]!, numGt: numGtModerate, numDet, metrics };
  });
  const overall = Object.fromEntries(Object.entries(sums).map(([k, s]) => [k, s.n > 0 ? s.sum / s.n : NaN]));
  return { perClass, overall, curves };
}

/** KITTI 2D/BEV/3D AP. Boxes need a 2D box (2D metric, difficulty) and/or a 3D box (BEV, 3D). */
export function evaluateKitti(frames: readonly EvalFrame[], options: KittiOptions = {}): EvaluationResult {
  const warnings = new Warnings();
  const checked = checkFrames(frames, 'any', warnings);
  const kframes = prepareFrames(checked, warnings);
  const labels = options.classes ? [...new Set(options.classes)] : KITTI_CLASSES;
  const classes = labels.map((c) => c.toLowerCase());
  // A variant needs its geometry on the ground truth and on the detections (a run with no
  // detections at all is evaluated on whatever the ground truth has: every object missed).
  const noDets = kframes.every((f) => f.dets.length === 0);
  const has = (pick: (b: EvalBox) => unknown) => kframes.some((f) => f.gts.some(pick)) && (noDets || kframes.some((f) => f.dets.some(pick)));
  const variants = options.variants ?? ALL_VARIANTS.filter((v) => (v === '2d' ? has((b) => b.box2d) : has((b) => b.box3d)));
  for (const v of variants) if (!ALL_VARIANTS.includes(v)) throw new EvalError(`unknown variant '${String(v)}' (known: ${ALL_VARIANTS.join(', ')})`, 'kitti options');
  if (variants.length === 0) warnings.add('no variant evaluable: ground truth and detections share neither 2D nor 3D boxes');
  const recordVariant = options.recordsAt?.variant ?? variants[0] ?? '2d';
  const recordDifficulty = options.recordsAt?.difficulty ?? 'hard';

  // AOS, as the devkit, only when every box of the evaluated classes has an observation angle.
  let withoutAlpha = 0;
  let boxes = 0;
  for (const f of kframes) {
    for (const [list, alpha, label] of [[f.gts, f.gtAlpha, f.gtLabel], [f.dets, f.detAlpha, f.detLabel]] as const) {
      list.forEach((_, i) => {
        if (!classes.includes(label[i]!)) return;
        boxes++;
        if (Number.isNaN(alpha[i]!)) withoutAlpha++;
      });
    }
  }
  const computeAos = variants.includes('2d') && boxes > 0 && withoutAlpha === 0;
  if (variants.includes('2d') && withoutAlpha > 0) warnings.add(`AOS not computed: ${withoutAlpha} of ${boxes} boxes of the evaluated classes have no observation angle (alpha) nor a 3D box to derive it from`);

  const noMask = kframes.map(() => null);
  const main = evaluateAll(kframes, classes, labels, variants, options, noMask, noMask, computeAos);

  const sliceDefs = resolveSlices(options.slices, checked);
  const slices: SliceResult[] = sliceDefs.map((def) => {
    const pred = compileSlice(def);
    const gtMasks = sliceMask(checked, pred, 'gts').map((m, f) => Uint8Array.from(kframes[f]!.gtSource, (src) => m[src]!));
    const detMasks = sliceMask(checked, pred, 'dets');
    const res = evaluateAll(kframes, classes, labels, variants, options, gtMasks, detMasks, computeAos);
    return {
      name: def.name,
      where: def.where,
      numGt: res.perClass.reduce((s, c) => s + c.numGt, 0),
      numDet: res.perClass.reduce((s, c) => s + c.numDet, 0),
      overall: res.overall,
      perClass: res.perClass,
    };
  });

  const confusionFrames = kframes.map((f) => ({ frameId: f.frameId, gts: [...f.gts, ...f.dcs.map((dc) => ({ ...dc, ignore: true }))], dets: f.dets }));
  const confusion = confusionMatrix(confusionFrames, {
    similarity: (d, g) => overlapOf(recordVariant, d, g),
    accepts: (iou) => iou >= 0.5,
    inRegion: (d, r) => recordVariant === '2d' && !!d.box2d && rectOverlapOfFirst(d.box2d, r.box2d!) >= 0.5,
    order: byScoreStable,
    criterion: `iou${recordVariant === '2d' ? '' : `(${recordVariant})`}>=0.5`,
    onCell: options.onConfusionCell,
  });

  let gtCount = 0;
  let detCount = 0;
  for (const f of checked) {
    gtCount += f.gts.length;
    detCount += f.dets.length;
  }
  return {
    metric: 'kitti',
    params: {
      classes: labels,
      variants,
      difficulties: KITTI_DIFFICULTIES,
      minOverlap: Object.fromEntries(labels.map((l, k) => [l, minOverlapFor(classes[k]!, options)])),
      recallPoints: options.recallPoints ?? 40,
      sampling: options.sampling ?? 'devkit',
      aos: computeAos,
      records: { variant: recordVariant, difficulty: recordDifficulty, scoreThreshold: null },
    },
    overall: main.overall,
    perClass: main.perClass,
    prCurves: main.curves,
    confusion,
    objects: options.records === false ? [] : kittiRecords(kframes, classes, recordVariant, recordDifficulty, options),
    slices,
    counts: { frames: checked.length, gts: gtCount, dets: detCount },
    warnings: warnings.result(),
  };
}
