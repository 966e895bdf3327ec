// The runs aggregate: one row per inference run, with its provenance (model, engine, provider,
// parameters, software version) and the bookkeeping that makes a killed run resumable.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from './db.js';
import { appendAudit, canonicalJson } from './audit.js';

export type RunStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export interface RunRecord {
  id: number;
  name: string;
  logId: string;
  kind: string;
  modelId: string | null;
  modelSha256: string | null;
  modelTask: string | null;
  /** Engine: onnx | tfjs | builtin. */
  engine: string | null;
  /** Execution provider or backend inside the engine: cuda, webgpu, cpu, wasm, ... */
  executionProvider: string | null;
  device: string | null;
  params: Record<string, unknown>;
  paramsKey: string | null;
  softwareVersion: string;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  framesTotal: number | null;
  framesDone: number;
  framesPerS: number | null;
  timings: Record<string, unknown>;
  error: string | null;
  ownerPid: number | null;
  ownerHost: string | null;
  heartbeatAt: string | null;
}

interface RunRow {
  id: number;
  name: string;
  log_id: string;
  kind: string;
  model_id: string | null;
  model_sha256: string | null;
  model_task: string | null;
  backend: string | null;
  execution_provider: string | null;
  device: string | null;
  params_json: string;
  params_key: string | null;
  software_version: string;
  status: RunStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  frames_total: number | null;
  frames_done: number;
  frames_per_s: number | null;
  timings_json: string;
  error: string | null;
  owner_pid: number | null;
  owner_host: string | null;
  heartbeat_at: string | null;
}

const fromRow = (r: RunRow): RunRecord => ({
  id: r.id,
  name: r.name,
  logId: r.log_id,
  kind: r.kind,
  modelId: r.model_id,
  modelSha256: r.model_sha256,
  modelTask: r.model_task,
  engine: r.backend,
  executionProvider: r.execution_provider,
  device: r.device,
  params: JSON.parse(r.params_json) as Record<string, unknown>,
  paramsKey: r.params_key,
  softwareVersion: r.software_version,
  status: r.status,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  framesTotal: r.frames_total,
  framesDone: r.frames_done,
  framesPerS: r.frames_per_s,
  timings: JSON.parse(r.timings_json) as Record<string, unknown>,
  error: r.error,
  ownerPid: r.owner_pid,
  ownerHost: r.owner_host,
  heartbeatAt: r.heartbeat_at,
});

/** The key two runs share when they would compute the same results (resume matches on it). */
export function paramsKeyOf(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}

export interface NewRun {
  name: string;
  logId: string;
  modelId: string;
  modelSha256: string;
  modelTask: string;
  device: string;
  params: Record<string, unknown>;
  softwareVersion: string;
  framesTotal: number;
}

export function createRun(db: Db, run: NewRun, actor: string): RunRecord {
  const now = new Date().toISOString();
  return db.transaction(() => {
    const result = db
      .prepare(
        `INSERT INTO runs (name, log_id, kind, model_id, model_sha256, model_task, device, params_json, params_key,
                           software_version, status, created_at, frames_total, frames_done)
         VALUES (?, ?, 'inference', ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 0)`,
      )
      .run(run.name, run.logId, run.modelId, run.modelSha256, run.modelTask, run.device, canonicalJson(run.params), paramsKeyOf(run.params), run.softwareVersion, now, run.framesTotal);
    const id = Number(result.lastInsertRowid);
    appendAudit(db, {
      actor,
      action: 'run.create',
      entityType: 'run',
      entityId: String(id),
      payload: { logId: run.logId, modelId: run.modelId, modelSha256: run.modelSha256, params: run.params, softwareVersion: run.softwareVersion },
    });
    return getRun(db, id)!;
  })();
}

export function getRun(db: Db, id: number): RunRecord | undefined {
  const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  return row && fromRow(row);
}

