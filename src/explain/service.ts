// The saliency service behind the API: finds a detection's run, model and frame image, answers from
// the cache (saliency_maps) when it can, else scans in a worker thread with the run's model on the
// device the run used, reporting progress, cancellable, and stores the map with an audit event.
// Concurrent requests for one map share one task.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { ApiError, type ProgressEvent } from '../api/contract.js';
import { ModelRegistry } from '../infer/registry.js';
import type { DriveLog } from '../logs/driveLog.js';
import type { Db } from '../store/db.js';
import { getRun, type RunRecord } from '../store/runs.js';
import { packageRoot, softwareVersion } from '../version.js';
import type { SaliencyParamsApiInput } from './api.js';
import { imageSha256, saliencyKey, sha256Hex } from './key.js';
import { SALIENCY_TASK_PREFIX, type SaliencyMap, type SaliencyStart, type SaliencySummary } from './model.js';
import { resolveSaliencyParams, SaliencyError, type SaliencyParams, type SaliencyTarget } from './params.js';
import type { RawImage } from './saliency.js';
import { getSaliencyById, getSaliencyByKey, insertSaliencyMap, latestSaliencyOfTarget, listSaliencyOfTarget, saliencyTargetKey } from './store.js';
import type { FromSaliencyWorker, SaliencyJob, ToSaliencyWorker } from './worker.js';

export interface SaliencyServiceDeps {
  db: Db;
  actor: string;
  /** An open log (throws when it is not open). */
  getLog(logId: string): DriveLog;
  /** Model registry data directory; the workspace default when omitted. */
  registryDir?: string;
  onProgress?(event: ProgressEvent): void;
  onLog?(message: string): void;
}

interface DetectionRow {
  id: number;
  run_id: number;
  frame_id: string;
  frame_index: number | null;
  sensor_id: string;
  class: string;
  score: number;
  x1: number | null;
  y1: number | null;
  x2: number | null;
  y2: number | null;
}

/** Everything a request resolves to before the cache is asked. */
interface Prepared {
  run: RunRecord;
  detection: DetectionRow & { x1: number; y1: number; x2: number; y2: number };
  target: SaliencyTarget;
  params: SaliencyParams;
  cacheKey: string;
  targetKey: string;
  imageHash: string;
  modelSha256: string;
  /** Loaded only when the map has to be computed. */
  load(): Promise<{ image: Uint8Array | RawImage; model: SaliencyJob['model'] }>;
}

interface Task {
  taskId: string;
  cacheKey: string;
  worker: Worker;
  abortFlag: Int32Array;
  cancelled: boolean;
  done: Promise<void>;
}

/** Providers that mean the run had a GPU: a map for it asks for one too (falling back when absent). */
const GPU_PROVIDERS = new Set(['tensorrt', 'cuda', 'webgpu', 'node-gpu', 'dml', 'coreml']);

function workerUrl(): URL {
  const sibling = new URL('./worker.js', import.meta.url);
  if (sibling.protocol === 'file:' && existsSync(fileURLToPath(sibling))) return sibling;
  const dist = join(packageRoot, 'dist', 'src', 'explain', 'worker.js');
  if (existsSync(dist)) return pathToFileURL(dist);
  throw new ApiError('INTERNAL', "The saliency worker (worker.js) is not built: run 'npm run build:core' first");
}

export class SaliencyService {
  private readonly tasks = new Map<string, Task>();
  private nextTask = 1;

  constructor(private readonly deps: SaliencyServiceDeps) {}

  /** The cached map at once, or a task computing it (an identical one already running is shared). */
  async start(runId: number, detectionId: number, input: SaliencyParamsApiInput = {}): Promise<SaliencyStart> {
    const prepared = await this.prepare(runId, detectionId, input);
    const map = getSaliencyByKey(this.deps.db, prepared.cacheKey, true);
    if (map) return { cached: true, taskId: null, map };
    const running = [...this.tasks.values()].find((t) => t.cacheKey === prepared.cacheKey && !t.cancelled);
    if (running) return { cached: false, taskId: running.taskId, map: null };
    const { image, model } = await prepared.load();
    return { cached: false, taskId: this.launch(prepared, image, model), map: null };
  }

  /** Stops a running task (its worker ends between engine calls); false when none has this id. */
  async cancel(taskId: string): Promise<boolean> {
    const task = this.tasks.get(taskId);
    if (!task) return false;
    task.cancelled = true;
    Atomics.store(task.abortFlag, 0, 1);
    task.worker.postMessage({ type: 'abort' } satisfies ToSaliencyWorker);
    await task.done;
    return true;
  }

