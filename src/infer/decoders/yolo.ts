// YOLO family heads. Boxes are centre/size rows; what differs is where the grid decode happens
// and whether an objectness score multiplies the class scores.
//  - YOLOX: anchor-free, rows [dx, dy, log w, log h, obj, classes...] per grid point of strides
//    8/16/32 (row-major per level); cx = (dx + gx) * s, w = exp(log w) * s; score = obj * cls.
//  - YOLOv5: the export decodes anchors in the graph; rows [cx, cy, w, h, obj, classes...] in pixels.
//  - YOLOv8: no objectness; output [4 + C, N] (channel-major) or [N, 4 + C]; cx, cy, w, h in pixels.
import type { ModelManifest } from '../manifest.js';
import type { PreparedInput, RawOutputs } from '../types.js';
import { CandidateList, getOutput, shapeError, squeezeBatch } from './common.js';

type YoloxSpec = Extract<ModelManifest['decoder'], { kind: 'yolox' }>;
type Yolov5Spec = Extract<ModelManifest['decoder'], { kind: 'yolov5' }>;
type Yolov8Spec = Extract<ModelManifest['decoder'], { kind: 'yolov8' }>;

/** Push one centre/size box for each class above threshold (or the best one). */
function pushClasses(
  out: CandidateList,
  spec: { scoreThreshold: number; multiLabel: boolean },
  cx: number,
  cy: number,
  w: number,
  h: number,
  obj: number,
  data: ArrayLike<number>,
  base: number,
  step: number,
  nClasses: number,
): void {
  const x1 = cx - w / 2;
  const y1 = cy - h / 2;
  const x2 = cx + w / 2;
  const y2 = cy + h / 2;
  if (spec.multiLabel) {
    for (let c = 0; c < nClasses; c++) {
      const score = obj * data[base + c * step]!;
      if (score >= spec.scoreThreshold) out.push(x1, y1, x2, y2, score, c);
    }
    return;
  }
  let best = -Infinity;
  let bestClass = 0;
  for (let c = 0; c < nClasses; c++) {
    const v = data[base + c * step]!;
    if (v > best) {
      best = v;
      bestClass = c;
    }
  }
  if (obj * best >= spec.scoreThreshold) out.push(x1, y1, x2, y2, obj * best, bestClass);
}

export function yoloxCandidates(spec: YoloxSpec, manifest: ModelManifest, raw: RawOutputs, _input: PreparedInput): CandidateList {
  const nClasses = manifest.classes.length;
  const t = getOutput(raw, spec.output, manifest.id);
  const dims = squeezeBatch(t.dims, 2);
  const step = 5 + nClasses;
  const grid = spec.strides.map((s) => ({ stride: s, rows: Math.floor(manifest.input.height / s), cols: Math.floor(manifest.input.width / s) }));
  const total = grid.reduce((n, g) => n + g.rows * g.cols, 0);
  if (dims.length !== 2 || dims[1] !== step || (!spec.decodedInGraph && dims[0] !== total)) {
    throw shapeError(manifest.id, spec.output ?? 'output', t.dims, `[1, ${spec.decodedInGraph ? 'N' : total}, ${step}] (box 4, objectness 1, ${nClasses} classes)`);
  }
  const d = t.data;
  const out = new CandidateList();
  let row = 0;
  const levels = spec.decodedInGraph ? [{ stride: 1, rows: 1, cols: dims[0]! }] : grid;
  for (const lv of levels) {
    for (let gy = 0; gy < lv.rows; gy++) {
      for (let gx = 0; gx < lv.cols; gx++, row++) {
        const b = row * step;
        const obj = d[b + 4]!;
        if (obj < spec.scoreThreshold) continue; // obj * cls <= obj
        let cx: number, cy: number, w: number, h: number;
        if (spec.decodedInGraph) {
          [cx, cy, w, h] = [d[b]!, d[b + 1]!, d[b + 2]!, d[b + 3]!];
        } else {
          cx = (d[b]! + gx) * lv.stride;
          cy = (d[b + 1]! + gy) * lv.stride;
          w = Math.exp(d[b + 2]!) * lv.stride;
          h = Math.exp(d[b + 3]!) * lv.stride;
        }
        pushClasses(out, spec, cx, cy, w, h, obj, d, b + 5, 1, nClasses);
      }
    }
  }
  return out;
}

export function yolov5Candidates(spec: Yolov5Spec, manifest: ModelManifest, raw: RawOutputs, _input: PreparedInput): CandidateList {
  const nClasses = manifest.classes.length;
  const t = getOutput(raw, spec.output, manifest.id);
  const dims = squeezeBatch(t.dims, 2);
  const step = 5 + nClasses;
  if (dims.length !== 2 || dims[1] !== step) throw shapeError(manifest.id, spec.output ?? 'output', t.dims, `[1, N, ${step}] (cx, cy, w, h, objectness, ${nClasses} classes)`);
  const d = t.data;
  const out = new CandidateList();
  for (let r = 0; r < dims[0]!; r++) {
    const b = r * step;
    const obj = d[b + 4]!;
    if (obj < spec.scoreThreshold) continue;
    pushClasses(out, spec, d[b]!, d[b + 1]!, d[b + 2]!, d[b + 3]!, obj, d, b + 5, 1, nClasses);
  }
  return out;
}

export function yolov8Candidates(spec: Yolov8Spec, manifest: ModelManifest, raw: RawOutputs, _input: PreparedInput): CandidateList {
  const nClasses = manifest.classes.length;
  const t = getOutput(raw, spec.output, manifest.id);
  const dims = squeezeBatch(t.dims, 2);
  const width = 4 + nClasses;
  if (dims.length !== 2 || (dims[0] !== width && dims[1] !== width)) throw shapeError(manifest.id, spec.output ?? 'output', t.dims, `[1, ${width}, N] or [1, N, ${width}] (cx, cy, w, h, ${nClasses} classes)`);
  // The native export is channel-major [4 + C, N].
  const channelMajor = dims[0] === width;
  const n = channelMajor ? dims[1]! : dims[0]!;
  const d = t.data;
  const out = new CandidateList();
  // Element (anchor a, channel k).
  const stride = channelMajor ? n : 1;
  for (let a = 0; a < n; a++) {
    const base = channelMajor ? a : a * width;
    pushClasses(out, spec, d[base]!, d[base + stride]!, d[base + 2 * stride]!, d[base + 3 * stride]!, 1, d, base + 4 * stride, stride, nClasses);
  }
  return out;
}
