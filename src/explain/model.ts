// The saliency service's data shapes as they cross the API: pure types, no Node APIs, so the
// contract (and through it the renderer) can use them. The core and the store produce these objects.

/** The resolved parameters a map was computed with (src/explain/params.ts SaliencyParams). */
export interface SaliencyParamsRecord {
  patch: number;
  stride: number;
  fill: 'mean' | 'blur' | 'gray';
  region: 'full' | 'target';
  windowScale: number;
  matchIoU: number;
  scoreFloor: number;
  space: 'tensor' | 'source';
  batch: number;
  device: 'auto' | 'gpu' | 'cpu';
}

export interface SaliencyBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** One stored map, without its grid and heatmap (for lists). */
export interface SaliencySummary {
  saliencyId: number;
  runId: number;
  detectionId: number;
  frameId: string;
  sensorId: string;
  modelId: string;
  modelSha256: string;
  imageSha256: string;
  /** The detection explained, in source pixels. */
  target: SaliencyBox & { label: string; score: number };
  params: SaliencyParamsRecord;
  /** Centre of the highest cell, source pixels, with its score drop. */
  peak: { x: number; y: number; value: number };
  /** The scanned cells (whole image for region 'full'). */
  window: SaliencyBox;
  baselineScore: number;
  sourceWidth: number;
  sourceHeight: number;
  /** Occluded forward passes; computeMs and backend say how fast, where. */
  passes: number;
  computeMs: number;
  backend: string;
  createdAt: string;
  createdBy: string;
}

/** A stored map with its score-drop grid and heatmap. */
export interface SaliencyMap extends SaliencySummary {
  grid: { width: number; height: number; cellSize: number; values: Float32Array };
  /** RGBA PNG at the source size: colormap colours, alpha proportional to the drop. */
  heatmapPng: Uint8Array;
  /** The heatmap's colormap, low to high (evenly spaced RGB stops), for a legend. */
  colormap: { name: string; stops: Array<[number, number, number]> };
  /** True when a request was answered from the cache. */
  cached: boolean;
}

/** computeSaliency's answer: the cached map at once, or the task whose progress events follow. */
export type SaliencyStart = { cached: true; taskId: null; map: SaliencyMap } | { cached: false; taskId: string; map: null };

/** Progress labels of saliency tasks start with this, so a UI can find its own. */
export const SALIENCY_TASK_PREFIX = 'saliency:';
