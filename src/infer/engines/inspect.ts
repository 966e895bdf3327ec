// What a model file declares about its inputs and outputs, read without running it: the ONNX
// session's metadata (a CPU session, which also proves the file loads) or TF.js model.json.
import { existsSync } from 'node:fs';
import type { TensorMeta } from '../decoders/shapes.js';
import { ModelError } from '../errors.js';
import type { ModelFormat } from '../types.js';
import { openOnnx } from './onnx.js';
import { graphModelSignature, readGraphModelFiles } from './tfjsFiles.js';

export interface ModelSignature {
  inputs: TensorMeta[];
  /** Empty when the file does not declare its outputs (TF.js without a signature). */
  outputs: TensorMeta[];
}

export async function inspectModel(modelPath: string, format: ModelFormat): Promise<ModelSignature> {
  if (!existsSync(modelPath)) throw new ModelError(`Model file not found: ${modelPath}`, { path: modelPath });
  if (format === 'tfjs-graph') {
    const files = readGraphModelFiles(modelPath);
    return graphModelSignature(files) ?? { inputs: [], outputs: [] };
  }
  let session;
  try {
    session = await openOnnx(modelPath, 'cpu');
  } catch (e) {
    const reason = String((e as Error)?.message ?? e).split('\n')[0];
    throw new ModelError(`${modelPath}: cannot load ONNX model (corrupt or not an ONNX file?): ${reason}`, { path: modelPath });
  }
  const meta = (list: typeof session.inputMetadata): TensorMeta[] =>
    list.map((m) => ({
      name: m.name,
      dims: m.isTensor ? m.shape.map((d) => (typeof d === 'number' ? d : -1)) : [],
      dtype: m.isTensor ? m.type : 'non-tensor',
    }));
  const signature = { inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) };
  await session.release();
  return signature;
}
