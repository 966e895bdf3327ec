// The evaluations aggregate: an evaluation's figures, curves, confusion matrix and per-object records
// written once, in one transaction with the audit event that records them; read back as API shapes
// (NaN as null) or as an EvaluationResult (NaN restored) for run comparison.
import { createHash } from 'node:crypto';
import { appendAudit, canonicalJson } from '../../store/audit.js';
import type { Db } from '../../store/db.js';
import type { ClassResult, ConfusionMatrix, EvaluationResult, MetricName, ObjectRecord, PrCurve, Rect, SliceResult } from '../types.js';
import type { EvaluationDetail, EvaluationOptions, EvaluationSummary, Figures, SavedQuery, StoredClassResult, StoredObject, StoredSliceResult } from './model.js';
import { EvalStoreError } from './errors.js';

/** JSON text with NaN and ±Infinity as null (JSON.stringify would also write null, but silently). */
export function figuresJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

export const toFigures = (record: Record<string, number>): Figures => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
const fromFigures = (record: Figures): Record<string, number> => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v ?? NaN]));

/** The key two evaluations share when they were asked the same thing. */
export function optionsKeyOf(metric: MetricName, options: EvaluationOptions): string {
  return createHash('sha256').update(canonicalJson({ metric, options })).digest('hex');
}

// ---- blobs ----

