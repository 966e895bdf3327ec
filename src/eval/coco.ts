// COCO-style 2D box evaluation, following pycocotools COCOeval (iouType 'bbox') step by step:
// - per image and category, detections sorted by score (stable) and cut to maxDets[-1] = 100;
// - IoU without the +1 pixel convention; against crowd ground truth, intersection over the
//   detection's own area; a crowd can absorb any number of detections;
// - greedy matching in score order: each detection takes the best-IoU (>= threshold, later ground
//   truth winning IoU ties) unmatched ground truth, preferring regular over ignored ground truth;
// - ground truth outside an area range is ignored, and so are unmatched detections outside it;
// - per category, detections of all images sorted by score with ties in image order, then
//   precision made monotone and read at 101 recall points with searchsorted('left');
// - AP = mean over IoU .50:.05:.95, recall points and categories with ground truth; AR = mean
//   final recall over IoUs and categories, at maxDets 1, 10, 100.
// Numbers are 0..1; pycocotools' -1 for "undefined" is NaN here. Checked against pycocotools 2.0.11
// on random cases: the summary figures agree to 1e-15 and the PR curves and their scores exactly.
//
// Intentional deviations:
// - Images are taken in input order (pycocotools sorts image ids); this only decides score ties.
// - Ground-truth area (for the area ranges) is the box area unless EvalBox.area gives one
//   (pycocotools uses the annotation's area, a segment area for COCO itself).
// - EvalBox.ignore marks a crowd; there is no separate 'ignore but not crowd' flag.
//
// Layout, for speed (5,000 images x 100 detections in about a second): boxes in flat typed arrays;
// IoU once per (image, class); the matching state stored detection-major in the per-class score
// order, so the accumulation reads memory in sequence and never re-sorts per IoU threshold.
import { checkFrames, Warnings, type CheckedFrame } from './input.js';
import { rectArea, rectIoU, rectOverlapOfFirst } from './iou.js';
import { makeRecord } from './matching.js';
import { compileSlice, resolveSlices, sliceMask } from './slices.js';
import { BACKGROUND, EvalError, type ClassResult, type ConfusionMatrix, type CommonOptions, type EvalFrame, type EvaluationResult, type ObjectRecord, type PrCurve, type SliceResult } from './types.js';

export interface CocoOptions extends CommonOptions {
  /** IoU threshold (one of .50:.05:.95) at which per-object records are taken; default 0.5. */
  recordIou?: number;
}

/** np.linspace(.5, .95, 10) exactly: i * step + start, with the last value set to stop. */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
/** np.linspace(0, 1, 101) exactly: i * 0.01. */
export const COCO_RECALL_THRESHOLDS: readonly number[] = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));
export const COCO_MAX_DETS = [1, 10, 100] as const;
export const COCO_AREA_RANGES: ReadonlyArray<{ name: 'all' | 'small' | 'medium' | 'large'; min: number; max: number }> = [
  { name: 'all', min: 0, max: 1e5 ** 2 },
  { name: 'small', min: 0, max: 32 ** 2 },
  { name: 'medium', min: 32 ** 2, max: 96 ** 2 },
  { name: 'large', min: 96 ** 2, max: 1e5 ** 2 },
];
/** The twelve summary figures of COCOeval.summarize(), in its order. */
export const COCO_STAT_KEYS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;

const T = COCO_IOU_THRESHOLDS.length;
const R = COCO_RECALL_THRESHOLDS.length;
const A = COCO_AREA_RANGES.length;
const M = COCO_MAX_DETS.length;
const MAX_DET = COCO_MAX_DETS[M - 1];
/** np.spacing(1): pycocotools divides by tp + fp + eps. */
const EPS = 2.220446049250313e-16;
const UNMATCHED = 0;
const TP = 1;
const IGNORED = 2;
/** Outcome of an unmatched detection inside the area range / slice (records only). */
const FP = 3;

interface CocoPrep {
  frames: CheckedFrame[];
  classes: string[];
  gtStart: Int32Array; // per frame, into the flat ground truth
  detStart: Int32Array;
  gtClass: Int32Array; // -1: class not evaluated
  gtCrowd: Uint8Array;
  /** Bit a set: ground truth area outside area range a. */
  gtAreaOut: Uint8Array;
  detClass: Int32Array;
  detAreaOut: Uint8Array;
  detScore: Float64Array;
  detRank: Int32Array; // rank within (image, class) by score; -1 when not evaluated
  /** Position of a kept detection in `sorted`, -1 when not kept (class not evaluated, or past maxDets). */
  detPos: Int32Array;
  /** Kept detections by class (classStart), each class by score desc, ties by image then rank. */
  sorted: Int32Array;
  /** Rank within (image, class) and score of each kept detection, by position. */
  rankPos: Int32Array;
  scorePos: Float64Array;
  classStart: Int32Array;
  groupGtStart: Int32Array;
  groupGtCount: Int32Array;
  groupDetStart: Int32Array;
  groupDetCount: Int32Array;
  groupIou: Int32Array;
  /** Ground truth of each group in input order (flat indices). */
  groupGts: Int32Array;
  /** Detections of each group by score (positions in `sorted`). */
  groupDets: Int32Array;
  /** IoU [det][gt] per group; crowd columns hold intersection over the detection's area. */
  ious: Float64Array;
  /** Boxes as x1 y1 x2 y2 by flat index. */
  gtBox: Float64Array;
  detBox: Float64Array;
  /** Every label seen (sorted) then 'background', and each box's index in it (-1: a crowd's label seen nowhere else). */
  confusionLabels: string[];
  gtLabel: Int32Array;
  detLabel: Int32Array;
}