  async get(runId: number, detectionId: number, input?: SaliencyParamsApiInput, saliencyId?: number): Promise<SaliencyMap | null> {
    if (saliencyId !== undefined) {
      const map = getSaliencyById(this.deps.db, saliencyId);
      if (map && (map.runId !== runId || map.detectionId !== detectionId)) {
        // A map found through another detection's request is fine when it explains the same target.
        const prepared = await this.prepare(runId, detectionId, {});
        if (prepared.targetKey !== saliencyTargetKey(map.modelSha256, map.imageSha256, map.target)) {
          throw new ApiError('BAD_INPUT', `Saliency map ${saliencyId} explains detection ${map.detectionId} of run ${map.runId}, not detection ${detectionId} of run ${runId}`);
        }
      }
      return map;
    }
    const prepared = await this.prepareExplainable(runId, detectionId, input ?? {});
    if (!prepared) return null;
    return input ? getSaliencyByKey(this.deps.db, prepared.cacheKey, true) : latestSaliencyOfTarget(this.deps.db, prepared.targetKey);
  }

  async list(runId: number, detectionId: number): Promise<SaliencySummary[]> {
    const prepared = await this.prepareExplainable(runId, detectionId, {});
    return prepared ? listSaliencyOfTarget(this.deps.db, prepared.targetKey) : [];
  }

