// The label-set aggregate: imported ground truth, a run's predictions, or a working set made from one
// of those. Its labels are the materialised state of its label events (labelEvents.ts).
import type { LabelSetKind, LabelSetRecord } from '../labels/model.js';
import type { Db } from './db.js';

export type { LabelSetKind, LabelSetRecord } from '../labels/model.js';

interface SetRow {
  id: number;
  log_id: string;
  name: string;
  kind: LabelSetKind;
  source_run_id: number | null;
  parent_set_id: number | null;
  source_json: string;
  created_at: string;
  created_by: string;
  label_count: number;
}

const fromRow = (r: SetRow): LabelSetRecord => ({
  id: r.id,
  logId: r.log_id,
  name: r.name,
  kind: r.kind,
  sourceRunId: r.source_run_id,
  parentSetId: r.parent_set_id,
  source: JSON.parse(r.source_json) as Record<string, unknown>,
  createdAt: r.created_at,
  createdBy: r.created_by,
  labelCount: r.label_count,
});

const SELECT = `SELECT s.*, (SELECT count(*) FROM labels l WHERE l.label_set_id = s.id AND l.deleted = 0) AS label_count FROM label_sets s`;

export interface NewLabelSet {
  logId: string;
  name: string;
  kind: LabelSetKind;
  sourceRunId?: number | null;
  parentSetId?: number | null;
  source?: Record<string, unknown>;
  createdAt: string;
  createdBy: string;
}

export function insertLabelSet(db: Db, set: NewLabelSet): number {
  const result = db
    .prepare('INSERT INTO label_sets (log_id, name, kind, source_run_id, parent_set_id, source_json, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(set.logId, set.name, set.kind, set.sourceRunId ?? null, set.parentSetId ?? null, JSON.stringify(set.source ?? {}), set.createdAt, set.createdBy);
  return Number(result.lastInsertRowid);
}

/** With `count: false` the label count is left at -1 (counting is a scan of the set; edits do not need it). */
export function getLabelSet(db: Db, id: number, options: { count?: boolean } = {}): LabelSetRecord | undefined {
  const row = (options.count === false ? db.prepare('SELECT s.*, -1 AS label_count FROM label_sets s WHERE s.id = ?') : db.prepare(`${SELECT} WHERE s.id = ?`)).get(id) as SetRow | undefined;
  return row && fromRow(row);
}

export function listLabelSets(db: Db, filter: { logId?: string } = {}): LabelSetRecord[] {
  const rows = filter.logId
    ? (db.prepare(`${SELECT} WHERE s.log_id = ? ORDER BY s.id`).all(filter.logId) as SetRow[])
    : (db.prepare(`${SELECT} ORDER BY s.id`).all() as SetRow[]);
  return rows.map(fromRow);
}

export function findLabelSetsByName(db: Db, name: string, logId?: string): LabelSetRecord[] {
  const rows = logId
    ? (db.prepare(`${SELECT} WHERE s.name = ? AND s.log_id = ? ORDER BY s.id`).all(name, logId) as SetRow[])
    : (db.prepare(`${SELECT} WHERE s.name = ? ORDER BY s.id`).all(name) as SetRow[]);
  return rows.map(fromRow);
}
