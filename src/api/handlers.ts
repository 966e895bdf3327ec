// The handler table: one function per contract method, over the core. Both transports
// dispatch through `dispatch`, which validates input at the edge.
import type { SightlineCore } from '../app/core.js';
import type { LabelMethodName } from '../labels/api.js';
import type { EvalMethodName } from '../eval/api.js';
import { createEvalHandlers } from '../eval/handlers.js';
import type { ExplainMethodName } from '../explain/api.js';
import { createExplainHandlers } from '../explain/handlers.js';
import { createLabelHandlers } from '../labels/handlers.js';
import type { SafetyMethodName } from '../safety/api.js';
import { createSafetyHandlers } from '../safety/handlers.js';
import { softwareVersion } from '../version.js';
import {
  ApiError,
  isMethodName,
  parseInput,
  type MethodName,
  type MethodOutput,
  type ParsedInput,
} from './contract.js';

export type Handlers = {
  [M in MethodName]: (input: ParsedInput<M>) => Promise<MethodOutput<M>>;
};

export interface HandlerContext {
  transport: 'ipc' | 'http';
  nativeDialogs: boolean;
}

export function createHandlers(core: SightlineCore, context: HandlerContext): Handlers {
  return {
    getServerInfo: async () => ({ version: softwareVersion, transport: context.transport, nativeDialogs: context.nativeDialogs }),
    listLogs: async () => core.listLogs(),
    openLog: async ({ path, referenceSensor }) => core.openLog(path, referenceSensor),
    closeLog: async ({ logId }) => ({ closed: await core.closeLog(logId) }),
    getLogInfo: async ({ logId }) => core.getLog(logId).info,
    listFrames: async ({ logId }) => [...core.getLog(logId).frames],
    getFrame: async ({ logId, index, include }) => core.getFrame(logId, index, include),
    listModels: async () => core.listModels(),
    startRun: async (input) => core.startRun(input),
    cancelRun: async ({ runId }) => core.cancelRun(runId),
    listRuns: async ({ logId }) => core.listRuns(logId),
    getRun: async ({ runId }) => core.getRunInfo(runId),
    getDetections: async ({ runId, frameId }) => core.getDetections(runId, frameId),
    getPlan: async ({ logId, index, runId }) => core.getPlan(logId, index, runId),
    ...(createLabelHandlers({
      db: core.db,
      actor: core.actor,
      frames: (logId) => core.openFrames(logId),
      logInfo: (logId) => core.openLogInfo(logId),
      onLabelsChanged: (event) => core.emit('labelsChanged', event),
      getLog: (logId) => core.getLog(logId),
    }) as unknown as Pick<Handlers, LabelMethodName>),
    ...(createSafetyHandlers({
      db: core.db,
      actor: core.actor,
      getLog: (logId) => core.getLog(logId),
      onProgress: ({ logId, runId, done, total }) =>
        core.emit('progress', { taskId: `safety:${logId}:${runId}`, label: 'Safety audit', done, total, state: done >= total ? 'done' : 'running' }),
    }) as unknown as Pick<Handlers, SafetyMethodName>),
    ...(createEvalHandlers({ db: core.db, actor: core.actor, logPath: (logId) => core.openLogInfo(logId)?.path }) as unknown as Pick<Handlers, EvalMethodName>),
    ...(createExplainHandlers({
      db: core.db,
      actor: core.actor,
      getLog: (logId) => core.getLog(logId),
      registryDir: core.registryDir,
      onProgress: (event) => core.emit('progress', event),
    }) as unknown as Pick<Handlers, ExplainMethodName>),
  };
}

/** Validates and runs one call; every failure surfaces as an ApiError. */
export async function dispatch(handlers: Handlers, method: string, rawInput: unknown): Promise<unknown> {
  if (!isMethodName(method)) throw new ApiError('UNKNOWN_METHOD', `Unknown method '${method}'`);
  const input = parseInput(method, rawInput);
  try {
    return await (handlers[method] as (i: unknown) => Promise<unknown>)(input);
  } catch (error) {
    throw ApiError.from(error);
  }
}
