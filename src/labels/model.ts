// The label workflow's data shapes: pure types, no Node APIs, so the API contract (and through it the
// renderer) can use them. The store and the services produce exactly these objects.
import type { Vec3 } from '../logs/model.js';

export type AttributeValue = string | number | boolean;

/** A 2D box in pixels of one camera. */
export interface LabelBox2D {
  sensorId: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A 3D box in the ego frame: centre, size [length, width, height], yaw about +z. */
export interface LabelBox3D {
  center: Vec3;
  size: Vec3;
  yaw: number;
}

/** What a label says: everything an edit can change. */
export interface LabelValue {
  /** `${logId}:${stampNs}` (frameKey). */
  frameId: string;
  class: string;
  box2d: LabelBox2D | null;
  box3d: LabelBox3D | null;
  trackId: string | null;
  /** Model confidence for predictions; null for human labels. */
  score: number | null;
  attributes: Record<string, AttributeValue>;
  /** Accepted labels: the predicted detection they were copied from. */
  sourceDetectionId: number | null;
}

/** A label's current state (materialised from its events). */
export interface LabelRecord extends LabelValue {
  id: number;
  labelSetId: number;
  /** Number of events applied to this label; edits must name the revision they start from. */
  revision: number;
  deleted: boolean;
  /** Last written by keyframe interpolation rather than by a person. */
  interpolated: boolean;
  updatedAt: string;
  updatedBy: string;
  lastEventId: number;
}

export type LabelEventKind = 'create' | 'update' | 'delete' | 'accept' | 'reject' | 'unreject';
export type LabelOpKind = 'do' | 'undo' | 'redo' | 'bulk';

/** One correction: append-only, with author, time, optional reason and the revision it applied to. */
export interface LabelEvent {
  id: number;
  opId: number;
  labelSetId: number;
  labelId: number | null;
  detectionId: number | null;
  kind: LabelEventKind;
  frameId: string;
  baseRevision: number;
  revision: number;
  before: LabelValue | null;
  after: LabelValue | null;
  interpolated: boolean;
  author: string;
  at: string;
  reason: string | null;
  meta: Record<string, unknown>;
}

export interface LabelOp {
  id: number;
  labelSetId: number;
  sessionId: string;
  kind: LabelOpKind;
  targetOpId: number | null;
  description: string;
  author: string;
  at: string;
}

export type LabelSetKind = 'ground_truth' | 'predictions' | 'working';

export interface LabelSetRecord {
  id: number;
  logId: string;
  name: string;
  kind: LabelSetKind;
  sourceRunId: number | null;
  parentSetId: number | null;
  /** Import provenance (format, path), or the run/set it was made from. */
  source: Record<string, unknown>;
  createdAt: string;
  createdBy: string;
  /** Live (not deleted) labels. */
  labelCount: number;
}

export interface EditResult {
  /** null when the operation changed nothing (no event was written). */
  opId: number | null;
  events: LabelEvent[];
  /** Current state of every label the operation touched (deleted ones included, marked deleted). */
  labels: LabelRecord[];
  /** Things the operation left alone, and why. */
  skipped: string[];
}

export interface OpSummary {
  opId: number;
  labelSetId: number;
  description: string;
  author: string;
  at: string;
  events: number;
}

export interface UndoRedoStacks {
  /** Top of the stack first. */
  undo: OpSummary[];
  redo: OpSummary[];
}

export interface MaterialisationCheck {
  ok: boolean;
  events: number;
  labels: number;
  /** Labels whose stored row differs from the replay (or exists on one side only). */
  mismatches: { labelId: number; stored: string | null; replayed: string | null }[];
  rejectionMismatches: number[];
}

export interface AuditCoverage {
  ok: boolean;
  /** Events no audit record covers. */
  missing: number[];
  /** Events whose content no longer matches what the audit trail recorded. */
  mismatched: number[];
}

export interface LabelSetVerification {
  ok: boolean;
  labelSetId: number;
  materialisation: MaterialisationCheck;
  audit: AuditCoverage;
}

export type ReviewStatus = 'unreviewed' | 'in_review' | 'done' | 'needs_attention';
export type ReviewStage = 'annotation' | 'validation' | 'acceptance';
export type IssueStatus = 'open' | 'resolved';

export interface FrameReview {
  labelSetId: number;
  frameId: string;
  status: ReviewStatus;
  revision: number;
  note: string | null;
  updatedAt: string;
  updatedBy: string;
}

export interface IssueComment {
  id: number;
  issueId: number;
  author: string;
  at: string;
  body: string;
}

export interface FrameIssue {
  id: number;
  labelSetId: number;
  frameId: string;
  labelId: number | null;
  title: string;
  status: IssueStatus;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  comments: IssueComment[];
}

export interface StageSignOff {
  id: number;
  labelSetId: number;
  stage: ReviewStage;
  fromFrameId: string;
  toFrameId: string;
  fromStampNs: string;
  toStampNs: string;
  frameCount: number | null;
  signedBy: string;
  signedAt: string;
  note: string | null;
  auditSeq: number;
}

/** One frame's review at a glance: what the timeline draws as markers and what filters select on. */
export interface FrameReviewSummary {
  frameId: string;
  status: ReviewStatus;
  openIssues: number;
  resolvedIssues: number;
  /** Stages signed off over a range that includes this frame. */
  signedStages: ReviewStage[];
}

/** An audit event as listed (same shape as src/store/audit.ts AuditEvent). */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  payload: unknown;
  prevHash: string;
  hash: string;
}

/** Same shape as src/store/audit.ts ChainVerification. */
export interface ChainCheck {
  ok: boolean;
  events: number;
  headHash: string;
  brokenAt?: { seq: number; reason: string };
}

export type IoFormat = 'kitti' | 'kitti-tracking' | 'coco' | 'nuscenes';

export interface ImportSummary {
  as: 'labels' | 'run';
  logId: string;
  labelSet?: LabelSetRecord;
  run?: { id: number; name: string; logId: string; kind: string; status: string; framesDone: number; framesTotal: number | null };
  boxes: number;
  frames: number;
  files: number;
  warnings: string[];
  timings: { readMs: number; storeMs: number };
}

/** Written next to every export, so data used for retraining traces back to the reviewed labels. */
export interface ExportManifest {
  sightlineExport: 1;
  format: IoFormat;
  /** The export's files, relative to the manifest's folder. */
  files: string[];
  labelSet: { id: number; name: string; kind: string; logId: string; parentSetId: number | null; sourceRunId: number | null };
  log: { id: string; name: string; path: string; format: string; fingerprint: string };
  /** State of the set that was exported: its last event and a digest over the exported labels. */
  labels: { count: number; lastEventId: number; sha256: string };
  counts: { written: number; skipped: number; frames: number; files: number };
  /** The export's own audit event: the chain head when the export finished. */
  audit: { seq: number; headHash: string };
  softwareVersion: string;
  exportedAt: string;
  exportedBy: string;
  warnings: string[];
}

export interface ExportSummary {
  manifestPath: string;
  manifest: ExportManifest;
  timings: { writeMs: number };
}
