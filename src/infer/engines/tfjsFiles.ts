// TF.js graph models on disk: model.json plus weight shards. Read with fs (never fetch), checked
// for completeness before tfjs sees them, and described as a signature for the registry.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { ModelError } from '../errors.js';
import { parseJsonText } from '../manifest.js';
import type { TensorMeta } from '../decoders/shapes.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

interface GraphModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  signature?: { inputs?: Record<string, SignatureTensor>; outputs?: Record<string, SignatureTensor> };
  [key: string]: unknown;
}

interface SignatureTensor {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

export interface GraphModelFiles {
  modelJsonPath: string;
  json: GraphModelJson;
  /** Weight shard paths, absolute, in manifest order. */
  weightPaths: string[];
  weightSpecs: WeightSpec[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1, int16: 2, complex64: 8 };

/** Parse model.json and check every weight shard exists with the bytes the specs need. */
export function readGraphModelFiles(modelJsonPath: string): GraphModelFiles {
  let text: string;
  try {
    text = readFileSync(modelJsonPath, 'utf8');
  } catch (e) {
    throw new ModelError(`Cannot read TF.js model ${modelJsonPath}: ${(e as Error).message}`, { path: modelJsonPath });
  }
  const json = parseJsonText(text, modelJsonPath, 'TF.js model.json') as GraphModelJson;
  if (json === null || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelError(`${modelJsonPath}: not a TF.js graph model (needs modelTopology and weightsManifest)`, { path: modelJsonPath });
  }
  if (json.format !== undefined && json.format !== 'graph-model') {
    throw new ModelError(`${modelJsonPath}: format "${json.format}" is not a TF.js graph model (layers models are not supported)`, { path: modelJsonPath });
  }
  const dir = dirname(modelJsonPath);
  const weightPaths: string[] = [];
  const weightSpecs: WeightSpec[] = [];
  let actual = 0;
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const abs = resolve(dir, p);
      try {
        actual += statSync(abs).size;
      } catch {
        throw new ModelError(`${modelJsonPath}: weight file ${abs} is missing`, { path: abs });
      }
      weightPaths.push(abs);
    }
    weightSpecs.push(...group.weights);
  }
  let expected = 0;
  for (const w of weightSpecs) {
    const per = BYTES[w.quantization?.dtype ?? w.dtype];
    if (per === undefined) {
      expected = -1; // strings: variable size, cannot check
      break;
    }
    expected += per * w.shape.reduce((a, b) => a * b, 1);
  }
  if (expected >= 0 && expected !== actual) {
    throw new ModelError(`${modelJsonPath}: weight files hold ${actual} bytes but the weight specs need ${expected} (truncated or mismatched shards?)`, { path: modelJsonPath });
  }
  return { modelJsonPath, json, weightPaths, weightSpecs };
}

function toMeta(key: string, t: SignatureTensor): TensorMeta {
  const dims = t.tensorShape?.unknownRank ? [] : (t.tensorShape?.dim ?? []).map((d) => (d.size === undefined ? -1 : Number(d.size)));
  return { name: t.name ?? key, dims, dtype: t.dtype?.replace(/^DT_/, '').toLowerCase() };
}

/** Inputs and outputs from model.json's signature (converted SavedModels carry one). */
export function graphModelSignature(files: GraphModelFiles): { inputs: TensorMeta[]; outputs: TensorMeta[] } | undefined {
  const sig = files.json.signature;
  if (!sig?.inputs || !sig.outputs) return undefined;
  return {
    inputs: Object.entries(sig.inputs).map(([k, t]) => toMeta(k, t)),
    outputs: Object.entries(sig.outputs).map(([k, t]) => toMeta(k, t)),
  };
}

/** A tfjs IOHandler over local files: no network, no fetch polyfill. */
export function fileIOHandler(modelJsonPath: string): io.IOHandler {
  return {
    load: async () => {
      const files = readGraphModelFiles(modelJsonPath);
      const shards = files.weightPaths.map((p) => readFileSync(p));
      const all = Buffer.concat(shards);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      const { modelTopology, format, generatedBy, convertedBy, signature, userDefinedMetadata, modelInitializer } = files.json;
      return {
        modelTopology: modelTopology as io.ModelArtifacts['modelTopology'],
        weightSpecs: files.weightSpecs as io.WeightsManifestEntry[],
        weightData,
        format: format as string | undefined,
        generatedBy: generatedBy as string | undefined,
        convertedBy: convertedBy as string | null | undefined,
        signature: signature as object | undefined,
        userDefinedMetadata: userDefinedMetadata as io.ModelArtifacts['userDefinedMetadata'],
        modelInitializer: modelInitializer as object | undefined,
      };
    },
  };
}
