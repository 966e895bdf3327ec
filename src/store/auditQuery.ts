// Reading the audit trail: filtered, newest or oldest first, for the global audit log and a frame's
// history. Writing and chain verification live in audit.ts.
import type { AuditEvent } from './audit.js';
import type { Db } from './db.js';

export interface AuditFilter {
  /** label | label_set | frame | issue | detection | run | log */
  entityType?: string;
  entityId?: string;
  actor?: string;
  /** Exact action, or a prefix ending in '.' ('label.' selects label.create, label.update, ...). */
  action?: string;
  /** Events whose payload names this frame (label edits, review status, issues). */
  frameId?: string;
  /** Events whose payload names this label set. */
  setId?: number;
  afterSeq?: number;
  beforeSeq?: number;
  /** ISO times, inclusive: events at or after `since`, at or before `until`. */
  since?: string;
  until?: string;
  /** Case-insensitive substring of the action, entity, actor or payload. */
  text?: string;
  limit?: number;
  order?: 'asc' | 'desc';
}

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  payload_json: string;
  prev_hash: string;
  hash: string;
}

function parsePayload(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return { unparsable: json };
  }
}

export function listAuditEvents(db: Db, filter: AuditFilter = {}): AuditEvent[] {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    args.push(...values);
  };
  if (filter.entityType) add('entity_type = ?', filter.entityType);
  if (filter.entityId) add('entity_id = ?', filter.entityId);
  if (filter.actor) add('actor = ?', filter.actor);
  if (filter.action) {
    if (filter.action.endsWith('.')) add("substr(action, 1, ?) = ?", filter.action.length, filter.action);
    else add('action = ?', filter.action);
  }
  if (filter.frameId) add("((entity_type = 'frame' AND entity_id = ?) OR (json_valid(payload_json) AND json_extract(payload_json, '$.frameId') = ?))", filter.frameId, filter.frameId);
  if (filter.setId !== undefined) add("json_valid(payload_json) AND json_extract(payload_json, '$.setId') = ?", filter.setId);
  if (filter.afterSeq !== undefined) add('seq > ?', filter.afterSeq);
  if (filter.beforeSeq !== undefined) add('seq < ?', filter.beforeSeq);
  if (filter.since) add('at >= ?', filter.since);
  if (filter.until) add('at <= ?', filter.until);
  if (filter.text) {
    // instr() on lower-cased text: no LIKE wildcards to escape in what the user typed.
    const needle = filter.text.toLowerCase();
    add("instr(lower(action || ' ' || entity_type || ':' || entity_id || ' ' || actor || ' ' || payload_json), ?) > 0", needle);
  }
  const order = filter.order === 'asc' ? 'ASC' : 'DESC';
  const limit = Math.max(1, Math.min(filter.limit ?? 1000, 100_000));
  const rows = db
    .prepare(`SELECT * FROM audit_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ${limit}`)
    .all(...args) as AuditRow[];
  return rows.map((r) => ({
    seq: r.seq, at: r.at, actor: r.actor, action: r.action, entityType: r.entity_type, entityId: r.entity_id,
    payload: parsePayload(r.payload_json), prevHash: r.prev_hash, hash: r.hash,
  }));
}

export function getAuditEvent(db: Db, seq: number): AuditEvent | undefined {
  return listAuditEvents(db, { afterSeq: seq - 1, beforeSeq: seq + 1, limit: 1 })[0];
}
