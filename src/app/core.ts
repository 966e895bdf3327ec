// The application core: open logs, the workspace store and the event bus. Transports
// (IPC, HTTP) reach it only through the handler table in src/api/handlers.ts.
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { ApiError, type EventName, type Events } from '../api/contract.js';
import type { DriveLog, FrameInclude } from '../logs/driveLog.js';
import { LogError } from '../logs/errors.js';
import type { FrameData, LogInfo } from '../logs/model.js';
import { detectLog, logIdFromFingerprint, LogNotFoundError, openDriveLog, sha256File } from '../logs/open.js';
import { openDatabase, type Db } from '../store/db.js';
import { getLogRecord, listRecentLogs, recordLogOpened, setLogSha256 } from '../store/logs.js';
import { defaultActor } from './paths.js';

export interface CoreOptions {
  dbPath: string;
  actor?: string;
  /** Compute full-content sha256 of opened logs in the background (provenance). */
  hashLogs?: boolean;
}

type Listener<E extends EventName> = (payload: Events[E]) => void;

export class SightlineCore {
  readonly db: Db;
  readonly actor: string;
  private readonly logs = new Map<string, DriveLog>();
  private readonly opening = new Map<string, Promise<LogInfo>>();
  private readonly bus = new EventEmitter();
  private readonly hashLogs: boolean;
  private hashing = new Set<string>();

  constructor(options: CoreOptions) {
    this.db = openDatabase(options.dbPath);
    this.actor = options.actor ?? defaultActor();
    this.hashLogs = options.hashLogs ?? true;
    this.bus.setMaxListeners(100);
  }

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    this.bus.on(event, listener);
    return () => this.bus.off(event, listener);
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    this.bus.emit(event, payload);
  }

  openLogIds(): string[] {
    return [...this.logs.keys()];
  }

  async openLog(rawPath: string, referenceSensor?: string): Promise<LogInfo> {
    const path = resolve(rawPath);
    const key = `${path}|${referenceSensor ?? ''}`;
    const pending = this.opening.get(key);
    if (pending) return pending;
    const task = this.openLogUncached(path, referenceSensor).finally(() => this.opening.delete(key));
    this.opening.set(key, task);
    return task;
  }

  private async openLogUncached(path: string, referenceSensor?: string): Promise<LogInfo> {
    const detected = await detectLog(path).catch(toApiError);
    const logId = logIdFromFingerprint(detected.fingerprint);
    const existing = this.logs.get(logId);
    if (existing && (!referenceSensor || existing.info.referenceSensor === referenceSensor)) return existing.info;
    const drive = await openDriveLog(path, detected, { logId, referenceSensor }).catch(toApiError);
    if (existing) await existing.close();
    this.logs.set(logId, drive);
    const info = drive.info;
    recordLogOpened(this.db, { ...info, sizeBytes: detected.sizeBytes }, this.actor);
    this.emit('logOpened', { logId, name: info.name });
    if (this.hashLogs) this.hashInBackground(logId, path);
    return info;
  }

  private hashInBackground(logId: string, path: string): void {
    if (this.hashing.has(logId) || getLogRecord(this.db, logId)?.sha256) return;
    this.hashing.add(logId);
    const taskId = `hash:${logId}`;
    let lastEmit = 0;
    sha256File(path, (done, total) => {
      const now = Date.now();
      if (now - lastEmit < 250) return;
      lastEmit = now;
      this.emit('progress', { taskId, label: `Hashing ${path}`, done, total, state: 'running' });
    })
      .then((sha) => {
        if (this.db.open) setLogSha256(this.db, logId, sha);
        this.emit('progress', { taskId, label: `Hashing ${path}`, done: 1, total: 1, state: 'done' });
      })
      .catch((error: Error) => this.emit('notice', { level: 'warning', message: `Could not hash ${path}: ${error.message}` }))
      .finally(() => this.hashing.delete(logId));
  }

  getLog(logId: string): DriveLog {
    const log = this.logs.get(logId);
    if (!log) throw new ApiError('NOT_FOUND', `No open log with id '${logId}'. Open it first (openLog).`);
    return log;
  }

  async closeLog(logId: string): Promise<boolean> {
    const log = this.logs.get(logId);
    if (!log) return false;
    this.logs.delete(logId);
    await log.close();
    this.emit('logClosed', { logId });
    return true;
  }

  async getFrame(logId: string, index: number, include?: Partial<FrameInclude>): Promise<FrameData> {
    const log = this.getLog(logId);
    if (index >= log.frames.length) {
      throw new ApiError('OUT_OF_RANGE', `Frame ${index} is out of range: ${log.info.name} has ${log.frames.length} frames (0–${log.frames.length - 1})`, {
        frameCount: log.frames.length,
      });
    }
    return log.readFrame(index, include).catch(toApiError);
  }

  listLogs() {
    const open = new Map([...this.logs].map(([id, log]) => [id, log.info]));
    const entries = listRecentLogs(this.db).map((r) => ({
      logId: r.id,
      path: r.path,
      name: r.name,
      format: r.format,
      open: open.has(r.id),
      lastOpenedAt: r.lastOpenedAt,
    }));
    // Open logs first, then most recent.
    return entries.sort((a, b) => Number(b.open) - Number(a.open));
  }

  async close(): Promise<void> {
    await Promise.all([...this.logs.values()].map((l) => l.close()));
    this.logs.clear();
    this.bus.removeAllListeners();
    // Let a background hash finish its last write or notice the closed database.
    if (this.db.open) this.db.close();
  }
}

/** Maps reader errors onto the contract's error codes. */
export function toApiError(error: unknown): never {
  if (error instanceof ApiError) throw error;
  if (error instanceof LogNotFoundError) throw new ApiError('NOT_FOUND', error.message);
  if (error instanceof LogError) {
    const code = /out of range/.test(error.message) ? 'OUT_OF_RANGE' : 'BAD_LOG';
    throw new ApiError(code, error.message, { ...error.where });
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') throw new ApiError('NOT_FOUND', e.message);
  if (e?.code === 'EACCES') throw new ApiError('BAD_LOG', e.message);
  throw new ApiError('INTERNAL', e?.message ?? String(error));
}
