// The evaluation API methods, in the shape of src/api/contract.ts's `methods` table (zod input, typed
// output): the contract spreads `evalMethods` into its table, the core spreads `createEvalHandlers(...)`
// (./handlers.ts) into its handler map. Only zod and pure types here: the renderer bundles the contract.
import { z } from 'zod';
import type { ExportedReportFile } from '../report/index.js';
import type { ConfusionCellResult, EvaluationDetail, EvaluationSummary, ObjectQueryResult, PrPointResult, ReportExport, RunComparison, SavedQuery } from './store/model.js';

function returns<T>(): T {
  return undefined as unknown as T;
}

const id = z.number().int().positive();
/** A run or label set: its id, or its name. */
const ref = z.union([id, z.string().min(1).max(200)]);
const metric = z.enum(['coco', 'kitti', 'nuscenes']);
const outcome = z.enum(['tp', 'fp', 'fn', 'ignored']);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const queryText = z.string().min(1).max(2000);

/** What an evaluation is asked (slices as query texts, e.g. "distance<30", see src/eval/queries.ts). */
export const evaluationOptionsSchema = z
  .object({
    classes: z.array(z.string().min(1).max(200)).max(200).optional(),
    sensorId: z.string().min(1).max(200).optional(),
    slices: z.array(queryText).max(50).optional(),
    frames: z.array(z.string().min(1).max(400)).max(1_000_000).optional(),
    classMap: z.record(z.string().min(1).max(200), z.string().min(1).max(200)).optional(),
    metricOptions: z.record(z.string().max(100), z.unknown()).optional(),
  })
  .strict();

export const evalMethods = {
  /** Computes and stores an evaluation of a run against a label set (reuse: return a stored one asked the same, if still current). */
  runEvaluation: {
    input: z.object({ run: ref, against: ref, metric, options: evaluationOptionsSchema.optional(), reuse: z.boolean().optional() }).strict(),
    output: returns<{ evaluation: EvaluationDetail; reused: boolean }>(),
  },
  listEvaluations: {
    input: z.object({ runId: id.optional(), labelSetId: id.optional(), logId: z.string().min(1).max(200).optional(), metric: metric.optional(), limit: z.number().int().min(1).max(10_000).optional() }).strict(),
    output: returns<EvaluationSummary[]>(),
  },
  /** Figures, per class and slice, PR curves (typed arrays) and the confusion matrix. */
  getEvaluation: { input: z.object({ id }).strict(), output: returns<EvaluationDetail>() },
  /** Per-object records (TP/FP/FN), filtered and paginated; `frames` lists every matching frame (timeline markers). */
  queryEvaluationObjects: {
    input: z
      .object({
        evaluationId: id,
        outcome: z.union([outcome, z.array(outcome).max(4)]).optional(),
        class: z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).max(200)]).optional(),
        source: z.enum(['gt', 'det']).optional(),
        frameId: z.string().min(1).max(400).optional(),
        scoreMin: finite.optional(),
        scoreMax: finite.optional(),
        distanceMin: finite.optional(),
        distanceMax: finite.optional(),
        query: queryText.optional(),
        savedQueryId: id.optional(),
        order: z.enum(['frame', 'score', 'distance', 'size']).optional(),
        offset: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    output: returns<ObjectQueryResult>(),
  },
  /** The objects behind a point of a class's PR curve (a score threshold): TP and FP detections at or above it, the ground truth it leaves missed. */
  prPointObjects: {
    input: z
      .object({
        evaluationId: id,
        label: z.string().min(1).max(200),
        threshold: finite,
        outcome: z.enum(['tp', 'fp', 'fn']).optional(),
        offset: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    output: returns<PrPointResult>(),
  },
  /** The objects behind a confusion-matrix cell (detected class × true class; 'background' for none). */
  confusionCellObjects: {
    input: z
      .object({
        evaluationId: id,
        predicted: z.string().min(1).max(200),
        truth: z.string().min(1).max(200),
        offset: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    output: returns<ConfusionCellResult>(),
  },
  /** Run B against run A on the frames both finished: deltas (B − A), regressed and improved objects, frames by regression. */
  compareRuns: {
    input: z.object({ runA: ref, runB: ref, against: ref, metric, options: evaluationOptionsSchema.optional() }).strict(),
    output: returns<RunComparison>(),
  },
  saveQuery: { input: z.object({ name: z.string().min(1).max(200), text: queryText, description: z.string().max(2000).optional() }).strict(), output: returns<SavedQuery>() },
  listQueries: { input: z.object({}).strict(), output: returns<SavedQuery[]>() },
  /** Writes the audit report (.html or .pdf, by the name of `out`) and records the export. */
  exportReport: {
    input: z
      .object({
        run: ref,
        against: ref.optional(),
        metric: metric.optional(),
        evaluationId: id.optional(),
        compareRun: ref.optional(),
        /** A path on the machine running the core; default: a file named after the run in the workspace's reports folder. */
        out: z.string().min(1).max(4096).optional(),
        format: z.enum(['html', 'pdf']).optional(),
        /** The reviewer signing the report off. */
        reviewer: z.string().min(1).max(200).optional(),
      })
      .strict(),
    output: returns<ReportExport>(),
  },
  /** An exported report's bytes, by the audit event of its export (the web UI's download). */
  readReportFile: { input: z.object({ auditSeq: id }).strict(), output: returns<ExportedReportFile>() },
} as const;

export type EvalMethodName = keyof typeof evalMethods;
export type EvalMethodInput<M extends EvalMethodName> = z.output<(typeof evalMethods)[M]['input']>;
