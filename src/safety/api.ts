// The safety audit's API methods, in the shape of src/api/contract.ts's `methods` table (zod input,
// typed output). The contract spreads `safetyMethods` into its table; the core spreads
// `createSafetyHandlers(...)` (handlers.ts) into its handler map.
// Only zod and pure types (./model.ts): the renderer type-checks and bundles the contract.
import { z } from 'zod';
import type { PathConflict, SafetyAuditDetail, SafetyAuditRecord, SafetyMarker } from './model.js';

function returns<T>(): T {
  return undefined as unknown as T;
}

const id = z.number().int().positive();
const logId = z.string().min(1).max(200);
const positive = z.number().positive().refine(Number.isFinite, 'must be finite');
const nonNegative = z.number().min(0).refine(Number.isFinite, 'must be finite');
const frameCount = z.number().int().min(0).max(10_000);

/** Audit parameters; every field is optional and defaults to DEFAULT_SAFETY_PARAMS. */
export const safetyParamsSchema = z
  .object({
    egoWidthM: positive,
    corridorMarginM: nonNegative,
    egoFrontM: nonNegative,
    brakeDecelMps2: positive,
    reactionTimeS: nonNegative,
    horizonMarginM: nonNegative,
    lateFrames: frameCount,
    maxGapFrames: frameCount,
    matchIoU: z.number().min(0).max(1),
    matchDistanceM: nonNegative,
    minScore: z.number().min(0).max(1),
    classMatch: z.enum(['group', 'exact', 'any']),
    paths: z.array(z.enum(['driven', 'planned', 'heading'])).min(1).max(3),
    minPathLengthM: nonNegative.max(10_000),
    nearMissM: nonNegative,
  })
  .partial()
  .strict();

export type SafetyParamsInput = z.input<typeof safetyParamsSchema>;

export const safetyMethods = {
  /** Audits a run on an open log against its ground truth (the log's own, or a label set), stores and returns it. */
  runSafetyAudit: {
    input: z.object({ logId, runId: id, labelSetId: id.optional(), params: safetyParamsSchema.optional() }).strict(),
    output: returns<SafetyAuditDetail>(),
  },
  /** An audit with its ranked misses and timeline markers; the path conflicts when asked (optionally of one frame or only critical ones). */
  getSafetyAudit: {
    input: z
      .object({
        auditId: id,
        includeConflicts: z.boolean().optional(),
        frameId: z.string().min(1).max(400).optional(),
        criticalOnly: z.boolean().optional(),
      })
      .strict(),
    output: returns<SafetyAuditDetail>(),
  },
  listSafetyAudits: {
    input: z.object({ logId: logId.optional(), runId: id.optional(), limit: z.number().int().min(1).max(10_000).optional() }).strict(),
    output: returns<SafetyAuditRecord[]>(),
  },
  /** Timeline markers of the newest audit of the run on the log (or of auditId); [] when there is none. */
  safetyMarkers: {
    input: z.object({ logId, runId: id, auditId: id.optional() }).strict(),
    output: returns<SafetyMarker[]>(),
  },
  /** The path conflicts of one frame in an audit (for the 3D view's corridor overlay). */
  getFrameConflicts: {
    input: z.object({ auditId: id, frameId: z.string().min(1).max(400) }).strict(),
    output: returns<PathConflict[]>(),
  },
} as const;

export type SafetyMethodName = keyof typeof safetyMethods;
export type SafetyMethodInput<M extends SafetyMethodName> = z.output<(typeof safetyMethods)[M]['input']>;
