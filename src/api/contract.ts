// The one API contract. Both the core (handlers) and the renderer (clients) import this module;
// Electron IPC and HTTP/WebSocket are two transports of exactly these calls and events.
// Inputs are zod schemas (validated at every edge); outputs are TypeScript types.
import { z } from 'zod';
import type { FrameData, FrameStub, LogInfo, Vec3 } from '../logs/model.js';
import { labelMethods, type LabelsChangedEvent } from '../labels/api.js';
import { safetyMethods } from '../safety/api.js';
import { evalMethods } from '../eval/api.js';
import { explainMethods } from '../explain/api.js';

/** Marks an output type without a runtime validator (the core is trusted to produce it). */
function returns<T>(): T {
  return undefined as unknown as T;
}

const logId = z.string().min(1).max(200);

export interface LogEntry {
  logId: string;
  path: string;
  name: string;
  format: string;
  open: boolean;
  lastOpenedAt: string | null;
}

export interface ServerInfo {
  version: string;
  transport: 'ipc' | 'http';
  /** Whether the UI may offer a native file dialog. */
  nativeDialogs: boolean;
}

const runId = z.number().int().positive();

/** A model the workspace can run (registry models, plus the built-in lidar detector). */
export interface ModelEntry {
  id: string;
  name: string;
  task: string;
  format: string;
  builtin: boolean;
  classes: string[];
  sha256?: string;
  description?: string;
}

export type RunStatusName = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

/** An inference run and its provenance. */
export interface RunInfo {
  runId: number;
  name: string;
  logId: string;
  modelId: string | null;
  modelSha256: string | null;
  modelTask: string | null;
  /** onnx | tfjs | builtin */
  engine: string | null;
  /** Execution provider or backend: cuda, webgpu, cpu, wasm, ... */
  executionProvider: string | null;
  device: string | null;
  params: Record<string, unknown>;
  softwareVersion: string;
  status: RunStatusName;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  framesTotal: number | null;
  framesDone: number;
  framesPerS: number | null;
  error: string | null;
  /** Running in this server now (cancellable here). */
  active: boolean;
}

export interface DetectionEntry {
  /** Stable row id: what accept/reject, saliency and evaluation records refer to. */
  detectionId: number;
  frameId: string;
  frameIndex: number | null;
  stampNs: string;
  sensorId: string;
  class: string;
  modelClass: string | null;
  score: number;
  /** [x1, y1, x2, y2] in pixels of the sensor's image; null for lidar-only detections. */
  box2d: [number, number, number, number] | null;
  /** Ego frame, size = length, width, height; yaw about +z. */
  box3d: { center: [number, number, number]; size: [number, number, number]; yaw: number } | null;
  trackId: string | null;
}

export interface FrameDetections {
  runId: number;
  frameId: string;
  /** False while the run has not reached this frame (or skipped it: see error). */
  completed: boolean;
  /** Why the frame has no results, when its data could not be used. */
  error: string | null;
  detections: DetectionEntry[];
  /** Segmentation masks: greyscale PNG, pixel value = index into classes. */
  masks: { sensorId: string; head: string; classes: string[]; width: number; height: number; png: Uint8Array }[];
  /** Lidar point labels, one class index per point of the sweep. */
  pointLabels: { sensorId: string; classes: string[]; labels: Uint8Array }[];
}

export interface RunProgressEvent {
  runId: number;
  framesDone: number;
  framesTotal: number;
  framesPerS: number;
  etaS: number | null;
  /** engine/provider, e.g. 'onnxruntime/cpu', once known. */
  backend: string | null;
  status: RunStatusName;
}

