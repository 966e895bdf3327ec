// Safety audits in the workspace database (schema v5): the audit row, its ranked misses and its path
// conflicts, written in one transaction with an audit event. The event's payload carries a sha256
// over the stored results, so a later edit of the rows (past the append-only triggers) is detectable.
import { createHash } from 'node:crypto';
import { appendAudit, canonicalJson } from '../store/audit.js';
import type { Db } from '../store/db.js';
import type { FrameRef, PathConflict, SafetyAuditRecord, SafetyAuditSummary, SafetyMiss, SafetyParams } from './model.js';

export interface NewSafetyAudit {
  logId: string;
  runId: number;
  labelSetId: number | null;
  params: SafetyParams;
  summary: SafetyAuditSummary;
  misses: readonly SafetyMiss[];
  conflicts: readonly PathConflict[];
  softwareVersion: string;
}

export function paramsKeyOfSafety(params: SafetyParams): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}

/** sha256 over the canonical misses and conflicts, in stored order. */
export function safetyResultsHash(misses: readonly SafetyMiss[], conflicts: readonly PathConflict[]): string {
  const hash = createHash('sha256');
  for (const m of misses) hash.update(canonicalJson(m)).update('\n');
  hash.update('--\n');
  for (const c of conflicts) hash.update(canonicalJson(c)).update('\n');
  return hash.digest('hex');
}

interface AuditRow {
  id: number;
  log_id: string;
  run_id: number;
  against: 'log' | 'label-set';
  label_set_id: number | null;
  params_json: string;
  summary_json: string;
  software_version: string;
  created_at: string;
  created_by: string;
  audit_seq: number;
}

const auditFromRow = (r: AuditRow): SafetyAuditRecord => ({
  id: r.id,
  logId: r.log_id,
  runId: r.run_id,
  against: r.against,
  labelSetId: r.label_set_id,
  params: JSON.parse(r.params_json) as SafetyParams,
  summary: JSON.parse(r.summary_json) as SafetyAuditSummary,
  softwareVersion: r.software_version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  auditSeq: r.audit_seq,
});

