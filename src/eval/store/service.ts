// Evaluations as a workspace service: resolve a run and a label set (by id or name), read them into
// evaluation frames, compute the metric, store the result with its audit event; query the stored
// per-object records; compare two runs on the frames both finished.
import { defaultActor } from '../../app/paths.js';
import { LabelService } from '../../labels/service.js';
import type { LabelSetRecord } from '../../labels/model.js';
import type { Db } from '../../store/db.js';
import { findLabelSetsByName } from '../../store/labelSets.js';
import { getRun, type RunRecord } from '../../store/runs.js';
import { softwareVersion } from '../../version.js';
import { loadEvalFrames } from '../adapters.js';
import { compareEvaluations, type MetricDelta } from '../compare.js';
import { evaluate, type EvaluateOptions } from '../index.js';
import { formatQuery, parseQuery, queryToSql, type SqlFilter } from '../queries.js';
import { defaultSlices } from '../slices.js';
import type { ConfusionCellMember, MetricName, Outcome } from '../types.js';
import { EvalStoreError } from './errors.js';
import {
  findReusableEvaluation, findSavedQuery, getEvaluationDetail, insertEvaluation, insertSavedQuery, listEvaluationSummaries, listSavedQueries, loadEvaluationResult, selectObjects,
  type EvaluationFilter,
} from './evaluations.js';
import type {
  ConfusionCellResult, EvaluationDetail, EvaluationOptions, EvaluationSummary, MetricDeltaJson, ObjectQueryFilter, ObjectQueryResult, PrPointResult, RunComparison, SavedQuery,
} from './model.js';

export const METRICS: readonly MetricName[] = ['coco', 'kitti', 'nuscenes'];

/** Metric options an evaluation may pass through (anything else is a mistake worth saying). */
const METRIC_OPTION_KEYS: Record<MetricName, readonly string[]> = {
  coco: ['recordIou'],
  kitti: ['minOverlap', 'variants', 'recallPoints', 'sampling', 'recordsAt'],
  nuscenes: ['classRange', 'distThresholds', 'distThresholdTp', 'minRecall', 'minPrecision', 'meanApWeight'],
};

export interface EvaluateRequest {
  /** Run id or name. */
  run: string | number;
  /** Label set id or name (on the run's log). */
  against: string | number;
  metric: MetricName;
  options?: EvaluationOptions;
  /** Return the newest stored evaluation asked the same thing, when neither side changed since (default false: compute). */
  reuse?: boolean;
}

export interface CompareRequest {
  runA: string | number;
  runB: string | number;
  against: string | number;
  metric: MetricName;
  options?: EvaluationOptions;
}

const nullable = (v: number): number | null => (Number.isFinite(v) ? v : null);
const deltaJson = (d: MetricDelta): MetricDeltaJson => ({ key: d.key, a: nullable(d.a), b: nullable(d.b), delta: nullable(d.delta) });

/** Options in one canonical form (so equal requests share a key): lower-case classes, sorted frames. */
export function normaliseOptions(options: EvaluationOptions = {}): EvaluationOptions {
  const out: EvaluationOptions = {};
  if (options.classes?.length) out.classes = [...new Set(options.classes.map((c) => c.trim().toLowerCase()))];
  if (options.sensorId) out.sensorId = options.sensorId;
  if (options.slices?.length) out.slices = options.slices;
  if (options.frames) out.frames = [...new Set(options.frames)].sort();
  if (options.classMap && Object.keys(options.classMap).length) out.classMap = Object.fromEntries(Object.entries(options.classMap).map(([k, v]) => [k.trim().toLowerCase(), v.trim().toLowerCase()]));
  if (options.metricOptions && Object.keys(options.metricOptions).length) out.metricOptions = options.metricOptions;
  return out;
}

/** The PR curve the per-object records were taken at (params.records), by the curve keys each metric writes. */
export function recordCurveKey(detail: Pick<EvaluationDetail, 'metric' | 'params'>): string {
  const records = (detail.params.records ?? {}) as { iou?: number; variant?: string; difficulty?: string; distThreshold?: number };
  if (detail.metric === 'coco') return `iou=${(records.iou ?? 0.5).toFixed(2)}`;
  if (detail.metric === 'kitti') return `${records.variant ?? '2d'}/${records.difficulty ?? 'moderate'}`;
  return `dist=${records.distThreshold ?? 2}`;
}

