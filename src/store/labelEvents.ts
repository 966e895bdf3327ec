// Label corrections as an append-only event log (label_events, grouped into label_ops) and their
// materialised current state (labels). appendLabelEvent writes the event and the state row together:
// call it inside the transaction that also writes the audit event. replayLabelSet folds the events
// again from scratch, so a check can prove the materialised rows equal the replay.
import { createHash } from 'node:crypto';
import type { AttributeValue, LabelEvent, LabelEventKind, LabelOp, LabelOpKind, LabelRecord, LabelValue, MaterialisationCheck } from '../labels/model.js';
import type { Vec3 } from '../logs/model.js';
import { canonicalJson } from './audit.js';
import type { Db } from './db.js';

export type { AttributeValue, LabelBox2D, LabelBox3D, LabelEvent, LabelEventKind, LabelOp, LabelOpKind, LabelRecord, LabelValue, MaterialisationCheck } from '../labels/model.js';

export type NewLabelEvent = Omit<LabelEvent, 'id' | 'labelId'> & {
  /** The label this event applies to; omitted for a new label (its id becomes this event's id). */
  labelId?: number | null;
};

interface EventRow {
  id: number;
  op_id: number;
  label_set_id: number;
  label_id: number | null;
  detection_id: number | null;
  kind: LabelEventKind;
  frame_id: string;
  base_revision: number;
  revision: number;
  before_json: string | null;
  after_json: string | null;
  interpolated: number;
  author: string;
  at: string;
  reason: string | null;
  meta_json: string;
}

interface LabelRow {
  id: number;
  label_set_id: number;
  frame_id: string;
  sensor_id: string | null;
  class: string;
  x1: number | null;
  y1: number | null;
  x2: number | null;
  y2: number | null;
  cx: number | null;
  cy: number | null;
  cz: number | null;
  length: number | null;
  width: number | null;
  height: number | null;
  yaw: number | null;
  track_id: string | null;
  attributes_json: string;
  score: number | null;
  source_detection_id: number | null;
  revision: number;
  deleted: number;
  interpolated: number;
  updated_at: string | null;
  updated_by: string | null;
  last_event_id: number | null;
}

interface OpRow {
  id: number;
  label_set_id: number;
  session_id: string;
  kind: LabelOpKind;
  target_op_id: number | null;
  description: string;
  author: string;
  at: string;
}

const eventFromRow = (r: EventRow): LabelEvent => ({
  id: r.id,
  opId: r.op_id,
  labelSetId: r.label_set_id,
  labelId: r.label_id,
  detectionId: r.detection_id,
  kind: r.kind,
  frameId: r.frame_id,
  baseRevision: r.base_revision,
  revision: r.revision,
  before: r.before_json === null ? null : (JSON.parse(r.before_json) as LabelValue),
  after: r.after_json === null ? null : (JSON.parse(r.after_json) as LabelValue),
  interpolated: r.interpolated === 1,
  author: r.author,
  at: r.at,
  reason: r.reason,
  meta: JSON.parse(r.meta_json) as Record<string, unknown>,
});

const opFromRow = (r: OpRow): LabelOp => ({
  id: r.id,
  labelSetId: r.label_set_id,
  sessionId: r.session_id,
  kind: r.kind,
  targetOpId: r.target_op_id,
  description: r.description,
  author: r.author,
  at: r.at,
});

