// The application core: open logs, the workspace store and the event bus. Transports
// (IPC, HTTP) reach it only through the handler table in src/api/handlers.ts.
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import {
  ApiError,
  type DetectionEntry,
  type EventName,
  type Events,
  type FrameDetections,
  type FramePlan,
  type MethodInput,
  type PlanIntrusion,
  type ModelEntry,
  type RunInfo,
} from '../api/contract.js';
import { ModelError } from '../infer/errors.js';
import { LIDAR_CLASSES, LIDAR_MODEL_ID, lidarModel } from '../infer/pipeline/lidarModel.js';
import { runInference, type RunHandle } from '../infer/pipeline/run.js';
import { ModelRegistry } from '../infer/registry.js';
import type { DriveLog, FrameInclude } from '../logs/driveLog.js';
import { LogError } from '../logs/errors.js';
import type { Box3D, FrameData, FrameStub, LogInfo, Vec3 } from '../logs/model.js';
import { hashPlanInputs, PlanCache, planFrameOffThread, type CorridorIntrusion, type PlanFrameOptions, type PlannedFrame } from '../plan/index.js';
import { detectLog, logIdFromFingerprint, LogNotFoundError, openDriveLog, sha256File } from '../logs/open.js';
import { openDatabase, type Db } from '../store/db.js';
import { getLogRecord, listRecentLogs, recordLogOpened, setLogSha256 } from '../store/logs.js';
import { getRunFrame, listDetections, listMasks, listPointLabels, type DetectionRecord } from '../store/detections.js';
import { getRun, listRuns, type RunRecord } from '../store/runs.js';
import { defaultActor } from './paths.js';

export interface CoreOptions {
  dbPath: string;
  actor?: string;
  /** Compute full-content sha256 of opened logs in the background (provenance). */
  hashLogs?: boolean;
  /** Data directory of the model registry (models/registry.json); the workspace default when omitted. */
  registryDir?: string;
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
  readonly registryDir?: string;
  private readonly runs = new Map<number, RunHandle>();
  /** Plans by frame and inputs, pending ones included: a second request for a frame waits for the first. */
  private readonly plans = new PlanCache<Promise<PlannedFrame>>(256);

