// The label workflow's API methods, in the shape of src/api/contract.ts's `methods` table (zod input,
// typed output), plus the handlers that serve them from a workspace database. The contract spreads
// `labelMethods` into its table; the core spreads `createLabelHandlers(...)` into its handler map.
// Only zod and pure types (./model.ts): the renderer type-checks and bundles the contract.
import { z } from 'zod';
import type {
  AuditEntry, ChainCheck, EditResult, ExportSummary, FrameIssue, FrameReview, FrameReviewSummary, ImportSummary, LabelBox3D, LabelEvent, LabelRecord,
  LabelSetRecord, LabelSetVerification, StageSignOff, UndoRedoStacks,
} from './model.js';

function returns<T>(): T {
  return undefined as unknown as T;
}

const id = z.number().int().positive();
const frameId = z.string().min(1).max(400);
const sessionId = z.string().min(1).max(200);
const reason = z.string().max(2000).optional();
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const vec3 = z.tuple([finite, finite, finite]);
const attributes = z.record(z.string().max(200), z.union([z.string().max(2000), finite, z.boolean()]));

const box2d = z.object({ sensorId: z.string().min(1).max(200), x1: finite, y1: finite, x2: finite, y2: finite }).strict();
const box3d = z.object({ center: vec3, size: vec3, yaw: finite }).strict();

/** A new label; missing fields default to null / {}. */
export const labelInputSchema = z
  .object({
    frameId,
    class: z.string().min(1).max(200),
    box2d: box2d.nullable().optional(),
    box3d: box3d.nullable().optional(),
    trackId: z.string().max(200).nullable().optional(),
    score: finite.nullable().optional(),
    attributes: attributes.optional(),
  })
  .strict();

/** Fields an update changes; absent fields stay as they are, null clears a box or track. */
export const labelPatchSchema = labelInputSchema.partial().strict();

export const labelEditSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('create'), value: labelInputSchema }).strict(),
  z.object({ kind: z.literal('update'), labelId: id, expectedRevision: z.number().int().min(0), patch: labelPatchSchema }).strict(),
  z.object({ kind: z.literal('delete'), labelId: id, expectedRevision: z.number().int().min(0) }).strict(),
]);

const editContext = { setId: id, sessionId, reason };
/** What a 3D box is fitted to: the points inside a box (grown by a margin), a 2D box's frustum, or the cluster at a point. */
const fitSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('region'), box3d, margin: z.number().min(0).max(5).optional() }).strict(),
  z.object({ kind: z.literal('detection'), box2d }).strict(),
  z.object({ kind: z.literal('cluster'), point: vec3 }).strict(),
]);
const reviewStatus = z.enum(['unreviewed', 'in_review', 'done', 'needs_attention']);
const stage = z.enum(['annotation', 'validation', 'acceptance']);
const format = z.enum(['kitti', 'kitti-tracking', 'coco', 'nuscenes']);

