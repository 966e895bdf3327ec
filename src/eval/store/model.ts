// Stored evaluations as the API returns them: pure types (no Node APIs), so the API contract and the
// renderer can use them. Figures that are undefined (NaN in src/eval) are null here, because JSON
// (the HTTP transport, the CLI's --json) cannot carry NaN.
import type { ConfusionMatrix, DistanceBand, IgnoreReason, MetricName, Outcome, PrCurve, SliceDef } from '../types.js';

export type Figures = Record<string, number | null>;

/** What an evaluation is asked to do (the metric's own options are in `metricOptions`). */
export interface EvaluationOptions {
  /** Classes to evaluate, after normalisation (lower case, classMap); default: the metric's default. */
  classes?: string[];
  /** Camera whose 2D boxes are compared; default: the camera most ground-truth 2D boxes are on. */
  sensorId?: string;
  /** Extra slices on top of the default distance bands and occlusion levels. */
  slices?: SliceDef[];
  /** Only these frames (default: every frame the run finished). */
  frames?: string[];
  /** Class renames applied to both sides after lower-casing, e.g. { 'vehicle.car': 'car' }. */
  classMap?: Record<string, string>;
  /** Metric-specific options: COCO recordIou; KITTI recallPoints, sampling, variants; nuScenes distThresholdTp. */
  metricOptions?: Record<string, unknown>;
}

export interface EvaluationSummary {
  id: number;
  runId: number;
  labelSetId: number;
  logId: string;
  metric: MetricName;
  options: EvaluationOptions;
  overall: Figures;
  counts: { frames: number; gts: number; dets: number };
  warnings: string[];
  /** The label set's last event when evaluated: a later edit makes the evaluation stale. */
  labelSetEventId: number;
  runDetections: number;
  softwareVersion: string;
  createdAt: string;
  createdBy: string;
  durationMs: number | null;
  auditSeq: number;
  /** The label set was edited, or the run gained detections, after this evaluation. */
  stale: boolean;
}

export interface StoredClassResult {
  label: string;
  numGt: number;
  numDet: number;
  metrics: Figures;
}

export interface StoredSliceResult {
  name: string;
  where: SliceDef['where'];
  numGt: number;
  numDet: number;
  overall: Figures;
  perClass: StoredClassResult[];
}

export interface EvaluationDetail extends EvaluationSummary {
  params: Record<string, unknown>;
  perClass: StoredClassResult[];
  slices: StoredSliceResult[];
  prCurves: PrCurve[];
  confusion: ConfusionMatrix;
}

/** One stored per-object record (src/eval/types.ts ObjectRecord, with its store ids and 2D box). */
export interface StoredObject {
  seq: number;
  frameId: string;
  frameIndex: number | null;
  source: 'gt' | 'det';
  /** labels.id for ground truth, detections.id for detections. */
  objectId: number;
  label: string;
  score: number | null;
  outcome: Outcome;
  ignoreReason: IgnoreReason | null;
  matchedId: number | null;
  iou: number | null;
  centerDistance: number | null;
  egoDistance: number | null;
  distanceBand: DistanceBand | null;
  occlusion: number | null;
  truncation: number | null;
  difficulty: 'easy' | 'moderate' | 'hard' | null;
  sensorId: string | null;
  box2d: { x1: number; y1: number; x2: number; y2: number } | null;
}

/**
 * Filters on the raw records (unlike the query language, `outcome: 'tp'` matches both sides of each
 * TP pair: add `source` to pick one).
 */
export interface ObjectQueryFilter {
  outcome?: Outcome | Outcome[];
  /** Class names (case-insensitive); '*' or absent: any. */
  class?: string | string[];
  source?: 'gt' | 'det';
  frameId?: string;
  scoreMin?: number;
  scoreMax?: number;
  distanceMin?: number;
  distanceMax?: number;
  /** A hard-case query (src/eval/queries.ts syntax), ANDed with the fields above. */
  query?: string;
  /** A saved query's id, ANDed likewise. */
  savedQueryId?: number;
  order?: 'frame' | 'score' | 'distance' | 'size';
  offset?: number;
  limit?: number;
}

export interface ObjectQueryResult {
  evaluationId: number;
  /** The query as understood (normalised text), when one was given. */
  query: string | null;
  total: number;
  offset: number;
  items: StoredObject[];
  /** Every matching frame (not just this page) with its match count, in frame order: timeline markers. */
  frames: { frameId: string; frameIndex: number | null; count: number }[];
}

/** The objects behind one point of a class's PR curve: the class's detections scoring >= threshold, and the ground truth they leave missed. */
export interface PrPointResult {
  evaluationId: number;
  label: string;
  threshold: number;
  /** The curve the per-object records belong to (e.g. 'iou=0.50', '2d/moderate', 'dist=2'): the one whose points this explains. */
  curveKey: string;
  counts: { tp: number; fp: number; fn: number };
  precision: number | null;
  recall: number | null;
  total: number;
  offset: number;
  /** `outcomeAtThreshold`: what the object counts as at this threshold (a ground truth matched only below it is an FN). */
  items: (StoredObject & { outcomeAtThreshold: Outcome })[];
  frames: { frameId: string; frameIndex: number | null; count: number }[];
}

/** The objects behind one confusion-matrix cell (detected class × true class, 'background' for none). */
export interface ConfusionCellResult {
  evaluationId: number;
  predicted: string;
  truth: string;
  /** The cell's stored count. */
  count: number;
  /** The matched pairs behind the cell (detection and ground-truth store ids; null for background), this page. */
  pairs: { frameId: string; detId: number | null; gtId: number | null }[];
  /** Pairs in the cell. */
  total: number;
  offset: number;
  /** The stored per-object records of this page's pairs (both sides of a matched pair). */
  items: StoredObject[];
  /** Every frame with a pair in the cell, with its pair count. */
  frames: { frameId: string; frameIndex: number | null; count: number }[];
  /** Set when the run or label set changed since the evaluation (the cell was recomputed from today's data). */
  stale: boolean;
  warnings: string[];
}

export interface SavedQuery {
  id: number;
  name: string;
  text: string;
  description: string | null;
  createdAt: string;
  createdBy: string;
}

export interface RunComparison {
  metric: MetricName;
  labelSetId: number;
  evaluationA: EvaluationSummary;
  evaluationB: EvaluationSummary;
  overall: MetricDeltaJson[];
  perClass: { label: string; deltas: MetricDeltaJson[] }[];
  slices: { name: string; overall: MetricDeltaJson[] }[];
  regressed: ObjectChangeJson[];
  improved: ObjectChangeJson[];
  /** Frames with any change, largest regression first. */
  frames: { frameId: string; frameIndex: number | null; regressed: number; improved: number; fpA: number; fpB: number; regressionSize: number }[];
  warnings: string[];
}

export interface MetricDeltaJson {
  key: string;
  a: number | null;
  b: number | null;
  delta: number | null;
}

export interface ObjectChangeJson {
  frameId: string;
  /** The ground-truth label id. */
  objectId: number;
  label: string;
  from: Outcome;
  to: Outcome;
  matchedIdA: number | null;
  matchedIdB: number | null;
  distanceBand: DistanceBand | null;
  occlusion: number | null;
}

export interface ReportExport {
  path: string;
  format: 'html' | 'pdf';
  bytes: number;
  sha256: string;
  /** PDF: pages printed. */
  pages: number | null;
  evaluationId: number;
  comparedRunId: number | null;
  /** The audit event that records the export. */
  auditSeq: number;
  auditHash: string;
  warnings: string[];
  timings: { buildMs: number; renderMs: number };
}
