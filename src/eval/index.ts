// Detection evaluation: COCO (2D), KITTI (2D/BEV/3D) and nuScenes (centre distance, TP errors,
// NDS), with per-object records, PR curves, a confusion matrix, slices and run comparison.
import { evaluateCoco, type CocoOptions } from './coco.js';
import { evaluateKitti, type KittiOptions } from './kitti.js';
import { evaluateNuscenes, type NuscenesOptions } from './nuscenes.js';
import { EvalError, type EvalFrame, type EvaluationResult } from './types.js';

export * from './types.js';
export { evaluateCoco, COCO_AREA_RANGES, COCO_IOU_THRESHOLDS, COCO_MAX_DETS, COCO_RECALL_THRESHOLDS, COCO_STAT_KEYS, type CocoOptions } from './coco.js';
export {
  evaluateKitti,
  observationAngle,
  kittiThresholds,
  KITTI_CLASSES,
  KITTI_DIFFICULTIES,
  KITTI_MIN_OVERLAP,
  KITTI_NEIGHBOURS,
  type KittiDifficulty,
  type KittiOptions,
  type KittiVariant,
} from './kitti.js';
export {
  evaluateNuscenes,
  calcAp,
  calcTp,
  ndsScore,
  NUSCENES_CLASS_RANGE,
  NUSCENES_DIST_THRESHOLDS,
  NUSCENES_TP_METRICS,
  type MetricData,
  type NuscenesOptions,
  type TpMetric,
} from './nuscenes.js';
export { compareEvaluations, type EvaluationComparison, type FrameChange, type MetricDelta, type ObjectChange } from './compare.js';
export {
  compilePredicate,
  compileSlice,
  defaultSlices,
  distanceBand,
  distanceBandSlice,
  egoDistance,
  objectField,
  occlusionSlice,
  DISTANCE_BANDS,
  SLICE_FIELDS,
  type BoxPredicate,
} from './slices.js';
export { evaluationToJson, type Json } from './serialize.js';
export { angleDiff, bevIntersection, bevIoU, centerDistance, heightOverlap, iou3d, rectIoU, rectOverlapOfFirst, scaleIoU } from './iou.js';

export type EvaluateOptions = ({ metric: 'coco' } & CocoOptions) | ({ metric: 'kitti' } & KittiOptions) | ({ metric: 'nuscenes' } & NuscenesOptions);

/** Runs the named metric. */
export function evaluate(frames: readonly EvalFrame[], options: EvaluateOptions): EvaluationResult {
  switch (options.metric) {
    case 'coco':
      return evaluateCoco(frames, options);
    case 'kitti':
      return evaluateKitti(frames, options);
    case 'nuscenes':
      return evaluateNuscenes(frames, options);
    default:
      throw new EvalError(`unknown metric '${String((options as { metric?: unknown }).metric)}' (known: coco, kitti, nuscenes)`, 'evaluate');
  }
}