/**
 * IoU of detection d and ground truth g from flat box arrays (rectIoU's arithmetic); for a crowd,
 * intersection over the detection's area (pycocotools iscrowd).
 */
function boxOverlap(det: Float64Array, d: number, gt: Float64Array, g: number, crowd: boolean): number {
  const dx1 = det[4 * d]!;
  const dy1 = det[4 * d + 1]!;
  const dx2 = det[4 * d + 2]!;
  const dy2 = det[4 * d + 3]!;
  const gx1 = gt[4 * g]!;
  const gy1 = gt[4 * g + 1]!;
  const gx2 = gt[4 * g + 2]!;
  const gy2 = gt[4 * g + 3]!;
  const w = Math.min(dx2, gx2) - Math.max(dx1, gx1);
  const h = Math.min(dy2, gy2) - Math.max(dy1, gy1);
  if (!(w > 0 && h > 0)) return 0;
  const inter = w * h;
  const dArea = Math.max(0, dx2 - dx1) * Math.max(0, dy2 - dy1);
  if (crowd) return inter / dArea;
  return inter / (dArea + Math.max(0, gx2 - gx1) * Math.max(0, gy2 - gy1) - inter);
}

function areaBits(area: number): number {
  let bits = 0;
  for (let a = 0; a < A; a++) if (area < COCO_AREA_RANGES[a]!.min || area > COCO_AREA_RANGES[a]!.max) bits |= 1 << a;
  return bits;
}

/**
 * Writes into out the flat indices start..start+n-1 whose class is >= 0, grouped by class in
 * ascending order, input order within a class (a counting sort); returns how many were written.
 */
function bucketByClass(classOf: Int32Array, start: number, n: number, K: number, count: Int32Array, out: Int32Array): number {
  count.fill(0);
  for (let i = 0; i < n; i++) {
    const k = classOf[start + i]!;
    if (k >= 0) count[k + 1]!++;
  }
  for (let k = 0; k < K; k++) count[k + 1]! += count[k]!;
  for (let i = 0; i < n; i++) {
    const k = classOf[start + i]!;
    if (k >= 0) out[count[k]!++] = start + i;
  }
  return count[K - 1] ?? 0;
}

/**
 * Sorts indices (given in ascending order) by score, highest first, keeping index order among
 * equal scores. Long lists: a native numeric sort of the keys, then each index placed at the lower
 * bound of its key plus the number of equal keys already placed (no comparator calls on 10^5 elements).
 */
