// nuScenes detection evaluation, following python-sdk/nuscenes/eval/detection (algo.py accumulate,
// calc_ap, calc_tp; evaluate.py; data_classes.py nd_score; common/loaders.py filter_eval_boxes):
// - boxes are kept when their ego distance (xy) is below the class range; ground truth with
//   numPoints == 0 is dropped;
// - per class and distance threshold (0.5, 1, 2, 4 m), predictions in descending score (ties: the
//   later prediction first, as sorted((score, index))[::-1]) each take the nearest untaken ground
//   truth by 2D centre distance (first one on ties); a match needs distance < threshold;
// - precision/recall interpolated with numpy.interp onto 101 recall points (right = 0); AP is the
//   mean of (precision - 0.1, clipped at 0) over the recall points above 0.1, divided by 0.9;
// - TP errors at 2 m: running means over the matches, re-sampled by confidence, averaged over the
//   recall points from just above 0.1 to the highest recall reached (1 when none);
// - ATE centre distance, ASE 1 - aligned IoU, AOE yaw difference (π-periodic for barrier), AVE
//   velocity L2, AAE 1 - attribute accuracy; traffic_cone has no AOE/AVE/AAE, barrier no AVE/AAE;
// - NDS = (5 mAP + Σ max(0, 1 - mTP)) / 10.
//
// Intentional deviations:
// - A class with no ground truth has AP NaN and is left out of mAP and the mean TP errors (the
//   devkit evaluates a fixed list of ten classes and scores a class without ground truth as AP 0).
// - Bike-rack filtering (bicycles/motorcycles inside static_object.bicycle_rack boxes) is not done:
//   it needs the map annotations the devkit reads from the dataset.
// - Labels with no range in classRange are not range-filtered.
// - Ground truth flagged `ignore` is an ignore region: an unmatched prediction whose centre lies
//   within the threshold of one is dropped rather than counted as FP (the devkit has no such regions).
// - Where no box carries a velocity (or no ground truth an attribute), mAVE (mAAE) is reported as
//   NaN; NDS still counts it as the devkit does, as error 1 (score 0).
import { checkFrames, Warnings, type CheckedFrame } from './input.js';
import { angleDiff, centerDistance, scaleIoU } from './iou.js';
import { confusionMatrix, cummean, makeRecord, nanMean, npInterp } from './matching.js';
import { compileSlice, egoDistance, resolveSlices, sliceMask } from './slices.js';
import type { ClassResult, CommonOptions, EvalBox, EvalFrame, EvaluationResult, IgnoreReason, ObjectRecord, PrCurve, SliceResult } from './types.js';

export const NUSCENES_CLASS_RANGE: Readonly<Record<string, number>> = {
  car: 50,
  truck: 50,
  bus: 50,
  trailer: 50,
  construction_vehicle: 50,
  pedestrian: 40,
  motorcycle: 40,
  bicycle: 40,
  traffic_cone: 30,
  barrier: 30,
};
export const NUSCENES_DIST_THRESHOLDS = [0.5, 1, 2, 4] as const;
export const NUSCENES_TP_METRICS = ['ATE', 'ASE', 'AOE', 'AVE', 'AAE'] as const;
export type TpMetric = (typeof NUSCENES_TP_METRICS)[number];
const NELEM = 101;
/** np.linspace(0, 1, 101). */
const REC_INTERP = Float64Array.from({ length: NELEM }, (_, i) => (i === NELEM - 1 ? 1 : i * 0.01));

export interface NuscenesOptions extends CommonOptions {
  /** Range per class (names compared lower-case), m; default NUSCENES_CLASS_RANGE. */
  classRange?: Record<string, number>;
  distThresholds?: number[];
  /** Threshold at which TP errors and per-object records are taken; default 2 m. */
  distThresholdTp?: number;
  minRecall?: number;
  minPrecision?: number;
  meanApWeight?: number;
}

/** Python's round(): half to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** NDS from mAP and the mean TP errors; a NaN error scores 0, as max(0.0, nan) does in Python. */
export function ndsScore(mAP: number, tpErrors: Readonly<Record<TpMetric, number>>, meanApWeight = 5): number {
  let total = meanApWeight * mAP;
  for (const m of NUSCENES_TP_METRICS) {
    const score = 1 - tpErrors[m];
    total += score > 0 ? score : 0;
  }
  return total / (meanApWeight + NUSCENES_TP_METRICS.length);
}

