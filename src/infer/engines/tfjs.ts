// TensorFlow.js: tfjs-node-gpu (when installed) -> tfjs-node -> wasm (SIMD) -> plain JS cpu.
// The plain cpu backend is ~25x slower than wasm (CenterNet: ~5 s vs ~0.2 s a frame), so landing
// there is always announced. The backend is per thread (module state of tfjs-core): one per worker.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { ModelError } from '../errors.js';
import type { ResolvedModel } from '../registry.js';
import type { DeviceChoice, RawOutputs } from '../types.js';
import { batchPlan, groups, stack, unstack } from './batch.js';
import { fileIOHandler } from './tfjsFiles.js';
import { candidateBackends, type EngineSession, type ProviderAttempt, type SessionOptions } from './session.js';

const BACKENDS: Record<DeviceChoice, string[]> = {
  auto: ['tfjs:node-gpu', 'tfjs:node', 'tfjs:wasm', 'tfjs:cpu'],
  gpu: ['tfjs:node-gpu'],
  cpu: ['tfjs:node', 'tfjs:wasm', 'tfjs:cpu'],
};

/** tfjs-core's own name for each of our backends. */
const TF_NAME: Record<string, string> = { 'tfjs:node-gpu': 'tensorflow', 'tfjs:node': 'tensorflow', 'tfjs:wasm': 'wasm', 'tfjs:cpu': 'cpu' };

const NODE_PACKAGES: Record<string, string> = { 'tfjs:node-gpu': '@tensorflow/tfjs-node-gpu', 'tfjs:node': '@tensorflow/tfjs-node' };

let wasmConfigured = false;

/** Point the wasm backend at its binaries on disk (file paths, so nothing is fetched). */
function configureWasm(): void {
  if (wasmConfigured) return;
  const dist = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  tfwasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': join(dist, 'tfjs-backend-wasm.wasm'),
    'tfjs-backend-wasm-simd.wasm': join(dist, 'tfjs-backend-wasm-simd.wasm'),
    'tfjs-backend-wasm-threaded-simd.wasm': join(dist, 'tfjs-backend-wasm-threaded-simd.wasm'),
  });
  // Used only where the runtime supports wasm threads (Node's wasm backend runs single-threaded).
  tfwasm.setThreadsCount(availableParallelism());
  wasmConfigured = true;
}

/** Make `backend` the active tfjs backend; returns why not on failure. */
async function activate(backend: string): Promise<string | undefined> {
  const pkg = NODE_PACKAGES[backend];
  if (pkg) {
    try {
      // A variable specifier: these optional packages are usually absent and have no types here.
      const specifier = pkg;
      await import(specifier);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return `${pkg} is not installed (optional dependency)`;
      return `${pkg} failed to load: ${String((e as Error).message).split('\n')[0]}`;
    }
    if (!tf.findBackendFactory('tensorflow')) return `${pkg} loaded but registered its backend with another copy of @tensorflow/tfjs-core (versions differ?)`;
  }
  if (backend === 'tfjs:wasm') {
    try {
      configureWasm();
    } catch (e) {
      return `wasm binaries not found: ${(e as Error).message}`;
    }
  }
  const ok = await tf.setBackend(TF_NAME[backend]!);
  if (!ok) return `tfjs could not initialise its '${TF_NAME[backend]}' backend (see the warning above)`;
  await tf.ready();
  return undefined;
}

