// Occlusion sensitivity (Zeiler & Fergus 2014) for one detection: slide a masking patch over the
// image, re-run the detector on each occluded copy, and record how much the target detection's
// score drops. The image is decoded and preprocessed once; occluded inputs are that template with
// one rectangle copied in from a preprocessed "fill" image (mean colour, grey or blurred), because
// the preprocessor's resize is a pure scale + pad, so a source rectangle maps to a tensor rectangle.
// space 'source' instead pastes into the raster and preprocesses every copy (exact at patch edges).
import sharp from 'sharp';
import {
  boxIoU,
  createOutputDecoder,
  createPreprocessor,
  createSession,
  type Detection2D,
  type EngineSession,
  type InputTransform,
  type ModelManifest,
  type PreparedInput,
  type ResolvedModel,
} from '../infer/index.js';
import { CellAccumulator, patchRect, planOcclusion, type OcclusionPlan, type Rect } from './grid.js';
import {
  checkTarget,
  resolveSaliencyParams,
  SaliencyAbortedError,
  SaliencyError,
  type OcclusionSpace,
  type SaliencyParams,
  type SaliencyParamsInput,
  type SaliencyTarget,
} from './params.js';

/** Raw interleaved 8-bit RGB(A) pixels, as an alternative to encoded bytes. */
export interface RawImage {
  raw: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface SaliencyRequest {
  /** Encoded PNG/JPEG bytes (or raw pixels). */
  image: Uint8Array | RawImage;
  model: ResolvedModel;
  /** An open session for `model` to reuse (left open); otherwise one is created for params.device and disposed. */
  session?: EngineSession;
  /** Restrict the backends tried when a session is created (e.g. ['onnx:cpu']). */
  backends?: string[];
  target: SaliencyTarget;
  params?: SaliencyParamsInput;
  /** Called after each engine call with occluded passes done so far and the total; monotonic, ends at total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface SaliencyResult {
  /** Grid size in cells; the grid covers the whole source image, row-major, cell (0, 0) top-left. */
  width: number;
  height: number;
  /** Cell side in source pixels (= params.stride). */
  cellSize: number;
  /**
   * Signed score drop per cell: baselineScore minus the target's score with the cell occluded,
   * averaged over every patch covering the cell. Positive = the cell supports the detection;
   * negative = hiding it raises the score; 0 outside `window` (cells not fully scanned).
   */
  values: Float32Array;
  /** Centre of the highest cell, in source pixels, with its value. */
  peak: { x: number; y: number; value: number };
  /** The cells that hold values, in source pixels (whole image for region 'full'; cell-aligned). */
  window: Rect;
  /** The target's score on the unoccluded image (its best-IoU same-class match). */
  baselineScore: number;
  /** The box that match had. */
  baselineBox: Rect;
  sourceWidth: number;
  sourceHeight: number;
  params: SaliencyParams;
  /** Occluded forward passes (the unoccluded baseline pass is one more). */
  passes: number;
  ms: number;
  backend: string;
}

interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

async function decodeImage(image: Uint8Array | RawImage): Promise<Raster> {
  if (!(image instanceof Uint8Array)) {
    const { raw, width, height, channels } = image;
    if (!(channels >= 1 && channels <= 4) || !(width > 0 && height > 0) || raw.length < width * height * channels) {
      throw new SaliencyError(`raw image of ${raw.length} bytes does not hold ${width}x${height}x${channels} pixels`);
    }
    return { data: raw, width, height, channels };
  }
  try {
    const { data, info } = await sharp(image, { failOn: 'error' }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    throw new SaliencyError(`cannot decode the image (${image.length} bytes): ${(e as Error).message}`);
  }
}

/** A same-size raster that supplies the occluder's pixels. */
async function fillRaster(src: Raster, params: SaliencyParams): Promise<Raster> {
  const { width, height, channels } = src;
  if (params.fill === 'blur') {
    // Strong enough that nothing patch-sized stays recognisable.
    const sigma = Math.min(1000, Math.max(1, params.patch / 3));
    const data = await sharp(src.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } }).blur(sigma).raw({ depth: 'uchar' }).toBuffer();
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels };
  }
  const colour = new Array<number>(channels).fill(128);
  if (params.fill === 'mean') {
    const sums = new Float64Array(channels);
    for (let i = 0; i < src.data.length; i++) sums[i % channels]! += src.data[i]!;
    for (let c = 0; c < channels; c++) colour[c] = Math.round(sums[c]! / (width * height));
  }
  if (channels === 4 || channels === 2) colour[channels - 1] = 255;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = colour[i % channels]!;
  return { data, width, height, channels };
}

