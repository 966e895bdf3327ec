// Detections of one run on one frame, shaped like the log's own labels so the panels draw both
// with the same code: 2D boxes per camera, 3D boxes in the ego frame, masks, point labels.
import type { FrameDetections } from '../../src/api/contract.js';
import type { Box2D, Box3D } from '../../src/logs/model.js';
import { classColorRgb } from '../app/classColors.js';
import { classVisible, type ReviewSettings } from './appState.js';

export interface DetectionBox2D extends Box2D {
  runId: number;
  score: number;
}

export interface DetectionBox3D extends Box3D {
  runId: number;
  score: number;
  sensorId: string;
}

export interface DecodedMask {
  sensorId: string;
  head: string;
  classes: string[];
  width: number;
  height: number;
  /** Coloured with `maskPalette`; null when the PNG could not be decoded. */
  bitmap: ImageBitmap | null;
  /** Class indices present in this mask (for the legend). */
  present: number[];
}

export interface RunFrameDetections {
  runId: number;
  frameId: string;
  boxes2d: DetectionBox2D[];
  boxes3d: DetectionBox3D[];
  masks: DecodedMask[];
  pointLabels: FrameDetections['pointLabels'];
}

/** One id per detection, shared by its 2D and 3D box: selecting one selects both. */
export function detectionId(runId: number, frameId: string, index: number): string {
  return `run${runId}:${frameId}:${index}`;
}

export function toRunFrameDetections(source: FrameDetections, masks: DecodedMask[]): RunFrameDetections {
  const boxes2d: DetectionBox2D[] = [];
  const boxes3d: DetectionBox3D[] = [];
  source.detections.forEach((d, i) => {
    const id = detectionId(source.runId, source.frameId, i);
    const trackId = d.trackId ?? undefined;
    if (d.box2d) {
      const [x1, y1, x2, y2] = d.box2d;
      boxes2d.push({ id, sensorId: d.sensorId, label: d.class, x1, y1, x2, y2, score: d.score, runId: source.runId, ...(trackId ? { trackId } : {}) });
    }
    if (d.box3d) {
      boxes3d.push({
        id,
        label: d.class,
        center: d.box3d.center,
        size: d.box3d.size,
        yaw: d.box3d.yaw,
        score: d.score,
        runId: source.runId,
        sensorId: d.sensorId,
        ...(trackId ? { trackId } : {}),
        attributes: { run: source.runId, model: d.modelClass ?? d.class },
      });
    }
  });
  return { runId: source.runId, frameId: source.frameId, boxes2d, boxes3d, masks, pointLabels: source.pointLabels };
}

export function passesFilter(review: ReviewSettings, box: { label: string; score: number }): boolean {
  return box.score >= review.scoreThreshold && classVisible(review, box.label);
}

export function closeDetections(d: RunFrameDetections): void {
  for (const m of d.masks) m.bitmap?.close();
}

const TRANSPARENT_CLASSES = /^(_*background_*|unlabel(l)?ed|void|none|ignore|ego.?vehicle)$/i;

/** Mask colours: the class palette (so a car is the same blue everywhere), background left out. */
export function maskPalette(classes: readonly string[]): Uint32Array {
  const palette = new Uint32Array(256);
  classes.forEach((name, i) => {
    if (i > 255 || TRANSPARENT_CLASSES.test(name.trim())) return;
    const [r, g, b] = classColorRgb(name);
    palette[i] = (255 << 24) | (Math.round(b * 255) << 16) | (Math.round(g * 255) << 8) | Math.round(r * 255);
  });
  return palette;
}

export function maskClassVisible(name: string): boolean {
  return !TRANSPARENT_CLASSES.test(name.trim());
}