export const labelMethods = {
  listLabelSets: { input: z.object({ logId: z.string().min(1).max(200).optional() }).strict(), output: returns<LabelSetRecord[]>() },
  /** An editable copy of a ground-truth or predictions set. */
  createWorkingSet: { input: z.object({ fromSetId: id, name: z.string().min(1).max(200), reason }).strict(), output: returns<LabelSetRecord>() },
  createLabelSetFromRun: { input: z.object({ runId: id, name: z.string().min(1).max(200).optional() }).strict(), output: returns<LabelSetRecord>() },
  /** The open log's own ground truth as a label set. */
  importLogGroundTruth: { input: z.object({ logId: z.string().min(1).max(200), name: z.string().min(1).max(200).optional() }).strict(), output: returns<LabelSetRecord>() },
  listLabels: {
    input: z.object({ setId: id, frameId: frameId.optional(), trackId: z.string().max(200).optional(), includeDeleted: z.boolean().optional() }).strict(),
    output: returns<LabelRecord[]>(),
  },
  /** One or more edits, one transaction, one undo step; each update/delete names the revision it starts from. */
  editLabels: { input: z.object({ ...editContext, description: z.string().max(200).optional(), edits: z.array(labelEditSchema).min(1).max(1000) }).strict(), output: returns<EditResult>() },
  acceptDetection: { input: z.object({ ...editContext, detectionId: id }).strict(), output: returns<EditResult>() },
  rejectDetection: { input: z.object({ ...editContext, detectionId: id }).strict(), output: returns<EditResult>() },
  copyLabelsFromFrame: { input: z.object({ ...editContext, fromFrameId: frameId, toFrameId: frameId, labelIds: z.array(id).max(1000).optional() }).strict(), output: returns<EditResult>() },
  /** Image sizes default to the log's camera intrinsics. */
  snapLabelsToImage: {
    input: z
      .object({
        ...editContext,
        labels: z.array(z.object({ id, expectedRevision: z.number().int().min(0) }).strict()).min(1).max(1000),
        bounds: z.record(z.string().min(1).max(200), z.object({ width: z.number().positive(), height: z.number().positive() }).strict()).optional(),
      })
      .strict(),
    output: returns<EditResult>(),
  },
  interpolateTrack: { input: z.object({ ...editContext, trackId: z.string().min(1).max(200), fromFrameId: frameId, toFrameId: frameId }).strict(), output: returns<EditResult>() },
  /**
   * A 3D box (ego frame) fitted to the frame's lidar points; changes nothing (the caller saves it with
   * editLabels). box3d is null, with the reason, when too few points qualify.
   */
  fitLabelBox3d: { input: z.object({ frameId, from: fitSource }).strict(), output: returns<Box3DFit>() },
  /** null when there is nothing to undo / redo. */
  undoLabels: { input: z.object({ sessionId, reason }).strict(), output: returns<EditResult | null>() },
  redoLabels: { input: z.object({ sessionId, reason }).strict(), output: returns<EditResult | null>() },
  getUndoStacks: { input: z.object({ sessionId }).strict(), output: returns<UndoRedoStacks>() },
  getLabelHistory: {
    input: z.object({ setId: id, labelId: id.optional(), frameId: frameId.optional(), afterId: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(10_000).optional() }).strict(),
    output: returns<LabelEvent[]>(),
  },
  verifyLabelSet: { input: z.object({ setId: id }).strict(), output: returns<LabelSetVerification>() },
  setFrameReviewStatus: {
    input: z.object({ setId: id, frameId, status: reviewStatus, expectedRevision: z.number().int().min(0).optional(), note: z.string().max(2000).optional() }).strict(),
    output: returns<FrameReview>(),
  },
  /** Per frame of the log: status, issue counts, signed stages (timeline markers and filters). */
  getReviewSummary: { input: z.object({ setId: id }).strict(), output: returns<FrameReviewSummary[]>() },
  openFrameIssue: {
    input: z.object({ setId: id, frameId, title: z.string().min(1).max(500), comment: z.string().max(5000).optional(), labelId: id.optional() }).strict(),
    output: returns<FrameIssue>(),
  },
  commentOnIssue: { input: z.object({ issueId: id, body: z.string().min(1).max(5000) }).strict(), output: returns<FrameIssue>() },
  resolveIssue: { input: z.object({ issueId: id, comment: z.string().max(5000).optional() }).strict(), output: returns<FrameIssue>() },
  reopenIssue: { input: z.object({ issueId: id, comment: z.string().max(5000).optional() }).strict(), output: returns<FrameIssue>() },
  listIssues: { input: z.object({ setId: id, frameId: frameId.optional(), status: z.enum(['open', 'resolved']).optional() }).strict(), output: returns<FrameIssue[]>() },
  signOffStage: {
    input: z.object({ setId: id, stage, fromFrameId: frameId, toFrameId: frameId, note: z.string().max(2000).optional(), force: z.boolean().optional() }).strict(),
    output: returns<StageSignOff>(),
  },
  listSignOffs: { input: z.object({ setId: id }).strict(), output: returns<StageSignOff[]>() },
  /** The audit trail, filtered (global log, a frame's history, a label's history). */
  listAuditEvents: {
    input: z
      .object({
        entityType: z.string().min(1).max(100).optional(),
        entityId: z.string().min(1).max(400).optional(),
        actor: z.string().min(1).max(200).optional(),
        action: z.string().min(1).max(100).optional(),
        frameId: frameId.optional(),
        setId: id.optional(),
        afterSeq: z.number().int().min(0).optional(),
        beforeSeq: z.number().int().min(1).optional(),
        since: z.string().datetime().optional(),
        until: z.string().datetime().optional(),
        text: z.string().min(1).max(200).optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
        order: z.enum(['asc', 'desc']).optional(),
      })
      .strict(),
    output: returns<AuditEntry[]>(),
  },
  verifyAudit: { input: z.object({}).strict(), output: returns<{ chain: ChainCheck; labelSets: LabelSetVerification[] }>() },
  importLabels: {
    input: z
      .object({
        logId: z.string().min(1).max(200),
        format,
        path: z.string().min(1).max(4096),
        as: z.enum(['labels', 'run']).default('labels'),
        name: z.string().min(1).max(200).optional(),
        camera: z.string().min(1).max(200).optional(),
        cocoDataset: z.string().min(1).max(4096).optional(),
      })
      .strict(),
    output: returns<ImportSummary>(),
  },
  exportLabels: {
    input: z.object({ setId: id, format, out: z.string().min(1).max(4096), camera: z.string().min(1).max(200).optional(), withScore: z.boolean().optional() }).strict(),
    output: returns<ExportSummary>(),
  },
} as const;

export interface Box3DFit {
  box3d: LabelBox3D | null;
  /** Lidar points the box was fitted to. */
  points: number;
  /** Why there is no box. */
  reason: string | null;
}

export type LabelMethodName = keyof typeof labelMethods;
export type LabelMethodInput<M extends LabelMethodName> = z.output<(typeof labelMethods)[M]['input']>;

/** Event to broadcast after every label change, so other windows reload what changed. */
export interface LabelsChangedEvent {
  setId: number;
  opId: number | null;
  labelIds: number[];
  frameIds: string[];
  author: string;
}
