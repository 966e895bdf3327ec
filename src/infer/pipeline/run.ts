// Runs a model over a drive log as a pipeline of worker-thread stages joined by bounded queues:
//
//   frames ─► read (worker: log I/O, payload copies) ─► images ─► preprocess (pool: sharp decode,
//   resize, normalize) ─► tensors ─► infer (pool: one engine session per worker, batched) ─► raw
//   ─► postprocess (worker: decode, NMS, mask PNG) ─┐
//   sweeps ─► lidar (worker: ground, clusters, boxes)┴─► frame assembly ─► write (batched transactions)
//
// The main thread only routes messages (typed arrays move by transfer) and commits finished frames,
// so a server's event loop stays responsive. A frame's results and its run_frames row commit in one
// transaction: a killed run resumes at the first missing frame and never writes a frame twice.
import { availableParallelism, cpus } from 'node:os';
import { ApiError } from '../../api/contract.js';
import { defaultActor } from '../../app/paths.js';
import type { DriveLog } from '../../logs/driveLog.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../logs/open.js';
import type { Db } from '../../store/db.js';
import { createFrameWriter, type DetectionInput, type FrameResult } from '../../store/detections.js';
import { getLogRecord, recordLogOpened } from '../../store/logs.js';
import {
  completedFrameIds,
  createRun,
  findResumableRun,
  finishRun,
  getRun,
  isRunOwnerAlive,
  markRunStarted,
  setRunEngine,
  type RunRecord,
  type RunStatus,
} from '../../store/runs.js';
import { softwareVersion } from '../../version.js';
import type { DeviceChoice, PreparedInput } from '../types.js';
import { compiledPipelineModule } from './compiled.js';
import { loadModelStageFactory } from './factory.js';
import { LIDAR_CLASSES, LIDAR_MODEL_ID, lidarModel } from './lidarModel.js';
import { RateMeter, type RunProgress } from './progress.js';
import {
  transferList,
  type InferResult,
  type LidarResult,
  type PipelineModel,
  type PostprocessResult,
  type ReadImage,
  type ReadResult,
  type FusionRequest,
  type ReadSweep,
  type StageReady,
} from './protocol.js';
import { BoundedQueue } from './queue.js';
import { StageError, WorkerPool, type Lease } from './workerPool.js';

/**
 * Finished frames are committed together, up to this many per transaction, or after FLUSH_MS when
 * fewer are ready: fewer, larger commits write each index page to the WAL fewer times, and a kill
 * loses at most the frames of one uncommitted batch (a resume recomputes them).
 */
export const WRITE_BATCH_FRAMES = 32;
export const FLUSH_MS = 250;

export interface FrameRange {
  /** First frame index (inclusive); 0 when omitted. */
  start?: number;
  /** Frame index to stop before (exclusive); the frame count when omitted. */
  end?: number;
}

export interface WorkerCounts {
  preprocess?: number;
  infer?: number;
  postprocess?: number;
  lidar?: number;
  /** Engine threads per inference worker; default: the cores split between the inference workers. */
  inferThreads?: number;
}

export interface InferenceOptions {
  db: Db;
  /** The log to run on (file or folder). */
  logPath: string;
  /** Already-open log (the app core's), so that it is not opened twice on this thread. */
  drive?: DriveLog;
  referenceSensor?: string;
  /** A registry model id, or 'lidar-clusters' for the built-in lidar obstacle detector alone. */
  modelId: string;
  device?: DeviceChoice;
  /** Camera sensor ids to run the model on; every camera when omitted. */
  sensors?: string[];
  frameRange?: FrameRange;
  /** Also run lidar ground segmentation + clustering on each sweep (3D boxes and point labels). */
  lidar?: boolean;
  /**
   * 'auto' (default): continue the latest unfinished run with the same log, model file and
   * parameters, else start a new one. A run id: continue that run. 'new': always start a new run.
   */
  resume?: 'auto' | 'new' | number;
  workers?: WorkerCounts;
  /** Frames committed per transaction, at most (a partial batch commits after `flushMs`). */
  writeBatchFrames?: number;
  flushMs?: number;
  /** Data directory holding models/registry.json (default: the workspace data directory). */
  registryDir?: string;
  /** Module exporting `modelStageFactory` (tests and benchmarks may swap the model pieces). */
  stagesModule?: string;
  actor?: string;
  onProgress?: (progress: RunProgress) => void;
  /** Engine notes (providers tried, backend fallbacks). */
  onLog?: (message: string) => void;
  name?: string;
}