interface NFrame {
  frameId: string;
  gts: EvalBox[];
  gtLabel: string[];
  /** Ground-truth indices per label, in input order (the candidates a prediction of that class scans). */
  gtByLabel: Map<string, number[]>;
  gtSource: Int32Array;
  regions: EvalBox[];
  dets: EvalBox[];
  detSource: Int32Array;
}

/** One accumulate() result, the devkit's DetectionMetricData. */
export interface MetricData {
  recall: Float64Array;
  precision: Float64Array;
  confidence: Float64Array;
  errors: Record<TpMetric, Float64Array>;
}

function noPredictions(): MetricData {
  const ones = () => new Float64Array(NELEM).fill(1);
  return {
    recall: REC_INTERP.slice(),
    precision: new Float64Array(NELEM),
    confidence: new Float64Array(NELEM),
    errors: { ATE: ones(), ASE: ones(), AOE: ones(), AVE: ones(), AAE: ones() },
  };
}

/** calc_ap: precision above min_recall, less min_precision, clipped at 0, normalised. */
export function calcAp(md: MetricData, minRecall = 0.1, minPrecision = 0.1): number {
  const first = pyRound(100 * minRecall) + 1;
  let sum = 0;
  let n = 0;
  for (let i = first; i < md.precision.length; i++) {
    const p = md.precision[i]! - minPrecision;
    sum += p < 0 ? 0 : p;
    n++;
  }
  return sum / n / (1 - minPrecision);
}

/** calc_tp: mean error from just above min_recall to the highest recall reached; 1 when that range is empty. */
export function calcTp(md: MetricData, metric: TpMetric, minRecall = 0.1): number {
  const first = pyRound(100 * minRecall) + 1;
  let last = 0;
  for (let i = md.confidence.length - 1; i >= 0; i--) {
    if (md.confidence[i] !== 0) {
      last = i;
      break;
    }
  }
  if (last < first) return 1;
  const err = md.errors[metric];
  let sum = 0;
  for (let i = first; i <= last; i++) sum += err[i]!;
  return sum / (last - first + 1);
}

/**
 * One class's boxes as flat arrays, built once per evaluation and shared by every threshold and
 * slice: predictions in match order, and each frame's ground truth of the class (gtStart per frame).
 */
interface ClassData {
  cls: string;
  predFrame: Int32Array;
  predDet: Int32Array;
  predX: Float64Array;
  predY: Float64Array;
  gtStart: Int32Array;
  gtIdx: Int32Array;
  gtX: Float64Array;
  gtY: Float64Array;
}

/** Predictions highest score first, ties broken by the later prediction first (sorted((score, index))[::-1]). */
function classData(frames: NFrame[], cls: string): ClassData {
  const refs: number[] = [];
  const frameOf: number[] = [];
  const scores: number[] = [];
  frames.forEach((f, fi) =>
    f.dets.forEach((d, j) => {
      if (d.label !== cls) return;
      refs.push(j);
      frameOf.push(fi);
      scores.push(d.score!);
    }),
  );
  const order = refs.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || b - a);
  const predFrame = Int32Array.from(order, (i) => frameOf[i]!);
  const predDet = Int32Array.from(order, (i) => refs[i]!);
  const predX = Float64Array.from(order, (i) => frames[frameOf[i]!]!.dets[refs[i]!]!.box3d!.center[0]);
  const predY = Float64Array.from(order, (i) => frames[frameOf[i]!]!.dets[refs[i]!]!.box3d!.center[1]);
  const gtStart = new Int32Array(frames.length + 1);
  const gtIdx: number[] = [];
  frames.forEach((f, fi) => {
    for (const i of f.gtByLabel.get(cls) ?? []) gtIdx.push(i);
    gtStart[fi + 1] = gtIdx.length;
  });
  const gtX = Float64Array.from(gtIdx, (i, k) => frames[frameAt(gtStart, k)]!.gts[i]!.box3d!.center[0]);
  const gtY = Float64Array.from(gtIdx, (i, k) => frames[frameAt(gtStart, k)]!.gts[i]!.box3d!.center[1]);
  return { cls, predFrame, predDet, predX, predY, gtStart, gtIdx: Int32Array.from(gtIdx), gtX, gtY };
}

/** Frame holding flat index k, given per-frame start offsets. */
function frameAt(starts: Int32Array, k: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= k) lo = mid;
    else hi = mid;
  }
  return lo;
}

