// The explainability API methods, in the shape of src/api/contract.ts's `methods` table (zod input,
// typed output). The contract spreads `explainMethods` into its table; the core spreads
// `createExplainHandlers(...)` (handlers.ts) into its handler map.
// Only zod and pure types (./model.ts): the renderer type-checks and bundles the contract.
import { z } from 'zod';
import type { SaliencyMap, SaliencyStart, SaliencySummary } from './model.js';

function returns<T>(): T {
  return undefined as unknown as T;
}

const id = z.number().int().positive();

/** Occlusion parameters (src/explain/params.ts); defaults come from the image size. */
export const saliencyParamsSchema = z
  .object({
    patch: z.number().int().min(2).max(4096),
    stride: z.number().int().min(1).max(4096),
    fill: z.enum(['mean', 'blur', 'gray']),
    region: z.enum(['full', 'target']),
    windowScale: z.number().min(1).max(20),
    matchIoU: z.number().min(0.01).max(1),
    scoreFloor: z.number().min(0).max(1),
    space: z.enum(['tensor', 'source']),
    batch: z.number().int().min(1).max(256),
    device: z.enum(['auto', 'gpu', 'cpu']),
  })
  .partial()
  .strict();

export type SaliencyParamsApiInput = z.input<typeof saliencyParamsSchema>;

export const explainMethods = {
  /**
   * Starts an occlusion-saliency map for one detection of a run (its model, on its frame's image),
   * or answers at once from the cache. Progress follows as `progress` events with the task id.
   */
  computeSaliency: {
    input: z.object({ runId: id, detectionId: id, params: saliencyParamsSchema.optional() }).strict(),
    output: returns<SaliencyStart>(),
  },
  cancelSaliency: {
    input: z.object({ taskId: z.string().min(1).max(400) }).strict(),
    output: returns<{ cancelled: boolean }>(),
  },
  /** The cached map of a detection: for these params, or the newest with any params; null when none. */
  getSaliency: {
    input: z.object({ runId: id, detectionId: id, params: saliencyParamsSchema.optional(), saliencyId: id.optional() }).strict(),
    output: returns<SaliencyMap | null>(),
  },
  /** Every cached map of a detection (any params), newest first, without grids or heatmaps. */
  listSaliency: {
    input: z.object({ runId: id, detectionId: id }).strict(),
    output: returns<SaliencySummary[]>(),
  },
} as const;

export type ExplainMethodName = keyof typeof explainMethods;
export type ExplainMethodInput<M extends ExplainMethodName> = z.output<(typeof explainMethods)[M]['input']>;
