import type { RunInfo } from '../../src/api/contract.js';

/** A short run name for tags and tables: the model and the run number. */
export function runLabel(run: Pick<RunInfo, 'runId' | 'modelId' | 'name'>): string {
  return `${run.modelId ?? run.name} #${run.runId}`;
}
