// NanoDet (GFL head): per stride, class scores and a discrete distribution of regMax + 1 bins for
// each box side's distance to the grid point. The distance is the expectation of the softmaxed
// distribution (General Focal Loss, Li et al. 2020) in stride units; box = point -/+ distances.
import type { ModelManifest } from '../manifest.js';
import type { PreparedInput, RawOutputs } from '../types.js';
import { CandidateList, getOutput, shapeError, sigmoid, squeezeBatch } from './common.js';

type NanodetSpec = Extract<ModelManifest['decoder'], { kind: 'nanodet' }>;

interface Level {
  stride: number;
  rows: number;
  cols: number;
  scores: Float32Array | Int32Array;
  scoreOffset: number;
  dist: Float32Array | Int32Array;
  distOffset: number;
  /** Values per row of each array. */
  scoreStep: number;
  distStep: number;
}

export function nanodetCandidates(spec: NanodetSpec, manifest: ModelManifest, raw: RawOutputs, _input: PreparedInput): CandidateList {
  const nClasses = manifest.classes.length;
  const bins = spec.regMax + 1;
  const inW = manifest.input.width;
  const inH = manifest.input.height;
  const grid = spec.strides.map((s) => ({ stride: s, rows: Math.ceil(inH / s), cols: Math.ceil(inW / s) }));
  const levels: Level[] = [];
  if ('combined' in spec.outputs) {
    const t = getOutput(raw, spec.outputs.combined, manifest.id);
    const dims = squeezeBatch(t.dims, 2);
    const total = grid.reduce((n, g) => n + g.rows * g.cols, 0);
    if (dims.length !== 2 || dims[0] !== total || dims[1] !== nClasses + 4 * bins) {
      throw shapeError(manifest.id, spec.outputs.combined, t.dims, `[1, ${total}, ${nClasses} + 4 x ${bins}] (classes, then regMax + 1 = ${bins} bins per side)`);
    }
    let row = 0;
    for (const g of grid) {
      levels.push({ ...g, scores: t.data, scoreOffset: row * dims[1]!, dist: t.data, distOffset: row * dims[1]! + nClasses, scoreStep: dims[1]!, distStep: dims[1]! });
      row += g.rows * g.cols;
    }
  } else {
    const { scores, distributions } = spec.outputs;
    grid.forEach((g, i) => {
      const s = getOutput(raw, scores[i], manifest.id);
      const d = getOutput(raw, distributions[i], manifest.id);
      const sd = squeezeBatch(s.dims, 2);
      const dd = squeezeBatch(d.dims, 2);
      const n = g.rows * g.cols;
      if (sd.length !== 2 || sd[0] !== n || sd[1] !== nClasses) throw shapeError(manifest.id, scores[i]!, s.dims, `[1, ${n}, ${nClasses}] for stride ${g.stride}`);
      if (dd.length !== 2 || dd[0] !== n || dd[1] !== 4 * bins) throw shapeError(manifest.id, distributions[i]!, d.dims, `[1, ${n}, ${4 * bins}] (4 sides x regMax + 1 = ${bins} bins) for stride ${g.stride}`);
      levels.push({ ...g, scores: s.data, scoreOffset: 0, dist: d.data, distOffset: 0, scoreStep: nClasses, distStep: 4 * bins });
    });
  }

  const out = new CandidateList();
  const threshold = spec.scoreThreshold;
  const sides = new Float64Array(4);
  for (const lv of levels) {
    const n = lv.rows * lv.cols;
    for (let a = 0; a < n; a++) {
      const sBase = lv.scoreOffset + a * lv.scoreStep;
      let best = -Infinity;
      let bestClass = 0;
      for (let c = 0; c < nClasses; c++) {
        const v = lv.scores[sBase + c]!;
        if (v > best) {
          best = v;
          bestClass = c;
        }
      }
      const bestScore = spec.scoresActivated ? best : sigmoid(best);
      if (bestScore < threshold) continue;
      expectedDistances(lv.dist, lv.distOffset + a * lv.distStep, bins, sides);
      const cx = ((a % lv.cols) + spec.gridOffset) * lv.stride;
      const cy = (Math.floor(a / lv.cols) + spec.gridOffset) * lv.stride;
      const s = lv.stride;
      const x1 = cx - sides[0]! * s;
      const y1 = cy - sides[1]! * s;
      const x2 = cx + sides[2]! * s;
      const y2 = cy + sides[3]! * s;
      if (!spec.multiLabel) {
        out.push(x1, y1, x2, y2, bestScore, bestClass);
        continue;
      }
      for (let c = 0; c < nClasses; c++) {
        const v = lv.scores[sBase + c]!;
        const score = spec.scoresActivated ? v : sigmoid(v);
        if (score >= threshold) out.push(x1, y1, x2, y2, score, c);
      }
    }
  }
  return out;
}

/** Softmax over each side's bins, then the expected bin index (left, top, right, bottom). */
export function expectedDistances(data: ArrayLike<number>, base: number, bins: number, out: Float64Array): void {
  for (let side = 0; side < 4; side++) {
    const o = base + side * bins;
    let max = -Infinity;
    for (let j = 0; j < bins; j++) max = Math.max(max, data[o + j]!);
    let sum = 0;
    let weighted = 0;
    for (let j = 0; j < bins; j++) {
      const e = Math.exp(data[o + j]! - max);
      sum += e;
      weighted += e * j;
    }
    out[side] = weighted / sum;
  }
}