function sortByScoreStable(indices: Int32Array, score: Float64Array): void {
  const n = indices.length;
  if (n <= 48) {
    // Short lists: a stable insertion sort, no allocation.
    for (let i = 1; i < n; i++) {
      const d = indices[i]!;
      let j = i - 1;
      while (j >= 0 && score[indices[j]!]! < score[d]!) {
        indices[j + 1] = indices[j]!;
        j--;
      }
      indices[j + 1] = d;
    }
    return;
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = -score[indices[i]!]!;
  keys.sort();
  const placed = new Int32Array(n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const key = -score[indices[i]!]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    out[lo + placed[lo]!++] = indices[i]!;
  }
  indices.set(out);
}

function prepare(frames: CheckedFrame[], classes: string[], allLabels: Set<string>): CocoPrep {
  const K = classes.length;
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  // Confusion-matrix labels: every label seen, sorted, then background.
  const confusionLabels = [...allLabels].filter((l) => l !== BACKGROUND).sort();
  confusionLabels.push(BACKGROUND);
  const labelIndex = new Map(confusionLabels.map((l, i) => [l, i]));
  const nF = frames.length;
  const gtStart = new Int32Array(nF + 1);
  const detStart = new Int32Array(nF + 1);
  for (let f = 0; f < nF; f++) {
    gtStart[f + 1] = gtStart[f]! + frames[f]!.gts.length;
    detStart[f + 1] = detStart[f]! + frames[f]!.dets.length;
  }
  const nGt = gtStart[nF]!;
  const nDet = detStart[nF]!;
  const gtClass = new Int32Array(nGt);
  const gtCrowd = new Uint8Array(nGt);
  const gtAreaOut = new Uint8Array(nGt);
  const detClass = new Int32Array(nDet);
  const detAreaOut = new Uint8Array(nDet);
  const detScore = new Float64Array(nDet);
  const detRank = new Int32Array(nDet).fill(-1);
  const classCount = new Int32Array(K);
  const gtBox = new Float64Array(4 * nGt);
  const detBox = new Float64Array(4 * nDet);
  const gtLabel = new Int32Array(nGt);
  const detLabel = new Int32Array(nDet);

  // Groups (image, class): per frame, detections sorted by (class, score desc, input order) and
  // ground truth by (class, input order) form contiguous runs. A group has at least one box.
  const maxGroups = nGt + nDet;
  const gGtStart = new Int32Array(maxGroups);
  const gGtCount = new Int32Array(maxGroups);
  const gDetStart = new Int32Array(maxGroups);
  const gDetCount = new Int32Array(maxGroups);
  const gFrame = new Int32Array(maxGroups);
  let nGroups = 0;
  const groupGts = new Int32Array(nGt);
  const groupDetsGlobal = new Int32Array(nDet);
  let gtW = 0;
  let detW = 0;
  // Per-frame scratch: boxes bucketed by class with a counting sort (stable), then each class run
  // of detections sorted by score, stably.
  const countScratch = new Int32Array(K + 1);
  let gts = new Int32Array(64);
  let dets = new Int32Array(128);
  for (let f = 0; f < nF; f++) {
    const frame = frames[f]!;
    const g0 = gtStart[f]!;
    const d0 = detStart[f]!;
    if (frame.gts.length > gts.length) gts = new Int32Array(frame.gts.length * 2);
    if (frame.dets.length > dets.length) dets = new Int32Array(frame.dets.length * 2);
    for (let i = 0; i < frame.gts.length; i++) {
      const g = frame.gts[i]!;
      const gi = g0 + i;
      gtClass[gi] = classIndex.get(g.label) ?? -1;
      gtLabel[gi] = labelIndex.get(g.label) ?? -1;
      gtCrowd[gi] = g.ignore ? 1 : 0;
      gtAreaOut[gi] = areaBits(typeof g.area === 'number' && Number.isFinite(g.area) ? g.area : rectArea(g.box2d!));
      gtBox[4 * gi] = g.box2d!.x1;
      gtBox[4 * gi + 1] = g.box2d!.y1;
      gtBox[4 * gi + 2] = g.box2d!.x2;
      gtBox[4 * gi + 3] = g.box2d!.y2;
    }
    for (let i = 0; i < frame.dets.length; i++) {
      const d = frame.dets[i]!;
      const di = d0 + i;
      detClass[di] = classIndex.get(d.label) ?? -1;
      detLabel[di] = labelIndex.get(d.label)!;
      detScore[di] = d.score!;
      detAreaOut[di] = areaBits(rectArea(d.box2d!));
      detBox[4 * di] = d.box2d!.x1;
      detBox[4 * di + 1] = d.box2d!.y1;
      detBox[4 * di + 2] = d.box2d!.x2;
      detBox[4 * di + 3] = d.box2d!.y2;
    }
    const nG = bucketByClass(gtClass, g0, frame.gts.length, K, countScratch, gts);
    const nD = bucketByClass(detClass, d0, frame.dets.length, K, countScratch, dets);
    for (let runStart = 0; runStart < nD; ) {
      let runEnd = runStart + 1;
      while (runEnd < nD && detClass[dets[runEnd]!] === detClass[dets[runStart]!]) runEnd++;
      if (runEnd - runStart > 1) sortByScoreStable(dets.subarray(runStart, runEnd), detScore);
      runStart = runEnd;
    }
    let gi = 0;
    let di = 0;
    while (gi < nG || di < nD) {
      const k = Math.min(gi < nG ? gtClass[gts[gi]!]! : K, di < nD ? detClass[dets[di]!]! : K);
      const g = nGroups++;
      gGtStart[g] = gtW;
      gDetStart[g] = detW;
      gFrame[g] = f;
      while (gi < nG && gtClass[gts[gi]!] === k) groupGts[gtW++] = gts[gi++]!;
      gGtCount[g] = gtW - gGtStart[g]!;
      let rank = 0;
      while (di < nD && detClass[dets[di]!] === k) {
        const d = dets[di++]!;
        detRank[d] = rank;
        if (rank++ < MAX_DET) groupDetsGlobal[detW++] = d;
      }
      gDetCount[g] = detW - gDetStart[g]!;
      classCount[k]! += gDetCount[g]!;
    }
  }

  // Per class: score desc, ties by image order then rank (pycocotools concatenates images in order
  // and mergesorts, which is stable); flat index order is image order then rank within ties.
  const classStart = new Int32Array(K + 1);
  for (let k = 0; k < K; k++) classStart[k + 1] = classStart[k]! + classCount[k]!;
  const fill = classStart.slice(0, K);
  const sorted = new Int32Array(classStart[K]!);
  for (let d = 0; d < nDet; d++) {
    const k = detClass[d]!;
    if (k >= 0 && detRank[d]! < MAX_DET) sorted[fill[k]!++] = d;
  }
  for (let k = 0; k < K; k++) sortByScoreStable(sorted.subarray(classStart[k]!, classStart[k + 1]!), detScore);
  const detPos = new Int32Array(nDet).fill(-1);
  const rankPos = new Int32Array(sorted.length);
  const scorePos = new Float64Array(sorted.length);
  for (let p = 0; p < sorted.length; p++) {
    detPos[sorted[p]!] = p;
    rankPos[p] = detRank[sorted[p]!]!;
    scorePos[p] = detScore[sorted[p]!]!;
  }

  const groupIou = new Int32Array(nGroups);
  let iouSize = 0;
  for (let g = 0; g < nGroups; g++) {
    groupIou[g] = iouSize;
    iouSize += gGtCount[g]! * gDetCount[g]!;
  }
  const ious = new Float64Array(iouSize);
  const groupDets = new Int32Array(detW);
  for (let g = 0; g < nGroups; g++) {
    const ng = gGtCount[g]!;
    const nd = gDetCount[g]!;
    const base = groupIou[g]!;
    for (let di = 0; di < nd; di++) {
      const d = groupDetsGlobal[gDetStart[g]! + di]!;
      groupDets[gDetStart[g]! + di] = detPos[d]!;
      for (let gj = 0; gj < ng; gj++) {
        const gi = groupGts[gGtStart[g]! + gj]!;
        ious[base + di * ng + gj] = boxOverlap(detBox, d, gtBox, gi, gtCrowd[gi] === 1);
      }
    }
  }

  return {
    frames,
    classes,
    gtStart,
    detStart,
    gtClass,
    gtCrowd,
    gtAreaOut,
    detClass,
    detAreaOut,
    detScore,
    detRank,
    detPos,
    sorted,
    rankPos,
    scorePos,
    classStart,
    groupGtStart: gGtStart.slice(0, nGroups),
    groupGtCount: gGtCount.slice(0, nGroups),
    groupDetStart: gDetStart.slice(0, nGroups),
    groupDetCount: gDetCount.slice(0, nGroups),
    groupIou,
    groupGts,
    groupDets,
    ious,
    gtBox,
    detBox,
    confusionLabels,
    gtLabel,
    detLabel,
  };
}

interface CocoRun {
  /** [t][r][k][a][m], NaN where pycocotools leaves -1. */
  precision: Float64Array;
  scores: Float64Array;
  /** [t][k][a][m]. */
  recall: Float64Array;
  /** Non-ignored ground truth per [k][a]. */
  npig: Int32Array;
  /** At (area all, the record IoU), by flat index: matched ground truth per detection, matched detection per ground truth, -1 when none. */
  detMatch: Int32Array;
  gtMatch: Int32Array;
  /** TP / IGNORED / FP per detection at (area all, the record IoU); only meaningful for kept detections. */
  detState: Uint8Array;
}

const AT = A * T;

/** Matching and accumulation; gtOut/detOut flag out-of-slice objects (flat indices). */
function run(prep: CocoPrep, recordT: number, gtOut: Uint8Array | null, detOut: Uint8Array | null): CocoRun {
  const K = prep.classes.length;
  const nGt = prep.gtClass.length;
  const nDet = prep.detClass.length;
  const nKept = prep.sorted.length;
  // Bit a: ignored / out of range for area range a (out of the slice counts as out of every range).
  const gtIgBits = new Uint8Array(nGt);
  for (let g = 0; g < nGt; g++) gtIgBits[g] = prep.gtCrowd[g] || (gtOut && gtOut[g]) ? 0xf : prep.gtAreaOut[g]!;
  // The same for kept detections, by position: an unmatched detection with bit a set is ignored.
  const posOut = new Uint8Array(nKept);
  for (let p = 0; p < nKept; p++) {
    const d = prep.sorted[p]!;
    posOut[p] = detOut && detOut[d] ? 0xf : prep.detAreaOut[d]!;
  }

  // state[pos * AT + a * T + t] is TP or IGNORED for a matched detection and 0 (UNMATCHED) otherwise;
  // detection-major so the accumulation reads memory in order. matchedAny marks detections matched
  // at some (area, IoU), so the accumulation can skip the others' 40 bytes.
  const state = new Uint8Array(nKept * AT);
  const matchedAny = new Uint8Array(nKept);
  const detMatch = new Int32Array(nDet).fill(-1);
  const gtMatch = new Int32Array(nGt).fill(-1);
  let order = new Int32Array(16);
  let gtm = new Int32Array(16);
  let ig = new Uint8Array(16);
  const nGroups = prep.groupGtStart.length;
  for (let grp = 0; grp < nGroups; grp++) {
    const ng = prep.groupGtCount[grp]!;
    const nd = prep.groupDetCount[grp]!;
    if (nd === 0 || ng === 0) continue;
    const gs = prep.groupGtStart[grp]!;
    const ds = prep.groupDetStart[grp]!;
    const base = prep.groupIou[grp]!;
    if (ng > order.length) {
      order = new Int32Array(ng * 2);
      gtm = new Int32Array(ng * 2);
      ig = new Uint8Array(ng * 2);
    }
    for (let a = 0; a < A; a++) {
      const bit = 1 << a;
      // Ground truth order: not ignored first, then ignored, each in input order (mergesort on _ignore).
      let w = 0;
      for (let j = 0; j < ng; j++) {
        ig[j] = gtIgBits[prep.groupGts[gs + j]!]! & bit ? 1 : 0;
        if (!ig[j]) order[w++] = j;
      }
      for (let j = 0; j < ng; j++) if (ig[j]) order[w++] = j;
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < ng; j++) gtm[j] = -1;
        const thr = Math.min(COCO_IOU_THRESHOLDS[t]!, 1 - 1e-10);
        const recording = a === 0 && t === recordT;
        for (let di = 0; di < nd; di++) {
          let best = thr;
          let m = -1;
          const row = base + di * ng;
          for (let oi = 0; oi < ng; oi++) {
            const j = order[oi]!;
            if (gtm[j]! >= 0 && !prep.gtCrowd[prep.groupGts[gs + j]!]) continue;
            if (m > -1 && !ig[m] && ig[j]) break;
            const iou = prep.ious[row + j]!;
            if (iou < best) continue;
            best = iou;
            m = j;
          }
          if (m === -1) continue;
          const pos = prep.groupDets[ds + di]!;
          state[pos * AT + a * T + t] = ig[m] ? IGNORED : TP;
          matchedAny[pos] = 1;
          gtm[m] = di;
          if (recording) {
            const gi = prep.groupGts[gs + m]!;
            const d = prep.sorted[pos]!;
            detMatch[d] = gi;
            gtMatch[gi] = d;
          }
        }
      }
    }
  }

  const npig = new Int32Array(K * A);
  for (let g = 0; g < nGt; g++) {
    const k = prep.gtClass[g]!;
    if (k < 0) continue;
    for (let a = 0; a < A; a++) if (!(gtIgBits[g]! & (1 << a))) npig[k * A + a]!++;
  }

  const precision = new Float64Array(T * R * K * A * M).fill(NaN);
  const scores = new Float64Array(T * R * K * A * M).fill(NaN);
  const recall = new Float64Array(T * K * A * M).fill(NaN);
  // Precision and score at each TP, per (a, t). Precision is highest at TPs and searchsorted over
  // recall lands on a TP (or on the first detection, for recall 0), so the TPs alone give
  // pycocotools' interpolated precision. FPs of never-matched detections are counted per area
  // (fpAll), the rest per (area, IoU).
  const tpCount = new Int32Array(AT);
  const fpCount = new Int32Array(AT);
  const fpAll = new Int32Array(A);
  let cap = 0;
  let tpPr = new Float64Array(0);
  let tpScore = new Float64Array(0);
  for (let k = 0; k < K; k++) {
    let maxN = 0;
    for (let a = 0; a < A; a++) maxN = Math.max(maxN, npig[k * A + a]!);
    if (maxN === 0) continue;
    if (maxN > cap) {
      cap = maxN;
      tpPr = new Float64Array(AT * cap);
      tpScore = new Float64Array(AT * cap);
    }
    const p0 = prep.classStart[k]!;
    const p1 = prep.classStart[k + 1]!;
    const live = [0, 1, 2, 3].filter((a) => npig[k * A + a]! > 0);
    for (let m = 0; m < M; m++) {
      const maxDet = COCO_MAX_DETS[m]!;
      tpCount.fill(0);
      fpCount.fill(0);
      fpAll.fill(0);
      let nd = 0;
      let firstScore = 0;
      for (let p = p0; p < p1; p++) {
        if (prep.rankPos[p]! >= maxDet) continue;
        if (nd === 0) firstScore = prep.scorePos[p]!;
        nd++;
        const out = posOut[p]!;
        if (!matchedAny[p]) {
          for (const a of live) if (!(out & (1 << a))) fpAll[a]!++;
          continue;
        }
        const sBase = p * AT;
        for (const a of live) {
          const unmatchedIsFp = !(out & (1 << a));
          for (let t = 0; t < T; t++) {
            const at = a * T + t;
            const s = state[sBase + at]!;
            if (s === TP) {
              const tp = ++tpCount[at]!;
              tpPr[at * cap + tp - 1] = tp / (fpCount[at]! + fpAll[a]! + tp + EPS);
              tpScore[at * cap + tp - 1] = prep.scorePos[p]!;
            } else if (s === UNMATCHED && unmatchedIsFp) fpCount[at]!++;
          }
        }
      }
      for (const a of live) {
        const n = npig[k * A + a]!;
        for (let t = 0; t < T; t++) {
          const at = a * T + t;
          const count = tpCount[at]!;
          const off = at * cap;
          recall[((t * K + k) * A + a) * M + m] = nd ? count / n : 0;
          for (let i = count - 1; i > 0; i--) if (tpPr[off + i]! > tpPr[off + i - 1]!) tpPr[off + i - 1] = tpPr[off + i]!;
          let i = 0;
          for (let r = 0; r < R; r++) {
            const out = (((t * R + r) * K + k) * A + a) * M + m;
            if (r === 0) {
              // searchsorted(rc, 0) is the first detection whatever it is; its precision is the overall maximum.
              precision[out] = nd && count ? tpPr[off]! : 0;
              scores[out] = nd ? firstScore : 0;
              continue;
            }
            while (i < count && (i + 1) / n < COCO_RECALL_THRESHOLDS[r]!) i++;
            if (i < count) {
              precision[out] = tpPr[off + i]!;
              scores[out] = tpScore[off + i]!;
            } else {
              precision[out] = 0;
              scores[out] = 0;
            }
          }
        }
      }
    }
  }
  const detState = new Uint8Array(nDet);
  for (let p = 0; p < nKept; p++) {
    const s = state[p * AT + recordT]!;
    detState[prep.sorted[p]!] = s !== UNMATCHED ? s : posOut[p]! & 1 ? IGNORED : FP;
  }
  return { precision, scores, recall, npig, detMatch, gtMatch, detState };
}

