import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, GENESIS_HASH, openDatabase, recordLogOpened, schemaVersion, verifyAuditChain } from '../../src/store/index.js';
import { migrations } from '../../src/store/migrations/index.js';

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-store-'));
  dbPath = join(dir, 'workspace.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite store', () => {
  it('opens in WAL mode and applies every migration once', () => {
    const db = openDatabase(dbPath);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(migrations[migrations.length - 1]!.version);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
    for (const t of ['logs', 'runs', 'run_frames', 'detections', 'label_sets', 'labels', 'audit_events']) expect(tables).toContain(t);
    db.close();
    // Re-opening is idempotent.
    const again = openDatabase(dbPath);
    expect(schemaVersion(again)).toBe(migrations[migrations.length - 1]!.version);
    again.close();
  });

  it('refuses a database from a newer Sightline', () => {
    const raw = new Database(dbPath);
    raw.pragma('user_version = 999');
    raw.close();
    expect(() => openDatabase(dbPath)).toThrow(/newer than this Sightline/);
  });

  it('keeps the audit trail append-only and hash-chained', () => {
    const db = openDatabase(dbPath);
    const first = appendAudit(db, { actor: 'ana', action: 'test.one', entityType: 'thing', entityId: '1', payload: { b: 2, a: 1 } });
    const second = appendAudit(db, { actor: 'ben', action: 'test.two', entityType: 'thing', entityId: '2' });
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(verifyAuditChain(db)).toMatchObject({ ok: true, events: 2, headHash: second.hash });
    expect(() => db.prepare("UPDATE audit_events SET actor = 'eve' WHERE seq = ?").run(first.seq)).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events').run()).toThrow(/append-only/);

    // Someone with raw file access drops the trigger and edits a row: verification names the event.
    db.exec('DROP TRIGGER audit_events_no_update');
    db.prepare("UPDATE audit_events SET payload_json = '{\"a\":9}' WHERE seq = ?").run(first.seq);
    const result = verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.brokenAt).toEqual({ seq: first.seq, reason: 'content does not match its hash' });
    db.close();
  });

  it('registers a log once, with an audit event, and updates it on re-open', () => {
    const db = openDatabase(dbPath);
    const log = { id: 'abc', path: '/x/a.mcap', name: 'a.mcap', format: 'mcap', sizeBytes: 10, fingerprint: 'f'.repeat(64), frameCount: 5, durationS: 0.4 };
    recordLogOpened(db, log, 'ana');
    const again = recordLogOpened(db, { ...log, path: '/moved/a.mcap' }, 'ana');
    expect(again.path).toBe('/moved/a.mcap');
    const events = db.prepare("SELECT action FROM audit_events WHERE action = 'log.register'").all();
    expect(events).toHaveLength(1);
    db.close();
  });
});