const CELL_CACHE_SIZE = 4;

export class EvalService {
  readonly actor: string;
  private readonly labels: LabelService;
  /** Confusion-cell members by evaluation (recomputed on demand: the matrix stores counts only). */
  private readonly cellCache = new Map<number, { members: ConfusionCellMember[]; stale: boolean; warnings: string[] }>();

  constructor(
    readonly db: Db,
    options: { actor?: string } = {},
  ) {
    this.actor = options.actor ?? defaultActor();
    this.labels = new LabelService(db, { actor: this.actor });
  }

  /** A run by id ("12") or by name (must be unique). */
  resolveRun(ref: string | number): RunRecord {
    const asId = typeof ref === 'number' ? ref : /^\d+$/.test(ref.trim()) ? Number(ref) : undefined;
    if (asId !== undefined) {
      const run = getRun(this.db, asId);
      if (run) return run;
    }
    const ids = this.db.prepare('SELECT id FROM runs WHERE name = ? ORDER BY id').pluck().all(String(ref)) as number[];
    if (ids.length === 1) return getRun(this.db, ids[0]!)!;
    if (ids.length > 1) throw new EvalStoreError(`Run name '${ref}' is used by runs ${ids.join(', ')}; use the id`, 'BAD_INPUT');
    const known = (this.db.prepare('SELECT id, name FROM runs ORDER BY id DESC LIMIT 10').all() as { id: number; name: string }[]).map((r) => `${r.id} '${r.name}'`);
    throw new EvalStoreError(`No run '${ref}'${known.length ? `; recent runs: ${known.join(', ')}` : ' (the database has none)'}`, 'NOT_FOUND');
  }

  resolveSet(ref: string | number, logId?: string): LabelSetRecord {
    return this.labels.resolveSet(ref, logId);
  }

  private resolvePair(runRef: string | number, setRef: string | number): { run: RunRecord; set: LabelSetRecord } {
    const run = this.resolveRun(runRef);
    let set: LabelSetRecord;
    try {
      set = this.resolveSet(setRef, run.logId);
    } catch (error) {
      // A name that exists only on another log: say so, rather than "no such set".
      const elsewhere = typeof setRef === 'string' && !/^\d+$/.test(setRef) ? findLabelSetsByName(this.db, setRef) : [];
      if (elsewhere.length !== 1) throw error;
      set = elsewhere[0]!;
    }
    if (set.logId !== run.logId) throw new EvalStoreError(`Label set ${set.id} '${set.name}' is on log ${set.logId}, run ${run.id} on log ${run.logId}: evaluate a run against ground truth of the same log`, 'BAD_INPUT');
    return { run, set };
  }

