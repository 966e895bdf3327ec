// ONNX Runtime (onnxruntime-node). It does not fall back between execution providers by itself, so
// a session is created per provider, in order TensorRT -> CUDA -> WebGPU -> CPU, until one loads.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import type { ResolvedModel } from '../registry.js';
import type { DeviceChoice, RawOutputs } from '../types.js';
import { batchPlan, groups, stack, unstack } from './batch.js';
import { candidateBackends, type EngineSession, type ProviderAttempt, type SessionOptions } from './session.js';

type Ort = typeof import('onnxruntime-node');

const BACKENDS: Record<DeviceChoice, string[]> = {
  auto: ['onnx:tensorrt', 'onnx:cuda', 'onnx:webgpu', 'onnx:cpu'],
  gpu: ['onnx:tensorrt', 'onnx:cuda', 'onnx:webgpu'],
  cpu: ['onnx:cpu'],
};

let ortPromise: Promise<Ort> | undefined;

export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => {
    const ort = ((m as { default?: Ort }).default ?? m) as Ort;
    // Failed provider loads are reported by us, with reasons; keep ORT's own error spam out of the console.
    ort.env.logLevel = 'fatal';
    return ort;
  });
  return ortPromise;
}

/** Where onnxruntime-node keeps its native libraries (CUDA/TensorRT providers land here when installed). */
function bindingDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Why a provider failed, with what to do about it. */
function explain(provider: string, error: unknown): string {
  const message = String((error as Error)?.message ?? error).split('\n')[0]!.trim();
  const dir = bindingDir();
  if (provider === 'cuda' || provider === 'tensorrt') {
    const lib = `libonnxruntime_providers_${provider}.so`;
    if (dir && !existsSync(join(dir, lib))) {
      return `${message} (${lib} is not installed; install the GPU build with: npm i onnxruntime-node --onnxruntime-node-install=cuda12${provider === 'tensorrt' ? ', plus TensorRT libraries' : ''})`;
    }
  }
  if (provider === 'webgpu') return `${message} (the WebGPU provider needs libvulkan.so.1 and a GPU with a Vulkan driver)`;
  return message;
}

/** Open an ONNX session on one provider; errors carry the model file and a readable reason. */
export async function openOnnx(modelPath: string, provider: string, threads?: number): Promise<InferenceSession> {
  const ort = await loadOrt();
  return ort.InferenceSession.create(modelPath, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(threads ? { intraOpNumThreads: threads } : {}),
  });
}

export async function createOnnxSession(model: ResolvedModel, options: SessionOptions): Promise<EngineSession> {
  const log = options.log ?? (() => {});
  const ort = await loadOrt();
  const supported = new Set(ort.listSupportedBackends().map((b) => b.name));
  const attempts: ProviderAttempt[] = [];
  let session: InferenceSession | undefined;
  let backend = '';
  for (const candidate of candidateBackends(BACKENDS, options.device, options.backends)) {
    const provider = candidate.slice('onnx:'.length);
    if (!supported.has(provider)) {
      attempts.push({ provider: candidate, ok: false, reason: 'not built into this onnxruntime-node' });
      log(`onnx: ${provider} unavailable: not built into this onnxruntime-node`);
      continue;
    }
    try {
      session = await openOnnx(model.modelPath, provider, options.threads);
      attempts.push({ provider: candidate, ok: true });
      backend = candidate;
      break;
    } catch (e) {
      const reason = explain(provider, e);
      attempts.push({ provider: candidate, ok: false, reason });
      log(`onnx: ${provider} failed: ${reason}`);
    }
  }
  if (!session) {
    const cpu = attempts.find((a) => a.provider === 'onnx:cpu');
    if (cpu) throw new ModelError(`${model.modelPath}: cannot load ONNX model: ${cpu.reason}`, { path: model.modelPath });
    const tried = attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ') || 'no providers to try';
    throw new ModelError(`${model.modelPath}: no ONNX Runtime execution provider could run the model for --device ${options.device} (${tried})`, { path: model.modelPath });
  }
  const gpuExpected = options.device !== 'cpu' && backend === 'onnx:cpu';
  log(`onnx: using ${backend}${gpuExpected ? ' (no GPU execution provider available; see the reasons above)' : ''} for ${model.manifest.id}`);

  const inputName = model.manifest.input.name ?? session.inputNames[0]!;
  const meta = session.inputMetadata.find((m) => m.name === inputName);
  if (!meta) {
    await session.release();
    throw new ModelError(`${model.modelPath}: the model has no input "${inputName}" (inputs: ${session.inputNames.join(', ')})`, { path: model.modelPath, field: 'input.name' });
  }
  const inputDims = meta.isTensor ? meta.shape.map((d) => (typeof d === 'number' ? d : -1)) : [];
  const plan = batchPlan(inputDims[0], options.maxBatch ?? 8);
  const dtype = model.manifest.input.dtype;
  const live = session;
  const outputNames = [...live.outputNames];

  return {
    engine: 'onnx',
    backend,
    providerAttempts: attempts,
    maxBatch: plan.size,
    inputDims,
    async run(inputs) {
      const results: RawOutputs[] = [];
      for (const g of groups(inputs.length, plan)) {
        const { data, dims } = stack(inputs.slice(g.start, g.start + g.count), g.padded, inputDims, model.modelPath);
        const tensor =
          dtype === 'int32' ? new ort.Tensor('int32', Int32Array.from(data, (v) => Math.round(v)), dims) : new ort.Tensor('float32', data, dims);
        const out = await live.run({ [inputName]: tensor });
        const raw: RawOutputs = {};
        for (const name of outputNames) raw[name] = toRaw(out[name] as Tensor, name, model.modelPath);
        results.push(...unstack(raw, g.count, g.padded));
      }
      return results;
    },
    async dispose() {
      await live.release();
    },
  };
}

function toRaw(t: Tensor, name: string, where: string): RawOutputs[string] {
  const dims = [...t.dims];
  const d = t.data;
  if (t.type === 'float16') throw new ModelError(`${where}: output "${name}" is float16; export the model with float32 outputs`, { path: where });
  if (d instanceof Float32Array || d instanceof Int32Array) return { data: d, dims };
  if (d instanceof Float64Array) return { data: Float32Array.from(d), dims };
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return { data: Int32Array.from(d, (v) => Number(v)), dims };
  if (d instanceof Uint8Array || d instanceof Int8Array || d instanceof Uint16Array || d instanceof Int16Array || d instanceof Uint32Array) {
    return { data: Int32Array.from(d), dims };
  }
  throw new ModelError(`${where}: output "${name}" has type ${t.type}, which the decoders do not read`, { path: where });
}