export interface StageTiming {
  workers: number;
  jobs: number;
  busyMs: number;
  msPerJob: number;
}

export interface RunSummary {
  runId: number;
  status: Exclude<RunStatus, 'pending' | 'running'>;
  resumed: boolean;
  framesDone: number;
  framesTotal: number;
  /** Frames this session computed and committed (a resumed run skips earlier ones). */
  framesThisSession: number;
  detectionsThisSession: number;
  /** Frames of this session whose data could not be used (stored as done, with the error, no results). */
  frameErrors: number;
  /** Wall time from the first frame dispatched to the last committed, seconds. */
  elapsedS: number;
  framesPerS: number;
  engine: string | null;
  executionProvider: string | null;
  error?: string;
  timings: Record<string, unknown>;
}

export interface RunHandle {
  readonly runId: number;
  readonly resumed: boolean;
  /** The run record as it was when the run started. */
  readonly run: RunRecord;
  /** Latest progress. */
  readonly progress: RunProgress;
  onProgress(listener: (progress: RunProgress) => void): () => void;
  /** Stops at once: finished frames are kept, frames in flight are dropped (a resume redoes them). */
  cancel(): void;
  /** Settles when the run has stopped (done, cancelled or failed); never rejects. */
  readonly done: Promise<RunSummary>;
}

class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

interface ImageItem {
  frame: number;
  image: ReadImage;
}
interface TensorItem {
  frame: number;
  sensorId: string;
  input: PreparedInput;
}
interface RawItem {
  frame: number;
  sensorId: string;
  result: InferResult['outputs'][number];
  input: { dims: number[]; transform: PreparedInput['transform'] };
}
interface SweepItem {
  frame: number;
  sweep: ReadSweep;
  cameras?: FusionRequest[];
}
interface FrameState {
  result: FrameResult;
  pending: number;
  /** Fusion: the sweep waits here until every camera of the frame has its detections. */
  sweep?: ReadSweep;
  camerasLeft: number;
  cameraGeometry: Map<string, Pick<ReadImage, 'intrinsics' | 'extrinsic'>>;
  /** Each camera's detections, as stored (fusion fills in their 3D boxes). */
  cameras: Map<string, DetectionInput[]>;
}

/** Parses 'A:B' (half-open, either end optional) into a FrameRange. */
export function parseFrameRange(text: string): FrameRange {
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(text);
  if (!m) throw new ApiError('BAD_INPUT', `Bad frame range '${text}': expected A:B (frames A up to, not including, B; either may be left out)`);
  return { start: m[1] ? Number(m[1]) : undefined, end: m[2] ? Number(m[2]) : undefined };
}

function defaultWorkers(requested: WorkerCounts = {}, cores: number): Required<WorkerCounts> {
  const infer = Math.max(1, requested.infer ?? 1);
  return {
    preprocess: Math.max(1, requested.preprocess ?? 1),
    infer,
    postprocess: Math.max(1, requested.postprocess ?? 1),
    lidar: Math.max(1, requested.lidar ?? 1),
    inferThreads: Math.max(1, requested.inferThreads ?? Math.floor(cores / infer)),
  };
}

/**
 * Prepares a run (opens the log, resolves the model, creates or resumes the run record) and starts
 * its pipeline. Throws ApiError for bad input (unknown run, sensor or frame range); the model id and
 * log are checked by their own modules and throw their errors.
 */