  /** Computes (or, with reuse, finds) an evaluation and stores it. */
  evaluate(request: EvaluateRequest): { evaluation: EvaluationDetail; reused: boolean } {
    if (!METRICS.includes(request.metric)) throw new EvalStoreError(`Unknown metric '${String(request.metric)}' (known: ${METRICS.join(', ')})`, 'BAD_INPUT');
    const { run, set } = this.resolvePair(request.run, request.against);
    const options = normaliseOptions(request.options);
    if (request.reuse) {
      const found = findReusableEvaluation(this.db, { runId: run.id, labelSetId: set.id, metric: request.metric, options });
      if (found) return { evaluation: this.get(found.id), reused: true };
    }
    const allowed = METRIC_OPTION_KEYS[request.metric];
    const unknown = Object.keys(options.metricOptions ?? {}).filter((k) => !allowed.includes(k));
    if (unknown.length) throw new EvalStoreError(`Unknown ${request.metric} option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${allowed.join(', ')})`, 'BAD_INPUT');

    const t0 = performance.now();
    const geometry = request.metric === 'coco' ? '2d' : request.metric === 'nuscenes' ? '3d' : 'any';
    const adapted = loadEvalFrames(this.db, { runId: run.id, labelSetId: set.id, sensorId: options.sensorId, frames: options.frames, classMap: options.classMap, geometry });
    const evalOptions = {
      ...(options.metricOptions ?? {}),
      metric: request.metric,
      ...(options.classes ? { classes: options.classes } : {}),
      slices: [...defaultSlices(adapted.frames), ...(options.slices ?? [])],
      records: true,
    } as EvaluateOptions;
    const result = evaluate(adapted.frames, evalOptions);
    result.warnings = [...adapted.warnings, ...result.warnings];
    result.params = { ...result.params, sensorId: adapted.sensorId };
    const summary = insertEvaluation(
      this.db,
      {
        runId: run.id,
        labelSetId: set.id,
        logId: run.logId,
        options,
        labelSetEventId: adapted.labelSetEventId,
        runDetections: adapted.runDetections,
        durationMs: performance.now() - t0,
        softwareVersion,
        result,
        extras: {
          frameIndex: (frameId) => adapted.frameIndex.get(frameId) ?? null,
          box: (rec) => (rec.source === 'gt' ? adapted.gtBoxes : adapted.detBoxes).get(rec.id),
        },
      },
      this.actor,
    );
    return { evaluation: this.get(summary.id), reused: false };
  }

  list(filter: EvaluationFilter = {}): EvaluationSummary[] {
    return listEvaluationSummaries(this.db, filter);
  }

  get(id: number): EvaluationDetail {
    const detail = getEvaluationDetail(this.db, id);
    if (!detail) throw new EvalStoreError(`No evaluation with id ${id}`, 'NOT_FOUND', { evaluationId: id });
    return detail;
  }

  /** Stored per-object records matching the filter (fields, a query, a saved query; all ANDed), paginated. */
  objects(evaluationId: number, filter: ObjectQueryFilter = {}): ObjectQueryResult {
    if (!this.db.prepare('SELECT 1 FROM evaluations WHERE id = ?').get(evaluationId)) throw new EvalStoreError(`No evaluation with id ${evaluationId}`, 'NOT_FOUND', { evaluationId });
    const parts: SqlFilter[] = [];
    const texts: string[] = [];
    const add = (where: string, ...params: (string | number)[]) => parts.push({ where, params });
    const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const outcomes = list(filter.outcome);
    if (outcomes.length) add(`o.outcome IN (${outcomes.map(() => '?').join(', ')})`, ...outcomes);
    const classes = list(filter.class).filter((c) => c !== '*');
    if (classes.length) add(`lower(o.label) IN (${classes.map(() => '?').join(', ')})`, ...classes.map((c) => c.toLowerCase()));
    if (filter.source) add('o.source = ?', filter.source);
    if (filter.frameId) add('o.frame_id = ?', filter.frameId);
    if (filter.scoreMin !== undefined) add('o.score >= ?', filter.scoreMin);
    if (filter.scoreMax !== undefined) add('o.score <= ?', filter.scoreMax);
    if (filter.distanceMin !== undefined) add('o.ego_distance >= ?', filter.distanceMin);
    if (filter.distanceMax !== undefined) add('o.ego_distance <= ?', filter.distanceMax);
    const queryTexts: string[] = [];
    if (filter.savedQueryId !== undefined) {
      const saved = findSavedQuery(this.db, filter.savedQueryId);
      if (!saved) throw new EvalStoreError(`No saved query with id ${filter.savedQueryId}`, 'NOT_FOUND');
      queryTexts.push(saved.text);
    }
    if (filter.query !== undefined && filter.query.trim() !== '') queryTexts.push(filter.query);
    for (const text of queryTexts) {
      const q = parseQuery(text);
      parts.push(queryToSql(q));
      texts.push(formatQuery(q));
    }
    const where = parts.length ? parts.map((p) => `(${p.where})`).join(' AND ') : '1';
    const offset = filter.offset ?? 0;
    const page = selectObjects(this.db, evaluationId, { where, params: parts.flatMap((p) => p.params) }, { order: filter.order, offset, limit: filter.limit ?? 100 });
    return { evaluationId, query: texts.length ? texts.join(' AND ') : null, total: page.total, offset, items: page.items, frames: page.frames };
  }