/** COCOeval._summarize over one class (k) or all (k = -1); NaN when nothing is defined. */
function summarize(res: CocoRun, K: number, ap: boolean, iouIndex: number | null, a: number, m: number, k: number): number {
  let sum = 0;
  let n = 0;
  const ts = iouIndex === null ? [...Array(T).keys()] : [iouIndex];
  const ks = k < 0 ? [...Array(K).keys()] : [k];
  for (const t of ts) {
    for (const kk of ks) {
      if (ap) {
        for (let r = 0; r < R; r++) {
          const v = res.precision[(((t * R + r) * K + kk) * A + a) * M + m]!;
          if (!Number.isNaN(v)) {
            sum += v;
            n++;
          }
        }
      } else {
        const v = res.recall[((t * K + kk) * A + a) * M + m]!;
        if (!Number.isNaN(v)) {
          sum += v;
          n++;
        }
      }
    }
  }
  return n > 0 ? sum / n : NaN;
}

function stats(res: CocoRun, K: number, k: number): Record<string, number> {
  const t50 = 0;
  const t75 = 5;
  const m100 = M - 1;
  const values = [
    summarize(res, K, true, null, 0, m100, k),
    summarize(res, K, true, t50, 0, m100, k),
    summarize(res, K, true, t75, 0, m100, k),
    summarize(res, K, true, null, 1, m100, k),
    summarize(res, K, true, null, 2, m100, k),
    summarize(res, K, true, null, 3, m100, k),
    summarize(res, K, false, null, 0, 0, k),
    summarize(res, K, false, null, 0, 1, k),
    summarize(res, K, false, null, 0, m100, k),
    summarize(res, K, false, null, 1, m100, k),
    summarize(res, K, false, null, 2, m100, k),
    summarize(res, K, false, null, 3, m100, k),
  ];
  return Object.fromEntries(COCO_STAT_KEYS.map((key, i) => [key, values[i]!]));
}

