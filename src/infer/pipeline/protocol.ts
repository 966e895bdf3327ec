// Messages between the run orchestrator (main thread) and its stage workers. Everything here is
// structured-clone data; typed arrays travel in transfer lists, not as copies.
import type { CameraIntrinsics, Pose } from '../../logs/model.js';
import type { DeviceChoice, InputTransform, ModelOutput, PreparedInput, RawOutputs } from '../types.js';

/** A model as the workers rebuild it: plain data (manifest, file path, hash). */
export interface PipelineModel {
  manifest: { id: string; task: string; name?: string } & Record<string, unknown>;
  modelPath: string;
  sha256: string;
}

export type StageSpec =
  | { kind: 'read'; logPath: string; logId: string; referenceSensor?: string; cameras: string[]; lidar: boolean }
  | { kind: 'preprocess'; stagesModule: string; model: PipelineModel }
  | { kind: 'infer'; stagesModule: string; model: PipelineModel; device: DeviceChoice; threads?: number }
  | { kind: 'postprocess'; stagesModule: string; model: PipelineModel }
  | { kind: 'lidar'; params: LidarParams };

export interface LidarParams {
  /** Classes stored with the point labels, index = label value. */
  classes: string[];
}

// ---- jobs and results per stage ----

export interface ReadJob {
  index: number;
}
export interface ReadImage {
  sensorId: string;
  format: string;
  width: number;
  height: number;
  data: Uint8Array;
  intrinsics: CameraIntrinsics;
  /** ego <- camera optical frame. */
  extrinsic: Pose;
}
export interface ReadSweep {
  sensorId: string;
  count: number;
  /** xyz interleaved in the sensor frame. */
  positions: Float32Array;
  /** ego <- sensor. */
  extrinsic: Pose;
}
export interface ReadResult {
  index: number;
  frameId: string;
  stampNs: string;
  images: ReadImage[];
  lidar?: ReadSweep;
  warnings: string[];
}

export interface PreprocessJob {
  image: ReadImage;
}
export type PreprocessResult = PreparedInput;

export interface InferJob {
  inputs: PreparedInput[];
}
export interface InferResult {
  outputs: RawOutputs[];
}

export interface PostprocessJob {
  raw: RawOutputs;
  input: { dims: number[]; transform: InputTransform };
}
export interface EncodedMask {
  head: string;
  classes: string[];
  width: number;
  height: number;
  encoding: 'png-gray8';
  data: Uint8Array;
}
export interface PostprocessResult {
  detections: ModelOutput['detections'];
  masks: EncodedMask[];
}

/** One camera's 2D detections of the same frame, to place in 3D from the sweep (fusion). */
export interface FusionRequest {
  sensorId: string;
  intrinsics: CameraIntrinsics;
  /** ego <- camera optical frame. */
  extrinsic: Pose;
  detections: { x1: number; y1: number; x2: number; y2: number; label: string; score: number }[];
}

export interface LidarJob {
  sweep: ReadSweep;
  cameras?: FusionRequest[];
}
export interface LidarBox {
  label: string;
  score: number;
  /** Ego frame. */
  center: [number, number, number];
  size: [number, number, number];
  yaw: number;
}
export interface FusedBox {
  sensorId: string;
  /** Index into that camera's detections in the request. */
  index: number;
  /** 'cluster' (a lidar cluster's fitted box) or 'depth-mode' (a class-sized box at the frustum's depth). */
  method: string;
  box: LidarBox;
}

export interface LidarResult {
  boxes: LidarBox[];
  /** 3D boxes for camera detections that had enough lidar points in their frustum. */
  fused: FusedBox[];
  pointCount: number;
  classes: string[];
  /** zlib deflate of one class index per point. */
  labels: Uint8Array;
}

/** What a worker reports once its stage is built (the infer stage: the engine it got). */
export interface StageReady {
  engine?: string;
  backend?: string;
  providerAttempts?: unknown[];
  maxBatch?: number;
  inputDims?: number[];
}

export type ToWorker = { type: 'job'; id: number; job: unknown } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: StageReady }
  | { type: 'result'; id: number; result: unknown; busyMs: number }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'fatal'; error: SerializedError }
  | { type: 'log'; message: string };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** The ArrayBuffers to transfer for these views: each buffer once. */
export function transferList(views: Iterable<ArrayBufferView | undefined>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) if (v && v.buffer instanceof ArrayBuffer && v.buffer.byteLength > 0) out.add(v.buffer);
  return [...out];
}

/**
 * A view over a buffer this thread allocated, made to own its whole buffer so that transferring it
 * moves nothing else (a Node Buffer may sit inside a larger allocation). Buffers from other code
 * (readers, engines) are copied with copyOf() instead: they may still be in use there.
 */
export function ownedView<T extends Float32Array | Int32Array | Uint8Array>(view: T): T {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) return view;
  return copyOf(view);
}

/** A copy in a fresh buffer. (A Node Buffer's slice() is a view, not a copy, hence not used.) */
export function copyOf<T extends Float32Array | Int32Array | Uint8Array>(view: T): T {
  if (view instanceof Uint8Array) {
    const out = new Uint8Array(view.length);
    out.set(view);
    return out as T;
  }
  return view.slice() as T;
}