export function insertSafetyAudit(db: Db, audit: NewSafetyAudit, actor: string): SafetyAuditRecord {
  const now = new Date().toISOString();
  return db.transaction(() => {
    // The id is fixed first so the audit event can name it: rows are never updated.
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'safety_audits'").pluck().get() as number | undefined;
    const id = (seq ?? 0) + 1;
    const paramsKey = paramsKeyOfSafety(audit.params);
    const event = appendAudit(db, {
      actor,
      action: 'safety.audit',
      entityType: 'safety_audit',
      entityId: String(id),
      at: now,
      payload: {
        logId: audit.logId,
        runId: audit.runId,
        against: audit.labelSetId === null ? 'log' : 'label-set',
        labelSetId: audit.labelSetId,
        paramsKey,
        softwareVersion: audit.softwareVersion,
        misses: audit.misses.length,
        conflicts: audit.conflicts.length,
        resultsSha256: safetyResultsHash(audit.misses, audit.conflicts),
      },
    });
    db.prepare(
      `INSERT INTO safety_audits (id, log_id, run_id, against, label_set_id, params_json, params_key, summary_json, software_version, created_at, created_by, audit_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id, audit.logId, audit.runId, audit.labelSetId === null ? 'log' : 'label-set', audit.labelSetId, canonicalJson(audit.params), paramsKey,
      JSON.stringify(audit.summary), audit.softwareVersion, now, actor, event.seq,
    );
    const insertMiss = db.prepare(
      `INSERT INTO safety_misses (audit_id, rank, kind, reason, track_id, class, entry_frame_id, entry_frame_index, exit_frame_id, exit_frame_index,
                                  first_detected_frame_id, first_detected_frame_index, delay_frames, frames_json, critical_frame_count, min_ttc_s, min_distance_m, path, speed_mps)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const m of audit.misses) {
      insertMiss.run(
        id, m.rank, m.kind, m.reason, m.trackId, m.label, m.entryFrame.frameId, m.entryFrame.frameIndex, m.exitFrame.frameId, m.exitFrame.frameIndex,
        m.firstDetectedFrame?.frameId ?? null, m.firstDetectedFrame?.frameIndex ?? null, m.delayFrames, JSON.stringify(m.frames.map((f) => [f.frameId, f.frameIndex])),
        m.criticalFrameCount, m.minTtcS, m.minDistanceM, m.path, m.speedMps,
      );
    }
    const insertConflict = db.prepare(
      `INSERT INTO safety_conflicts (audit_id, frame_id, frame_index, path, origin, obstacle_id, track_id, class, arc_length_m, distance_m, min_distance_m, clearance_m,
                                     intrudes, ttc_s, critical, on_extension, detected, matched_id, speed_mps, horizon_m)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const bit = (b: boolean | null): number | null => (b === null ? null : b ? 1 : 0);
    for (const c of audit.conflicts) {
      insertConflict.run(
        id, c.frameId, c.frameIndex, c.path, c.origin, c.obstacleId, c.trackId, c.label, c.arcLengthM, c.distanceM, c.minDistanceM, c.clearanceM,
        bit(c.intrudes), c.ttcS, bit(c.critical), bit(c.onExtension), bit(c.detected), c.matchedId, c.speedMps, c.horizonM,
      );
    }
    return getSafetyAudit(db, id)!;
  }).immediate();
}

export function getSafetyAudit(db: Db, id: number): SafetyAuditRecord | undefined {
  const row = db.prepare('SELECT * FROM safety_audits WHERE id = ?').get(id) as AuditRow | undefined;
  return row && auditFromRow(row);
}

export function listSafetyAudits(db: Db, filter: { logId?: string; runId?: number; limit?: number } = {}): SafetyAuditRecord[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.logId !== undefined) {
    where.push('log_id = ?');
    args.push(filter.logId);
  }
  if (filter.runId !== undefined) {
    where.push('run_id = ?');
    args.push(filter.runId);
  }
  const sql = `SELECT * FROM safety_audits ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return (db.prepare(sql).all(...args, filter.limit ?? 1000) as AuditRow[]).map(auditFromRow);
}

/** The newest audit of a run on a log. */
export function latestSafetyAudit(db: Db, logId: string, runId: number): SafetyAuditRecord | undefined {
  return listSafetyAudits(db, { logId, runId, limit: 1 })[0];
}

interface MissRow {
  rank: number;
  kind: SafetyMiss['kind'];
  reason: SafetyMiss['reason'];
  track_id: string;
  class: string;
  entry_frame_id: string;
  entry_frame_index: number;
  exit_frame_id: string;
  exit_frame_index: number;
  first_detected_frame_id: string | null;
  first_detected_frame_index: number | null;
  delay_frames: number | null;
  frames_json: string;
  critical_frame_count: number;
  min_ttc_s: number | null;
  min_distance_m: number;
  path: string;
  speed_mps: number | null;
}

export function listSafetyMisses(db: Db, auditId: number): SafetyMiss[] {
  const rows = db.prepare('SELECT * FROM safety_misses WHERE audit_id = ? ORDER BY rank').all(auditId) as MissRow[];
  return rows.map((r) => ({
    rank: r.rank,
    kind: r.kind,
    reason: r.reason,
    trackId: r.track_id,
    label: r.class,
    entryFrame: { frameId: r.entry_frame_id, frameIndex: r.entry_frame_index },
    exitFrame: { frameId: r.exit_frame_id, frameIndex: r.exit_frame_index },
    firstDetectedFrame: r.first_detected_frame_id === null ? null : { frameId: r.first_detected_frame_id, frameIndex: r.first_detected_frame_index! },
    delayFrames: r.delay_frames,
    frames: (JSON.parse(r.frames_json) as Array<[string, number]>).map(([frameId, frameIndex]): FrameRef => ({ frameId, frameIndex })),
    criticalFrameCount: r.critical_frame_count,
    minTtcS: r.min_ttc_s,
    minDistanceM: r.min_distance_m,
    path: r.path,
    speedMps: r.speed_mps,
  }));
}

interface ConflictRow {
  frame_id: string;
  frame_index: number;
  path: string;
  origin: 'gt' | 'det';
  obstacle_id: string;
  track_id: string;
  class: string;
  arc_length_m: number;
  distance_m: number;
  min_distance_m: number;
  clearance_m: number;
  intrudes: number;
  ttc_s: number | null;
  critical: number;
  on_extension: number;
  detected: number | null;
  matched_id: string | null;
  speed_mps: number | null;
  horizon_m: number | null;
}

export interface ConflictFilter {
  frameId?: string;
  origin?: 'gt' | 'det';
  criticalOnly?: boolean;
  trackId?: string;
}

/** Conflicts in stored order (frame, then as the audit produced them). */
export function listSafetyConflicts(db: Db, auditId: number, filter: ConflictFilter = {}): PathConflict[] {
  const where = ['audit_id = ?'];
  const args: unknown[] = [auditId];
  if (filter.frameId !== undefined) {
    where.push('frame_id = ?');
    args.push(filter.frameId);
  }
  if (filter.origin !== undefined) {
    where.push('origin = ?');
    args.push(filter.origin);
  }
  if (filter.trackId !== undefined) {
    where.push('track_id = ?');
    args.push(filter.trackId);
  }
  if (filter.criticalOnly) where.push('critical = 1');
  const rows = db.prepare(`SELECT * FROM safety_conflicts WHERE ${where.join(' AND ')} ORDER BY rowid`).all(...args) as ConflictRow[];
  return rows.map((r) => ({
    frameId: r.frame_id,
    frameIndex: r.frame_index,
    path: r.path,
    origin: r.origin,
    obstacleId: r.obstacle_id,
    trackId: r.track_id,
    label: r.class,
    arcLengthM: r.arc_length_m,
    distanceM: r.distance_m,
    minDistanceM: r.min_distance_m,
    clearanceM: r.clearance_m,
    intrudes: r.intrudes === 1,
    ttcS: r.ttc_s,
    critical: r.critical === 1,
    onExtension: r.on_extension === 1,
    detected: r.detected === null ? null : r.detected === 1,
    matchedId: r.matched_id,
    speedMps: r.speed_mps,
    horizonM: r.horizon_m,
  }));
}

/** Whether the stored misses and conflicts still hash to what the audit event recorded. */
export function verifySafetyAudit(db: Db, auditId: number): { ok: boolean; expected: string | null; actual: string } {
  const audit = getSafetyAudit(db, auditId);
  const payload = audit ? (db.prepare('SELECT payload_json FROM audit_events WHERE seq = ?').pluck().get(audit.auditSeq) as string | undefined) : undefined;
  const expected = payload ? ((JSON.parse(payload) as { resultsSha256?: string }).resultsSha256 ?? null) : null;
  const actual = safetyResultsHash(listSafetyMisses(db, auditId), listSafetyConflicts(db, auditId));
  return { ok: expected !== null && expected === actual, expected, actual };
}