export async function runInference(options: InferenceOptions): Promise<RunHandle> {
  const db = options.db;
  const actor = options.actor ?? defaultActor();
  const device = options.device ?? 'auto';

  // ---- the log ----
  let drive = options.drive;
  const ownDrive = !drive;
  if (!drive) {
    const detected = await detectLog(options.logPath);
    drive = await openDriveLog(options.logPath, detected, { logId: logIdFromFingerprint(detected.fingerprint), referenceSensor: options.referenceSensor, egoTrajectory: false });
    recordLogOpened(db, { ...drive.info, sizeBytes: detected.sizeBytes }, actor);
  } else if (!getLogRecord(db, drive.info.id)) {
    recordLogOpened(db, drive.info, actor);
  }
  const log = drive;
  try {
    return await prepare();
  } finally {
    // This thread needs the log's info and frame table only; closing also stops its background
    // reading (the ego trajectory), which would compete with the stages for the cores.
    if (ownDrive) await log.close().catch(() => undefined);
  }

  async function prepare(): Promise<RunHandle> {
    const logId = log.info.id;
    const lidarOnly = options.modelId === LIDAR_MODEL_ID;
    // Workers run compiled code: fail here, before any run is recorded, when it is not built.
    const workerScript = compiledPipelineModule('stageWorker');
    // Workers import the factory by URL (compiled); this thread imports it as a module of its own graph.
    const stagesModule = options.stagesModule ?? compiledPipelineModule('modelStages').href;
    const factory = options.stagesModule ? await loadModelStageFactory(options.stagesModule) : (await import('./modelStages.js')).modelStageFactory;
    const model: PipelineModel = lidarOnly ? lidarModel() : await factory.resolveModel(options.modelId, { registryDir: options.registryDir });

    // ---- an explicit run to resume decides the parameters ----
    let existing: RunRecord | undefined;
    if (typeof options.resume === 'number') {
      existing = getRun(db, options.resume);
      if (!existing) throw new ApiError('NOT_FOUND', `No run with id ${options.resume} in this workspace`);
      if (existing.status === 'done') throw new ApiError('BAD_INPUT', `Run ${existing.id} is already done (${existing.framesDone}/${existing.framesTotal} frames); nothing to resume`);
      if (existing.logId !== logId) throw new ApiError('BAD_INPUT', `Run ${existing.id} is on log ${existing.logId}, not on ${log.info.name} (${logId})`);
      if (existing.modelId !== model.manifest.id) throw new ApiError('BAD_INPUT', `Run ${existing.id} used model '${existing.modelId}', not '${model.manifest.id}'`);
      if (existing.modelSha256 !== model.sha256) {
        throw new ApiError('BAD_INPUT', `The file of model '${model.manifest.id}' changed since run ${existing.id} started (sha256 ${existing.modelSha256?.slice(0, 12)} → ${model.sha256.slice(0, 12)}); start a new run`);
      }
    }
    const stored = existing?.params as { sensors?: string[]; frames?: { start: number; end: number }; lidar?: boolean; device?: DeviceChoice } | undefined;

    // ---- sensors and frames ----
    const cameraIds = log.info.sensors.filter((s) => s.kind === 'camera').map((s) => s.id);
    const lidarIds = log.info.sensors.filter((s) => s.kind === 'lidar').map((s) => s.id);
    const sensors = lidarOnly ? [] : (stored?.sensors ?? (options.sensors?.length ? [...new Set(options.sensors)].sort() : cameraIds));
    for (const s of sensors) {
      if (!cameraIds.includes(s)) {
        throw new ApiError('BAD_INPUT', `${log.info.name} has no camera '${s}'; its cameras: ${cameraIds.join(', ') || 'none'}${lidarIds.length ? ` (lidar: ${lidarIds.join(', ')})` : ''}`);
      }
    }
    if (!lidarOnly && !sensors.length) throw new ApiError('BAD_INPUT', `${log.info.name} has no camera for model '${model.manifest.id}' to run on`);
    const lidar = lidarOnly || (stored?.lidar ?? options.lidar ?? false);
    if (lidar && !lidarIds.length) throw new ApiError('BAD_INPUT', `${log.info.name} has no lidar for the lidar stage`);
    const count = log.frames.length;
    const start = stored?.frames?.start ?? options.frameRange?.start ?? 0;
    const end = stored?.frames?.end ?? Math.min(options.frameRange?.end ?? count, count);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start >= end) {
      throw new ApiError('OUT_OF_RANGE', `Frame range ${start}:${end} selects no frames of ${log.info.name}, which has ${count} (0–${count - 1})`);
    }
    const runDevice = stored?.device ?? device;
    const params = { sensors, frames: { start, end }, lidar, device: runDevice };

    // ---- create or resume the run ----
    if (!existing && options.resume !== 'new') {
      existing = findResumableRun(db, { logId, modelId: model.manifest.id, modelSha256: model.sha256, params });
    }
    if (existing?.status === 'running' && isRunOwnerAlive(existing)) {
      throw new ApiError('BAD_INPUT', `Run ${existing.id} is still running (process ${existing.ownerPid} on ${existing.ownerHost}); cancel it or wait for it`);
    }
    const framesTotal = end - start;
    const resumed = existing !== undefined;
    const run =
      existing ??
      createRun(
        db,
        {
          name: options.name ?? `${model.manifest.id} on ${log.info.name}`,
          logId,
          modelId: model.manifest.id,
          modelSha256: model.sha256,
          modelTask: model.manifest.task,
          device: runDevice,
          params,
          softwareVersion,
          framesTotal,
        },
        actor,
      );
    const done = completedFrameIds(db, run.id);
    const todo: number[] = [];
    for (let i = start; i < end; i++) if (!done.has(log.frames[i]!.id)) todo.push(i);
    const startedRun = markRunStarted(db, run.id, actor, resumed, framesTotal);
    return startPipeline({
      db,
      actor,
      log,
      run: startedRun,
      resumed,
      model: lidarOnly ? undefined : model,
      workerScript,
      stagesModule,
      sensors,
      lidar,
      device: runDevice,
      todo,
      framesTotal,
      doneBefore: framesTotal - todo.length,
      options,
    });
  }
}

