// The default model stages: the model registry, sharp preprocessing, the ONNX Runtime / TF.js
// engines and the output decoders of src/infer. Workers import this module by URL (see factory.ts).
import { createOutputDecoder } from '../decoders/index.js';
import { createSession } from '../engines/index.js';
import { createPreprocessor } from '../preprocess.js';
import { ModelRegistry, type ResolvedModel } from '../registry.js';
import type { ModelStageFactory } from './factory.js';
import type { PipelineModel } from './protocol.js';

// The pipeline carries models as plain data; the registry produced them, so they are ResolvedModels.
const resolved = (model: PipelineModel): ResolvedModel => model as unknown as ResolvedModel;

export const modelStageFactory: ModelStageFactory = {
  async resolveModel(modelId, { registryDir }) {
    const model = await ModelRegistry.open(registryDir).resolve(modelId);
    return model as unknown as PipelineModel;
  },
  createPreprocessor(model) {
    const preprocess = createPreprocessor(resolved(model).manifest);
    return (image) =>
      image.format === 'raw-rgb8'
        ? preprocess({ raw: image.data, width: image.width, height: image.height, channels: 3 })
        : preprocess({ data: image.data });
  },
  createSession: (model, options) => createSession(resolved(model), { device: options.device, threads: options.threads, log: options.log }),
  createOutputDecoder: (model) => createOutputDecoder(resolved(model).manifest),
};