export const methods = {
  getServerInfo: {
    input: z.object({}).strict(),
    output: returns<ServerInfo>(),
  },
  /** Logs known to the workspace (recent and currently open). */
  listLogs: {
    input: z.object({}).strict(),
    output: returns<LogEntry[]>(),
  },
  openLog: {
    input: z
      .object({
        path: z.string().min(1).max(4096),
        /** Sensor id whose timestamps define frames; defaults to the lidar. */
        referenceSensor: z.string().min(1).max(200).optional(),
      })
      .strict(),
    output: returns<LogInfo>(),
  },
  closeLog: {
    input: z.object({ logId }).strict(),
    output: returns<{ closed: boolean }>(),
  },
  getLogInfo: {
    input: z.object({ logId }).strict(),
    output: returns<LogInfo>(),
  },
  listFrames: {
    input: z.object({ logId }).strict(),
    output: returns<FrameStub[]>(),
  },
  getFrame: {
    input: z
      .object({
        logId,
        index: z.number().int().min(0),
        /** Leave out heavy payloads the caller does not need. */
        include: z
          .object({
            cameras: z.boolean().default(true),
            lidar: z.boolean().default(true),
          })
          .strict()
          .optional(),
      })
      .strict(),
    output: returns<FrameData>(),
  },
  listModels: {
    input: z.object({}).strict(),
    output: returns<ModelEntry[]>(),
  },
  /** Starts (or resumes) a run on an open log; returns once the run is recorded, progress follows as runProgress events. */
  startRun: {
    input: z
      .object({
        logId,
        modelId: z.string().min(1).max(200),
        device: z.enum(['auto', 'gpu', 'cpu']).default('auto'),
        /** Camera sensor id; every camera when omitted. */
        sensor: z.string().min(1).max(200).optional(),
        /** Frames start (inclusive) to end (exclusive). */
        frameRange: z
          .object({ start: z.number().int().min(0).optional(), end: z.number().int().min(1).optional() })
          .strict()
          .optional(),
        /** Also run the lidar obstacle stage. */
        lidar: z.boolean().optional(),
        /** 'auto': continue an unfinished run with the same parameters; 'new': always a new run; a run id: continue that run. */
        resume: z.union([z.literal('auto'), z.literal('new'), runId]).default('auto'),
      })
      .strict(),
    output: returns<RunInfo>(),
  },
  cancelRun: {
    input: z.object({ runId }).strict(),
    output: returns<{ cancelled: boolean; run: RunInfo }>(),
  },
  listRuns: {
    input: z.object({ logId: logId.optional() }).strict(),
    output: returns<RunInfo[]>(),
  },
  getRun: {
    input: z.object({ runId }).strict(),
    output: returns<RunInfo>(),
  },
  getDetections: {
    input: z.object({ runId, frameId: z.string().min(1).max(400) }).strict(),
    output: returns<FrameDetections>(),
  },
  /** The built-in planner's reference path for one frame, with corridor intrusions (cached per frame). */
  getPlan: {
    input: z
      .object({
        logId,
        index: z.number().int().min(0),
        /** Obstacles from a run's 3D detections instead of the log's ground truth. */
        runId: runId.optional(),
      })
      .strict(),
    output: returns<FramePlan>(),
  },
  ...labelMethods,
  ...safetyMethods,
  ...evalMethods,
  ...explainMethods,
} as const;

export type MethodName = keyof typeof methods;
export type MethodInput<M extends MethodName> = z.input<(typeof methods)[M]['input']>;
export type ParsedInput<M extends MethodName> = z.output<(typeof methods)[M]['input']>;
export type MethodOutput<M extends MethodName> = (typeof methods)[M]['output'];

export interface ProgressEvent {
  taskId: string;
  label: string;
  done: number;
  total: number;
  /** Items per second, when meaningful. */
  rate?: number;
  etaS?: number;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  message?: string;
}

export interface Events {
  progress: ProgressEvent;
  logOpened: { logId: string; name: string };
  logClosed: { logId: string };
  notice: { level: 'info' | 'warning' | 'error'; message: string };
  runProgress: RunProgressEvent;
  labelsChanged: LabelsChangedEvent;
}
export type EventName = keyof Events;
export const eventNames: readonly EventName[] = ['progress', 'logOpened', 'logClosed', 'notice', 'runProgress', 'labelsChanged'];

export type ErrorCode =
  | 'BAD_INPUT'
  | 'UNKNOWN_METHOD'
  | 'NOT_FOUND'
  | 'BAD_LOG'
  | 'OUT_OF_RANGE'
  | 'UNSUPPORTED'
  | 'CONFLICT'
  | 'INTERNAL';