export async function createTfjsSession(model: ResolvedModel, options: SessionOptions): Promise<EngineSession> {
  const log = options.log ?? (() => {});
  const attempts: ProviderAttempt[] = [];
  let backend = '';
  const candidates = candidateBackends(BACKENDS, options.device, options.backends);
  for (const candidate of candidates) {
    const reason = await activate(candidate);
    attempts.push(reason ? { provider: candidate, ok: false, reason } : { provider: candidate, ok: true });
    if (!reason) {
      backend = candidate;
      break;
    }
    log(`tfjs: ${candidate.slice(5)} unavailable: ${reason}`);
  }
  if (!backend) {
    const tried = attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ') || 'no backends to try';
    const hint = options.device === 'gpu' ? ' Install @tensorflow/tfjs-node-gpu (needs CUDA and network access at install) or use --device auto.' : '';
    throw new ModelError(`${model.modelPath}: no TF.js backend for --device ${options.device} (${tried}).${hint}`, { path: model.modelPath });
  }
  const simd = backend === 'tfjs:wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : undefined;
  announce(backend, simd, attempts, candidates, log, model.manifest.id);

  let graph: GraphModel;
  try {
    graph = await loadGraphModel(fileIOHandler(model.modelPath));
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(`${model.modelPath}: cannot load TF.js graph model: ${(e as Error).message}`, { path: model.modelPath });
  }
  const inputName = model.manifest.input.name ?? graph.inputNodes[0]!;
  const input = graph.inputs.find((i) => i.name === inputName || i.name === inputName.replace(/:0$/, ''));
  if (!input) {
    graph.dispose();
    throw new ModelError(`${model.modelPath}: the model has no input "${inputName}" (inputs: ${graph.inputNodes.join(', ')})`, { path: model.modelPath, field: 'input.name' });
  }
  const inputDims = (input.shape ?? []).map((d) => (d === null || d === undefined || d < 0 ? -1 : d));
  const plan = batchPlan(inputDims[0], options.maxBatch ?? 8);
  const outputNames = [...graph.outputNodes];
  const tfBackend = TF_NAME[backend]!;
  const dtype = model.manifest.input.dtype;

  return {
    engine: 'tfjs',
    backend,
    providerAttempts: attempts,
    maxBatch: plan.size,
    inputDims,
    async run(inputs) {
      // Another session in this thread may have switched the (global) backend.
      if (tf.getBackend() !== tfBackend) await tf.setBackend(tfBackend);
      const results: RawOutputs[] = [];
      for (const g of groups(inputs.length, plan)) {
        const { data, dims } = stack(inputs.slice(g.start, g.start + g.count), g.padded, inputDims, model.modelPath);
        const x = dtype === 'int32' ? tf.tensor(Int32Array.from(data, (v) => Math.round(v)), dims, 'int32') : tf.tensor(data, dims, 'float32');
        let outs: tf.Tensor[];
        try {
          outs = await execute(graph, x, outputNames);
        } finally {
          x.dispose();
        }
        const raw: RawOutputs = {};
        try {
          for (let i = 0; i < outputNames.length; i++) {
            const t = outs[i]!;
            const values = await t.data();
            raw[outputNames[i]!] = { data: values instanceof Int32Array || values instanceof Float32Array ? values : Float32Array.from(values as Uint8Array), dims: [...t.shape] };
          }
        } finally {
          tf.dispose(outs);
        }
        results.push(...unstack(raw, g.count, g.padded));
      }
      return results;
    },
    async dispose() {
      graph.dispose();
    },
  };
}

/** Synchronous execution where the graph allows it; graphs with control flow need executeAsync. */
async function execute(graph: GraphModel, x: tf.Tensor, outputNames: string[]): Promise<tf.Tensor[]> {
  try {
    const out = graph.execute(x, outputNames);
    return Array.isArray(out) ? out : [out];
  } catch (e) {
    if (!/executeAsync/.test(String((e as Error).message))) throw e;
    const out = await graph.executeAsync(x, outputNames);
    return Array.isArray(out) ? out : [out];
  }
}

/** Say which backend runs, and warn where a much faster one was expected. */
function announce(backend: string, simd: boolean | undefined, attempts: ProviderAttempt[], candidates: string[], log: (line: string) => void, id: string): void {
  const failed = (name: string) => attempts.find((a) => a.provider === name && !a.ok);
  let detail = '';
  if (backend === 'tfjs:wasm') detail = ` (SIMD ${simd ? 'on' : 'off'}, ${tfwasm.getThreadsCount()} thread(s))`;
  log(`tfjs: using ${backend}${detail} for ${id}`);
  if (simd === false) log('tfjs: WARNING: this runtime has no wasm SIMD; the wasm backend runs several times slower');
  if (backend === 'tfjs:cpu') {
    const wasm = failed('tfjs:wasm');
    if (wasm) log(`tfjs: WARNING: running on the plain JavaScript cpu backend, about 25x slower than wasm, because wasm failed: ${wasm.reason}`);
    else if (!candidates.includes('tfjs:wasm')) log('tfjs: note: the plain JavaScript cpu backend was chosen explicitly; it is about 25x slower than wasm');
  }
  const gpu = failed('tfjs:node-gpu');
  const node = failed('tfjs:node');
  if ((backend === 'tfjs:wasm' || backend === 'tfjs:cpu') && node) {
    log(`tfjs: note: native TensorFlow backends are not available (${[gpu?.reason, node.reason].filter(Boolean).join('; ')})`);
  }
}