  /**
   * The objects behind a point of a class's PR curve at score `threshold`: the class's detections
   * scoring at least that (TP, FP) and the ground truth left missed (FN: unmatched, or matched only by
   * a detection below it). Greedy matching takes detections in score order, so dropping the lower
   * ones leaves the higher ones' matches as recorded.
   */
  prPointObjects(evaluationId: number, request: { label: string; threshold: number; outcome?: 'tp' | 'fp' | 'fn'; offset?: number; limit?: number }): PrPointResult {
    const detail = this.get(evaluationId);
    const label = request.label.toLowerCase();
    const t = request.threshold;
    // A ground truth whose match scored below the threshold: the matched detection, found through the frame index.
    const matchedBelow = `(SELECT d.score FROM evaluation_objects d WHERE d.evaluation_id = o.evaluation_id AND d.frame_id = o.frame_id AND d.source = 'det' AND d.object_id = o.matched_id) < ?`;
    const det = (outcome: 'tp' | 'fp') => ({ where: `o.source = 'det' AND o.outcome = '${outcome}' AND o.score >= ?`, params: [t] });
    const fn = { where: `o.source = 'gt' AND (o.outcome = 'fn' OR (o.outcome = 'tp' AND ${matchedBelow}))`, params: [t] };
    const parts = { tp: det('tp'), fp: det('fp'), fn };
    const scoped = (p: { where: string; params: number[] }) => ({ where: `lower(o.label) = ? AND (${p.where})`, params: [label, ...p.params] });
    const count = (p: { where: string; params: number[] }) => selectObjects(this.db, evaluationId, scoped(p), { limit: 1 }).total;
    const counts = { tp: count(parts.tp), fp: count(parts.fp), fn: count(parts.fn) };
    const chosen = request.outcome ? [parts[request.outcome]] : [parts.tp, parts.fp, parts.fn];
    const where = { where: chosen.map((p) => `(${p.where})`).join(' OR '), params: chosen.flatMap((p) => p.params) };
    const offset = request.offset ?? 0;
    const page = selectObjects(this.db, evaluationId, scoped(where), { order: 'frame', offset, limit: request.limit ?? 200 });
    const items = page.items.map((o) => ({ ...o, outcomeAtThreshold: (o.source === 'gt' ? 'fn' : o.outcome) as Outcome }));
    const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
    return {
      evaluationId, label: request.label, threshold: t, curveKey: recordCurveKey(detail), counts,
      precision: ratio(counts.tp, counts.tp + counts.fp), recall: ratio(counts.tp, counts.tp + counts.fn), total: page.total, offset, items, frames: page.frames,
    };
  }