interface MatchDetail {
  /** Per frame: matched prediction index per ground truth, -1 none. */
  gtPred: Int32Array[];
  predGt: Int32Array[];
  predFate: ('tp' | 'fp' | 'slice' | 'region')[][];
  predDist: Float64Array[];
}

function accumulate(
  frames: NFrame[],
  cd: ClassData,
  distTh: number,
  gtOuts: (Uint8Array | null)[],
  detOuts: (Uint8Array | null)[],
  detail: MatchDetail | null,
): MetricData | null {
  let npos = 0;
  for (let f = 0; f < frames.length; f++) {
    const out = gtOuts[f];
    for (let k = cd.gtStart[f]!; k < cd.gtStart[f + 1]!; k++) if (!out || !out[cd.gtIdx[k]!]) npos++;
  }
  if (npos === 0) return null;
  const taken = new Uint8Array(cd.gtIdx.length);
  const tp: number[] = [];
  const fp: number[] = [];
  const conf: number[] = [];
  const match: Record<TpMetric | 'conf', number[]> = { ATE: [], ASE: [], AOE: [], AVE: [], AAE: [], conf: [] };
  const period = cd.cls.toLowerCase() === 'barrier' ? Math.PI : 2 * Math.PI;
  for (let p = 0; p < cd.predFrame.length; p++) {
    const f = cd.predFrame[p]!;
    const j = cd.predDet[p]!;
    const px = cd.predX[p]!;
    const py = cd.predY[p]!;
    let minDist = Infinity;
    let k = -1;
    for (let q = cd.gtStart[f]!; q < cd.gtStart[f + 1]!; q++) {
      if (taken[q]) continue;
      const dx = cd.gtX[q]! - px;
      const dy = cd.gtY[q]! - py;
      const d = Math.sqrt(dx * dx + dy * dy);
      if (d < minDist) {
        minDist = d;
        k = q;
      }
    }
    if (detail) detail.predDist[f]![j] = minDist;
    const frame = frames[f]!;
    const pred = frame.dets[j]!;
    if (minDist < distTh) {
      taken[k] = 1;
      const gi = cd.gtIdx[k]!;
      if (detail) {
        detail.gtPred[f]![gi] = j;
        detail.predGt[f]![j] = gi;
      }
      // Slice rule: a prediction matched to out-of-slice ground truth is ignored.
      if (gtOuts[f]?.[gi]) {
        if (detail) detail.predFate[f]![j] = 'slice';
        continue;
      }
      if (detail) detail.predFate[f]![j] = 'tp';
      const gt = frame.gts[gi]!;
      tp.push(1);
      fp.push(0);
      conf.push(pred.score!);
      match.ATE.push(minDist);
      match.AVE.push(gt.velocity && pred.velocity ? Math.hypot(pred.velocity[0] - gt.velocity[0], pred.velocity[1] - gt.velocity[1]) : NaN);
      match.ASE.push(1 - scaleIoU(gt.box3d!, pred.box3d!));
      match.AOE.push(Math.abs(angleDiff(gt.box3d!.yaw, pred.box3d!.yaw, period)));
      match.AAE.push(gt.attribute ? (gt.attribute === pred.attribute ? 0 : 1) : NaN);
      match.conf.push(pred.score!);
    } else {
      if (detOuts[f]?.[j]) {
        if (detail) detail.predFate[f]![j] = 'slice';
        continue;
      }
      if (frame.regions.length > 0 && frame.regions.some((r) => centerDistance(r.box3d!, pred.box3d!) < distTh)) {
        if (detail) detail.predFate[f]![j] = 'region';
        continue;
      }
      if (detail) detail.predFate[f]![j] = 'fp';
      tp.push(0);
      fp.push(1);
      conf.push(pred.score!);
    }
  }
  if (match.ATE.length === 0) return noPredictions();

  const n = tp.length;
  const rec = new Float64Array(n);
  const prec = new Float64Array(n);
  let ctp = 0;
  let cfp = 0;
  for (let i = 0; i < n; i++) {
    ctp += tp[i]!;
    cfp += fp[i]!;
    prec[i] = ctp / (cfp + ctp);
    rec[i] = ctp / npos;
  }
  const precision = REC_INTERP.map((x) => npInterp(x, rec, prec, undefined, 0));
  const confidence = REC_INTERP.map((x) => npInterp(x, rec, conf, undefined, 0));
  const matchConfAsc = Float64Array.from(match.conf).reverse();
  const errors = {} as Record<TpMetric, Float64Array>;
  for (const m of NUSCENES_TP_METRICS) {
    const tmpAsc = cummean(match[m]).reverse();
    const out = new Float64Array(NELEM);
    // np.interp(conf[::-1], match_conf[::-1], tmp[::-1])[::-1]
    for (let i = 0; i < NELEM; i++) out[i] = npInterp(confidence[i]!, matchConfAsc, tmpAsc);
    errors[m] = out;
  }
  return { recall: REC_INTERP.slice(), precision, confidence, errors };
}