const ERROR_CODES = new Set<string>(['BAD_INPUT', 'UNKNOWN_METHOD', 'NOT_FOUND', 'BAD_LOG', 'OUT_OF_RANGE', 'UNSUPPORTED', 'CONFLICT', 'INTERNAL']);

/** The one error type that crosses transports; `message` is written for the user. */
/** A planner result as it crosses the API (src/plan PlannedFrame without the grid). */
export interface PlanIntrusion {
  obstacleId: string;
  label?: string;
  arcLengthM: number;
  lateralM: number;
  minDistanceM: number;
  clearanceM: number;
  intrudes: boolean;
}
export interface FramePlan {
  frameId: string;
  planned: { points: Vec3[]; blocked: boolean; stopDistanceM: number | null; minClearanceM: number | null; lengthM: number; warnings: string[] };
  corridorHalfWidthM: number;
  intrusions: PlanIntrusion[];
  drivenIntrusions?: PlanIntrusion[];
  timings: { totalMs: number; gridMs: number; planMs: number };
}

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): SerializedApiError {
    return { code: this.code, message: this.message, details: this.details };
  }

  static from(value: unknown): ApiError {
    if (value instanceof ApiError) return value;
    if (isSerializedApiError(value)) return new ApiError(value.code, value.message, value.details);
    // Domain errors (labels: BAD_INPUT, NOT_FOUND, CONFLICT, READ_ONLY) carry their own code.
    if (value instanceof Error) {
      const domain = value as Error & { code?: unknown; details?: Record<string, unknown> };
      const code = domain.code === 'READ_ONLY' ? 'BAD_INPUT' : domain.code;
      if (typeof code === 'string' && ERROR_CODES.has(code)) return new ApiError(code as ErrorCode, value.message, domain.details);
    }
    const message = value instanceof Error ? value.message : String(value);
    return new ApiError('INTERNAL', message);
  }
}

export interface SerializedApiError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export function isSerializedApiError(value: unknown): value is SerializedApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

export const httpStatusOf: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  UNKNOWN_METHOD: 404,
  NOT_FOUND: 404,
  BAD_LOG: 422,
  OUT_OF_RANGE: 416,
  UNSUPPORTED: 415,
  CONFLICT: 409,
  INTERNAL: 500,
};

/** What a renderer holds, whichever transport is behind it. */
export type SightlineApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutput<M>>;
} & {
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
};

/** Validates raw transport input for one method; throws ApiError('BAD_INPUT') naming the fields. */
export function parseInput<M extends MethodName>(method: M, raw: unknown): ParsedInput<M> {
  const schema = methods[method].input;
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`)
      .join('; ');
    throw new ApiError('BAD_INPUT', `Invalid input for ${method}: ${issues}`);
  }
  return result.data as ParsedInput<M>;
}

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(methods, name);
}

/** IPC channel names; the preload and main use only these. */
export const ipcChannels = {
  invoke: 'sightline:invoke',
  event: 'sightline:event',
  pathForFile: 'sightline:path-for-file',
  openDialog: 'sightline:open-dialog',
} as const;

/** What the Electron preload exposes on `window.sightlineBridge` (contextBridge). */
export interface SightlineBridge {
  invoke(method: MethodName, input: unknown): Promise<{ ok: true; value: unknown } | { ok: false; error: SerializedApiError }>;
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void;
  /** Absolute path of a dropped file (Electron's webUtils). */
  pathForFile(file: File): string;
  /** Native open dialog; resolves to a path or null when cancelled. */
  showOpenDialog(): Promise<string | null>;
}

/** HTTP transport routes. */
export const httpRoutes = {
  call: '/api/call/', // POST /api/call/<method>, JSON body, wire-encoded response
  events: '/api/events', // WebSocket, JSON {event, payload} messages
  upload: '/api/upload', // POST raw bytes (?name=file.mcap) -> { path }, for drag and drop in web mode
} as const;