  /**
   * The objects behind a confusion-matrix cell. The matrix stores counts only, so its class-agnostic
   * matching runs again on the evaluation's frames (cached for a few evaluations); a run or label set
   * changed since then is flagged, and a recount that differs from the stored one is a warning.
   */
  confusionCellObjects(evaluationId: number, request: { predicted: string; truth: string; offset?: number; limit?: number }): ConfusionCellResult {
    const detail = this.get(evaluationId);
    const labels = detail.confusion.labels;
    const row = labels.indexOf(request.predicted);
    const col = labels.indexOf(request.truth);
    if (row < 0 || col < 0) throw new EvalStoreError(`No confusion cell ${request.predicted} × ${request.truth} (labels: ${labels.join(', ')})`, 'BAD_INPUT');
    const cached = this.cellCache.get(evaluationId) ?? this.recomputeCells(detail);
    const inCell = cached.members.filter((m) => m.predicted === request.predicted && m.truth === request.truth);
    const count = detail.confusion.counts[row * labels.length + col] ?? 0;
    const warnings = [...cached.warnings];
    if (inCell.length !== count) warnings.push(`recomputed ${inCell.length} pairs for this cell, the evaluation stored ${count}: the run or the label set changed since`);
    const offset = request.offset ?? 0;
    const pagePairs = inCell.slice(offset, offset + (request.limit ?? 200));
    const num = (v: string | null) => (v === null ? null : Number(v));
    const pairs = pagePairs.map((m) => ({ frameId: m.frameId, detId: num(m.detId), gtId: num(m.gtId) }));
    const detIds = pairs.flatMap((p) => (p.detId === null ? [] : [p.detId]));
    const gtIds = pairs.flatMap((p) => (p.gtId === null ? [] : [p.gtId]));
    const page = selectObjects(
      this.db,
      evaluationId,
      {
        where: `(o.source = 'det' AND o.object_id IN (SELECT value FROM json_each(?))) OR (o.source = 'gt' AND o.object_id IN (SELECT value FROM json_each(?)))`,
        params: [JSON.stringify(detIds), JSON.stringify(gtIds)],
      },
      { order: 'frame', limit: 2 * pairs.length + 1 },
    );
    const frameIndex = new Map(page.frames.map((f) => [f.frameId, f.frameIndex]));
    const perFrame = new Map<string, number>();
    for (const m of inCell) perFrame.set(m.frameId, (perFrame.get(m.frameId) ?? 0) + 1);
    const indexOf = (frameId: string) => frameIndex.get(frameId) ?? (this.db.prepare('SELECT frame_index FROM evaluation_objects WHERE evaluation_id = ? AND frame_id = ? LIMIT 1').pluck().get(evaluationId, frameId) as number | null | undefined) ?? null;
    const frames = [...perFrame].map(([frameId, n]) => ({ frameId, frameIndex: indexOf(frameId), count: n })).sort((a, b) => (a.frameIndex ?? Infinity) - (b.frameIndex ?? Infinity) || a.frameId.localeCompare(b.frameId));
    return { evaluationId, predicted: request.predicted, truth: request.truth, count, pairs, total: inCell.length, offset, items: page.items, frames, stale: cached.stale, warnings };
  }

  private recomputeCells(detail: EvaluationDetail): { members: ConfusionCellMember[]; stale: boolean; warnings: string[] } {
    const options = detail.options;
    const geometry = detail.metric === 'coco' ? '2d' : detail.metric === 'nuscenes' ? '3d' : 'any';
    const sensorId = options.sensorId ?? (typeof detail.params.sensorId === 'string' ? detail.params.sensorId : undefined);
    const adapted = loadEvalFrames(this.db, { runId: detail.runId, labelSetId: detail.labelSetId, sensorId, frames: options.frames, classMap: options.classMap, geometry });
    const members: ConfusionCellMember[] = [];
    evaluate(adapted.frames, {
      ...(options.metricOptions ?? {}),
      metric: detail.metric,
      ...(options.classes ? { classes: options.classes } : {}),
      slices: 'none',
      records: false,
      onConfusionCell: (m: ConfusionCellMember) => members.push(m),
    } as EvaluateOptions);
    const stale = adapted.labelSetEventId !== detail.labelSetEventId || adapted.runDetections !== detail.runDetections;
    const entry = { members, stale, warnings: stale ? ['the run or the label set changed since this evaluation: the cell was recomputed from the current data'] : [] };
    if (this.cellCache.size >= CELL_CACHE_SIZE) this.cellCache.delete(this.cellCache.keys().next().value!);
    this.cellCache.set(detail.id, entry);
    return entry;
  }

