// The seams of the inference engine. Models (manifest + engine session + decoder) are built
// from plain data so that each pipeline stage can rebuild them inside its own worker thread.

export type ModelTask = 'detect2d' | 'segment2d' | 'segment3d';
export type ModelFormat = 'onnx' | 'tfjs-graph';
export type DeviceChoice = 'auto' | 'gpu' | 'cpu';

/** Where a decoded image came from, and how it was resized into the model input. */
export interface InputTransform {
  srcWidth: number;
  srcHeight: number;
  /** model pixel = src pixel * scale + pad (per axis; stretch has scaleX != scaleY). */
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
}

/** A preprocessed model input: transferable between workers (plain typed array). */
export interface PreparedInput {
  tensor: Float32Array;
  /** e.g. [1, 3, 416, 416] (NCHW) or [1, 512, 512, 3] (NHWC). */
  dims: number[];
  transform: InputTransform;
}

/** Raw model outputs by output name, as plain typed arrays with their shapes. */
export type RawOutputs = Record<string, { data: Float32Array | Int32Array; dims: number[] }>;

export interface Detection2D {
  /** Driving class after the model's class map (e.g. 'car'), or the model class if unmapped. */
  label: string;
  /** The model's own class name (e.g. COCO 'motorcycle'). */
  modelClass: string;
  classIndex: number;
  score: number;
  /** Pixels of the source image. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface SegmentationMask {
  /** Output head name, e.g. 'drivable' or 'lane'. */
  head: string;
  classes: string[];
  width: number;
  height: number;
  /** One class index per pixel, row-major, at source-image resolution. */
  labels: Uint8Array;
}

export interface ModelOutput {
  detections: Detection2D[];
  masks: SegmentationMask[];
}
