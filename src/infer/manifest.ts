// A model is a file plus this manifest: what the network expects as input, how to decode its
// outputs, and what its classes are. Manifests are plain JSON so each worker can rebuild a model.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ModelError } from './errors.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const positive = z.number().positive();
const probability = z.number().min(0).max(1);
const outputName = z.string().min(1);

export const inputSpecSchema = z.strictObject({
  /** Input tensor name; the model's first input when omitted. */
  name: z.string().min(1).optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  layout: z.enum(['NCHW', 'NHWC']),
  colorOrder: z.enum(['RGB', 'BGR']),
  /** value = (pixel - mean) / std, with pixels in 0..255, in the manifest's colour order. */
  mean: z.tuple([finite, finite, finite]),
  std: z.tuple([positive, positive, positive]),
  resize: z.enum(['letterbox', 'stretch']),
  letterboxAlign: z.enum(['center', 'top-left']).default('center'),
  /** Pixel value (0..255, before normalization) of the letterbox border. */
  padValue: z.number().min(0).max(255).default(0),
  /** bilinear: OpenCV INTER_LINEAR (half-pixel centres, no antialiasing), what most detectors trained on; lanczos3: sharp, antialiased. */
  resizeKernel: z.enum(['bilinear', 'nearest', 'lanczos3']).default('bilinear'),
  /** Batch dimension: a fixed size or 'dynamic'; the engine also reads it from the model. */
  batch: z.union([z.number().int().positive(), z.literal('dynamic')]).optional(),
  dtype: z.enum(['float32', 'int32']).default('float32'),
});

/** Shared by the detection decoders: thresholds and NMS. */
const detectionCommon = {
  scoreThreshold: probability.default(0.25),
  iouThreshold: probability.default(0.45),
  maxDetections: z.number().int().positive().default(100),
  /** Best candidates kept before NMS, as mmdetection's nms_pre. */
  preNmsTopK: z.number().int().positive().default(1000),
  /** One NMS over all classes instead of one per class. */
  classAgnosticNms: z.boolean().default(false),
  /** Every class scoring above the threshold is a candidate (mmdetection, YOLOX); false keeps only the best class per box. */
  multiLabel: z.boolean().default(true),
};

const centernetDecoder = z
  .strictObject({
    kind: z.literal('centernet'),
    /** detections: [1, K, 6] (x1, y1, x2, y2, score, class) in input pixels, when the graph decodes itself. */
    outputs: z.strictObject({ detections: outputName.optional(), heatmap: outputName.optional(), wh: outputName.optional(), offset: outputName.optional() }),
    /** Output stride of the heatmap. */
    stride: z.number().int().positive().default(4),
    /** wh channels: 'ltrb' = distances from the peak to the four sides, 'wh' = box width and height (with optional offset). */
    whFormat: z.enum(['ltrb', 'wh']).default('ltrb'),
    topK: z.number().int().positive().default(100),
    ...detectionCommon,
  })
  .refine((d) => d.outputs.detections !== undefined || (d.outputs.heatmap !== undefined && d.outputs.wh !== undefined), {
    message: 'needs outputs.detections, or outputs.heatmap and outputs.wh',
    path: ['outputs'],
  });

const nanodetDecoder = z
  .strictObject({
    kind: z.literal('nanodet'),
    strides: z.array(z.number().int().positive()).min(1).default([8, 16, 32]),
    /** Bins per box side are regMax + 1. */
    regMax: z.number().int().positive().default(7),
    /** Either per-stride score and distribution outputs, or one output with classes then 4*(regMax+1) bins per row. */
    outputs: z.union([
      z.strictObject({ scores: z.array(outputName).min(1), distributions: z.array(outputName).min(1) }),
      z.strictObject({ combined: outputName }),
    ]),
    /** Grid point = (index + gridOffset) * stride (0.5 in NanoDet's GFL head, 0 in NanoDet-Plus). */
    gridOffset: z.number().min(0).max(1).default(0.5),
    /** The exported graph already applies the sigmoid to class scores. */
    scoresActivated: z.boolean().default(true),
    ...detectionCommon,
  })
  .refine((d) => !('scores' in d.outputs) || (d.outputs.scores.length === d.strides.length && d.outputs.distributions.length === d.strides.length), {
    message: 'needs one scores and one distributions output per stride',
    path: ['outputs'],
  });

const yoloxDecoder = z.strictObject({
  kind: z.literal('yolox'),
  output: outputName.optional(),
  strides: z.array(z.number().int().positive()).min(1).default([8, 16, 32]),
  /** Some exports decode the grid in the graph (decode_in_inference); then rows are already cx, cy, w, h in pixels. */
  decodedInGraph: z.boolean().default(false),
  ...detectionCommon,
});

const yolov5Decoder = z.strictObject({
  kind: z.literal('yolov5'),
  output: outputName.optional(),
  ...detectionCommon,
});

const yolov8Decoder = z.strictObject({
  kind: z.literal('yolov8'),
  output: outputName.optional(),
  ...detectionCommon,
});

const ssdDecoder = z.strictObject({
  kind: z.literal('ssd'),
  /** boxes: [1, N, 4]; scores: [1, N, C] (per class) or [1, N] with classes: [1, N]; count: valid rows (TF OD API). */
  outputs: z.strictObject({ boxes: outputName, scores: outputName, classes: outputName.optional(), count: outputName.optional() }),
  boxFormat: z.enum(['xyxy', 'yxyx', 'cxcywh']).default('xyxy'),
  /** Box coordinates in 0..1 of the input size instead of input pixels. */
  normalized: z.boolean().default(false),
  scoreActivation: z.enum(['none', 'sigmoid', 'softmax']).default('none'),
  /** Score channel of the background class, skipped (e.g. 0 for classic SSD). */
  backgroundClass: z.number().int().min(0).optional(),
  /** Value added to a classes-output id to get the index into `classes` (e.g. -1 for 1-based ids). */
  classIdOffset: z.number().int().default(0),
  ...detectionCommon,
});

