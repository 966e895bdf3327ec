// Serves `evalMethods` (api.ts) from a workspace database. The core passes what only it knows (the
// actor, where open logs live now) and spreads the result into its handler map.
import type { Db } from '../store/db.js';
import { dirname, join } from 'node:path';
import { exportReport, readExportedReport } from '../report/index.js';
import type { EvalMethodInput, EvalMethodName } from './api.js';
import { sliceFromQuery } from './queries.js';
import type { EvaluationOptions } from './store/model.js';
import { EvalService } from './store/service.js';

export interface EvalHandlerDeps {
  db: Db;
  actor: string;
  /** The path of an open log (thumbnails when it moved since the store saw it). */
  logPath?(logId: string): string | undefined;
  /** Chromium for PDF reports (default SIGHTLINE_CHROMIUM or /usr/bin/chromium). */
  chromiumPath?: string;
  /** Where reports go when the caller names no file (default: `reports/` beside the database). */
  reportsDir?: string;
}

type Handlers = { [M in EvalMethodName]: (input: EvalMethodInput<M>) => Promise<unknown> };

/** API options -> service options: slice query texts become slice definitions. */
export function toEvaluationOptions(input: EvalMethodInput<'runEvaluation'>['options']): EvaluationOptions | undefined {
  if (!input) return undefined;
  const { slices, ...rest } = input;
  return { ...rest, ...(slices?.length ? { slices: slices.map((s) => sliceFromQuery(s)) } : {}) };
}

export function createEvalHandlers(deps: EvalHandlerDeps): Handlers {
  const service = new EvalService(deps.db, { actor: deps.actor });
  return {
    runEvaluation: async (i) => service.evaluate({ run: i.run, against: i.against, metric: i.metric, options: toEvaluationOptions(i.options), reuse: i.reuse }),
    listEvaluations: async (i) => service.list(i),
    getEvaluation: async (i) => service.get(i.id),
    queryEvaluationObjects: async ({ evaluationId, ...filter }) => service.objects(evaluationId, filter),
    prPointObjects: async ({ evaluationId, ...request }) => service.prPointObjects(evaluationId, request),
    confusionCellObjects: async ({ evaluationId, ...request }) => service.confusionCellObjects(evaluationId, request),
    compareRuns: async (i) => service.compare({ runA: i.runA, runB: i.runB, against: i.against, metric: i.metric, options: toEvaluationOptions(i.options) }),
    saveQuery: async (i) => service.saveQuery(i),
    listQueries: async () => service.listQueries(),
    exportReport: async (i) => {
      const run = service.resolveRun(i.run);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const named = `run${run.id}-${i.evaluationId !== undefined ? `eval${i.evaluationId}-` : ''}${stamp}.${i.format ?? 'html'}`;
      const out = i.out ?? join(deps.reportsDir ?? join(dirname(deps.db.name), 'reports'), named);
      return exportReport(deps.db, { ...i, out, actor: deps.actor, logPath: deps.logPath?.(run.logId), chromiumPath: deps.chromiumPath });
    },
    readReportFile: async (i) => readExportedReport(deps.db, i.auditSeq),
  };
}