function classResults(prep: CocoPrep, res: CocoRun, gtOut: Uint8Array | null, detOut: Uint8Array | null): ClassResult[] {
  const K = prep.classes.length;
  const numDet = new Int32Array(K);
  for (let d = 0; d < prep.detClass.length; d++) {
    const k = prep.detClass[d]!;
    if (k >= 0 && !(detOut && detOut[d])) numDet[k]!++;
  }
  return prep.classes.map((label, k) => ({ label, numGt: res.npig[k * A]!, numDet: numDet[k]!, metrics: stats(res, K, k) }));
}

function iouIndexOf(iou: number): number {
  const t = COCO_IOU_THRESHOLDS.findIndex((v) => Math.abs(v - iou) < 1e-9);
  if (t < 0) throw new EvalError(`recordIou ${iou} is not one of ${COCO_IOU_THRESHOLDS.map((v) => v.toFixed(2)).join(', ')}`, 'coco options');
  return t;
}

function records(prep: CocoPrep, res: CocoRun): ObjectRecord[] {
  const out: ObjectRecord[] = [];
  const { frames } = prep;
  const nGroups = prep.groupGtStart.length;
  // Best same-class IoU per object, for unmatched ones (how close they came).
  const bestGt = new Float64Array(prep.gtClass.length);
  const bestDet = new Float64Array(prep.detClass.length);
  for (let g = 0; g < nGroups; g++) {
    const ng = prep.groupGtCount[g]!;
    const nd = prep.groupDetCount[g]!;
    for (let di = 0; di < nd; di++) {
      const d = prep.sorted[prep.groupDets[prep.groupDetStart[g]! + di]!]!;
      for (let gj = 0; gj < ng; gj++) {
        const gi = prep.groupGts[prep.groupGtStart[g]! + gj]!;
        if (prep.gtCrowd[gi]) continue;
        const v = prep.ious[prep.groupIou[g]! + di * ng + gj]!;
        if (v > bestGt[gi]!) bestGt[gi] = v;
        if (v > bestDet[d]!) bestDet[d] = v;
      }
    }
  }
  for (let f = 0; f < frames.length; f++) {
    const frame = frames[f]!;
    const g0 = prep.gtStart[f]!;
    const d0 = prep.detStart[f]!;
    frame.gts.forEach((gt, i) => {
      const gi = g0 + i;
      if (prep.gtClass[gi]! < 0) out.push(makeRecord(frame.frameId, gt, 'gt', { outcome: 'ignored', ignoreReason: 'class-not-evaluated' }));
      else if (prep.gtCrowd[gi]) out.push(makeRecord(frame.frameId, gt, 'gt', { outcome: 'ignored', ignoreReason: 'crowd' }));
      else {
        const d = res.gtMatch[gi]!;
        if (d >= 0) {
          const det = frames[f]!.dets[d - d0]!;
          out.push(makeRecord(frame.frameId, gt, 'gt', { outcome: 'tp', matchedId: det.id, iou: rectIoU(det.box2d!, gt.box2d!) }));
        } else out.push(makeRecord(frame.frameId, gt, 'gt', { outcome: 'fn', iou: bestGt[gi]! }));
      }
    });
    frame.dets.forEach((det, i) => {
      const d = d0 + i;
      if (prep.detClass[d]! < 0) return out.push(makeRecord(frame.frameId, det, 'det', { outcome: 'ignored', ignoreReason: 'class-not-evaluated' }));
      if (prep.detPos[d]! < 0) return out.push(makeRecord(frame.frameId, det, 'det', { outcome: 'ignored', ignoreReason: 'max-dets', iou: bestDet[d]! }));
      const s = res.detState[d]!;
      const gi = res.detMatch[d]!;
      const gt = gi >= 0 ? frames[f]!.gts[gi - g0]! : undefined;
      if (s === TP) out.push(makeRecord(frame.frameId, det, 'det', { outcome: 'tp', matchedId: gt!.id, iou: rectIoU(det.box2d!, gt!.box2d!) }));
      else if (s === IGNORED) {
        const crowd = gt?.ignore === true;
        out.push(
          makeRecord(frame.frameId, det, 'det', {
            outcome: 'ignored',
            ignoreReason: crowd ? 'crowd' : 'matched-ignored',
            matchedId: gt?.id ?? null,
            iou: gt ? (crowd ? rectOverlapOfFirst(det.box2d!, gt.box2d!) : rectIoU(det.box2d!, gt.box2d!)) : bestDet[d]!,
          }),
        );
      } else out.push(makeRecord(frame.frameId, det, 'det', { outcome: 'fp', iou: bestDet[d]! }));
    });
  }
  return out;
}

