// Serves `explainMethods` (api.ts) from a SaliencyService: the core passes what only it knows (its
// database, open logs, model registry and event bus) and spreads the result into its handler map.
import type { ExplainMethodInput, ExplainMethodName } from './api.js';
import { SaliencyService, type SaliencyServiceDeps } from './service.js';

type Handlers = { [M in ExplainMethodName]: (input: ExplainMethodInput<M>) => Promise<unknown> };

export function createExplainHandlers(deps: SaliencyServiceDeps | SaliencyService): Handlers {
  const service = deps instanceof SaliencyService ? deps : new SaliencyService(deps);
  return {
    computeSaliency: async (i: ExplainMethodInput<'computeSaliency'>) => service.start(i.runId, i.detectionId, i.params),
    cancelSaliency: async (i: ExplainMethodInput<'cancelSaliency'>) => ({ cancelled: await service.cancel(i.taskId) }),
    getSaliency: async (i: ExplainMethodInput<'getSaliency'>) => service.get(i.runId, i.detectionId, i.params, i.saliencyId),
    listSaliency: async (i: ExplainMethodInput<'listSaliency'>) => service.list(i.runId, i.detectionId),
  };
}
