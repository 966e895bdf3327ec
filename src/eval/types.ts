// Evaluation inputs and results as plain data. Inputs are a neutral shape the store rows and the
// drive model (src/logs/model.ts) are adapted into; results are JSON-able apart from typed arrays
// (PR curves, confusion counts), so they can be persisted per evaluation and queried later.
import type { Vec3 } from '../logs/model.js';

export type MetricName = 'coco' | 'kitti' | 'nuscenes';

/** Image rectangle in pixels, x1 < x2 and y1 < y2 (no +1 convention, as pycocotools). */
export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Oriented box in the ego/lidar frame (z up). size = [length (along yaw), width, height]; center is the box centre. */
export interface EvalBox3D {
  center: Vec3;
  size: Vec3;
  /** Rotation about +z, radians. */
  yaw: number;
}

export interface EvalBox {
  /** Unique within its frame and side (ground truth or detections). */
  id: string;
  label: string;
  /** Detection confidence; required for detections, ignored for ground truth. */
  score?: number;
  box2d?: Rect;
  box3d?: EvalBox3D;
  /** KITTI truncation, 0..1. */
  truncated?: number;
  /** KITTI occlusion level: 0 visible, 1 partly, 2 largely occluded, 3 unknown. */
  occluded?: number;
  /** Ground truth only: a crowd (COCO) or DontCare (KITTI) region, or an ignore region (nuScenes). */
  ignore?: boolean;
  /** Velocity in the ego frame's xy plane, m/s (nuScenes AVE). */
  velocity?: [number, number];
  /** nuScenes-style attribute name, e.g. 'vehicle.moving' (AAE). */
  attribute?: string;
  /** Free-form fields, reachable from slice predicates as `attributes.<key>`. */
  attributes?: Record<string, string | number | boolean>;
  /** COCO: ground-truth area for the small/medium/large ranges (segment area); defaults to the box area. */
  area?: number;
  /** nuScenes: lidar+radar points inside a ground-truth box; boxes with 0 are not evaluated. */
  numPoints?: number;
  /** Distance from the ego in metres, where no 3D box says it (e.g. a depth estimate). */
  distance?: number;
}

export interface EvalFrame {
  frameId: string;
  gts: EvalBox[];
  dets: EvalBox[];
}

/** A slice predicate over object fields; see slices.ts for the fields and the filtering rule. */
export type SliceOp = '<' | '<=' | '>' | '>=' | '==' | '!=' | 'in';
export type SliceValue = number | string | boolean | ReadonlyArray<number | string>;
export interface SliceCondition {
  field: string;
  op: SliceOp;
  value: SliceValue;
}
export type SlicePredicate = SliceCondition | { all: SlicePredicate[] } | { any: SlicePredicate[] } | { not: SlicePredicate };
export interface SliceDef {
  name: string;
  where: SlicePredicate;
}

export type Outcome = 'tp' | 'fp' | 'fn' | 'ignored';
export type DistanceBand = '0-30' | '30-50' | '>50';

/** Why an object does not count as TP, FP or FN. */
export type IgnoreReason =
  | 'crowd'
  | 'dontcare'
  | 'difficulty'
  | 'neighbour-class'
  | 'min-height'
  | 'matched-ignored'
  | 'max-dets'
  | 'out-of-range'
  | 'zero-points'
  | 'ignore-region'
  | 'class-not-evaluated';

/** One ground-truth box or detection after matching, at the setting named in EvaluationResult.params.records. */
export interface ObjectRecord {
  frameId: string;
  id: string;
  source: 'gt' | 'det';
  label: string;
  /** NaN for ground truth. */
  score: number;
  /** Ground truth: tp (matched), fn or ignored. Detections: tp, fp or ignored. */
  outcome: Outcome;
  ignoreReason: IgnoreReason | null;
  matchedId: string | null;
  /**
   * IoU with the matched object; for unmatched objects the best IoU with any same-class counterpart
   * in the frame (how close it came; 0 when there is none). NaN for centre-distance metrics.
   */
  iou: number;
  /** nuScenes: centre distance to the matched object (or the nearest same-class one), m; NaN otherwise. */
  centerDistance: number;
  /** Ego distance in metres (xy norm of the 3D centre, or EvalBox.distance); NaN when unknown. */
  egoDistance: number;
  distanceBand: DistanceBand | null;
  occlusion: number | null;
  truncation: number | null;
  /** KITTI: the easiest difficulty the ground truth qualifies for (null: none, or not KITTI). */
  difficulty: 'easy' | 'moderate' | 'hard' | null;
}

export interface PrCurve {
  label: string;
  /** Which curve: 'iou=0.50' (COCO), '3d/moderate' (KITTI), 'dist=2' (nuScenes). */
  key: string;
  recall: Float64Array;
  precision: Float64Array;
  /** Detection score at each point, to map a PR point to a score threshold (0 past the last detection). */
  scores: Float64Array;
}

/**
 * Class-agnostic matching (IoU >= 0.5, or centre distance < 2 m for nuScenes) cross-tabulated.
 * Rows are detected classes, columns true classes, the last label is 'background':
 * an FP lands in (its class, background), an FN in (background, its class).
 */
export interface ConfusionMatrix {
  labels: string[];
  /** Row-major, labels.length squared: counts[predicted * labels.length + truth]. */
  counts: Int32Array;
  /** How it was matched, e.g. 'iou>=0.5' or 'centerDistance<2'. */
  criterion: string;
}

export interface ClassResult {
  label: string;
  /** Ground truth that counts (not ignored) at the headline setting. */
  numGt: number;
  numDet: number;
  /** NaN where undefined (no ground truth of the class). */
  metrics: Record<string, number>;
}

export interface SliceResult {
  name: string;
  where: SlicePredicate;
  numGt: number;
  numDet: number;
  overall: Record<string, number>;
  perClass: ClassResult[];
}

export interface EvaluationResult {
  metric: MetricName;
  /** The parameters used, JSON-able, including where the per-object records were taken. */
  params: Record<string, unknown>;
  /** Headline figures; NaN where undefined. */
  overall: Record<string, number>;
  perClass: ClassResult[];
  prCurves: PrCurve[];
  confusion: ConfusionMatrix;
  objects: ObjectRecord[];
  slices: SliceResult[];
  counts: { frames: number; gts: number; dets: number };
  warnings: string[];
}

/** Options every metric accepts. */
export interface CommonOptions {
  /** Classes to evaluate (labels compared as given for COCO/nuScenes, case-insensitively for KITTI). */
  classes?: string[];
  /** 'default': distance bands and occlusion levels where objects carry them; 'none'; or a list. */
  slices?: SliceDef[] | 'default' | 'none';
  /** Per-object records (default true). */
  records?: boolean;
  /**
   * Called for every count the confusion matrix takes, with the objects behind it (null: background),
   * so a cell can be traced back to its boxes.
   */
  onConfusionCell?: (cell: ConfusionCellMember) => void;
}

/** One count of the confusion matrix: a detection and the ground truth it matched (either may be background). */
export interface ConfusionCellMember {
  frameId: string;
  detId: string | null;
  gtId: string | null;
  predicted: string;
  truth: string;
}

/** Bad evaluation input (not a file: an API argument), naming what was wrong. */
export class EvalError extends Error {
  /** The API error code the transports map it to (ApiError.from reads `code`). */
  readonly code = 'BAD_INPUT';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'EvalError';
  }
}

export const BACKGROUND = 'background';
