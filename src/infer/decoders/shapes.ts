// Check a manifest's decoder against the output shapes the model declares, so a wrong class list
// or output name fails when the model is added, not in the middle of a run.
import type { ModelManifest } from '../manifest.js';
import { headChannels } from './segmentation.js';

/** A model input or output as declared by the file; -1 marks a dynamic or unknown dimension. */
export interface TensorMeta {
  name: string;
  dims: number[];
  dtype?: string;
}

function find(outputs: readonly TensorMeta[], name: string | undefined): TensorMeta | undefined {
  if (name === undefined) return outputs[0];
  return outputs.find((o) => o.name === name || o.name === `${name}:0` || `${o.name}:0` === name);
}

const known = (d: number | undefined): d is number => d !== undefined && d >= 0;
const fmt = (dims: readonly number[]) => `[${dims.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;

/** Problems found, as readable sentences; empty when the shapes fit (unknown dimensions pass). */
export function checkOutputShapes(manifest: ModelManifest, outputs: readonly TensorMeta[]): string[] {
  const problems: string[] = [];
  const nClasses = manifest.classes.length;
  const names = outputs.map((o) => o.name).join(', ');
  const need = (name: string | undefined, field: string): TensorMeta | undefined => {
    const o = find(outputs, name);
    if (!o) problems.push(`${field}: the model has no output ${name === undefined ? '' : `"${name}" `}(outputs: ${names || 'none'})`);
    return o;
  };
  const last = (o: TensorMeta) => o.dims[o.dims.length - 1];
  const classesProblem = (o: TensorMeta, channels: number | undefined, expected: number, what: string) => {
    if (known(channels) && channels !== expected) {
      problems.push(`output "${o.name}" ${fmt(o.dims)} has ${channels} ${what}, but the manifest's ${nClasses} classes need ${expected} (wrong or unknown classes list?)`);
    }
  };

  const d = manifest.decoder;
  switch (d.kind) {
    case 'centernet': {
      if (d.outputs.detections !== undefined) {
        const o = need(d.outputs.detections, 'decoder.outputs.detections');
        if (o && known(last(o)) && last(o) !== 6) problems.push(`output "${o.name}" ${fmt(o.dims)}: detections need 6 values per row (x1, y1, x2, y2, score, class)`);
      }
      if (d.outputs.heatmap !== undefined) {
        const o = need(d.outputs.heatmap, 'decoder.outputs.heatmap');
        // NHWC when TF-exported (classes last), NCHW otherwise.
        if (o && o.dims.length === 4 && known(o.dims[1]) && known(o.dims[3]) && o.dims[1] !== nClasses && o.dims[3] !== nClasses) {
          problems.push(`output "${o.name}" ${fmt(o.dims)} has no axis of ${nClasses} heatmap channels for the manifest's ${nClasses} classes (wrong or unknown classes list?)`);
        }
      }
      if (d.outputs.wh !== undefined) need(d.outputs.wh, 'decoder.outputs.wh');
      if (d.outputs.offset !== undefined) need(d.outputs.offset, 'decoder.outputs.offset');
      break;
    }
    case 'nanodet': {
      const bins = 4 * (d.regMax + 1);
      if ('combined' in d.outputs) {
        const o = need(d.outputs.combined, 'decoder.outputs.combined');
        if (o) classesProblem(o, last(o), nClasses + bins, `values per row (classes + 4 x ${d.regMax + 1} bins)`);
      } else {
        d.outputs.scores.forEach((name, i) => {
          const o = need(name, `decoder.outputs.scores[${i}]`);
          if (o) classesProblem(o, last(o), nClasses, 'class scores per row');
        });
        d.outputs.distributions.forEach((name, i) => {
          const o = need(name, `decoder.outputs.distributions[${i}]`);
          const v = o && last(o);
          if (o && known(v) && v !== bins) problems.push(`output "${o.name}" ${fmt(o.dims)} has ${v} bins per row, but regMax ${d.regMax} needs ${bins} (regMax ${v % 4 === 0 ? v / 4 - 1 : '?'} would fit)`);
        });
      }
      break;
    }
    case 'yolox':
    case 'yolov5': {
      const o = need(d.output, 'decoder.output');
      if (o) classesProblem(o, last(o), 5 + nClasses, 'values per row (4 box + 1 objectness + classes)');
      break;
    }
    case 'yolov8': {
      const o = need(d.output, 'decoder.output');
      if (o && o.dims.length >= 2) {
        const [a, b] = o.dims.slice(-2) as [number, number];
        if (known(a) && known(b) && a !== 4 + nClasses && b !== 4 + nClasses) {
          problems.push(`output "${o.name}" ${fmt(o.dims)} has no axis of ${4 + nClasses} (4 box + ${nClasses} classes) (wrong or unknown classes list?)`);
        }
      }
      break;
    }
    case 'ssd': {
      const boxes = need(d.outputs.boxes, 'decoder.outputs.boxes');
      if (boxes && known(last(boxes)) && last(boxes) !== 4) problems.push(`output "${boxes.name}" ${fmt(boxes.dims)}: boxes need 4 values per row`);
      const scores = need(d.outputs.scores, 'decoder.outputs.scores');
      if (d.outputs.classes !== undefined) need(d.outputs.classes, 'decoder.outputs.classes');
      else if (scores && scores.dims.length >= 3 && known(last(scores))) {
        const c = last(scores)!;
        const ok = c === nClasses || (d.backgroundClass !== undefined && c === nClasses + 1);
        if (!ok) classesProblem(scores, c, nClasses, 'score channels');
      }
      if (d.outputs.count !== undefined) need(d.outputs.count, 'decoder.outputs.count');
      break;
    }
    case 'segmentation': {
      d.heads.forEach((head, i) => {
        const o = need(head.output, `decoder.heads[${i}].output`);
        if (!o || o.dims.length < 3) return;
        const channels = head.layout === 'NCHW' ? o.dims[o.dims.length - 3] : last(o);
        const expected = headChannels(head, manifest);
        if (known(channels) && channels !== expected) {
          problems.push(
            `output "${o.name}" ${fmt(o.dims)} has ${channels} channels (${head.layout}), but head '${head.name}' lists ${expected + (head.activation === 'sigmoid' ? 1 : 0)} classes (${head.activation}) (wrong or unknown classes list?)`,
          );
        }
      });
      break;
    }
  }
  return problems;
}