interface PipelinePlan {
  db: Db;
  actor: string;
  /** Only its info and frame table are used (the log itself may be closed by then). */
  log: DriveLog;
  run: RunRecord;
  resumed: boolean;
  /** Undefined for a lidar-only run. */
  model?: PipelineModel;
  workerScript: URL;
  stagesModule: string;
  sensors: string[];
  lidar: boolean;
  device: DeviceChoice;
  todo: number[];
  framesTotal: number;
  doneBefore: number;
  options: InferenceOptions;
}

function startPipeline(plan: PipelinePlan): RunHandle {
  const { db, run, model, options } = plan;
  const listeners = new Set<(p: RunProgress) => void>();
  if (options.onProgress) listeners.add(options.onProgress);
  let progress: RunProgress = {
    runId: run.id,
    framesDone: plan.doneBefore,
    framesTotal: plan.framesTotal,
    framesPerS: 0,
    etaS: null,
    backend: null,
    status: 'running',
  };
  const emit = (update: Partial<RunProgress>): void => {
    progress = { ...progress, ...update, framesDone: Math.max(progress.framesDone, update.framesDone ?? 0) };
    for (const l of listeners) {
      try {
        l(progress);
      } catch {
        // a listener's failure must not stop the run
      }
    }
  };

  let abortReason: unknown;
  const queues: BoundedQueue<unknown>[] = [];
  const pools: WorkerPool[] = [];
  const abort = (reason: unknown): void => {
    if (abortReason !== undefined) return;
    abortReason = reason;
    for (const q of queues) q.fail(reason);
    for (const p of pools) void p.close();
  };

  const done = execute().catch(async (error: unknown) => {
    // Only bookkeeping failures land here (the database went away, say): record, report, never reject.
    const message = error instanceof Error ? error.message : String(error);
    abort(error);
    await Promise.all(pools.map((p) => p.close()));
    try {
      finishRun(db, run.id, { status: 'failed', framesPerS: null, timings: {}, error: message }, plan.actor);
    } catch {
      // the database itself is what failed
    }
    emit({ status: 'failed', etaS: null });
    return {
      runId: run.id,
      status: 'failed' as const,
      resumed: plan.resumed,
      framesDone: progress.framesDone,
      framesTotal: plan.framesTotal,
      framesThisSession: 0,
      detectionsThisSession: 0,
      frameErrors: 0,
      elapsedS: 0,
      framesPerS: 0,
      engine: null,
      executionProvider: null,
      error: message,
      timings: {},
    };
  });

  return {
    runId: run.id,
    resumed: plan.resumed,
    run,
    get progress() {
      return progress;
    },
    onProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    cancel() {
      abort(new CancelledError());
    },
    done,
  };

  async function execute(): Promise<RunSummary> {
    const setupStarted = performance.now();
    const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
    const workers = defaultWorkers(options.workers, cores);
    const script = plan.workerScript;
    const onLog = options.onLog;
    const track = <T>(q: BoundedQueue<T>): BoundedQueue<T> => {
      queues.push(q as BoundedQueue<unknown>);
      return q;
    };
    const launch = (name: string, spec: Parameters<typeof WorkerPool.launch>[2], size: number, perWorker: number): WorkerPool => {
      const pool = WorkerPool.launch(name, script, spec, { size, perWorker, onLog });
      pools.push(pool);
      return pool;
    };

    const readPool = launch(
      'read',
      { kind: 'read', logPath: plan.log.info.path, logId: plan.log.info.id, referenceSensor: plan.log.info.referenceSensor, cameras: model ? plan.sensors : [], lidar: plan.lidar },
      1,
      2,
    );
    const prePool = model && launch('preprocess', { kind: 'preprocess', stagesModule: plan.stagesModule, model }, workers.preprocess, 2);
    const inferPool =
      model &&
      launch(
        'infer',
        { kind: 'infer', stagesModule: plan.stagesModule, model, device: plan.device, threads: workers.inferThreads },
        workers.infer,
        2,
      );
    const postPool = model && launch('postprocess', { kind: 'postprocess', stagesModule: plan.stagesModule, model }, workers.postprocess, 2);
    const lidarPool = plan.lidar ? launch('lidar', { kind: 'lidar', params: { classes: LIDAR_CLASSES } }, workers.lidar, 2) : undefined;
    if (abortReason !== undefined) for (const p of pools) void p.close();

    let engine: StageReady | undefined;
    try {
      const readies = await Promise.all(pools.map((p) => p.started));
      engine = inferPool ? readies[pools.indexOf(inferPool)]![0] : { engine: 'builtin', backend: 'builtin:cpu', maxBatch: 1 };
    } catch (error) {
      abort(error);
    }
    const engineName = engine?.engine ?? null;
    // Engines name their backend 'engine:provider' (onnx:cuda, tfjs:wasm); the run records the provider.
    const backendLabel = engine?.backend ?? null;
    const provider = backendLabel ? backendLabel.slice(backendLabel.indexOf(':') + 1) : null;
    if (engineName && provider) setRunEngine(db, run.id, { engine: engineName, executionProvider: provider });
    const maxBatch = Math.max(1, engine?.maxBatch ?? 1);
    const setupMs = performance.now() - setupStarted;

    // ---- writer: finished frames, committed in batches ----
    const writer = createFrameWriter(db, { id: run.id, logId: plan.log.info.id });
    const meter = new RateMeter();
    const batchFrames = Math.max(1, options.writeBatchFrames ?? WRITE_BATCH_FRAMES);
    const flushMs = options.flushMs ?? FLUSH_MS;
    let pendingWrites: FrameResult[] = [];
    let flushTimer: NodeJS.Timeout | undefined;
    let writtenThisSession = 0;
    let writeMs = 0;
    let transactions = 0;
    let firstDispatch = 0;
    let lastCommit = 0;
    const flush = (): void => {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      if (!pendingWrites.length) return;
      const batch = pendingWrites;
      pendingWrites = [];
      const t0 = performance.now();
      writtenThisSession += writer.write(batch);
      lastCommit = performance.now();
      writeMs += lastCommit - t0;
      transactions++;
      meter.add(writtenThisSession, lastCommit);
      const framesDone = plan.doneBefore + writtenThisSession;
      const rate = meter.rate();
      emit({ framesDone, framesPerS: rate, etaS: rate > 0 ? (plan.framesTotal - framesDone) / rate : null, backend: backendLabel });
    };
    const safeFlush = (): void => {
      try {
        flush();
      } catch (error) {
        abort(error);
      }
    };
    const complete = (state: FrameState): void => {
      frames.delete(state.result.frameIndex);
      pendingWrites.push(state.result);
      if (pendingWrites.length >= batchFrames) safeFlush();
      else flushTimer ??= setTimeout(safeFlush, flushMs);
    };

    // ---- frame assembly ----
    const frames = new Map<number, FrameState>();
    const partDone = (frame: number): void => {
      const state = frames.get(frame);
      if (state && --state.pending === 0) complete(state);
    };

    // ---- queues and stage pumps ----
    const frameQueue = track(new BoundedQueue<number>('frames', Math.max(1, plan.todo.length)));
    const imageQueue = track(new BoundedQueue<ImageItem>('images', 4));
    const tensorQueue = track(new BoundedQueue<TensorItem>('tensors', Math.max(4, 2 * maxBatch * workers.infer)));
    const rawQueue = track(new BoundedQueue<RawItem>('raw', 4));
    const sweepQueue = track(new BoundedQueue<SweepItem>('sweeps', 2));
    let batches = 0;
    let batchedInputs = 0;
    let frameErrors = 0;

    if (abortReason === undefined) {
      for (const index of plan.todo) void frameQueue.put(index);
      frameQueue.close();
      firstDispatch = performance.now();
      meter.add(0, firstDispatch);
      emit({ backend: backendLabel, framesPerS: 0 });

      // With a camera model and the lidar stage, a frame's sweep follows its camera detections
      // into the lidar stage, which places each detection in 3D (fusion).
      const fuse = model !== undefined && plan.lidar;
      const sendSweep = async (frame: number, state: FrameState): Promise<void> => {
        const sweep = state.sweep!;
        state.sweep = undefined;
        const cameras: FusionRequest[] = [...state.cameras].map(([sensorId, detections]) => ({
          sensorId,
          intrinsics: state.cameraGeometry.get(sensorId)!.intrinsics,
          extrinsic: state.cameraGeometry.get(sensorId)!.extrinsic,
          detections: detections.map((d) => ({ ...d.box2d!, label: d.label, score: d.score })),
        }));
        await sweepQueue.put({ frame, sweep, cameras });
      };
      // Bad data in one frame (an undecodable image, say) is recorded on that frame; the run goes on.
      const badData = (error: unknown): error is StageError => error instanceof StageError && error.jobFailed;
      const warned = new Set<string>();
      const warnOnce = (message: string): void => {
        if (warned.size < 100 && !warned.has(message)) {
          warned.add(message);
          onLog?.(message);
        }
      };
      const cameraFailed = async (frame: number, sensorId: string, message: string): Promise<void> => {
        const state = frames.get(frame);
        if (!state) return;
        if (!state.result.error) frameErrors++;
        state.result.error = `${state.result.error ? `${state.result.error}; ` : ''}${sensorId}: ${message}`;
        warnOnce(`frame ${frame} ${sensorId}: ${message}`);
        if (--state.camerasLeft === 0 && state.sweep) await sendSweep(frame, state);
        partDone(frame);
      };
      const readPump = pump(frameQueue, readPool, () => 1, async ([index], lease) => {
        let r: ReadResult;
        try {
          r = await lease.call<ReadResult>({ index });
        } catch (error) {
          if (!badData(error)) throw error;
          const stub = plan.log.frames[index]!;
          frameErrors++;
          warnOnce(`frame ${index}: ${error.message}`);
          complete({
            result: { frameId: stub.id, frameIndex: index, stampNs: stub.stampNs, detections: [], masks: [], pointLabels: [], error: error.message },
            pending: 0,
            camerasLeft: 0,
            cameraGeometry: new Map(),
            cameras: new Map(),
          });
          return;
        }
        for (const w of r.warnings) warnOnce(`frame ${index}: ${w}`);
        // A sensor the run needs but the frame lacks (the reader dropped a damaged image, or the
        // sensor has no data at this time): the frame is done, and says why it has no results.
        const missing = [
          ...(model ? plan.sensors.filter((id) => !r.images.some((i) => i.sensorId === id)).map((id) => `${id}: no image`) : []),
          ...(plan.lidar && !r.lidar ? ['no lidar sweep'] : []),
        ];
        const missingNote = missing.length ? `${missing.join('; ')}${r.warnings.length ? ` (${r.warnings.join('; ')})` : ''}` : undefined;
        if (missingNote) frameErrors++;
        const images = model ? r.images : [];
        const sweep = plan.lidar ? r.lidar : undefined;
        const state: FrameState = {
          result: { frameId: r.frameId, frameIndex: r.index, stampNs: r.stampNs, detections: [], masks: [], pointLabels: [], error: missingNote },
          pending: images.length + (sweep ? 1 : 0) + 1,
          camerasLeft: images.length,
          cameraGeometry: new Map(images.map((i) => [i.sensorId, { intrinsics: i.intrinsics, extrinsic: i.extrinsic }])),
          cameras: new Map(),
        };
        frames.set(r.index, state);
        for (const image of images) await imageQueue.put({ frame: r.index, image });
        if (sweep && fuse && images.length) state.sweep = sweep;
        else if (sweep) await sweepQueue.put({ frame: r.index, sweep });
        partDone(r.index); // the read itself: a frame without images or sweep completes here
      }).then(() => {
        imageQueue.close();
        if (!fuse) sweepQueue.close();
      });

      const prePump = prePool
        ? pump(imageQueue, prePool, () => 1, async ([item], lease) => {
            let input: PreparedInput;
            try {
              input = await lease.call<PreparedInput>({ image: item!.image }, transferList([item!.image.data]));
            } catch (error) {
              if (!badData(error)) throw error;
              await cameraFailed(item!.frame, item!.image.sensorId, error.message);
              return;
            }
            await tensorQueue.put({ frame: item!.frame, sensorId: item!.image.sensorId, input });
          }).then(() => tensorQueue.close())
        : Promise.resolve();

      const inferPump = inferPool
        ? pump(tensorQueue, inferPool, () => maxBatch, async (items, lease) => {
            // Geometry is kept here: the tensors themselves move to the worker.
            const geometry = items.map((i) => ({ dims: i.input.dims, transform: i.input.transform }));
            const out = await lease.call<InferResult>({ inputs: items.map((i) => i.input) }, transferList(items.map((i) => i.input.tensor)));
            batches++;
            batchedInputs += items.length;
            for (let k = 0; k < items.length; k++) {
              await rawQueue.put({ frame: items[k]!.frame, sensorId: items[k]!.sensorId, result: out.outputs[k]!, input: geometry[k]! });
            }
          }).then(() => rawQueue.close())
        : Promise.resolve();

      const postPump = postPool
        ? pump(rawQueue, postPool, () => 1, async ([item], lease) => {
            const raw = item!.result;
            const out = await lease.call<PostprocessResult>({ raw, input: item!.input }, transferList(Object.values(raw).map((t) => t.data)));
            const state = frames.get(item!.frame);
            if (!state) return;
            const detections = out.detections.map(
              (d): DetectionInput => ({
                sensorId: item!.sensorId,
                label: d.label,
                modelClass: d.modelClass,
                classIndex: d.classIndex,
                score: d.score,
                box2d: { x1: d.x1, y1: d.y1, x2: d.x2, y2: d.y2 },
              }),
            );
            state.result.detections.push(...detections);
            for (const m of out.masks) state.result.masks.push({ sensorId: item!.sensorId, ...m });
            state.cameras.set(item!.sensorId, detections);
            if (--state.camerasLeft === 0 && state.sweep) await sendSweep(item!.frame, state);
            partDone(item!.frame);
          }).then(() => {
            if (fuse) sweepQueue.close();
          })
        : Promise.resolve();

      const lidarPump = lidarPool
        ? pump(sweepQueue, lidarPool, () => 1, async ([item], lease) => {
            const sweep = item!.sweep;
            const out = await lease.call<LidarResult>({ sweep, cameras: item!.cameras }, transferList([sweep.positions]));
            const state = frames.get(item!.frame);
            if (!state) return;
            for (const f of out.fused) {
              const d = state.cameras.get(f.sensorId)?.[f.index];
              if (d) d.box3d = { cx: f.box.center[0], cy: f.box.center[1], cz: f.box.center[2], length: f.box.size[0], width: f.box.size[1], height: f.box.size[2], yaw: f.box.yaw };
            }
            state.result.detections.push(...out.boxes.map((b, k): DetectionInput => ({
              sensorId: sweep.sensorId,
              label: b.label,
              modelClass: b.label,
              classIndex: k,
              score: b.score,
              box3d: { cx: b.center[0], cy: b.center[1], cz: b.center[2], length: b.size[0], width: b.size[1], height: b.size[2], yaw: b.yaw },
            })));
            state.result.pointLabels.push({ sensorId: sweep.sensorId, pointCount: out.pointCount, classes: out.classes, encoding: 'deflate-u8', data: out.labels });
            partDone(item!.frame);
          })
        : Promise.resolve();

      const results = await Promise.allSettled([readPump, prePump, inferPump, postPump, lidarPump]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) abort(failed.reason);
    }

    // ---- finish: commit what is complete, record the outcome ----
    safeFlush();
    if (flushTimer) clearTimeout(flushTimer);
    const cancelled = abortReason instanceof CancelledError;
    const allDone = plan.doneBefore + writtenThisSession >= plan.framesTotal;
    const status: RunSummary['status'] = cancelled ? 'cancelled' : abortReason === undefined && allDone ? 'done' : 'failed';
    const error =
      status === 'failed'
        ? abortReason instanceof Error
          ? abortReason.message
          : abortReason !== undefined
            ? String(abortReason)
            : `only ${plan.doneBefore + writtenThisSession} of ${plan.framesTotal} frames finished`
        : undefined;
    await Promise.all(pools.map((p) => p.close()));
    const elapsedS = firstDispatch && lastCommit > firstDispatch ? (lastCommit - firstDispatch) / 1000 : 0;
    const framesPerS = elapsedS > 0 ? writtenThisSession / elapsedS : 0;
    const stage = (pool: WorkerPool | undefined | false): StageTiming | undefined =>
      pool ? { workers: pool.size, jobs: pool.stats.jobs, busyMs: round(pool.stats.busyMs), msPerJob: round(pool.stats.jobs ? pool.stats.busyMs / pool.stats.jobs : 0) } : undefined;
    const timings = {
      setupMs: round(setupMs),
      inferThreads: model ? workers.inferThreads : undefined,
      elapsedS: round(elapsedS),
      framesThisSession: writtenThisSession,
      stages: { read: stage(readPool), preprocess: stage(prePool), infer: stage(inferPool), postprocess: stage(postPool), lidar: stage(lidarPool) },
      batches,
      meanBatch: batches ? round(batchedInputs / batches) : 0,
      maxBatch,
      write: { transactions, ms: round(writeMs), frames: writtenThisSession, detections: writer.detectionsWritten },
      frameErrors,
      queueHighWater: Object.fromEntries(queues.map((q) => [q.name, q.highWater])),
    };
    const finished = finishRun(db, run.id, { status, framesPerS: writtenThisSession ? framesPerS : null, timings, error }, plan.actor);
    emit({ framesDone: finished.framesDone, framesPerS, etaS: status === 'done' ? 0 : null, status, backend: backendLabel });
    return {
      runId: run.id,
      status,
      resumed: plan.resumed,
      framesDone: finished.framesDone,
      framesTotal: plan.framesTotal,
      framesThisSession: writtenThisSession,
      detectionsThisSession: writer.detectionsWritten,
      frameErrors,
      elapsedS,
      framesPerS,
      engine: engineName,
      executionProvider: provider,
      error,
      timings,
    };
  }

  /** Feeds a pool from a queue; a failed job aborts the whole run. */
  async function pump<T>(input: BoundedQueue<T>, pool: WorkerPool, batch: () => number, send: (items: T[], lease: Lease) => Promise<void>): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      const lease = await pool.acquire();
      let items: T[] | undefined;
      try {
        items = await input.take(batch());
      } catch (error) {
        lease.release();
        throw error;
      }
      if (!items) {
        lease.release();
        break;
      }
      const job = send(items, lease).finally(() => lease.release());
      inFlight.add(job);
      job.then(
        () => inFlight.delete(job),
        (error: unknown) => {
          inFlight.delete(job);
          abort(error);
        },
      );
    }
    await Promise.all(inFlight);
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