  /** Lookups answer "nothing stored" for detections saliency cannot explain (lidar boxes, imported runs). */
  private async prepareExplainable(runId: number, detectionId: number, input: SaliencyParamsApiInput): Promise<Prepared | null> {
    try {
      return await this.prepare(runId, detectionId, input);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'UNSUPPORTED') return null;
      throw error;
    }
  }

  /** Cancels every running task and waits for their workers (server shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.tasks.keys()].map((id) => this.cancel(id)));
  }

  private async prepare(runId: number, detectionId: number, input: SaliencyParamsApiInput): Promise<Prepared> {
    const { db } = this.deps;
    const run = getRun(db, runId);
    if (!run) throw new ApiError('NOT_FOUND', `No run with id ${runId}`);
    const row = db
      .prepare(
        `SELECT d.id, d.run_id, d.frame_id, f.frame_index, d.sensor_id, d.class, d.score, d.x1, d.y1, d.x2, d.y2
         FROM detections d LEFT JOIN run_frames f ON f.run_id = d.run_id AND f.frame_id = d.frame_id WHERE d.id = ?`,
      )
      .get(detectionId) as DetectionRow | undefined;
    if (!row || row.run_id !== runId) throw new ApiError('NOT_FOUND', `Run ${runId} has no detection ${detectionId}`);
    if (row.x1 === null || row.y1 === null || row.x2 === null || row.y2 === null) {
      throw new ApiError('UNSUPPORTED', `Detection ${detectionId} has no image box (a lidar detection): occlusion saliency explains camera detections`);
    }
    const detection = row as Prepared['detection'];
    if (!run.modelId || !run.modelSha256 || run.modelTask !== 'detect2d') {
      throw new ApiError('UNSUPPORTED', `Run ${runId} ('${run.name}') was not made by a 2D detection model (${run.modelTask ?? run.kind}); occlusion saliency re-runs the run's own detector`);
    }

    const log = this.deps.getLog(run.logId);
    const index = row.frame_index ?? log.frames.findIndex((f) => f.id === row.frame_id);
    if (index < 0 || log.frames[index]?.id !== row.frame_id) throw new ApiError('NOT_FOUND', `Frame ${row.frame_id} of detection ${detectionId} is not in the open log ${log.info.name}`);
    const frame = await log.readFrame(index, { cameras: true, lidar: false });
    const camera = frame.cameras.find((c) => c.sensorId === row.sensor_id);
    if (!camera) throw new ApiError('NOT_FOUND', `Frame ${index} of ${log.info.name} has no image from ${row.sensor_id}`);

    let image: Uint8Array | RawImage;
    let imageHash: string;
    let size: { width: number; height: number };
    if (camera.format === 'raw-rgb8') {
      size = { width: camera.intrinsics.width, height: camera.intrinsics.height };
      image = { raw: camera.data, width: size.width, height: size.height, channels: 3 };
      imageHash = sha256Hex(Buffer.concat([Buffer.from(`raw-rgb8 ${size.width}x${size.height}\n`), camera.data]));
    } else {
      image = camera.data;
      imageHash = imageSha256(camera.data);
      const meta = await sharp(camera.data).metadata();
      size = { width: meta.width, height: meta.height };
    }

    // The run's device: a GPU run gets the GPU again (auto falls back when there is none here).
    const ranOnGpu = GPU_PROVIDERS.has(run.executionProvider ?? '') || run.device === 'gpu';
    const device = input.device ?? (run.executionProvider ? (ranOnGpu ? 'auto' : 'cpu') : ((run.device as SaliencyParams['device'] | null) ?? 'auto'));
    let params: SaliencyParams;
    try {
      params = resolveSaliencyParams({ ...input, device }, size);
    } catch (error) {
      if (error instanceof SaliencyError) throw new ApiError('BAD_INPUT', error.message);
      throw error;
    }
    const target: SaliencyTarget = { x1: detection.x1, y1: detection.y1, x2: detection.x2, y2: detection.y2, label: row.class, score: row.score };
    const modelSha256 = run.modelSha256;
    const modelId = run.modelId;
    return {
      run,
      detection,
      target,
      params,
      imageHash,
      modelSha256,
      cacheKey: saliencyKey(modelSha256, imageHash, target, params),
      targetKey: saliencyTargetKey(modelSha256, imageHash, target),
      load: async () => {
        const model = await ModelRegistry.open(this.deps.registryDir).resolve(modelId).catch((error: Error) => {
          throw new ApiError('NOT_FOUND', `Model '${modelId}' of run ${runId} is not available: ${error.message}`);
        });
        if (model.sha256 !== modelSha256) {
          throw new ApiError('CONFLICT', `The file of model '${modelId}' changed since run ${runId} (sha256 ${modelSha256.slice(0, 12)} → ${model.sha256.slice(0, 12)}); its detections cannot be explained with it`);
        }
        // The frame's buffers may belong to the reader's cache: the worker gets a copy.
        const copy = image instanceof Uint8Array ? new Uint8Array(image) : { ...image, raw: new Uint8Array(image.raw) };
        return { image: copy, model };
      },
    };
  }

  private launch(prepared: Prepared, image: Uint8Array | RawImage, model: SaliencyJob['model']): string {
    const { run, detection, params } = prepared;
    const taskId = `${SALIENCY_TASK_PREFIX}${run.id}:${detection.id}:${this.nextTask++}`;
    const label = `Saliency · ${detection.class} ${detection.score.toFixed(2)} (run ${run.id})`;
    const abortFlag = new SharedArrayBuffer(4);
    const job: SaliencyJob = { model, image, target: prepared.target, params: { ...params }, abortFlag };
    const transfer = [(image instanceof Uint8Array ? image : image.raw).buffer as ArrayBuffer];
    const worker = new Worker(workerUrl(), { workerData: job, transferList: transfer });
    // A running scan never keeps a closing server's process alive.
    worker.unref();
    const started = performance.now();
    const emit = (event: Omit<ProgressEvent, 'taskId' | 'label'>) => this.deps.onProgress?.({ taskId, label, ...event });
    emit({ done: 0, total: 0, state: 'running' });

    let settled = false;
    const done = new Promise<void>((resolve) => {
      const finish = (event: Omit<ProgressEvent, 'taskId' | 'label'>) => {
        if (settled) return;
        settled = true;
        this.tasks.delete(taskId);
        emit(event);
        resolve();
      };
      let last = { done: 0, total: 0 };
      worker.on('message', (message: FromSaliencyWorker) => {
        if (message.type === 'progress') {
          last = message;
          const elapsedS = (performance.now() - started) / 1000;
          const rate = elapsedS > 0 ? message.done / elapsedS : 0;
          emit({ done: message.done, total: message.total, rate, etaS: rate > 0 ? (message.total - message.done) / rate : undefined, state: 'running' });
        } else if (message.type === 'log') {
          this.deps.onLog?.(message.message);
        } else if (message.type === 'result') {
          try {
            insertSaliencyMap(
              this.deps.db,
              {
                cacheKey: prepared.cacheKey,
                targetKey: prepared.targetKey,
                runId: run.id,
                detectionId: detection.id,
                frameId: detection.frame_id,
                sensorId: detection.sensor_id,
                modelId: run.modelId!,
                modelSha256: prepared.modelSha256,
                imageSha256: prepared.imageHash,
                target: { ...prepared.target },
                params: message.params as unknown as SaliencyMap['params'],
                grid: { width: message.width, height: message.height, cellSize: message.cellSize, values: message.values },
                peak: message.peak,
                window: message.window,
                baselineScore: message.baselineScore,
                baselineBox: message.baselineBox,
                sourceWidth: message.sourceWidth,
                sourceHeight: message.sourceHeight,
                heatmapPng: message.png,
                passes: message.passes,
                computeMs: message.ms,
                backend: message.backend,
                softwareVersion,
              },
              this.deps.actor,
            );
            finish({ done: message.passes, total: message.passes, state: 'done', message: `${message.passes} passes in ${(message.ms / 1000).toFixed(1)} s on ${message.backend}` });
          } catch (error) {
            finish({ ...last, state: 'failed', message: (error as Error).message });
          }
        } else if (message.type === 'error') {
          finish({ ...last, state: message.aborted ? 'cancelled' : 'failed', message: message.message });
        }
      });
      worker.on('error', (error) => finish({ ...last, state: 'failed', message: error.message }));
      worker.on('exit', (code) => finish({ ...last, state: this.tasks.get(taskId)?.cancelled ? 'cancelled' : 'failed', message: `saliency worker exited (code ${code}) before a result` }));
    });
    this.tasks.set(taskId, { taskId, cacheKey: prepared.cacheKey, worker, abortFlag: new Int32Array(abortFlag), cancelled: false, done });
    return taskId;
  }
}
