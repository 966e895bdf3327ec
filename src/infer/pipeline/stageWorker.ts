// Worker thread entry for every pipeline stage: builds the stage named in workerData, then runs
// its jobs one at a time, in arrival order (an engine session is not re-entrant).
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError, type FromWorker, type StageSpec, type ToWorker } from './protocol.js';
import { buildStage, type StageHandler } from './stages.js';

const port = parentPort!;
const { spec } = workerData as { spec: StageSpec };
const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

const built: Promise<StageHandler | undefined> = buildStage(spec, (message) => send({ type: 'log', message })).then(
  (stage) => {
    send({ type: 'ready', info: stage.info });
    return stage;
  },
  (error: unknown) => {
    send({ type: 'fatal', error: serializeError(error) });
    return undefined;
  },
);

let chain: Promise<unknown> = built;
let closing = false;
port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    // Jobs still queued here are dropped; the one running finishes first (native code must not be torn down mid-call).
    closing = true;
    chain = chain.then(async () => {
      await (await built)?.close().catch(() => undefined);
      port.close();
      process.exit(0);
    });
    return;
  }
  const { id, job } = message;
  chain = chain.then(async () => {
    const stage = await built;
    if (!stage || closing) return;
    const started = performance.now();
    try {
      const { result, transfer } = await stage.handle(job);
      send({ type: 'result', id, result, busyMs: performance.now() - started }, transfer);
    } catch (error) {
      send({ type: 'error', id, error: serializeError(error) });
    }
  });
});
