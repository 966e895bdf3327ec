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
import type { MetricName } from '../types.js';
import { EvalStoreError } from './errors.js';
import {
  findReusableEvaluation, findSavedQuery, getEvaluationDetail, insertEvaluation, insertSavedQuery, listEvaluationSummaries, listSavedQueries, loadEvaluationResult, selectObjects,
  type EvaluationFilter,
} from './evaluations.js';
import type { EvaluationDetail, EvaluationOptions, EvaluationSummary, MetricDeltaJson, ObjectQueryFilter, ObjectQueryResult, RunComparison, SavedQuery } from './model.js';

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

export class EvalService {
  readonly actor: string;
  private readonly labels: LabelService;

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
