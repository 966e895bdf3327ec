// Run comparison: two evaluations of different runs against the same ground truth on the same
// frames. Ground truth is the common key (frame id + ground-truth id), so an object that was a TP in
// A and an FN in B regressed; detections differ between runs and are compared as FP counts per frame.
import { EvalError, type DistanceBand, type EvaluationResult, type ObjectRecord, type Outcome } from './types.js';

export interface MetricDelta {
  key: string;
  a: number;
  b: number;
  /** b - a (NaN when either is undefined). */
  delta: number;
}

export interface ObjectChange {
  frameId: string;
  id: string;
  label: string;
  from: Outcome;
  to: Outcome;
  /** The detection that matched in the run where it was a TP. */
  matchedIdA: string | null;
  matchedIdB: string | null;
  distanceBand: DistanceBand | null;
  occlusion: number | null;
}

export interface FrameChange {
  frameId: string;
  /** Ground truth TP in A, FN in B. */
  regressed: number;
  /** Ground truth FN in A, TP in B. */
  improved: number;
  fpA: number;
  fpB: number;
  /** Regressions plus added false positives: regressed + max(0, fpB - fpA). */
  regressionSize: number;
}

export interface EvaluationComparison {
  metric: EvaluationResult['metric'];
  overall: MetricDelta[];
  perClass: { label: string; deltas: MetricDelta[] }[];
  slices: { name: string; overall: MetricDelta[] }[];
  regressed: ObjectChange[];
  improved: ObjectChange[];
  /** Frames with any change, largest regression first (then most improved last, then frame id). */
  frames: FrameChange[];
  warnings: string[];
}

function deltas(a: Record<string, number>, b: Record<string, number>): MetricDelta[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.map((key) => {
    const va = a[key] ?? NaN;
    const vb = b[key] ?? NaN;
    return { key, a: va, b: vb, delta: vb - va };
  });
}

const gtKey = (r: ObjectRecord) => `${r.frameId}\u0000${r.id}`;

/** Compares run B against run A (B - A); both must be the same metric with per-object records. */
export function compareEvaluations(a: EvaluationResult, b: EvaluationResult): EvaluationComparison {
  if (a.metric !== b.metric) throw new EvalError(`cannot compare a ${a.metric} evaluation with a ${b.metric} one`, 'compareEvaluations');
  const warnings: string[] = [];
  if (JSON.stringify(a.params.records) !== JSON.stringify(b.params.records)) warnings.push('the per-object records were taken at different settings');
  if ((a.objects.length === 0) !== (b.objects.length === 0)) warnings.push('only one evaluation has per-object records; no object changes listed');

  const perClass = [...new Set([...a.perClass.map((c) => c.label), ...b.perClass.map((c) => c.label)])].map((label) => ({
    label,
    deltas: deltas(a.perClass.find((c) => c.label === label)?.metrics ?? {}, b.perClass.find((c) => c.label === label)?.metrics ?? {}),
  }));
  const slices = [...new Set([...a.slices.map((s) => s.name), ...b.slices.map((s) => s.name)])].map((name) => ({
    name,
    overall: deltas(a.slices.find((s) => s.name === name)?.overall ?? {}, b.slices.find((s) => s.name === name)?.overall ?? {}),
  }));

  const gtA = new Map<string, ObjectRecord>();
  for (const r of a.objects) if (r.source === 'gt') gtA.set(gtKey(r), r);
  const regressed: ObjectChange[] = [];
  const improved: ObjectChange[] = [];
  const frames = new Map<string, FrameChange>();
  const frame = (id: string) => {
    let f = frames.get(id);
    if (!f) frames.set(id, (f = { frameId: id, regressed: 0, improved: 0, fpA: 0, fpB: 0, regressionSize: 0 }));
    return f;
  };
  let unmatchedGt = 0;
  for (const rb of b.objects) {
    if (rb.source !== 'gt') continue;
    const ra = gtA.get(gtKey(rb));
    if (!ra) {
      unmatchedGt++;
      continue;
    }
    const change = (from: Outcome, to: Outcome): ObjectChange => ({
      frameId: rb.frameId,
      id: rb.id,
      label: rb.label,
      from,
      to,
      matchedIdA: ra.matchedId,
      matchedIdB: rb.matchedId,
      distanceBand: rb.distanceBand,
      occlusion: rb.occlusion,
    });
    if (ra.outcome === 'tp' && rb.outcome === 'fn') {
      regressed.push(change('tp', 'fn'));
      frame(rb.frameId).regressed++;
    } else if (ra.outcome === 'fn' && rb.outcome === 'tp') {
      improved.push(change('fn', 'tp'));
      frame(rb.frameId).improved++;
    }
  }
  if (unmatchedGt > 0) warnings.push(`${unmatchedGt} ground-truth objects of B are not in A (different frames or labels)`);
  for (const r of a.objects) if (r.source === 'det' && r.outcome === 'fp') frame(r.frameId).fpA++;
  for (const r of b.objects) if (r.source === 'det' && r.outcome === 'fp') frame(r.frameId).fpB++;
  const frameList = [...frames.values()]
    .map((f) => ({ ...f, regressionSize: f.regressed + Math.max(0, f.fpB - f.fpA) }))
    .filter((f) => f.regressed > 0 || f.improved > 0 || f.fpA !== f.fpB)
    .sort((x, y) => y.regressionSize - x.regressionSize || x.improved - y.improved || (x.frameId < y.frameId ? -1 : x.frameId > y.frameId ? 1 : 0));

  return {
    metric: a.metric,
    overall: deltas(a.overall, b.overall),
    perClass,
    slices,
    regressed,
    improved,
    frames: frameList,
    warnings,
  };
}
