// Batching shared by the engines: stack prepared inputs along the batch axis when the model allows,
// and split each output back per input.
import { ModelError } from '../errors.js';
import type { PreparedInput, RawOutputs } from '../types.js';

/** How the model takes a batch: any size up to maxBatch (dynamic), or exactly `size` (static). */
export interface BatchPlan {
  dynamic: boolean;
  size: number;
}

export function batchPlan(modelBatchDim: number | undefined, maxBatch: number): BatchPlan {
  if (modelBatchDim === undefined || modelBatchDim < 0) return { dynamic: true, size: Math.max(1, maxBatch) };
  return { dynamic: false, size: modelBatchDim };
}

/** Groups of inputs run together; a static batch > 1 pads its last group with zeros. */
export function groups(count: number, plan: BatchPlan): { start: number; count: number; padded: number }[] {
  const out: { start: number; count: number; padded: number }[] = [];
  for (let start = 0; start < count; start += plan.size) {
    const n = Math.min(plan.size, count - start);
    out.push({ start, count: n, padded: plan.dynamic ? n : plan.size });
  }
  return out;
}

/** One tensor of `padded` items: inputs concatenated along axis 0. */
export function stack(inputs: readonly PreparedInput[], padded: number, modelDims: readonly number[], where: string): { data: Float32Array; dims: number[] } {
  const first = inputs[0]!;
  const item = first.tensor.length;
  for (const p of inputs) {
    if (p.tensor.length !== item || p.dims.length !== first.dims.length || p.dims.some((d, i) => d !== first.dims[i])) {
      throw new ModelError(`${where}: inputs of one batch differ in shape ([${p.dims.join(', ')}] vs [${first.dims.join(', ')}])`, { path: where });
    }
  }
  // Every non-batch axis the model fixes must match the prepared input.
  for (let i = 1; i < modelDims.length; i++) {
    const want = modelDims[i]!;
    if (want >= 0 && first.dims[i] !== want) {
      throw new ModelError(`${where}: prepared input [${first.dims.join(', ')}] does not fit the model input [${modelDims.join(', ')}]`, { path: where, field: 'input' });
    }
  }
  if (inputs.length === 1 && padded === 1) return { data: first.tensor, dims: [1, ...first.dims.slice(1)] };
  const data = new Float32Array(item * padded);
  inputs.forEach((p, i) => data.set(p.tensor, i * item));
  return { data, dims: [padded, ...first.dims.slice(1)] };
}

/** Split batched outputs into one RawOutputs per real (unpadded) input. */
export function unstack(outputs: RawOutputs, count: number, padded: number): RawOutputs[] {
  const per: RawOutputs[] = Array.from({ length: count }, () => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    const batched = t.dims.length > 0 && t.dims[0] === padded;
    if (!batched || padded === 1) {
      for (const p of per) p[name] = t;
      continue;
    }
    const item = t.data.length / padded;
    const dims = [1, ...t.dims.slice(1)];
    for (let i = 0; i < count; i++) per[i]![name] = { data: t.data.slice(i * item, (i + 1) * item), dims };
  }
  return per;
}