/** Model-input rectangle for a source rectangle: the model pixels whose centres it contains. */
function tensorRect(r: Rect, t: InputTransform): Rect {
  const resizedW = Math.round(t.srcWidth * t.scaleX);
  const resizedH = Math.round(t.srcHeight * t.scaleY);
  const clampTo = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  return {
    x1: clampTo(Math.round(r.x1 * t.scaleX + t.padX), t.padX, t.padX + resizedW),
    x2: clampTo(Math.round(r.x2 * t.scaleX + t.padX), t.padX, t.padX + resizedW),
    y1: clampTo(Math.round(r.y1 * t.scaleY + t.padY), t.padY, t.padY + resizedH),
    y2: clampTo(Math.round(r.y2 * t.scaleY + t.padY), t.padY, t.padY + resizedH),
  };
}

/** Copy rectangle r (model pixels) of `from` into `to`; both are one input in the manifest's layout. */
function copyTensorRect(to: Float32Array, from: Float32Array, r: Rect, layout: ModelManifest['input']['layout'], W: number, H: number): void {
  if (r.x2 <= r.x1 || r.y2 <= r.y1) return;
  if (layout === 'NCHW') {
    for (let c = 0; c < 3; c++) {
      for (let y = r.y1; y < r.y2; y++) {
        const a = c * W * H + y * W;
        to.set(from.subarray(a + r.x1, a + r.x2), a + r.x1);
      }
    }
    return;
  }
  for (let y = r.y1; y < r.y2; y++) {
    const a = y * W * 3;
    to.set(from.subarray(a + r.x1 * 3, a + r.x2 * 3), a + r.x1 * 3);
  }
}

/** Copy rectangle r (source pixels) of raster `from` into `to`. */
function copyRasterRect(to: Uint8Array, from: Uint8Array, r: Rect, width: number, channels: number): void {
  for (let y = r.y1; y < r.y2; y++) {
    const a = (y * width + r.x1) * channels;
    to.set(from.subarray(a, a + (r.x2 - r.x1) * channels), a);
  }
}

/** The target's score in one output: its best-IoU detection of the same class with IoU >= minIoU, else 0. */
export function matchTarget(detections: readonly Detection2D[], target: SaliencyTarget, minIoU: number): Detection2D | undefined {
  let best: Detection2D | undefined;
  let bestIoU = minIoU;
  for (const d of detections) {
    if (d.label !== target.label && d.modelClass !== target.label) continue;
    const iou = boxIoU([target.x1, target.y1, target.x2, target.y2, d.x1, d.y1, d.x2, d.y2], 0, 1);
    if (iou >= bestIoU) {
      bestIoU = iou;
      best = d;
    }
  }
  return best;
}

/** The manifest with the decoder threshold lowered, so a weakened target still shows up. */
function scanManifest(manifest: ModelManifest, scoreFloor: number): { manifest: ModelManifest; threshold: number } {
  const decoder = manifest.decoder;
  if (decoder.kind === 'segmentation') {
    throw new SaliencyError(`model "${manifest.id}" is a ${manifest.task} model; occlusion saliency needs a detect2d model`);
  }
  const threshold = Math.min(decoder.scoreThreshold, scoreFloor);
  return { manifest: { ...manifest, decoder: { ...decoder, scoreThreshold: threshold } }, threshold };
}

function peakOf(values: Float32Array, plan: OcclusionPlan, acc: CellAccumulator, width: number, height: number): SaliencyResult['peak'] {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (acc.inWindow(i) && (best < 0 || values[i]! > values[best]!)) best = i;
  }
  const cx = best % plan.cols;
  const cy = Math.floor(best / plan.cols);
  const s = plan.cellSize;
  // Centre of the cell's part inside the image (edge cells can be cut short).
  return {
    x: (cx * s + Math.min(width, (cx + 1) * s)) / 2,
    y: (cy * s + Math.min(height, (cy + 1) * s)) / 2,
    value: values[best]!,
  };
}