function prCurves(prep: CocoPrep, res: CocoRun): PrCurve[] {
  const K = prep.classes.length;
  const out: PrCurve[] = [];
  const recallAxis = Float64Array.from(COCO_RECALL_THRESHOLDS);
  for (let k = 0; k < K; k++) {
    if (res.npig[k * A] === 0) continue;
    for (const t of [0, 5]) {
      const precision = new Float64Array(R);
      const scores = new Float64Array(R);
      for (let r = 0; r < R; r++) {
        const at = (((t * R + r) * K + k) * A + 0) * M + (M - 1);
        precision[r] = res.precision[at]!;
        scores[r] = res.scores[at]!;
      }
      out.push({ label: prep.classes[k]!, key: `iou=${COCO_IOU_THRESHOLDS[t]!.toFixed(2)}`, recall: recallAxis.slice(), precision, scores });
    }
  }
  return out;
}

/**
 * The confusion matrix of matching.ts's confusionMatrix (class-agnostic, IoU >= 0.5, crowd regions
 * discount unmatched detections with overlap >= 0.5), on the flat arrays: no per-box object access.
 */
function cocoConfusion(prep: CocoPrep, frames: readonly CheckedFrame[], onCell?: CommonOptions['onConfusionCell']): ConfusionMatrix {
  const labels = prep.confusionLabels;
  const n = labels.length;
  const bg = n - 1;
  const counts = new Int32Array(n * n);
  let order = new Int32Array(128);
  let taken = new Uint8Array(64);
  for (let f = 0; f < prep.frames.length; f++) {
    const g0 = prep.gtStart[f]!;
    const g1 = prep.gtStart[f + 1]!;
    const d0 = prep.detStart[f]!;
    const nd = prep.detStart[f + 1]! - d0;
    if (nd > order.length) order = new Int32Array(nd * 2);
    if (g1 - g0 > taken.length) taken = new Uint8Array((g1 - g0) * 2);
    taken.fill(0, 0, g1 - g0);
    for (let i = 0; i < nd; i++) order[i] = d0 + i;
    sortByScoreStable(order.subarray(0, nd), prep.detScore);
    for (let i = 0; i < nd; i++) {
      const d = order[i]!;
      let best = -1;
      let bestIou = -Infinity;
      let inRegion = false;
      for (let g = g0; g < g1; g++) {
        if (prep.gtCrowd[g]) {
          if (boxOverlap(prep.detBox, d, prep.gtBox, g, true) >= 0.5) inRegion = true;
          continue;
        }
        if (taken[g - g0]) continue;
        const iou = boxOverlap(prep.detBox, d, prep.gtBox, g, false);
        if (iou >= 0.5 && iou > bestIou) {
          bestIou = iou;
          best = g;
        }
      }
      const row = prep.detLabel[d]!;
      if (best >= 0) {
        taken[best - g0] = 1;
        counts[row * n + prep.gtLabel[best]!]!++;
        onCell?.({ frameId: frames[f]!.frameId, detId: frames[f]!.dets[d - d0]!.id, gtId: frames[f]!.gts[best - g0]!.id, predicted: labels[row]!, truth: labels[prep.gtLabel[best]!]! });
      } else if (!inRegion) {
        counts[row * n + bg]!++;
        onCell?.({ frameId: frames[f]!.frameId, detId: frames[f]!.dets[d - d0]!.id, gtId: null, predicted: labels[row]!, truth: BACKGROUND });
      }
    }
    for (let g = g0; g < g1; g++) {
      if (prep.gtCrowd[g] || taken[g - g0]) continue;
      counts[bg * n + prep.gtLabel[g]!]!++;
      onCell?.({ frameId: frames[f]!.frameId, detId: null, gtId: frames[f]!.gts[g - g0]!.id, predicted: BACKGROUND, truth: labels[prep.gtLabel[g]!]! });
    }
  }
  return { labels: [...labels], counts, criterion: 'iou>=0.5' };
}