  constructor(options: CoreOptions) {
    this.db = openDatabase(options.dbPath);
    this.actor = options.actor ?? defaultActor();
    this.hashLogs = options.hashLogs ?? true;
    this.registryDir = options.registryDir;
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

  /** Frames and info of an open log, or undefined (for services that only need them when open). */
  openFrames(logId: string): readonly FrameStub[] | undefined {
    return this.logs.get(logId)?.frames;
  }

  openLogInfo(logId: string): LogInfo | undefined {
    return this.logs.get(logId)?.info;
  }

  /** A frame's plan from the cache, else computed on the planner's worker thread (once per frame and inputs). */
  private planCached(frame: FrameData, options: PlanFrameOptions): Promise<PlannedFrame> {
    const inputs = hashPlanInputs(options);
    return this.plans.getOrCompute(frame.id, inputs, () =>
      planFrameOffThread(frame, options).catch((error: unknown) => {
        this.plans.delete(frame.id, inputs); // a failed plan is not remembered
        throw error;
      }),
    );
  }

  /** The planner's reference path for one frame; obstacles from the log's ground truth or a run's 3D detections. */
  async getPlan(logId: string, index: number, runId?: number): Promise<FramePlan> {
    const frame = await this.getFrame(logId, index, { cameras: false, lidar: true });
    let obstacles: Box3D[] | undefined;
    if (runId !== undefined) {
      obstacles = listDetections(this.db, runId, { frameId: frame.id }).flatMap((d, i) =>
        d.box3d
          ? [{ id: `run${runId}:${i}`, label: d.class, center: [d.box3d.cx, d.box3d.cy, d.box3d.cz] as Vec3, size: [d.box3d.length, d.box3d.width, d.box3d.height] as Vec3, yaw: d.box3d.yaw, score: d.score }]
          : [],
      );
    }
    const plan = await this.planCached(frame, { obstacles, movingObstacles: 'follow' });
    const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
    const intrusion = (i: CorridorIntrusion): PlanIntrusion => ({
      obstacleId: i.obstacleId,
      label: i.label,
      arcLengthM: i.arcLengthM,
      lateralM: i.lateralM,
      minDistanceM: i.minDistanceM,
      clearanceM: i.clearanceM,
      intrudes: i.intrudes,
    });
    return {
      frameId: plan.frameId,
      planned: {
        points: plan.planned.points,
        blocked: plan.planned.blocked,
        stopDistanceM: finite(plan.planned.stopDistanceM),
        minClearanceM: finite(plan.planned.minClearanceM),
        lengthM: plan.planned.lengthM,
        warnings: plan.planned.warnings,
      },
      corridorHalfWidthM: plan.corridorHalfWidthM,
      intrusions: plan.intrusions.map(intrusion),
      drivenIntrusions: plan.drivenIntrusions?.map(intrusion),
      timings: { totalMs: plan.timings.totalMs, gridMs: plan.timings.gridMs, planMs: plan.timings.planMs },
    };
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

  // ---- inference runs ----

  listModels(): ModelEntry[] {
    const registry = ModelRegistry.open(this.registryDir);
    const models: ModelEntry[] = registry.list().map((m) => ({
      id: m.id,
      name: m.name,
      task: m.task,
      format: m.format,
      builtin: m.builtin,
      classes: m.manifest.classes,
      ...(m.sha256 ? { sha256: m.sha256 } : {}),
      ...(m.manifest.description ? { description: m.manifest.description } : {}),
    }));
    const lidar = lidarModel();
    models.push({ id: LIDAR_MODEL_ID, name: String(lidar.manifest.name), task: 'segment3d', format: 'builtin', builtin: true, classes: LIDAR_CLASSES });
    return models;
  }

  /** Starts (or resumes) a run on an open log; resolves once it is recorded and under way. */
  async startRun(input: MethodInput<'startRun'>): Promise<RunInfo> {
    const drive = this.getLog(input.logId);
    const handle = await runInference({
      db: this.db,
      logPath: drive.info.path,
      drive,
      modelId: input.modelId,
      device: input.device ?? 'auto',
      sensors: input.sensor ? [input.sensor] : undefined,
      frameRange: input.frameRange,
      lidar: input.lidar,
      resume: input.resume ?? 'auto',
      registryDir: this.registryDir,
      actor: this.actor,
      onProgress: (progress) => {
        // A finished run is no longer active by the time anyone hears that it finished.
        if (progress.status !== 'running') this.runs.delete(progress.runId);
        this.emit('runProgress', progress);
      },
    }).catch(toApiError);
    if (handle.progress.status === 'running') this.runs.set(handle.runId, handle);
    void handle.done.then((summary) => {
      this.runs.delete(handle.runId);
      if (summary.status === 'failed') this.emit('notice', { level: 'error', message: `Run ${summary.runId} failed: ${summary.error}` });
    });
    return this.getRunInfo(handle.runId);
  }

  /** Cancels a run of this server and waits until it has stopped; false when it was not running here. */
  async cancelRun(runId: number): Promise<{ cancelled: boolean; run: RunInfo }> {
    const handle = this.runs.get(runId);
    if (!handle) return { cancelled: false, run: this.getRunInfo(runId) };
    handle.cancel();
    await handle.done;
    return { cancelled: true, run: this.getRunInfo(runId) };
  }

  listRuns(logId?: string): RunInfo[] {
    return listRuns(this.db, { logId }).map((r) => this.toRunInfo(r));
  }

  getRunInfo(runId: number): RunInfo {
    const run = getRun(this.db, runId);
    if (!run) throw new ApiError('NOT_FOUND', `No run with id ${runId}`);
    return this.toRunInfo(run);
  }

  getDetections(runId: number, frameId: string): FrameDetections {
    this.getRunInfo(runId);
    const frame = getRunFrame(this.db, runId, frameId);
    return {
      runId,
      frameId,
      completed: frame !== undefined,
      error: frame?.error ?? null,
      detections: listDetections(this.db, runId, { frameId }).map(toDetectionEntry),
      masks: listMasks(this.db, runId, frameId).map((m) => ({ sensorId: m.sensorId, head: m.head, classes: m.classes, width: m.width, height: m.height, png: m.data })),
      pointLabels: listPointLabels(this.db, runId, frameId).map((p) => ({ sensorId: p.sensorId, classes: p.classes, labels: p.labels })),
    };
  }

  private toRunInfo(r: RunRecord): RunInfo {
    return {
      runId: r.id,
      name: r.name,
      logId: r.logId,
      modelId: r.modelId,
      modelSha256: r.modelSha256,
      modelTask: r.modelTask,
      engine: r.engine,
      executionProvider: r.executionProvider,
      device: r.device,
      params: r.params,
      softwareVersion: r.softwareVersion,
      status: r.status,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      framesTotal: r.framesTotal,
      framesDone: r.framesDone,
      framesPerS: r.framesPerS,
      error: r.error,
      active: this.runs.has(r.id),
    };
  }

  async close(): Promise<void> {
    // Stop runs first: their last commits need the database.
    const active = [...this.runs.values()];
    for (const run of active) run.cancel();
    await Promise.all(active.map((run) => run.done));
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
  if (error instanceof ModelError) throw new ApiError(/^Unknown model|not found/i.test(error.message) ? 'NOT_FOUND' : 'BAD_INPUT', error.message, { ...error.where });
  if (error instanceof LogError) {
    const code = /out of range/.test(error.message) ? 'OUT_OF_RANGE' : 'BAD_LOG';
    throw new ApiError(code, error.message, { ...error.where });
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') throw new ApiError('NOT_FOUND', e.message);
  if (e?.code === 'EACCES') throw new ApiError('BAD_LOG', e.message);
  throw new ApiError('INTERNAL', e?.message ?? String(error));
}

function toDetectionEntry(d: DetectionRecord): DetectionEntry {
  return {
    detectionId: d.id,
    frameId: d.frameId,
    frameIndex: d.frameIndex,
    stampNs: d.frameStampNs,
    sensorId: d.sensorId,
    class: d.class,
    modelClass: d.modelClass,
    score: d.score,
    box2d: d.box2d,
    box3d: d.box3d ? { center: [d.box3d.cx, d.box3d.cy, d.box3d.cz], size: [d.box3d.length, d.box3d.width, d.box3d.height], yaw: d.box3d.yaw } : null,
    trackId: d.trackId,
  };
}