function prepare(frames: CheckedFrame[], ranges: Record<string, number>, records: ObjectRecord[] | null): NFrame[] {
  const rangeOf = (label: string) => ranges[label.toLowerCase()] ?? Infinity;
  return frames.map((f) => {
    const gts: EvalBox[] = [];
    const gtSource: number[] = [];
    const regions: EvalBox[] = [];
    f.gts.forEach((g, i) => {
      let reason: IgnoreReason | null = null;
      if (g.ignore) {
        regions.push(g);
        reason = 'ignore-region';
      } else if (!(egoDistance(g) < rangeOf(g.label))) reason = 'out-of-range';
      else if (g.numPoints === 0) reason = 'zero-points';
      if (reason) records?.push(makeRecord(f.frameId, g, 'gt', { outcome: 'ignored', ignoreReason: reason }));
      else {
        gts.push(g);
        gtSource.push(i);
      }
    });
    const dets: EvalBox[] = [];
    const detSource: number[] = [];
    f.dets.forEach((d, i) => {
      if (egoDistance(d) < rangeOf(d.label)) {
        dets.push(d);
        detSource.push(i);
      } else records?.push(makeRecord(f.frameId, d, 'det', { outcome: 'ignored', ignoreReason: 'out-of-range' }));
    });
    const gtByLabel = new Map<string, number[]>();
    gts.forEach((g, i) => {
      const list = gtByLabel.get(g.label);
      if (list) list.push(i);
      else gtByLabel.set(g.label, [i]);
    });
    return { frameId: f.frameId, gts, gtLabel: gts.map((g) => g.label), gtByLabel, gtSource: Int32Array.from(gtSource), regions, dets, detSource: Int32Array.from(detSource) };
  });
}

const CLASS_WITHOUT: Readonly<Record<string, readonly TpMetric[]>> = { traffic_cone: ['AAE', 'AVE', 'AOE'], barrier: ['AAE', 'AVE'] };

interface Evaluated {
  perClass: ClassResult[];
  overall: Record<string, number>;
  curves: PrCurve[];
}

function evaluateAll(frames: NFrame[], classes: string[], data: Map<string, ClassData>, options: Required<Pick<NuscenesOptions, 'distThresholds' | 'distThresholdTp' | 'minRecall' | 'minPrecision' | 'meanApWeight'>>, avail: { velocity: boolean; attribute: boolean }, gtOuts: (Uint8Array | null)[], detOuts: (Uint8Array | null)[]): Evaluated {
  const curves: PrCurve[] = [];
  const classAps: number[] = [];
  const classErrorsRef: Record<TpMetric, number[]> = { ATE: [], ASE: [], AOE: [], AVE: [], AAE: [] };
  const perClass = classes.map((cls) => {
    const cd = data.get(cls)!;
    const metrics: Record<string, number> = {};
    const aps: number[] = [];
    let npos = 0;
    frames.forEach((f, fi) => f.gtLabel.forEach((l, i) => (npos += l === cls && !gtOuts[fi]?.[i] ? 1 : 0)));
    let tpData: MetricData | null = null;
    const thresholds = [...new Set([...options.distThresholds, options.distThresholdTp])];
    for (const th of thresholds) {
      const md = accumulate(frames, cd, th, gtOuts, detOuts, null);
      if (th === options.distThresholdTp) tpData = md;
      if (!options.distThresholds.includes(th)) continue;
      const ap = md ? calcAp(md, options.minRecall, options.minPrecision) : NaN;
      metrics[`AP@${th}`] = ap;
      aps.push(ap);
      if (md) curves.push({ label: cls, key: `dist=${th}`, recall: md.recall, precision: md.precision, scores: md.confidence });
    }
    metrics.AP = npos > 0 ? aps.reduce((s, v) => s + v, 0) / aps.length : NaN;
    for (const m of NUSCENES_TP_METRICS) {
      const excluded = (CLASS_WITHOUT[cls.toLowerCase()] ?? []).includes(m);
      const ref = !tpData || excluded ? NaN : calcTp(tpData, m, options.minRecall);
      if (tpData) classErrorsRef[m].push(ref);
      const unavailable = (m === 'AVE' && !avail.velocity) || (m === 'AAE' && !avail.attribute);
      metrics[m] = unavailable ? NaN : ref;
    }
    if (npos > 0) classAps.push(metrics.AP);
    let numDet = 0;
    frames.forEach((f, fi) => f.dets.forEach((d, j) => (numDet += d.label === cls && !detOuts[fi]?.[j] ? 1 : 0)));
    return { label: cls, numGt: npos, numDet, metrics };
  });
  const mAP = classAps.length > 0 ? classAps.reduce((s, v) => s + v, 0) / classAps.length : NaN;
  const errorsRef = Object.fromEntries(NUSCENES_TP_METRICS.map((m) => [m, nanMean(classErrorsRef[m])])) as Record<TpMetric, number>;
  const overall: Record<string, number> = { mAP };
  for (const m of NUSCENES_TP_METRICS) {
    const unavailable = (m === 'AVE' && !avail.velocity) || (m === 'AAE' && !avail.attribute);
    overall[`m${m}`] = unavailable ? NaN : errorsRef[m];
  }
  for (const th of options.distThresholds) {
    const vals = perClass.filter((c) => c.numGt > 0).map((c) => c.metrics[`AP@${th}`]!);
    overall[`mAP@${th}`] = vals.length > 0 ? vals.reduce((s, v) => s + v, 0) / vals.length : NaN;
  }
  // The devkit's NDS: a TP error that is NaN over every class, or defined as 1, scores 0.
  const forNds = Object.fromEntries(NUSCENES_TP_METRICS.map((m) => [m, (m === 'AVE' && !avail.velocity) || (m === 'AAE' && !avail.attribute) ? 1 : errorsRef[m]])) as Record<TpMetric, number>;
  overall.NDS = Number.isNaN(mAP) ? NaN : ndsScore(mAP, forNds, options.meanApWeight);
  return { perClass, overall, curves };
}

