// What a saliency map is computed with: the caller's (partial) parameters, resolved against the
// image size into the full set that the result and the cache key record.
import type { DeviceChoice } from '../infer/index.js';

export type OcclusionFill = 'mean' | 'blur' | 'gray';
export type SaliencyRegion = 'full' | 'target';
/** Where the patch is pasted: into the model input tensor (fast), or into the source raster before preprocessing. */
export type OcclusionSpace = 'tensor' | 'source';

/** The detection to explain, in source pixels. */
export interface SaliencyTarget {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Driving label (e.g. 'car') or the model's own class name. */
  label: string;
  score: number;
}

export interface SaliencyParamsInput {
  /** Side of the square masking patch in source pixels; default 1/8 of the shorter side (even, >= 8). */
  patch?: number;
  /** Step between patch positions, also the grid cell size; default patch / 2. */
  stride?: number;
  /** What covers the patch: the image's mean colour, a blurred copy, or mid grey. Default 'mean'. */
  fill?: OcclusionFill;
  /** 'target' scans only a window around the box (for speed); 'full' the whole image (default). */
  region?: SaliencyRegion;
  /** With region 'target': the box is scaled by this about its centre, then grown by one patch. Default 1.5. */
  windowScale?: number;
  /** An occluded detection matches the target when same class and IoU >= this. Default 0.3. */
  matchIoU?: number;
  /** Decoder score threshold while scanning, so weakened detections still match. Default 0.01. */
  scoreFloor?: number;
  /** Default 'tensor'; 'source' re-preprocesses every occluded raster (exact, slower). */
  space?: OcclusionSpace;
  /** Inputs per engine call; default the session's batch. Speed only. */
  batch?: number;
  /** Speed only. Default 'auto'. */
  device?: DeviceChoice;
}

/** The resolved parameters. All but `batch` and `device` change the map and enter the cache key. */
export interface SaliencyParams {
  patch: number;
  stride: number;
  fill: OcclusionFill;
  region: SaliencyRegion;
  windowScale: number;
  matchIoU: number;
  scoreFloor: number;
  space: OcclusionSpace;
  batch: number;
  device: DeviceChoice;
}

export class SaliencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaliencyError';
  }
}

/** Thrown when the AbortSignal fires; says how far the scan got. */
export class SaliencyAbortedError extends Error {
  constructor(
    readonly done: number,
    readonly total: number,
  ) {
    super(`saliency map aborted after ${done} of ${total} occluded forward passes`);
    this.name = 'AbortError';
  }
}

const FILLS: readonly OcclusionFill[] = ['mean', 'blur', 'gray'];
const REGIONS: readonly SaliencyRegion[] = ['full', 'target'];
const SPACES: readonly OcclusionSpace[] = ['tensor', 'source'];
const DEVICES: readonly DeviceChoice[] = ['auto', 'gpu', 'cpu'];

function oneOf<T extends string>(name: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new SaliencyError(`saliency params: ${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value;
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SaliencyError(`saliency params: ${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return value;
}

function inRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new SaliencyError(`saliency params: ${name} must be from ${min} to ${max} (got ${value})`);
  return value;
}

/**
 * Fill in the defaults for an image of this size and check every field. `defaultBatch` is the
 * session's batch when known. Compute cache keys from the result (or from SaliencyResult.params).
 */
export function resolveSaliencyParams(input: SaliencyParamsInput, image: { width: number; height: number }, defaultBatch = 1): SaliencyParams {
  const shorter = Math.min(image.width, image.height);
  const longer = Math.max(image.width, image.height);
  // Default: an even patch, 1/8 of the shorter side, so that stride = patch / 2 is whole.
  const patch = integer('patch', input.patch ?? Math.max(8, 2 * Math.round(shorter / 16)), 2, longer);
  const stride = integer('stride', input.stride ?? Math.max(1, Math.round(patch / 2)), 1, patch);
  return {
    patch,
    stride,
    fill: oneOf('fill', input.fill, FILLS, 'mean'),
    region: oneOf('region', input.region, REGIONS, 'full'),
    windowScale: inRange('windowScale', input.windowScale ?? 1.5, 1, 20),
    matchIoU: inRange('matchIoU', input.matchIoU ?? 0.3, 0.01, 1),
    scoreFloor: inRange('scoreFloor', input.scoreFloor ?? 0.01, 0, 1),
    space: oneOf('space', input.space, SPACES, 'tensor'),
    batch: integer('batch', input.batch ?? Math.max(1, defaultBatch), 1, 256),
    device: oneOf('device', input.device, DEVICES, 'auto'),
  };
}

export function checkTarget(target: SaliencyTarget, image: { width: number; height: number }): void {
  const { x1, y1, x2, y2 } = target;
  if (![x1, y1, x2, y2].every(Number.isFinite) || !(x2 > x1 && y2 > y1)) {
    throw new SaliencyError(`saliency target box [${x1}, ${y1}, ${x2}, ${y2}] is not a box (need x1 < x2 and y1 < y2, finite)`);
  }
  if (x2 <= 0 || y2 <= 0 || x1 >= image.width || y1 >= image.height) {
    throw new SaliencyError(`saliency target box [${x1}, ${y1}, ${x2}, ${y2}] lies outside the ${image.width}x${image.height} image`);
  }
  if (typeof target.label !== 'string' || target.label.length === 0) throw new SaliencyError('saliency target has no label');
}