export function listRuns(db: Db, filter: { logId?: string; limit?: number } = {}): RunRecord[] {
  const limit = filter.limit ?? 1000;
  const rows = filter.logId
    ? (db.prepare('SELECT * FROM runs WHERE log_id = ? ORDER BY id DESC LIMIT ?').all(filter.logId, limit) as RunRow[])
    : (db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit) as RunRow[]);
  return rows.map(fromRow);
}

/** Whether the process that owns a 'running' run is still alive (same host only; other hosts count as alive). */
export function isRunOwnerAlive(run: RunRecord): boolean {
  if (run.status !== 'running' || run.ownerPid === null) return false;
  if (run.ownerHost !== hostname()) return true;
  if (run.ownerPid === process.pid) return true;
  try {
    process.kill(run.ownerPid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The latest unfinished run with the same log, model file and parameters, if any. */
export function findResumableRun(db: Db, match: { logId: string; modelId: string; modelSha256: string; params: Record<string, unknown> }): RunRecord | undefined {
  const row = db
    .prepare(
      `SELECT * FROM runs WHERE log_id = ? AND model_id = ? AND model_sha256 = ? AND params_key = ?
         AND status IN ('pending', 'running', 'failed', 'cancelled')
       ORDER BY id DESC LIMIT 1`,
    )
    .get(match.logId, match.modelId, match.modelSha256, paramsKeyOf(match.params)) as RunRow | undefined;
  return row && fromRow(row);
}

/** Claims a run for this process and marks it running; records the engine once it is known. */
export function markRunStarted(db: Db, id: number, actor: string, resumed: boolean, framesTotal: number): RunRecord {
  const now = new Date().toISOString();
  return db.transaction(() => {
    db.prepare(
      `UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), finished_at = NULL, error = NULL,
                       frames_total = ?, owner_pid = ?, owner_host = ?, heartbeat_at = ? WHERE id = ?`,
    ).run(now, framesTotal, process.pid, hostname(), now, id);
    const run = getRun(db, id)!;
    appendAudit(db, {
      actor,
      action: resumed ? 'run.resume' : 'run.start',
      entityType: 'run',
      entityId: String(id),
      payload: { framesDone: run.framesDone, framesTotal, pid: process.pid, host: hostname() },
    });
    return run;
  })();
}

export function setRunEngine(db: Db, id: number, engine: { engine: string; executionProvider: string }): void {
  db.prepare('UPDATE runs SET backend = ?, execution_provider = ? WHERE id = ?').run(engine.engine, engine.executionProvider, id);
}

export interface RunFinish {
  status: Extract<RunStatus, 'done' | 'failed' | 'cancelled'>;
  framesPerS: number | null;
  timings: Record<string, unknown>;
  error?: string;
}

export function finishRun(db: Db, id: number, finish: RunFinish, actor: string): RunRecord {
  const now = new Date().toISOString();
  return db.transaction(() => {
    db.prepare(
      `UPDATE runs SET status = ?, finished_at = ?, frames_per_s = ?, timings_json = ?, error = ?, owner_pid = NULL, heartbeat_at = ?
       WHERE id = ?`,
    ).run(finish.status, now, finish.framesPerS, canonicalJson(finish.timings), finish.error ?? null, now, id);
    const run = getRun(db, id)!;
    appendAudit(db, {
      actor,
      action: `run.${finish.status === 'done' ? 'finish' : finish.status === 'cancelled' ? 'cancel' : 'fail'}`,
      entityType: 'run',
      entityId: String(id),
      payload: { status: finish.status, framesDone: run.framesDone, framesTotal: run.framesTotal, framesPerS: finish.framesPerS, error: finish.error },
    });
    return run;
  })();
}

/** Frame ids this run has finished (their results are committed). */
export function completedFrameIds(db: Db, runId: number): Set<string> {
  const rows = db.prepare('SELECT frame_id FROM run_frames WHERE run_id = ?').pluck().all(runId) as string[];
  return new Set(rows);
}
