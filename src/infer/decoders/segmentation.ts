// Semantic segmentation: per head, class logits (or probabilities) -> one class index per pixel at
// the output resolution, then sampled (nearest) back onto the source image through the input transform.
import { ModelError } from '../errors.js';
import type { ModelManifest, SegmentationHead } from '../manifest.js';
import type { PreparedInput, RawOutputs, SegmentationMask } from '../types.js';
import { getOutput, shapeError, squeezeBatch } from './common.js';

type SegmentationSpec = Extract<ModelManifest['decoder'], { kind: 'segmentation' }>;

/** Class names a head writes into its mask. */
export function headClasses(head: SegmentationHead, manifest: ModelManifest): string[] {
  return head.classes ?? manifest.classes;
}

/** Channels the head's output must have for its classes. */
export function headChannels(head: SegmentationHead, manifest: ModelManifest): number {
  const n = headClasses(head, manifest).length;
  return head.activation === 'sigmoid' ? n - 1 : n;
}

export function decodeSegmentation(spec: SegmentationSpec, manifest: ModelManifest, raw: RawOutputs, input: PreparedInput): SegmentationMask[] {
  return spec.heads.map((head) => decodeHead(head, manifest, raw, input));
}

function decodeHead(head: SegmentationHead, manifest: ModelManifest, raw: RawOutputs, input: PreparedInput): SegmentationMask {
  const classes = headClasses(head, manifest);
  const channels = headChannels(head, manifest);
  const t = getOutput(raw, head.output, manifest.id);
  const dims = squeezeBatch(t.dims, 3);
  // A single-channel output may come without its channel axis.
  if (dims.length === 2 && channels === 1) dims.unshift(1);
  const nchw = head.layout === 'NCHW';
  const c = nchw ? dims[0] : dims[2];
  if (dims.length !== 3 || c !== channels) {
    throw shapeError(manifest.id, head.output, t.dims, `${channels} channel(s) (${head.layout}) for ${classes.length} classes of head '${head.name}' (${head.activation})`);
  }
  const [h, w] = nchw ? [dims[1]!, dims[2]!] : [dims[0]!, dims[1]!];
  const small = labelsAtOutput(head, t.data, channels, h, w, nchw);

  // Nearest sampling: source pixel centre -> model input pixel -> output cell.
  const { srcWidth, srcHeight, scaleX, scaleY, padX, padY } = input.transform;
  const toOutX = w / manifest.input.width;
  const toOutY = h / manifest.input.height;
  const col = new Int32Array(srcWidth);
  for (let x = 0; x < srcWidth; x++) col[x] = clampIndex(Math.floor(((x + 0.5) * scaleX + padX) * toOutX), w);
  const labels = new Uint8Array(srcWidth * srcHeight);
  for (let y = 0; y < srcHeight; y++) {
    const rowBase = clampIndex(Math.floor(((y + 0.5) * scaleY + padY) * toOutY), h) * w;
    const o = y * srcWidth;
    for (let x = 0; x < srcWidth; x++) labels[o + x] = small[rowBase + col[x]!]!;
  }
  return { head: head.name, classes: [...classes], width: srcWidth, height: srcHeight, labels };
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

function labelsAtOutput(head: SegmentationHead, data: Float32Array | Int32Array, channels: number, h: number, w: number, nchw: boolean): Uint8Array {
  const plane = h * w;
  const labels = new Uint8Array(plane);
  const at = nchw ? (p: number, c: number) => data[c * plane + p]! : (p: number, c: number) => data[p * channels + c]!;
  if (head.activation === 'argmax') {
    for (let p = 0; p < plane; p++) {
      let best = at(p, 0);
      let bestC = 0;
      for (let c = 1; c < channels; c++) {
        const v = at(p, c);
        if (v > best) {
          best = v;
          bestC = c;
        }
      }
      labels[p] = bestC;
    }
    return labels;
  }
  // sigmoid(v) > t  <=>  v > logit(t); probabilities compare to t directly.
  const t = head.threshold;
  if (!head.activated && (t <= 0 || t >= 1)) throw new ModelError(`head '${head.name}': a sigmoid threshold must be strictly between 0 and 1`, { path: head.output, field: 'threshold' });
  const cut = head.activated ? t : Math.log(t / (1 - t));
  for (let p = 0; p < plane; p++) {
    let best = -Infinity;
    let bestC = 0;
    for (let c = 0; c < channels; c++) {
      const v = at(p, c);
      if (v > best) {
        best = v;
        bestC = c;
      }
    }
    labels[p] = best > cut ? bestC + 1 : 0;
  }
  return labels;
}
