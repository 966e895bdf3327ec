// The logs aggregate: every log the workspace has opened, keyed by content fingerprint.
import type { Db } from './db.js';
import { appendAudit } from './audit.js';

export interface LogRecord {
  id: string;
  path: string;
  name: string;
  format: string;
  sizeBytes: number;
  fingerprint: string;
  sha256: string | null;
  frameCount: number | null;
  durationS: number | null;
  registeredAt: string;
  lastOpenedAt: string | null;
}

interface LogRow {
  id: string;
  path: string;
  name: string;
  format: string;
  size_bytes: number;
  fingerprint: string;
  sha256: string | null;
  frame_count: number | null;
  duration_s: number | null;
  registered_at: string;
  last_opened_at: string | null;
}

const fromRow = (r: LogRow): LogRecord => ({
  id: r.id,
  path: r.path,
  name: r.name,
  format: r.format,
  sizeBytes: r.size_bytes,
  fingerprint: r.fingerprint,
  sha256: r.sha256,
  frameCount: r.frame_count,
  durationS: r.duration_s,
  registeredAt: r.registered_at,
  lastOpenedAt: r.last_opened_at,
});

export function recordLogOpened(
  db: Db,
  log: { id: string; path: string; name: string; format: string; sizeBytes: number; fingerprint: string; frameCount: number; durationS: number },
  actor: string,
): LogRecord {
  const now = new Date().toISOString();
  return db.transaction(() => {
    const existing = db.prepare('SELECT * FROM logs WHERE id = ?').get(log.id) as LogRow | undefined;
    if (!existing) {
      db.prepare(
        `INSERT INTO logs (id, path, name, format, size_bytes, fingerprint, frame_count, duration_s, registered_at, last_opened_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(log.id, log.path, log.name, log.format, log.sizeBytes, log.fingerprint, log.frameCount, log.durationS, now, now);
      appendAudit(db, { actor, action: 'log.register', entityType: 'log', entityId: log.id, payload: { path: log.path, format: log.format, fingerprint: log.fingerprint } });
    } else {
      db.prepare('UPDATE logs SET path = ?, name = ?, frame_count = ?, duration_s = ?, last_opened_at = ? WHERE id = ?').run(
        log.path, log.name, log.frameCount, log.durationS, now, log.id,
      );
    }
    return fromRow(db.prepare('SELECT * FROM logs WHERE id = ?').get(log.id) as LogRow);
  })();
}

export function setLogSha256(db: Db, id: string, sha256: string): void {
  db.prepare('UPDATE logs SET sha256 = ? WHERE id = ?').run(sha256, id);
}

export function listRecentLogs(db: Db, limit = 50): LogRecord[] {
  return (db.prepare('SELECT * FROM logs ORDER BY last_opened_at DESC LIMIT ?').all(limit) as LogRow[]).map(fromRow);
}

export function getLogRecord(db: Db, id: string): LogRecord | undefined {
  const row = db.prepare('SELECT * FROM logs WHERE id = ?').get(id) as LogRow | undefined;
  return row && fromRow(row);
}