function nuscenesRecords(frames: NFrame[], classes: string[], data: Map<string, ClassData>, distTh: number, out: ObjectRecord[]): void {
  const evaluated = new Set(classes);
  const detail: MatchDetail = {
    gtPred: frames.map((f) => new Int32Array(f.gts.length).fill(-1)),
    predGt: frames.map((f) => new Int32Array(f.dets.length).fill(-1)),
    predFate: frames.map((f) => new Array<'tp' | 'fp' | 'slice' | 'region'>(f.dets.length).fill('fp')),
    predDist: frames.map((f) => new Float64Array(f.dets.length).fill(NaN)),
  };
  const noMask = frames.map(() => null);
  for (const cls of classes) accumulate(frames, data.get(cls)!, distTh, noMask, noMask, detail);
  frames.forEach((f, fi) => {
    f.gts.forEach((g, i) => {
      if (!evaluated.has(g.label)) return out.push(makeRecord(f.frameId, g, 'gt', { outcome: 'ignored', ignoreReason: 'class-not-evaluated' }));
      const j = detail.gtPred[fi]![i]!;
      if (j >= 0) return out.push(makeRecord(f.frameId, g, 'gt', { outcome: 'tp', matchedId: f.dets[j]!.id, centerDistance: centerDistance(g.box3d!, f.dets[j]!.box3d!) }));
      let nearest = Infinity;
      for (const d of f.dets) if (d.label === g.label) nearest = Math.min(nearest, centerDistance(g.box3d!, d.box3d!));
      out.push(makeRecord(f.frameId, g, 'gt', { outcome: 'fn', centerDistance: nearest === Infinity ? NaN : nearest }));
    });
    f.dets.forEach((d, j) => {
      if (!evaluated.has(d.label)) return out.push(makeRecord(f.frameId, d, 'det', { outcome: 'ignored', ignoreReason: 'class-not-evaluated' }));
      const fate = detail.predFate[fi]![j]!;
      const gi = detail.predGt[fi]![j]!;
      const dist = detail.predDist[fi]![j]!;
      const centerDist = dist === Infinity ? NaN : dist;
      if (fate === 'tp') out.push(makeRecord(f.frameId, d, 'det', { outcome: 'tp', matchedId: f.gts[gi]!.id, centerDistance: centerDist }));
      else if (fate === 'region') out.push(makeRecord(f.frameId, d, 'det', { outcome: 'ignored', ignoreReason: 'ignore-region', centerDistance: centerDist }));
      else out.push(makeRecord(f.frameId, d, 'det', { outcome: 'fp', centerDistance: centerDist }));
    });
  });
}