function flatMask(perFrame: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const m of perFrame) {
    out.set(m, o);
    o += m.length;
  }
  return out;
}

/** COCO-style evaluation of 2D boxes. Boxes without a 2D box are skipped with a warning. */
export function evaluateCoco(frames: readonly EvalFrame[], options: CocoOptions = {}): EvaluationResult {
  const warnings = new Warnings();
  const checked = checkFrames(frames, 'box2d', warnings);
  const recordT = iouIndexOf(options.recordIou ?? 0.5);
  const classes = options.classes ? [...new Set(options.classes)] : [...checked.labels].sort();
  const prep = prepare(checked, classes, checked.labels);
  const main = run(prep, recordT, null, null);
  const K = classes.length;

  const sliceDefs = resolveSlices(options.slices, checked);
  const slices: SliceResult[] = sliceDefs.map((def) => {
    const pred = compileSlice(def);
    const gtOut = flatMask(sliceMask(checked, pred, 'gts'), prep.gtClass.length);
    const detOut = flatMask(sliceMask(checked, pred, 'dets'), prep.detClass.length);
    const res = run(prep, recordT, gtOut, detOut);
    const perClass = classResults(prep, res, gtOut, detOut);
    return {
      name: def.name,
      where: def.where,
      numGt: perClass.reduce((s, c) => s + c.numGt, 0),
      numDet: perClass.reduce((s, c) => s + c.numDet, 0),
      overall: stats(res, K, -1),
      perClass,
    };
  });

  const confusion = cocoConfusion(prep, checked, options.onConfusionCell);

  return {
    metric: 'coco',
    params: {
      iouThresholds: COCO_IOU_THRESHOLDS,
      recallPoints: R,
      maxDets: COCO_MAX_DETS,
      areaRanges: COCO_AREA_RANGES,
      classes,
      records: { iou: COCO_IOU_THRESHOLDS[recordT], area: 'all', maxDets: MAX_DET },
    },
    overall: stats(main, K, -1),
    perClass: classResults(prep, main, null, null),
    prCurves: prCurves(prep, main),
    confusion,
    objects: options.records === false ? [] : records(prep, main),
    slices,
    counts: { frames: checked.length, gts: prep.gtClass.length, dets: prep.detClass.length },
    warnings: warnings.result(),
  };
}