export const segmentationHeadSchema = z.strictObject({
  output: outputName,
  /** Head name stored with the mask, e.g. 'drivable' or 'lane'. */
  name: z.string().min(1),
  /** argmax over class channels, or sigmoid per channel: pixel = 1 + best channel above threshold, else 0. */
  activation: z.enum(['argmax', 'sigmoid']).default('argmax'),
  threshold: probability.default(0.5),
  /** Outputs are already probabilities (sigmoid mode compares them to the threshold directly). */
  activated: z.boolean().default(false),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
  /** Class names of this head; argmax: one per channel; sigmoid: background then one per channel. Defaults to `classes`. */
  classes: z.array(z.string().min(1)).min(2).optional(),
});

const segmentationDecoder = z.strictObject({
  kind: z.literal('segmentation'),
  heads: z.array(segmentationHeadSchema).min(1),
});

export const decoderSchema = z.discriminatedUnion('kind', [
  centernetDecoder,
  nanodetDecoder,
  yoloxDecoder,
  yolov5Decoder,
  yolov8Decoder,
  ssdDecoder,
  segmentationDecoder,
]);

export const DECODER_KINDS = ['centernet', 'nanodet', 'yolox', 'yolov5', 'yolov8', 'ssd', 'segmentation'] as const;

export const modelManifestSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore, starting with a letter or digit'),
    name: z.string().min(1),
    task: z.enum(['detect2d', 'segment2d', 'segment3d']),
    format: z.enum(['onnx', 'tfjs-graph']),
    /** Model file, relative to the manifest or absolute; for tfjs-graph the model.json. */
    file: z.string().min(1),
    input: inputSpecSchema,
    decoder: decoderSchema,
    classes: z.array(z.string().min(1)).min(1),
    /** Model class -> driving class (null drops the class); see classMap.ts. */
    classMap: z.record(z.string(), z.string().min(1).nullable()).optional(),
    description: z.string().optional(),
    license: z.string().optional(),
    source: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    const segmenting = m.decoder.kind === 'segmentation';
    if (m.task === 'segment3d') ctx.addIssue({ code: 'custom', path: ['task'], message: 'segment3d models are not supported by the camera decoders (lidar segmentation is built in)' });
    else if (segmenting && m.task !== 'segment2d') ctx.addIssue({ code: 'custom', path: ['task'], message: `decoder 'segmentation' needs task 'segment2d', not '${m.task}'` });
    else if (!segmenting && m.task !== 'detect2d') ctx.addIssue({ code: 'custom', path: ['task'], message: `decoder '${m.decoder.kind}' needs task 'detect2d', not '${m.task}'` });
    for (const key of Object.keys(m.classMap ?? {})) {
      if (!m.classes.includes(key)) ctx.addIssue({ code: 'custom', path: ['classMap', key], message: `'${key}' is not one of the model's classes` });
    }
    if (m.decoder.kind === 'segmentation') {
      m.decoder.heads.forEach((h, i) => {
        const classes = h.classes ?? m.classes;
        if (classes.length < 2) ctx.addIssue({ code: 'custom', path: ['decoder', 'heads', i, 'classes'], message: 'a mask needs at least 2 classes (background and one more)' });
        if (classes.length > 256) ctx.addIssue({ code: 'custom', path: ['decoder', 'heads', i, 'classes'], message: 'at most 256 classes fit a Uint8 mask' });
      });
    }
  });

export type ModelManifest = z.output<typeof modelManifestSchema>;
export type ManifestInput = ModelManifest['input'];
export type DecoderSpec = ModelManifest['decoder'];
export type SegmentationHead = z.output<typeof segmentationHeadSchema>;

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** Validate manifest JSON; errors name the file (`where`) and each bad field. */
export function parseManifest(json: unknown, where: string): ModelManifest {
  if (json !== null && typeof json === 'object' && 'decoder' in json) {
    const kind = (json as { decoder?: { kind?: unknown } }).decoder?.kind;
    if (typeof kind !== 'string' || !(DECODER_KINDS as readonly string[]).includes(kind)) {
      throw new ModelError(`${where}: unknown decoder kind ${JSON.stringify(kind)} at "decoder.kind"; expected one of ${DECODER_KINDS.join(', ')}`, {
        path: where,
        field: 'decoder.kind',
      });
    }
  }
  const result = modelManifestSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `"${issuePath(i.path)}": ${i.message}`);
  throw new ModelError(`${where}: invalid model manifest: ${issues.join('; ')}`, { path: where, field: issuePath(result.error.issues[0]?.path ?? []) });
}

/** Read and validate a manifest file; JSON syntax errors name the file (and the line where the parser says). */
export function readManifestFile(path: string): ModelManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelError(`Cannot read model manifest ${path}: ${(e as Error).message}`, { path });
  }
  return parseManifest(parseJsonText(text, path, 'model manifest'), path);
}

/** JSON.parse with an error that names the file and, where the engine reports a position, the line. */
export function parseJsonText(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const position = /position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new ModelError(`${path}${line ? `:${line}` : ''}: ${what} is not valid JSON: ${message}`, { path, line });
  }
}