/** nuScenes detection metrics on 3D boxes (ego frame); boxes without a 3D box are skipped with a warning. */
export function evaluateNuscenes(frames: readonly EvalFrame[], options: NuscenesOptions = {}): EvaluationResult {
  const warnings = new Warnings();
  const checked = checkFrames(frames, 'box3d', warnings);
  const ranges = Object.fromEntries(Object.entries(options.classRange ?? NUSCENES_CLASS_RANGE).map(([k, v]) => [k.toLowerCase(), v]));
  const wantRecords = options.records !== false;
  const objects: ObjectRecord[] = [];
  const nframes = prepare(checked, ranges, wantRecords ? objects : null);
  // Classes seen in the input, before range filtering: a class entirely out of range still shows (with NaN).
  const labels = new Set<string>();
  for (const f of checked) {
    for (const g of f.gts) if (!g.ignore) labels.add(g.label);
    for (const d of f.dets) labels.add(d.label);
  }
  const classes = options.classes ? [...new Set(options.classes)] : [...labels].sort();
  const opts = {
    distThresholds: options.distThresholds ?? [...NUSCENES_DIST_THRESHOLDS],
    distThresholdTp: options.distThresholdTp ?? 2,
    minRecall: options.minRecall ?? 0.1,
    minPrecision: options.minPrecision ?? 0.1,
    meanApWeight: options.meanApWeight ?? 5,
  };
  const avail = {
    velocity: nframes.some((f) => f.gts.some((g) => g.velocity)) && nframes.some((f) => f.dets.some((d) => d.velocity)),
    attribute: nframes.some((f) => f.gts.some((g) => g.attribute)),
  };
  if (!avail.velocity) warnings.add('no velocities on ground truth or detections: mAVE is NaN, and NDS counts it as error 1 as the devkit does');
  if (!avail.attribute) warnings.add('no attributes on ground truth: mAAE is NaN, and NDS counts it as error 1 as the devkit does');

  const data = new Map(classes.map((c) => [c, classData(nframes, c)]));
  const noMask = nframes.map(() => null);
  const main = evaluateAll(nframes, classes, data, opts, avail, noMask, noMask);

  const sliceDefs = resolveSlices(options.slices, checked);
  const slices: SliceResult[] = sliceDefs.map((def) => {
    const pred = compileSlice(def);
    const gtMasks = sliceMask(checked, pred, 'gts').map((m, f) => Uint8Array.from(nframes[f]!.gtSource, (s) => m[s]!));
    const detMasks = sliceMask(checked, pred, 'dets').map((m, f) => Uint8Array.from(nframes[f]!.detSource, (s) => m[s]!));
    const res = evaluateAll(nframes, classes, data, opts, avail, gtMasks, detMasks);
    return {
      name: def.name,
      where: def.where,
      numGt: res.perClass.reduce((s, c) => s + c.numGt, 0),
      numDet: res.perClass.reduce((s, c) => s + c.numDet, 0),
      overall: res.overall,
      perClass: res.perClass,
    };
  });

  if (wantRecords) nuscenesRecords(nframes, classes, data, opts.distThresholdTp, objects);

  const confusion = confusionMatrix(
    nframes.map((f) => ({ frameId: f.frameId, gts: [...f.gts, ...f.regions], dets: f.dets })),
    {
      similarity: (d, g) => -centerDistance(d.box3d!, g.box3d!),
      accepts: (negDist) => -negDist < opts.distThresholdTp,
      inRegion: (d, r) => centerDistance(d.box3d!, r.box3d!) < opts.distThresholdTp,
      order: (dets) => dets.map((_, i) => i).sort((a, b) => dets[b]!.score! - dets[a]!.score! || b - a),
      criterion: `centerDistance<${opts.distThresholdTp}`,
      onCell: options.onConfusionCell,
    },
  );

  let gtCount = 0;
  let detCount = 0;
  for (const f of checked) {
    gtCount += f.gts.length;
    detCount += f.dets.length;
  }
  return {
    metric: 'nuscenes',
    params: { ...opts, classRange: ranges, classes, records: { distThreshold: opts.distThresholdTp } },
    overall: main.overall,
    perClass: main.perClass,
    prCurves: main.curves,
    confusion,
    objects,
    slices,
    counts: { frames: checked.length, gts: gtCount, dets: detCount },
    warnings: warnings.result(),
  };
}