function labelFromRow(r: LabelRow): LabelRecord {
  const box2d =
    r.sensor_id !== null && r.x1 !== null && r.y1 !== null && r.x2 !== null && r.y2 !== null
      ? { sensorId: r.sensor_id, x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 }
      : null;
  const box3d =
    r.cx !== null && r.cy !== null && r.cz !== null && r.length !== null && r.width !== null && r.height !== null && r.yaw !== null
      ? { center: [r.cx, r.cy, r.cz] as Vec3, size: [r.length, r.width, r.height] as Vec3, yaw: r.yaw }
      : null;
  return {
    id: r.id,
    labelSetId: r.label_set_id,
    frameId: r.frame_id,
    class: r.class,
    box2d,
    box3d,
    trackId: r.track_id,
    score: r.score,
    attributes: JSON.parse(r.attributes_json) as Record<string, AttributeValue>,
    sourceDetectionId: r.source_detection_id,
    revision: r.revision,
    deleted: r.deleted === 1,
    interpolated: r.interpolated === 1,
    updatedAt: r.updated_at ?? '',
    updatedBy: r.updated_by ?? '',
    lastEventId: r.last_event_id ?? 0,
  };
}

/** The editable part of a record, in canonical shape (what events store as before/after). */
export function valueOf(v: LabelValue): LabelValue {
  return {
    frameId: v.frameId,
    class: v.class,
    box2d: v.box2d ? { sensorId: v.box2d.sensorId, x1: v.box2d.x1, y1: v.box2d.y1, x2: v.box2d.x2, y2: v.box2d.y2 } : null,
    box3d: v.box3d ? { center: [...v.box3d.center] as Vec3, size: [...v.box3d.size] as Vec3, yaw: v.box3d.yaw } : null,
    trackId: v.trackId ?? null,
    score: v.score ?? null,
    attributes: { ...(v.attributes ?? {}) },
    sourceDetectionId: v.sourceDetectionId ?? null,
  };
}

/** Per-connection prepared statements (better-sqlite3 statements belong to one connection). */
const statementCache = new WeakMap<Db, ReturnType<typeof prepare>>();