  /**
   * Run B against run A on the same label set and the frames both finished: metric deltas (B - A)
   * per class and slice, ground truth that regressed (TP in A, FN in B) or improved, and the frames
   * ranked by regression. Stored evaluations are reused when neither side changed.
   */
  compare(request: CompareRequest): RunComparison {
    const a = this.resolvePair(request.runA, request.against);
    const b = this.resolvePair(request.runB, request.against);
    if (a.run.id === b.run.id) throw new EvalStoreError(`Both sides are run ${a.run.id}; compare two different runs`, 'BAD_INPUT');
    const warnings: string[] = [];
    const finished = (runId: number) => new Set(this.db.prepare('SELECT frame_id FROM run_frames WHERE run_id = ? AND error IS NULL').pluck().all(runId) as string[]);
    const framesA = finished(a.run.id);
    const framesB = finished(b.run.id);
    const common = [...framesA].filter((f) => framesB.has(f));
    let options = normaliseOptions(request.options);
    if (common.length !== framesA.size || common.length !== framesB.size) {
      warnings.push(`runs ${a.run.id} and ${b.run.id} finished different frames (${framesA.size} and ${framesB.size}); compared on the ${common.length} both finished`);
      const requested = options.frames ? new Set(options.frames) : null;
      options = normaliseOptions({ ...options, frames: requested ? common.filter((f) => requested.has(f)) : common });
    }
    const evalA = this.evaluate({ run: a.run.id, against: a.set.id, metric: request.metric, options, reuse: true }).evaluation;
    const evalB = this.evaluate({ run: b.run.id, against: b.set.id, metric: request.metric, options, reuse: true }).evaluation;
    const resultA = loadEvaluationResult(this.db, evalA.id)!;
    const resultB = loadEvaluationResult(this.db, evalB.id)!;
    const cmp = compareEvaluations(resultA, resultB);
    const frameIndex = new Map<string, number | null>();
    for (const row of this.db.prepare('SELECT frame_id, frame_index FROM run_frames WHERE run_id = ?').all(b.run.id) as { frame_id: string; frame_index: number | null }[]) frameIndex.set(row.frame_id, row.frame_index);
    const id = (v: string | null) => (v === null ? null : Number(v));
    const change = (c: (typeof cmp.regressed)[number]) => ({
      frameId: c.frameId, objectId: Number(c.id), label: c.label, from: c.from, to: c.to, matchedIdA: id(c.matchedIdA), matchedIdB: id(c.matchedIdB), distanceBand: c.distanceBand, occlusion: c.occlusion,
    });
    return {
      metric: request.metric,
      labelSetId: a.set.id,
      evaluationA: summaryOf(evalA),
      evaluationB: summaryOf(evalB),
      overall: cmp.overall.map(deltaJson),
      perClass: cmp.perClass.map((c) => ({ label: c.label, deltas: c.deltas.map(deltaJson) })),
      slices: cmp.slices.map((s) => ({ name: s.name, overall: s.overall.map(deltaJson) })),
      regressed: cmp.regressed.map(change),
      improved: cmp.improved.map(change),
      frames: cmp.frames.map((f) => ({ ...f, frameIndex: frameIndex.get(f.frameId) ?? null })),
      warnings: [...warnings, ...cmp.warnings],
    };
  }

  saveQuery(input: { name: string; text: string; description?: string }): SavedQuery {
    const name = input.name.trim();
    if (!name) throw new EvalStoreError('A saved query needs a name', 'BAD_INPUT');
    // Refuse what would fail later: the text must parse now.
    parseQuery(input.text);
    return insertSavedQuery(this.db, { name, text: input.text.trim(), description: input.description }, this.actor);
  }

  listQueries(): SavedQuery[] {
    return listSavedQueries(this.db);
  }

  getQuery(ref: string | number): SavedQuery {
    const q = findSavedQuery(this.db, ref);
    if (!q) {
      const known = this.listQueries().map((s) => `'${s.name}'`);
      throw new EvalStoreError(`No saved query '${ref}'${known.length ? `; saved: ${known.join(', ')}` : ''}`, 'NOT_FOUND');
    }
    return q;
  }
}

/** The summary fields of a detail (a comparison carries summaries, not curves and tables). */
export function summaryOf(d: EvaluationDetail): EvaluationSummary {
  return {
    id: d.id, runId: d.runId, labelSetId: d.labelSetId, logId: d.logId, metric: d.metric, options: d.options, overall: d.overall, counts: d.counts, warnings: d.warnings,
    labelSetEventId: d.labelSetEventId, runDetections: d.runDetections, softwareVersion: d.softwareVersion, createdAt: d.createdAt, createdBy: d.createdBy,
    durationMs: d.durationMs, auditSeq: d.auditSeq, stale: d.stale,
  };
}
