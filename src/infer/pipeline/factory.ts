// The seam between the pipeline and the models: a module that exports `modelStageFactory`. The
// orchestrator imports it on the main thread to resolve a model id, and each stage worker imports
// the same module to build its piece (preprocessor, engine session, output decoder) from plain data.
import type { DeviceChoice, ModelOutput, PreparedInput, RawOutputs } from '../types.js';
import type { PipelineModel } from './protocol.js';

export interface StageImage {
  format: string;
  width: number;
  height: number;
  data: Uint8Array;
}

export interface PipelineSession {
  /** Engine: onnxruntime | tfjs. */
  readonly engine: string;
  /** Execution provider or backend the session got: cuda, webgpu, cpu, wasm, ... */
  readonly backend: string;
  readonly providerAttempts?: unknown[];
  readonly maxBatch: number;
  readonly inputDims?: number[];
  run(inputs: PreparedInput[]): Promise<RawOutputs[]>;
  dispose(): Promise<void> | void;
}

export interface SessionOptions {
  device: DeviceChoice;
  /** Threads the engine may use for one inference (several inference workers split the cores). */
  threads?: number;
  log?: (message: string) => void;
}

export interface ModelStageFactory {
  /** Main thread: a model id (or anything the registry accepts) to plain, clonable data. */
  resolveModel(modelId: string, options: { registryDir?: string }): Promise<PipelineModel>;
  createPreprocessor(model: PipelineModel): Promise<(image: StageImage) => Promise<PreparedInput>> | ((image: StageImage) => Promise<PreparedInput>);
  createSession(model: PipelineModel, options: SessionOptions): Promise<PipelineSession>;
  createOutputDecoder(model: PipelineModel): Promise<(raw: RawOutputs, input: PreparedInput) => ModelOutput> | ((raw: RawOutputs, input: PreparedInput) => ModelOutput);
}

export async function loadModelStageFactory(moduleUrl: string): Promise<ModelStageFactory> {
  const mod = (await import(moduleUrl)) as { modelStageFactory?: ModelStageFactory };
  if (!mod.modelStageFactory) throw new Error(`${moduleUrl} does not export modelStageFactory`);
  return mod.modelStageFactory;
}