/** recall | precision | scores, float64 little-endian (the byte order of every platform Node runs on here). */
export function packCurve(curve: PrCurve): Buffer {
  const n = curve.recall.length;
  if (curve.precision.length !== n || curve.scores.length !== n) throw new EvalStoreError(`PR curve ${curve.label} ${curve.key}: arrays differ in length`, 'BAD_INPUT');
  const out = new Float64Array(3 * n);
  out.set(curve.recall, 0);
  out.set(curve.precision, n);
  out.set(curve.scores, 2 * n);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** An aligned copy (SQLite's buffers need not sit on an 8-byte boundary). */
function alignedCopy(blob: Buffer): ArrayBuffer {
  return blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength) as ArrayBuffer;
}

export function unpackCurve(label: string, key: string, points: number, blob: Buffer): PrCurve {
  if (blob.byteLength !== points * 24) throw new EvalStoreError(`stored PR curve ${label} ${key} has ${blob.byteLength} bytes, expected ${points * 24}`, 'INTERNAL');
  const all = new Float64Array(alignedCopy(blob));
  return { label, key, recall: all.slice(0, points), precision: all.slice(points, 2 * points), scores: all.slice(2 * points, 3 * points) };
}

// ---- writing ----

export interface ObjectExtras {
  frameIndex(frameId: string): number | null;
  /** The 2D box a record was evaluated with. */
  box(record: ObjectRecord): { sensorId: string | null; box2d: Rect | null } | undefined;
}

export interface NewEvaluation {
  runId: number;
  labelSetId: number;
  logId: string;
  options: EvaluationOptions;
  labelSetEventId: number;
  runDetections: number;
  durationMs: number;
  softwareVersion: string;
  result: EvaluationResult;
  extras: ObjectExtras;
}

const idOf = (id: string | null): number | null => {
  if (id === null) return null;
  const n = Number(id);
  return Number.isInteger(n) ? n : null;
};
const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Stores an evaluation and appends its audit event, in one transaction; returns its summary. */
export function insertEvaluation(db: Db, input: NewEvaluation, actor: string): EvaluationSummary {
  const r = input.result;
  const now = new Date().toISOString();
  const optionsKey = optionsKeyOf(r.metric, input.options);
  return db.transaction(() => {
    // The id is known before the row is written, so the audit event can name it (ids are never reused).
    const id = ((db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'evaluations'").pluck().get() as number | undefined) ?? 0) + 1;
    const digest = createHash('sha256').update(figuresJson({ overall: r.overall, perClass: r.perClass, counts: r.counts })).digest('hex');
    const audit = appendAudit(db, {
      actor,
      action: 'evaluation.create',
      entityType: 'evaluation',
      entityId: String(id),
      at: now,
      payload: {
        runId: input.runId, labelSetId: input.labelSetId, logId: input.logId, metric: r.metric, optionsKey, labelSetEventId: input.labelSetEventId,
        runDetections: input.runDetections, counts: r.counts, objects: r.objects.length, figuresSha256: digest, softwareVersion: input.softwareVersion,
      },
    });
    db.prepare(
      `INSERT INTO evaluations (id, run_id, label_set_id, log_id, metric, options_json, options_key, params_json, overall_json, counts_json, warnings_json,
                                label_set_event_id, run_detections, software_version, created_at, created_by, duration_ms, audit_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id, input.runId, input.labelSetId, input.logId, r.metric, canonicalJson(input.options), optionsKey, figuresJson(r.params), figuresJson(r.overall), JSON.stringify(r.counts),
      JSON.stringify(r.warnings), input.labelSetEventId, input.runDetections, input.softwareVersion, now, actor, input.durationMs, audit.seq,
    );
    const insertClass = db.prepare('INSERT INTO evaluation_classes (evaluation_id, slice, position, label, num_gt, num_det, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const writeClasses = (slice: string, list: ClassResult[]) => list.forEach((c, i) => insertClass.run(id, slice, i, c.label, c.numGt, c.numDet, figuresJson(c.metrics)));
    writeClasses('', r.perClass);
    const insertSlice = db.prepare('INSERT INTO evaluation_slices (evaluation_id, position, name, where_json, num_gt, num_det, overall_json) VALUES (?, ?, ?, ?, ?, ?, ?)');
    r.slices.forEach((s, i) => {
      insertSlice.run(id, i, s.name, JSON.stringify(s.where), s.numGt, s.numDet, figuresJson(s.overall));
      writeClasses(s.name, s.perClass);
    });
    const insertCurve = db.prepare('INSERT INTO evaluation_curves (evaluation_id, position, label, key, points, encoding, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
    r.prCurves.forEach((c, i) => insertCurve.run(id, i, c.label, c.key, c.recall.length, 'f64le-rps', packCurve(c)));
    const counts = r.confusion.counts;
    db.prepare('INSERT INTO evaluation_confusion (evaluation_id, labels_json, criterion, encoding, counts) VALUES (?, ?, ?, ?, ?)').run(
      id, JSON.stringify(r.confusion.labels), r.confusion.criterion, 'i32le', Buffer.from(counts.buffer, counts.byteOffset, counts.byteLength),
    );
    const insertObject = db.prepare(
      `INSERT INTO evaluation_objects (evaluation_id, seq, frame_id, frame_index, source, object_id, label, score, outcome, ignore_reason, matched_id, iou,
                                       center_distance, ego_distance, distance_band, occlusion, truncation, difficulty, sensor_id, x1, y1, x2, y2)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const frameIndexCache = new Map<string, number | null>();
    r.objects.forEach((o, seq) => {
      const objectId = idOf(o.id);
      if (objectId === null) throw new EvalStoreError(`object ${o.id} of frame ${o.frameId} has no store id`, 'INTERNAL');
      let frameIndex = frameIndexCache.get(o.frameId);
      if (frameIndex === undefined) frameIndexCache.set(o.frameId, (frameIndex = input.extras.frameIndex(o.frameId)));
      const b = input.extras.box(o);
      insertObject.run(
        id, seq, o.frameId, frameIndex, o.source, objectId, o.label, orNull(o.score), o.outcome, o.ignoreReason, idOf(o.matchedId), orNull(o.iou), orNull(o.centerDistance),
        orNull(o.egoDistance), o.distanceBand, o.occlusion, o.truncation === null ? null : orNull(o.truncation), o.difficulty, b?.sensorId ?? null,
        b?.box2d?.x1 ?? null, b?.box2d?.y1 ?? null, b?.box2d?.x2 ?? null, b?.box2d?.y2 ?? null,
      );
    });
    return getEvaluationSummary(db, id)!;
  }).immediate();
}

// ---- reading ----

interface EvaluationRow {
  id: number;
  run_id: number;
  label_set_id: number;
  log_id: string;
  metric: MetricName;
  options_json: string;
  options_key: string;
  params_json: string;
  overall_json: string;
  counts_json: string;
  warnings_json: string;
  label_set_event_id: number;
  run_detections: number;
  software_version: string;
  created_at: string;
  created_by: string;
  duration_ms: number | null;
  audit_seq: number;
  current_event_id: number;
  current_detections: number;
}

// The current state of the set and the run, to tell whether an evaluation is stale.
const SELECT = `SELECT e.*,
  (SELECT coalesce(max(le.id), 0) FROM label_events le WHERE le.label_set_id = e.label_set_id) AS current_event_id,
  (SELECT count(*) FROM detections d WHERE d.run_id = e.run_id) AS current_detections
  FROM evaluations e`;

const summaryFromRow = (r: EvaluationRow): EvaluationSummary => ({
  id: r.id,
  runId: r.run_id,
  labelSetId: r.label_set_id,
  logId: r.log_id,
  metric: r.metric,
  options: JSON.parse(r.options_json) as EvaluationOptions,
  overall: JSON.parse(r.overall_json) as Figures,
  counts: JSON.parse(r.counts_json) as EvaluationSummary['counts'],
  warnings: JSON.parse(r.warnings_json) as string[],
  labelSetEventId: r.label_set_event_id,
  runDetections: r.run_detections,
  softwareVersion: r.software_version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  durationMs: r.duration_ms,
  auditSeq: r.audit_seq,
  stale: r.current_event_id !== r.label_set_event_id || r.current_detections !== r.run_detections,
});

export function getEvaluationSummary(db: Db, id: number): EvaluationSummary | undefined {
  const row = db.prepare(`${SELECT} WHERE e.id = ?`).get(id) as EvaluationRow | undefined;
  return row && summaryFromRow(row);
}

export interface EvaluationFilter {
  runId?: number;
  labelSetId?: number;
  logId?: string;
  metric?: MetricName;
  limit?: number;
}

/** Newest first. */
export function listEvaluationSummaries(db: Db, filter: EvaluationFilter = {}): EvaluationSummary[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (sql: string, value: string | number | undefined) => {
    if (value === undefined) return;
    where.push(sql);
    args.push(value);
  };
  add('e.run_id = ?', filter.runId);
  add('e.label_set_id = ?', filter.labelSetId);
  add('e.log_id = ?', filter.logId);
  add('e.metric = ?', filter.metric);
  const rows = db.prepare(`${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id DESC LIMIT ?`).all(...args, filter.limit ?? 1000) as EvaluationRow[];
  return rows.map(summaryFromRow);
}

/** The newest evaluation asked the same thing whose run and label set have not changed since. */
export function findReusableEvaluation(db: Db, match: { runId: number; labelSetId: number; metric: MetricName; options: EvaluationOptions }): EvaluationSummary | undefined {
  const rows = db
    .prepare(`${SELECT} WHERE e.run_id = ? AND e.label_set_id = ? AND e.metric = ? AND e.options_key = ? ORDER BY e.id DESC LIMIT 5`)
    .all(match.runId, match.labelSetId, match.metric, optionsKeyOf(match.metric, match.options)) as EvaluationRow[];
  return rows.map(summaryFromRow).find((s) => !s.stale);
}

function classesOf(db: Db, id: number): Map<string, StoredClassResult[]> {
  const rows = db.prepare('SELECT slice, label, num_gt, num_det, metrics_json FROM evaluation_classes WHERE evaluation_id = ? ORDER BY slice, position').all(id) as {
    slice: string;
    label: string;
    num_gt: number;
    num_det: number;
    metrics_json: string;
  }[];
  const out = new Map<string, StoredClassResult[]>();
  for (const r of rows) {
    const list = out.get(r.slice) ?? [];
    list.push({ label: r.label, numGt: r.num_gt, numDet: r.num_det, metrics: JSON.parse(r.metrics_json) as Figures });
    out.set(r.slice, list);
  }
  return out;
}

export function getEvaluationDetail(db: Db, id: number): EvaluationDetail | undefined {
  return db.transaction(() => {
    const summary = getEvaluationSummary(db, id);
    if (!summary) return undefined;
    const params = JSON.parse(db.prepare('SELECT params_json FROM evaluations WHERE id = ?').pluck().get(id) as string) as Record<string, unknown>;
    const classes = classesOf(db, id);
    const slices = (
      db.prepare('SELECT name, where_json, num_gt, num_det, overall_json FROM evaluation_slices WHERE evaluation_id = ? ORDER BY position').all(id) as {
        name: string;
        where_json: string;
        num_gt: number;
        num_det: number;
        overall_json: string;
      }[]
    ).map(
      (s): StoredSliceResult => ({
        name: s.name,
        where: JSON.parse(s.where_json) as StoredSliceResult['where'],
        numGt: s.num_gt,
        numDet: s.num_det,
        overall: JSON.parse(s.overall_json) as Figures,
        perClass: classes.get(s.name) ?? [],
      }),
    );
    const prCurves = (
      db.prepare('SELECT label, key, points, encoding, data FROM evaluation_curves WHERE evaluation_id = ? ORDER BY position').all(id) as {
        label: string;
        key: string;
        points: number;
        encoding: string;
        data: Buffer;
      }[]
    ).map((c) => {
      if (c.encoding !== 'f64le-rps') throw new EvalStoreError(`evaluation ${id}: PR curve ${c.label} ${c.key} uses an unknown encoding '${c.encoding}'`, 'INTERNAL');
      return unpackCurve(c.label, c.key, c.points, c.data);
    });
    const conf = db.prepare('SELECT labels_json, criterion, encoding, counts FROM evaluation_confusion WHERE evaluation_id = ?').get(id) as
      | { labels_json: string; criterion: string; encoding: string; counts: Buffer }
      | undefined;
    const labels = conf ? (JSON.parse(conf.labels_json) as string[]) : [];
    const confusion: ConfusionMatrix = conf
      ? { labels, criterion: conf.criterion, counts: new Int32Array(alignedCopy(conf.counts)) }
      : { labels: [], criterion: '', counts: new Int32Array(0) };
    return { ...summary, params, perClass: classes.get('') ?? [], slices, prCurves, confusion };
  })();
}

interface ObjectRow {
  seq: number;
  frame_id: string;
  frame_index: number | null;
  source: 'gt' | 'det';
  object_id: number;
  label: string;
  score: number | null;
  outcome: StoredObject['outcome'];
  ignore_reason: StoredObject['ignoreReason'];
  matched_id: number | null;
  iou: number | null;
  center_distance: number | null;
  ego_distance: number | null;
  distance_band: StoredObject['distanceBand'];
  occlusion: number | null;
  truncation: number | null;
  difficulty: StoredObject['difficulty'];
  sensor_id: string | null;
  x1: number | null;
  y1: number | null;
  x2: number | null;
  y2: number | null;
}

export const objectFromRow = (r: ObjectRow): StoredObject => ({
  seq: r.seq,
  frameId: r.frame_id,
  frameIndex: r.frame_index,
  source: r.source,
  objectId: r.object_id,
  label: r.label,
  score: r.score,
  outcome: r.outcome,
  ignoreReason: r.ignore_reason,
  matchedId: r.matched_id,
  iou: r.iou,
  centerDistance: r.center_distance,
  egoDistance: r.ego_distance,
  distanceBand: r.distance_band,
  occlusion: r.occlusion,
  truncation: r.truncation,
  difficulty: r.difficulty,
  sensorId: r.sensor_id,
  box2d: r.x1 === null || r.y1 === null || r.x2 === null || r.y2 === null ? null : { x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 },
});

const ORDER: Record<'frame' | 'score' | 'distance' | 'size', string> = {
  frame: 'o.frame_index, o.frame_id, o.seq',
  score: 'o.score IS NULL, o.score DESC, o.seq',
  distance: 'o.ego_distance IS NULL, o.ego_distance, o.seq',
  size: '((o.x2 - o.x1) * (o.y2 - o.y1)) IS NULL, ((o.x2 - o.x1) * (o.y2 - o.y1)) DESC, o.seq',
};

export interface ObjectPage {
  total: number;
  items: StoredObject[];
  frames: { frameId: string; frameIndex: number | null; count: number }[];
}

/** Records matching a SQL condition over `evaluation_objects o` (see queries.ts), a page of them, and every matching frame. */
export function selectObjects(db: Db, evaluationId: number, filter: { where: string; params: (string | number)[] }, page: { order?: keyof typeof ORDER; offset?: number; limit?: number } = {}): ObjectPage {
  const base = `FROM evaluation_objects o WHERE o.evaluation_id = ? AND (${filter.where})`;
  const args = [evaluationId, ...filter.params];
  return db.transaction(() => {
    // Materialised first, so the filter picks its own index (grouping by frame would otherwise pull in the frame index and scan the whole evaluation).
    const frames = (db.prepare(`WITH m AS MATERIALIZED (SELECT o.frame_id, o.frame_index ${base}) SELECT frame_id, min(frame_index) AS frame_index, count(*) AS n FROM m GROUP BY frame_id ORDER BY min(frame_index), frame_id`).all(...args) as {
      frame_id: string;
      frame_index: number | null;
      n: number;
    }[]).map((f) => ({ frameId: f.frame_id, frameIndex: f.frame_index, count: f.n }));
    const total = frames.reduce((s, f) => s + f.count, 0);
    const items = (db.prepare(`SELECT o.* ${base} ORDER BY ${ORDER[page.order ?? 'frame']} LIMIT ? OFFSET ?`).all(...args, page.limit ?? 100, page.offset ?? 0) as ObjectRow[]).map(objectFromRow);
    return { total, items, frames };
  })();
}

/** The stored evaluation as src/eval's result type (NaN for undefined figures), objects included. */
export function loadEvaluationResult(db: Db, id: number): EvaluationResult | undefined {
  const detail = getEvaluationDetail(db, id);
  if (!detail) return undefined;
  const cls = (c: StoredClassResult): ClassResult => ({ label: c.label, numGt: c.numGt, numDet: c.numDet, metrics: fromFigures(c.metrics) });
  // Raw rows, iterated: materialising half a million row objects first takes ten times longer.
  const objects: ObjectRecord[] = [];
  const rows = db
    .prepare(
      `SELECT frame_id, object_id, source, label, score, outcome, ignore_reason, matched_id, iou, center_distance, ego_distance, distance_band, occlusion, truncation, difficulty
       FROM evaluation_objects WHERE evaluation_id = ? ORDER BY seq`,
    )
    .raw()
    .iterate(id) as IterableIterator<[string, number, 'gt' | 'det', string, number | null, ObjectRecord['outcome'], ObjectRecord['ignoreReason'], number | null, number | null, number | null, number | null, ObjectRecord['distanceBand'], number | null, number | null, ObjectRecord['difficulty']]>;
  for (const r of rows) {
    objects.push({
      frameId: r[0],
      id: String(r[1]),
      source: r[2],
      label: r[3],
      score: r[4] ?? NaN,
      outcome: r[5],
      ignoreReason: r[6],
      matchedId: r[7] === null ? null : String(r[7]),
      iou: r[8] ?? NaN,
      centerDistance: r[9] ?? NaN,
      egoDistance: r[10] ?? NaN,
      distanceBand: r[11],
      occlusion: r[12],
      truncation: r[13],
      difficulty: r[14],
    });
  }
  const slices: SliceResult[] = detail.slices.map((s) => ({ name: s.name, where: s.where, numGt: s.numGt, numDet: s.numDet, overall: fromFigures(s.overall), perClass: s.perClass.map(cls) }));
  return {
    metric: detail.metric,
    params: detail.params,
    overall: fromFigures(detail.overall),
    perClass: detail.perClass.map(cls),
    prCurves: detail.prCurves,
    confusion: detail.confusion,
    objects,
    slices,
    counts: detail.counts,
    warnings: detail.warnings,
  };
}

// ---- saved queries ----

interface QueryRow {
  id: number;
  name: string;
  text: string;
  description: string | null;
  created_at: string;
  created_by: string;
}
const queryFromRow = (r: QueryRow): SavedQuery => ({ id: r.id, name: r.name, text: r.text, description: r.description, createdAt: r.created_at, createdBy: r.created_by });

export function insertSavedQuery(db: Db, query: { name: string; text: string; description?: string | null }, actor: string): SavedQuery {
  return db.transaction(() => {
    if (db.prepare('SELECT 1 FROM evaluation_queries WHERE name = ?').get(query.name)) throw new EvalStoreError(`A saved query named '${query.name}' exists already`, 'BAD_INPUT');
    const at = new Date().toISOString();
    const id = Number(
      db.prepare('INSERT INTO evaluation_queries (name, text, description, created_at, created_by) VALUES (?, ?, ?, ?, ?)').run(query.name, query.text, query.description ?? null, at, actor).lastInsertRowid,
    );
    appendAudit(db, { actor, action: 'evaluation_query.save', entityType: 'evaluation_query', entityId: String(id), at, payload: { name: query.name, text: query.text } });
    return queryFromRow(db.prepare('SELECT * FROM evaluation_queries WHERE id = ?').get(id) as QueryRow);
  }).immediate();
}

export function listSavedQueries(db: Db): SavedQuery[] {
  return (db.prepare('SELECT * FROM evaluation_queries ORDER BY name').all() as QueryRow[]).map(queryFromRow);
}

/** By id or by name. */
export function findSavedQuery(db: Db, ref: string | number): SavedQuery | undefined {
  const asId = typeof ref === 'number' ? ref : /^\d+$/.test(ref) ? Number(ref) : undefined;
  const row = (asId !== undefined ? db.prepare('SELECT * FROM evaluation_queries WHERE id = ?').get(asId) : undefined) ?? db.prepare('SELECT * FROM evaluation_queries WHERE name = ?').get(String(ref));
  return row ? queryFromRow(row as QueryRow) : undefined;
}