function prepare(db: Db) {
  return {
    nextEventId: db.prepare(
      `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'label_events'), 0), coalesce((SELECT max(id) FROM label_events), 0)) + 1`,
    ),
    insertEvent: db.prepare(
      `INSERT INTO label_events (id, op_id, label_set_id, label_id, detection_id, kind, frame_id, base_revision, revision,
                                 before_json, after_json, interpolated, author, at, reason, meta_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertLabel: db.prepare(
      `INSERT INTO labels (id, label_set_id, frame_id, sensor_id, class, x1, y1, x2, y2, cx, cy, cz, length, width, height, yaw,
                           track_id, attributes_json, score, source_detection_id, revision, deleted, interpolated, updated_at, updated_by, last_event_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET
         frame_id = excluded.frame_id, sensor_id = excluded.sensor_id, class = excluded.class,
         x1 = excluded.x1, y1 = excluded.y1, x2 = excluded.x2, y2 = excluded.y2,
         cx = excluded.cx, cy = excluded.cy, cz = excluded.cz, length = excluded.length, width = excluded.width, height = excluded.height, yaw = excluded.yaw,
         track_id = excluded.track_id, attributes_json = excluded.attributes_json, score = excluded.score, source_detection_id = excluded.source_detection_id,
         revision = excluded.revision, deleted = excluded.deleted, interpolated = excluded.interpolated,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by, last_event_id = excluded.last_event_id
       WHERE label_set_id = excluded.label_set_id`,
    ),
    insertRejection: db.prepare('INSERT OR REPLACE INTO label_rejections (label_set_id, detection_id, event_id) VALUES (?, ?, ?)'),
    deleteRejection: db.prepare('DELETE FROM label_rejections WHERE label_set_id = ? AND detection_id = ?'),
    insertOp: db.prepare(
      'INSERT INTO label_ops (label_set_id, session_id, kind, target_op_id, description, author, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    getLabel: db.prepare('SELECT * FROM labels WHERE id = ?'),
  };
}

function statements(db: Db) {
  let s = statementCache.get(db);
  if (!s) {
    s = prepare(db);
    statementCache.set(db, s);
  }
  return s;
}

export function insertOp(db: Db, op: Omit<LabelOp, 'id'>): LabelOp {
  const result = statements(db).insertOp.run(op.labelSetId, op.sessionId, op.kind, op.targetOpId, op.description, op.author, op.at);
  return { ...op, id: Number(result.lastInsertRowid) };
}

export function getOp(db: Db, id: number): LabelOp | undefined {
  const row = db.prepare('SELECT * FROM label_ops WHERE id = ?').get(id) as OpRow | undefined;
  return row && opFromRow(row);
}

/** Ops of a session in order (the undo/redo stacks are derived from them). */
export function listSessionOps(db: Db, sessionId: string): LabelOp[] {
  return (db.prepare('SELECT * FROM label_ops WHERE session_id = ? ORDER BY id').all(sessionId) as OpRow[]).map(opFromRow);
}

/** The state a label has after an event; the one reducer both materialisation and replay use. */
export interface LabelState {
  value: LabelValue;
  revision: number;
  deleted: boolean;
  interpolated: boolean;
  updatedAt: string;
  updatedBy: string;
  lastEventId: number;
}

export function reduceLabel(e: LabelEvent): LabelState {
  const value = e.kind === 'delete' ? e.before : e.after;
  if (!value) throw new Error(`label event ${e.id} (${e.kind}) has no ${e.kind === 'delete' ? 'before' : 'after'} value`);
  return {
    value,
    revision: e.revision,
    deleted: e.kind === 'delete',
    interpolated: e.interpolated,
    updatedAt: e.at,
    updatedBy: e.author,
    lastEventId: e.id,
  };
}

const isLabelEvent = (kind: LabelEventKind): boolean => kind !== 'reject' && kind !== 'unreject';

/**
 * Appends one event and updates the materialised state to match. No business checks here (the
 * service does them); call inside an IMMEDIATE transaction so the revision read before is still current.
 */
export function appendLabelEvent(db: Db, input: NewLabelEvent, options: { id?: number } = {}): { event: LabelEvent; digest: string } {
  const s = statements(db);
  const id = options.id ?? nextLabelEventId(db);
  const labelId = isLabelEvent(input.kind) ? (input.labelId ?? id) : null;
  const event: LabelEvent = { ...input, id, labelId, detectionId: input.detectionId ?? null, reason: input.reason ?? null };
  const json = serialise(event);
  s.insertEvent.run(
    id, event.opId, event.labelSetId, labelId, event.detectionId, event.kind, event.frameId, event.baseRevision, event.revision,
    json.before, json.after, event.interpolated ? 1 : 0, event.author, event.at, event.reason, json.meta,
  );
  if (labelId !== null) {
    writeState(db, event.labelSetId, labelId, reduceLabel(event));
  } else if (event.kind === 'reject') {
    s.insertRejection.run(event.labelSetId, event.detectionId, id);
  } else {
    s.deleteRejection.run(event.labelSetId, event.detectionId);
  }
  return { event, digest: digestOf(event, json) };
}

/** The id the next event gets (bulk writers take it once and count up inside their transaction). */
export function nextLabelEventId(db: Db): number {
  return statements(db).nextEventId.pluck().get() as number;
}

function writeState(db: Db, setId: number, labelId: number, st: LabelState): void {
  const v = st.value;
  const b = v.box2d;
  const c = v.box3d;
  const result = statements(db).upsertLabel.run(
    labelId, setId, v.frameId, b?.sensorId ?? null, v.class, b?.x1 ?? null, b?.y1 ?? null, b?.x2 ?? null, b?.y2 ?? null,
    c?.center[0] ?? null, c?.center[1] ?? null, c?.center[2] ?? null, c?.size[0] ?? null, c?.size[1] ?? null, c?.size[2] ?? null, c?.yaw ?? null,
    v.trackId, canonicalJson(v.attributes), v.score, v.sourceDetectionId, st.revision, st.deleted ? 1 : 0, st.interpolated ? 1 : 0,
    st.updatedAt, st.updatedBy, st.lastEventId,
  );
  if (result.changes !== 1) throw new Error(`label ${labelId} belongs to another label set than ${setId}`);
}

export function getLabelRecord(db: Db, labelId: number): LabelRecord | undefined {
  const row = statements(db).getLabel.get(labelId) as LabelRow | undefined;
  return row && labelFromRow(row);
}

export interface LabelFilter {
  frameId?: string;
  trackId?: string;
  includeDeleted?: boolean;
}

/** Current labels of a set, in creation order (which is file order for imports). */
export function listLabelRecords(db: Db, setId: number, filter: LabelFilter = {}): LabelRecord[] {
  const where = ['label_set_id = ?'];
  const args: unknown[] = [setId];
  if (filter.frameId !== undefined) {
    where.push('frame_id = ?');
    args.push(filter.frameId);
  }
  if (filter.trackId !== undefined) {
    where.push('track_id = ?');
    args.push(filter.trackId);
  }
  if (!filter.includeDeleted) where.push('deleted = 0');
  const rows = db.prepare(`SELECT * FROM labels WHERE ${where.join(' AND ')} ORDER BY id`).all(...args) as LabelRow[];
  return rows.map(labelFromRow);
}

export interface EventFilter {
  labelSetId?: number;
  labelId?: number;
  opId?: number;
  frameId?: string;
  afterId?: number;
  limit?: number;
}

export function listLabelEvents(db: Db, filter: EventFilter = {}): LabelEvent[] {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    args.push(value);
  };
  if (filter.labelSetId !== undefined) add('label_set_id = ?', filter.labelSetId);
  if (filter.labelId !== undefined) add('label_id = ?', filter.labelId);
  if (filter.opId !== undefined) add('op_id = ?', filter.opId);
  if (filter.frameId !== undefined) add('frame_id = ?', filter.frameId);
  if (filter.afterId !== undefined) add('id > ?', filter.afterId);
  const sql = `SELECT * FROM label_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id${filter.limit ? ' LIMIT ?' : ''}`;
  if (filter.limit) args.push(filter.limit);
  return (db.prepare(sql).all(...args) as EventRow[]).map(eventFromRow);
}

/** The event before `eventId` on the same label (what an undo restores the interpolated flag from). */
export function previousLabelEvent(db: Db, labelId: number, eventId: number): LabelEvent | undefined {
  const row = db.prepare('SELECT * FROM label_events WHERE label_id = ? AND id < ? ORDER BY id DESC LIMIT 1').get(labelId, eventId) as EventRow | undefined;
  return row && eventFromRow(row);
}

export function lastLabelEvent(db: Db, labelId: number): LabelEvent | undefined {
  const row = db.prepare('SELECT * FROM label_events WHERE label_id = ? ORDER BY id DESC LIMIT 1').get(labelId) as EventRow | undefined;
  return row && eventFromRow(row);
}

export function lastDetectionEvent(db: Db, setId: number, detectionId: number): LabelEvent | undefined {
  const row = db
    .prepare(`SELECT * FROM label_events WHERE label_set_id = ? AND detection_id = ? AND kind IN ('reject','unreject') ORDER BY id DESC LIMIT 1`)
    .get(setId, detectionId) as EventRow | undefined;
  return row && eventFromRow(row);
}

export function isRejected(db: Db, setId: number, detectionId: number): boolean {
  return db.prepare('SELECT 1 FROM label_rejections WHERE label_set_id = ? AND detection_id = ?').get(setId, detectionId) !== undefined;
}

export function listRejections(db: Db, setId: number): number[] {
  return db.prepare('SELECT detection_id FROM label_rejections WHERE label_set_id = ? ORDER BY detection_id').pluck().all(setId) as number[];
}

/** The live label accepted from a detection, if any. */
export function acceptedLabelOf(db: Db, setId: number, detectionId: number): LabelRecord | undefined {
  const row = db.prepare('SELECT * FROM labels WHERE label_set_id = ? AND source_detection_id = ? AND deleted = 0 ORDER BY id LIMIT 1').get(setId, detectionId) as LabelRow | undefined;
  return row && labelFromRow(row);
}

const num = (v: number): string => JSON.stringify(v);

/**
 * canonicalJson of a label value, written out directly (keys in sorted order): the same string,
 * several times faster, which matters for imports of 100k labels.
 */
export function labelValueJson(v: LabelValue): string {
  const b = v.box2d;
  const c = v.box3d;
  const box2d = b ? `{"sensorId":${JSON.stringify(b.sensorId)},"x1":${num(b.x1)},"x2":${num(b.x2)},"y1":${num(b.y1)},"y2":${num(b.y2)}}` : 'null';
  const box3d = c ? `{"center":[${c.center.map(num).join(',')}],"size":[${c.size.map(num).join(',')}],"yaw":${num(c.yaw)}}` : 'null';
  const attributes = v.attributes && Object.keys(v.attributes).length ? canonicalJson(v.attributes) : '{}';
  return (
    `{"attributes":${attributes},"box2d":${box2d},"box3d":${box3d},"class":${JSON.stringify(v.class)},"frameId":${JSON.stringify(v.frameId)},` +
    `"score":${v.score == null ? 'null' : num(v.score)},"sourceDetectionId":${v.sourceDetectionId == null ? 'null' : num(v.sourceDetectionId)},"trackId":${v.trackId == null ? 'null' : JSON.stringify(v.trackId)}}`
  );
}

const metaJson = (meta: Record<string, unknown>): string => (Object.keys(meta).length ? canonicalJson(meta) : '{}');

interface SerialisedEvent {
  before: string | null;
  after: string | null;
  meta: string;
}

const serialise = (e: LabelEvent): SerialisedEvent => ({
  before: e.before ? labelValueJson(e.before) : null,
  after: e.after ? labelValueJson(e.after) : null,
  meta: metaJson(e.meta),
});

function digestOf(e: LabelEvent, json: SerialisedEvent): string {
  const header = canonicalJson({
    id: e.id, opId: e.opId, labelSetId: e.labelSetId, labelId: e.labelId, detectionId: e.detectionId, kind: e.kind, frameId: e.frameId,
    baseRevision: e.baseRevision, revision: e.revision, interpolated: e.interpolated, author: e.author, at: e.at, reason: e.reason,
  });
  return createHash('sha256').update(header).update('\n').update(json.before ?? 'null').update('\n').update(json.after ?? 'null').update('\n').update(json.meta).digest('hex');
}

/** sha256 of an event's canonical content (header, before, after, meta): what the audit trail records for it. */
export function labelEventDigest(e: LabelEvent): string {
  return digestOf(e, serialise(e));
}

/** The same digest straight from a stored row (its JSON columns are already canonical). */
function rowDigest(r: EventRow): string {
  const e = { ...eventFromRow({ ...r, before_json: null, after_json: null, meta_json: '{}' }) };
  return digestOf(e, { before: r.before_json, after: r.after_json, meta: r.meta_json });
}

/**
 * Streams a set's events with their digests and op ids, in id order, without parsing the values
 * (audit cross-checks of large sets).
 */
export function* iterateEventDigests(db: Db, setId: number): Generator<{ id: number; opId: number; digest: string }> {
  const rows = db.prepare('SELECT * FROM label_events WHERE label_set_id = ? ORDER BY id').iterate(setId) as IterableIterator<EventRow>;
  for (const r of rows) yield { id: r.id, opId: r.op_id, digest: rowDigest(r) };
}

/** One digest over many events (bulk ops record this single value in the audit trail). */
export function batchDigest(digests: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const d of digests) hash.update(d);
  return hash.digest('hex');
}

export interface ReplayResult {
  labels: Map<number, LabelState>;
  rejections: Map<number, number>;
  events: number;
}

/** Folds every event of a set from the start (no materialised table involved). */
export function replayLabelSet(db: Db, setId: number): ReplayResult {
  const labels = new Map<number, LabelState>();
  const rejections = new Map<number, number>();
  let events = 0;
  const rows = db.prepare('SELECT * FROM label_events WHERE label_set_id = ? ORDER BY id').iterate(setId) as IterableIterator<EventRow>;
  for (const row of rows) {
    const e = eventFromRow(row);
    events++;
    if (e.labelId !== null) labels.set(e.labelId, reduceLabel(e));
    else if (e.kind === 'reject') rejections.set(e.detectionId!, e.id);
    else rejections.delete(e.detectionId!);
  }
  return { labels, rejections, events };
}

const stateJson = (setId: number, labelId: number, st: LabelState): string =>
  `${labelValueJson(valueOf(st.value))}|${canonicalJson([labelId, setId, st.revision, st.deleted, st.interpolated, st.updatedAt, st.updatedBy, st.lastEventId])}`;

const recordJson = (r: LabelRecord): string =>
  `${labelValueJson(valueOf(r))}|${canonicalJson([r.id, r.labelSetId, r.revision, r.deleted, r.interpolated, r.updatedAt, r.updatedBy, r.lastEventId])}`;

/**
 * Proves the materialised rows equal a fresh replay of the events, field by field. Streams: the
 * events label by label beside the stored rows in id order (a merge join), so memory stays flat.
 */
export function checkMaterialisation(db: Db, setId: number): MaterialisationCheck {
  return db.transaction(() => {
    const mismatches: MaterialisationCheck['mismatches'] = [];
    const rows = db.prepare('SELECT * FROM labels WHERE label_set_id = ? ORDER BY id').iterate(setId) as IterableIterator<LabelRow>;
    let row = rows.next();
    let events = 0;
    let labels = 0;
    const settle = (labelId: number, st: LabelState) => {
      labels++;
      for (; !row.done && row.value.id < labelId; row = rows.next()) mismatches.push({ labelId: row.value.id, stored: recordJson(labelFromRow(row.value)), replayed: null });
      const replayed = stateJson(setId, labelId, st);
      if (!row.done && row.value.id === labelId) {
        const stored = recordJson(labelFromRow(row.value));
        if (stored !== replayed) mismatches.push({ labelId, stored, replayed });
        row = rows.next();
      } else {
        mismatches.push({ labelId, stored: null, replayed });
      }
    };
    let current: { labelId: number; state: LabelState } | undefined;
    const labelEvents = db
      .prepare('SELECT * FROM label_events WHERE label_set_id = ? AND label_id IS NOT NULL ORDER BY label_id, id')
      .iterate(setId) as IterableIterator<EventRow>;
    for (const r of labelEvents) {
      events++;
      const e = eventFromRow(r);
      if (current && current.labelId !== e.labelId) settle(current.labelId, current.state);
      current = { labelId: e.labelId!, state: reduceLabel(e) };
    }
    if (current) settle(current.labelId, current.state);
    for (; !row.done; row = rows.next()) mismatches.push({ labelId: row.value.id, stored: recordJson(labelFromRow(row.value)), replayed: null });

    const rejected = new Set<number>();
    const decisions = db.prepare("SELECT kind, detection_id FROM label_events WHERE label_set_id = ? AND kind IN ('reject', 'unreject') ORDER BY id").all(setId) as { kind: string; detection_id: number }[];
    for (const d of decisions) {
      events++;
      if (d.kind === 'reject') rejected.add(d.detection_id);
      else rejected.delete(d.detection_id);
    }
    const storedRejections = new Set(listRejections(db, setId));
    const rejectionMismatches: number[] = [];
    for (const d of rejected) if (!storedRejections.delete(d)) rejectionMismatches.push(d);
    rejectionMismatches.push(...storedRejections);
    return { ok: mismatches.length === 0 && rejectionMismatches.length === 0, events, labels, mismatches, rejectionMismatches };
  })();
}
