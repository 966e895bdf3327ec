// Append-only, hash-chained audit trail: each event stores the previous event's hash.
import { createHash } from 'node:crypto';
import type { Db } from './db.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  payload?: unknown;
  at?: string;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  payload: unknown;
  prevHash: string;
  hash: string;
}

/** Stable JSON: sorted keys, so the hash does not depend on property order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function eventHash(prevHash: string, e: Omit<AuditEvent, 'seq' | 'hash' | 'prevHash' | 'payload'> & { payloadJson: string }): string {
  const body = canonicalJson({ at: e.at, actor: e.actor, action: e.action, entityType: e.entityType, entityId: e.entityId, payload: e.payloadJson });
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}

/** Appends one event. Call inside the transaction that makes the change it records. */
export function appendAudit(db: Db, input: AuditInput): AuditEvent {
  const head = db.prepare('SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { hash: string } | undefined;
  const prevHash = head?.hash ?? GENESIS_HASH;
  const at = input.at ?? new Date().toISOString();
  const payloadJson = canonicalJson(input.payload ?? {});
  const hash = eventHash(prevHash, { at, actor: input.actor, action: input.action, entityType: input.entityType, entityId: input.entityId, payloadJson });
  const result = db
    .prepare(
      'INSERT INTO audit_events (at, actor, action, entity_type, entity_id, payload_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .run(at, input.actor, input.action, input.entityType, input.entityId, payloadJson, prevHash, hash);
  return { seq: Number(result.lastInsertRowid), at, actor: input.actor, action: input.action, entityType: input.entityType, entityId: input.entityId, payload: input.payload ?? {}, prevHash, hash };
}

export interface ChainVerification {
  ok: boolean;
  events: number;
  headHash: string;
  /** First event whose stored hashes do not match the recomputed chain. */
  brokenAt?: { seq: number; reason: string };
}

export function verifyAuditChain(db: Db): ChainVerification {
  let prev = GENESIS_HASH;
  let count = 0;
  const rows = db
    .prepare('SELECT seq, at, actor, action, entity_type, entity_id, payload_json, prev_hash, hash FROM audit_events ORDER BY seq')
    .iterate() as IterableIterator<{ seq: number; at: string; actor: string; action: string; entity_type: string; entity_id: string; payload_json: string; prev_hash: string; hash: string }>;
  for (const row of rows) {
    count++;
    if (row.prev_hash !== prev) return { ok: false, events: count, headHash: prev, brokenAt: { seq: row.seq, reason: 'prev_hash does not match the previous event' } };
    const expected = eventHash(prev, { at: row.at, actor: row.actor, action: row.action, entityType: row.entity_type, entityId: row.entity_id, payloadJson: row.payload_json });
    if (expected !== row.hash) return { ok: false, events: count, headHash: prev, brokenAt: { seq: row.seq, reason: 'content does not match its hash' } };
    prev = row.hash;
  }
  return { ok: true, events: count, headHash: prev };
}
