// Shared by the detection decoders: candidate boxes in model-input pixels, then threshold, per-class
// NMS, mapping back to source pixels and the class map.
import { ModelError } from '../errors.js';
import { nms, topKIndices } from '../nms.js';
import type { Detection2D, InputTransform, RawOutputs } from '../types.js';

type RawTensor = RawOutputs[string];

/** Growable struct-of-arrays of candidate boxes (model-input pixels). */
export class CandidateList {
  boxes = new Float32Array(256 * 4);
  scores = new Float32Array(256);
  classes = new Int32Array(256);
  count = 0;

  push(x1: number, y1: number, x2: number, y2: number, score: number, cls: number): void {
    if (this.count === this.scores.length) this.grow();
    const i = this.count++;
    this.boxes[i * 4] = x1;
    this.boxes[i * 4 + 1] = y1;
    this.boxes[i * 4 + 2] = x2;
    this.boxes[i * 4 + 3] = y2;
    this.scores[i] = score;
    this.classes[i] = cls;
  }

  private grow(): void {
    const n = this.scores.length * 2;
    const boxes = new Float32Array(n * 4);
    boxes.set(this.boxes);
    const scores = new Float32Array(n);
    scores.set(this.scores);
    const classes = new Int32Array(n);
    classes.set(this.classes);
    this.boxes = boxes;
    this.scores = scores;
    this.classes = classes;
  }
}

export interface DetectionSettings {
  iouThreshold: number;
  maxDetections: number;
  preNmsTopK: number;
  classAgnosticNms: boolean;
}

/** Best candidates -> NMS -> source pixels (clipped) -> class map; best first. */
export function finalizeDetections(
  cands: CandidateList,
  settings: DetectionSettings,
  transform: InputTransform,
  classes: readonly string[],
  labels: readonly (string | null)[],
): Detection2D[] {
  // Drop classes the map removes before NMS, so they cannot suppress kept classes.
  const pre = topKIndices(cands.scores, cands.count, cands.count);
  const sel = new CandidateList();
  for (let o = 0; o < pre.length && sel.count < settings.preNmsTopK; o++) {
    const i = pre[o]!;
    if (labels[cands.classes[i]!] === null) continue;
    sel.push(cands.boxes[i * 4]!, cands.boxes[i * 4 + 1]!, cands.boxes[i * 4 + 2]!, cands.boxes[i * 4 + 3]!, cands.scores[i]!, cands.classes[i]!);
  }
  const keep = nms(sel.boxes, sel.scores, settings.classAgnosticNms ? null : sel.classes, sel.count, settings.iouThreshold, settings.maxDetections);
  const { scaleX, scaleY, padX, padY, srcWidth, srcHeight } = transform;
  const out: Detection2D[] = [];
  for (const i of keep) {
    const cls = sel.classes[i]!;
    const x1 = clamp((sel.boxes[i * 4]! - padX) / scaleX, 0, srcWidth);
    const y1 = clamp((sel.boxes[i * 4 + 1]! - padY) / scaleY, 0, srcHeight);
    const x2 = clamp((sel.boxes[i * 4 + 2]! - padX) / scaleX, 0, srcWidth);
    const y2 = clamp((sel.boxes[i * 4 + 3]! - padY) / scaleY, 0, srcHeight);
    if (!(x2 > x1 && y2 > y1)) continue;
    out.push({ label: labels[cls]!, modelClass: classes[cls]!, classIndex: cls, score: sel.scores[i]!, x1, y1, x2, y2 });
  }
  return out;
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Output by name; tolerates TF's ':0' suffix either way. Errors list what the model produced. */
export function getOutput(raw: RawOutputs, name: string | undefined, modelId: string): RawTensor {
  const names = Object.keys(raw);
  if (name === undefined) {
    if (names.length === 0) throw new ModelError(`${modelId}: the model produced no outputs`, { path: modelId });
    return raw[names[0]!]!;
  }
  const found = raw[name] ?? raw[name.replace(/:0$/, '')] ?? raw[`${name}:0`];
  if (!found) throw new ModelError(`${modelId}: the model has no output "${name}" (outputs: ${names.join(', ')})`, { path: modelId, field: 'decoder.outputs' });
  return found;
}

/** Drop leading batch dimensions of size 1: [1, 1, N, C] -> [N, C]. */
export function squeezeBatch(dims: readonly number[], rank: number): number[] {
  const d = [...dims];
  while (d.length > rank && d[0] === 1) d.shift();
  return d;
}

export function shapeError(modelId: string, what: string, dims: readonly number[], expected: string): ModelError {
  return new ModelError(`${modelId}: output ${what} has shape [${dims.join(', ')}], expected ${expected}`, { path: modelId, field: 'decoder' });
}
