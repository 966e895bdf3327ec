// Worker thread for one saliency map: builds the run's model session (its engine, the device the run
// used), scans the image and renders the heatmap, off the server's event loop. Progress and the
// result go back as messages; the abort flag (or an 'abort' message) stops the scan between engine calls.
import { parentPort, workerData } from 'node:worker_threads';
import type { ResolvedModel } from '../infer/index.js';
import { saliencyToPng } from './heatmap.js';
import { SaliencyAbortedError, type SaliencyParamsInput, type SaliencyTarget } from './params.js';
import { computeSaliency, type RawImage } from './saliency.js';

export interface SaliencyJob {
  model: ResolvedModel;
  image: Uint8Array | RawImage;
  target: SaliencyTarget;
  params: SaliencyParamsInput;
  /** Int32 flag set to 1 to stop: read synchronously, since a WASM engine's run never yields to message events. */
  abortFlag: SharedArrayBuffer;
}

export type FromSaliencyWorker =
  | { type: 'progress'; done: number; total: number }
  | { type: 'log'; message: string }
  | {
      type: 'result';
      values: Float32Array;
      width: number;
      height: number;
      cellSize: number;
      peak: { x: number; y: number; value: number };
      window: { x1: number; y1: number; x2: number; y2: number };
      baselineScore: number;
      baselineBox: { x1: number; y1: number; x2: number; y2: number };
      sourceWidth: number;
      sourceHeight: number;
      passes: number;
      ms: number;
      backend: string;
      params: Record<string, unknown>;
      png: Uint8Array;
    }
  | { type: 'error'; name: string; message: string; aborted: boolean };

export type ToSaliencyWorker = { type: 'abort' };

const port = parentPort!;
const job = workerData as SaliencyJob;
const controller = new AbortController();
const abortFlag = new Int32Array(job.abortFlag);
port.on('message', (message: ToSaliencyWorker) => {
  if (message.type === 'abort') controller.abort();
});
const send = (message: FromSaliencyWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const result = await computeSaliency({
    image: job.image,
    model: job.model,
    target: job.target,
    params: job.params,
    signal: controller.signal,
    onProgress: (done, total) => {
      if (Atomics.load(abortFlag, 0) === 1) controller.abort();
      send({ type: 'progress', done, total });
    },
    log: (message) => send({ type: 'log', message }),
  });
  const png = new Uint8Array(await saliencyToPng(result, { width: result.sourceWidth, height: result.sourceHeight }, 'turbo'));
  const { values, params, ...rest } = result;
  send({ type: 'result', ...rest, values, params: { ...params }, png }, [values.buffer as ArrayBuffer, png.buffer as ArrayBuffer]);
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  send({ type: 'error', name: e.name, message: e.message, aborted: error instanceof SaliencyAbortedError });
} finally {
  port.close();
}