export async function computeSaliency(request: SaliencyRequest): Promise<SaliencyResult> {
  const t0 = performance.now();
  const { model, target, signal, onProgress } = request;
  if (signal?.aborted) throw new SaliencyAbortedError(0, 0);
  const src = await decodeImage(request.image);
  checkTarget(target, src);
  const params = resolveSaliencyParams(request.params ?? {}, src, request.session?.maxBatch ?? 1);
  const { manifest, threshold } = scanManifest(model.manifest, params.scoreFloor);

  const session = request.session ?? (await createSession(model, { device: params.device, backends: request.backends, log: request.log }));
  try {
    // A batch as large as the session takes, unless asked otherwise.
    if (request.params?.batch === undefined) params.batch = Math.max(1, session.maxBatch);
    const preprocess = createPreprocessor(manifest);
    const decode = createOutputDecoder(manifest);
    const asSource = (r: Raster) => ({ raw: r.data, width: r.width, height: r.height, channels: r.channels });

    const template = await preprocess(asSource(src));
    const [baseRaw] = await session.run([template]);
    const baseline = matchTarget(decode(baseRaw!, template).detections, target, params.matchIoU);
    if (!baseline) {
      throw new SaliencyError(
        `model "${manifest.id}" does not detect the target (${target.label} [${[target.x1, target.y1, target.x2, target.y2].map((v) => v.toFixed(1)).join(', ')}]) ` +
          `on this image: no ${target.label} with IoU >= ${params.matchIoU} and score >= ${threshold}`,
      );
    }

    const plan = planOcclusion(params, src.width, src.height, target);
    const total = plan.kxs.length * plan.kys.length;
    const acc = new CellAccumulator(plan);
    const fill = await fillRaster(src, params);
    const occluded = await occluder(params.space, { src, fill, template, manifest, preprocess: (r) => preprocess(asSource(r)) });
    request.log?.(`saliency: ${total} occluded passes (patch ${params.patch}, stride ${params.stride}, fill ${params.fill}, ${params.space} space, batch ${params.batch}) on ${session.backend}`);

    for (let start = 0; start < total; start += params.batch) {
      if (signal?.aborted) throw new SaliencyAbortedError(start, total);
      const count = Math.min(params.batch, total - start);
      const inputs: PreparedInput[] = [];
      for (let j = 0; j < count; j++) inputs.push(await occluded.make(j, patchRect(plan, start + j, params.patch, src.width, src.height)));
      const outputs = await session.run(inputs);
      for (let j = 0; j < count; j++) {
        const match = matchTarget(decode(outputs[j]!, inputs[j]!).detections, target, params.matchIoU);
        acc.add(start + j, baseline.score - (match?.score ?? 0));
      }
      occluded.release();
      onProgress?.(start + count, total);
    }

    const values = acc.values();
    return {
      width: plan.cols,
      height: plan.rows,
      cellSize: plan.cellSize,
      values,
      peak: peakOf(values, plan, acc, src.width, src.height),
      window: plan.window,
      baselineScore: baseline.score,
      baselineBox: { x1: baseline.x1, y1: baseline.y1, x2: baseline.x2, y2: baseline.y2 },
      sourceWidth: src.width,
      sourceHeight: src.height,
      params,
      passes: total,
      ms: performance.now() - t0,
      backend: session.backend,
    };
  } finally {
    if (!request.session) await session.dispose();
  }
}

interface Occluder {
  /** The j-th input of the current batch, occluded at source rectangle r. */
  make(j: number, r: Rect): Promise<PreparedInput>;
  /** After a batch has run: undo the occlusions so the buffers can be reused. */
  release(): void;
}

interface OccluderParts {
  src: Raster;
  fill: Raster;
  template: PreparedInput;
  manifest: ModelManifest;
  preprocess: (r: Raster) => Promise<PreparedInput>;
}

async function occluder(space: OcclusionSpace, parts: OccluderParts): Promise<Occluder> {
  const { src, fill, template, manifest } = parts;
  if (space === 'source') {
    const work = new Uint8Array(src.data);
    return {
      async make(_j, r) {
        copyRasterRect(work, fill.data, r, src.width, src.channels);
        const input = await parts.preprocess({ ...src, data: work });
        copyRasterRect(work, src.data, r, src.width, src.channels);
        return input;
      },
      release() {},
    };
  }
  const fillTensor = (await parts.preprocess(fill)).tensor;
  const { width: W, height: H, layout } = manifest.input;
  // One reusable buffer per batch slot; only the pasted rectangle is restored after each run.
  const buffers: Float32Array[] = [];
  const pasted: (Rect | undefined)[] = [];
  return {
    async make(j, r) {
      buffers[j] ??= new Float32Array(template.tensor);
      const tr = tensorRect(r, template.transform);
      copyTensorRect(buffers[j]!, fillTensor, tr, layout, W, H);
      pasted[j] = tr;
      return { tensor: buffers[j]!, dims: template.dims, transform: template.transform };
    },
    release() {
      pasted.forEach((tr, j) => tr && copyTensorRect(buffers[j]!, template.tensor, tr, layout, W, H));
      pasted.length = 0;
    },
  };
}
