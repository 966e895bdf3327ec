// SSD-style outputs where the graph already applied the anchors: a boxes tensor plus either per-class
// scores ([N, C], optionally with a background channel) or one score and a class id per box
// (TensorFlow Object Detection API: boxes, scores, classes, num_detections).
import type { ModelManifest } from '../manifest.js';
import type { PreparedInput, RawOutputs } from '../types.js';
import { CandidateList, getOutput, shapeError, sigmoid, squeezeBatch } from './common.js';

type SsdSpec = Extract<ModelManifest['decoder'], { kind: 'ssd' }>;

export function ssdCandidates(spec: SsdSpec, manifest: ModelManifest, raw: RawOutputs, _input: PreparedInput): CandidateList {
  const nClasses = manifest.classes.length;
  const boxes = getOutput(raw, spec.outputs.boxes, manifest.id);
  const scores = getOutput(raw, spec.outputs.scores, manifest.id);
  const bd = squeezeBatch(boxes.dims, 2);
  if (bd.length !== 2 || bd[1] !== 4) throw shapeError(manifest.id, spec.outputs.boxes, boxes.dims, '[1, N, 4]');
  let n = bd[0]!;
  if (spec.outputs.count !== undefined) n = Math.min(n, Math.round(getOutput(raw, spec.outputs.count, manifest.id).data[0]!));
  const sx = spec.normalized ? manifest.input.width : 1;
  const sy = spec.normalized ? manifest.input.height : 1;
  const b = boxes.data;
  const box = (i: number): [number, number, number, number] => {
    const [p, q, r, s] = [b[i * 4]!, b[i * 4 + 1]!, b[i * 4 + 2]!, b[i * 4 + 3]!];
    if (spec.boxFormat === 'yxyx') return [q * sx, p * sy, s * sx, r * sy];
    if (spec.boxFormat === 'cxcywh') return [(p - r / 2) * sx, (q - s / 2) * sy, (p + r / 2) * sx, (q + s / 2) * sy];
    return [p * sx, q * sy, r * sx, s * sy];
  };
  const out = new CandidateList();
  const sd = squeezeBatch(scores.dims, 2);

  if (spec.outputs.classes !== undefined) {
    // One score and one class id per box.
    const ids = getOutput(raw, spec.outputs.classes, manifest.id).data;
    if (scores.data.length < n || ids.length < n) throw shapeError(manifest.id, spec.outputs.scores, scores.dims, `one score and class per box (${n} boxes)`);
    for (let i = 0; i < n; i++) {
      const score = activate(spec.scoreActivation === 'softmax' ? 'none' : spec.scoreActivation, scores.data[i]!);
      if (score < spec.scoreThreshold) continue;
      const cls = Math.round(ids[i]!) + spec.classIdOffset;
      if (cls < 0 || cls >= nClasses) throw shapeError(manifest.id, `${spec.outputs.classes} (class id ${ids[i]})`, [n], `class ids mapping into ${nClasses} classes (classIdOffset ${spec.classIdOffset})`);
      const [x1, y1, x2, y2] = box(i);
      out.push(x1, y1, x2, y2, score, cls);
    }
    return out;
  }

  const channels = sd[1]!;
  const bg = spec.backgroundClass;
  // With a background channel beyond the named classes, skip it and shift the others down.
  const extraBackground = bg !== undefined && channels === nClasses + 1;
  if (sd.length !== 2 || sd[0]! < n || (channels !== nClasses && !extraBackground)) {
    throw shapeError(manifest.id, spec.outputs.scores, scores.dims, `[1, N, ${nClasses}]${bg !== undefined ? ` or [1, N, ${nClasses + 1}] with background` : ''}`);
  }
  const s = scores.data;
  const row = new Float64Array(channels);
  for (let i = 0; i < n; i++) {
    const base = i * channels;
    if (spec.scoreActivation === 'softmax') {
      let max = -Infinity;
      for (let c = 0; c < channels; c++) max = Math.max(max, s[base + c]!);
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += row[c] = Math.exp(s[base + c]! - max);
      for (let c = 0; c < channels; c++) row[c]! /= sum;
    } else {
      for (let c = 0; c < channels; c++) row[c] = activate(spec.scoreActivation, s[base + c]!);
    }
    let x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    let decoded = false;
    let best = -Infinity;
    let bestClass = -1;
    for (let c = 0; c < channels; c++) {
      if (c === bg) continue;
      const cls = extraBackground && c > bg! ? c - 1 : c;
      const score = row[c]!;
      if (!spec.multiLabel) {
        if (score > best) [best, bestClass] = [score, cls];
        continue;
      }
      if (score < spec.scoreThreshold) continue;
      if (!decoded) [x1, y1, x2, y2] = box(i);
      decoded = true;
      out.push(x1, y1, x2, y2, score, cls);
    }
    if (!spec.multiLabel && bestClass >= 0 && best >= spec.scoreThreshold) {
      [x1, y1, x2, y2] = box(i);
      out.push(x1, y1, x2, y2, best, bestClass);
    }
  }
  return out;
}

function activate(kind: 'none' | 'sigmoid', v: number): number {
  return kind === 'sigmoid' ? sigmoid(v) : v;
}
