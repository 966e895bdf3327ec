// The engine seam: what a session offers and how backends are chosen for a device.
import type { DeviceChoice, PreparedInput, RawOutputs } from '../types.js';

export interface ProviderAttempt {
  /** e.g. 'onnx:cuda', 'tfjs:wasm'. */
  provider: string;
  ok: boolean;
  reason?: string;
}

export interface EngineSession {
  engine: 'onnx' | 'tfjs';
  /** The backend in use: 'onnx:tensorrt' | 'onnx:cuda' | 'onnx:webgpu' | 'onnx:cpu' | 'tfjs:node-gpu' | 'tfjs:node' | 'tfjs:wasm' | 'tfjs:cpu'. */
  backend: string;
  providerAttempts: ProviderAttempt[];
  /** Most inputs one run() call sends in a single model call. */
  maxBatch: number;
  /** The model's input dims; -1 where dynamic. */
  inputDims: number[];
  /** One RawOutputs per input, in order; batched where the model's batch axis allows. */
  run(inputs: PreparedInput[]): Promise<RawOutputs[]>;
  dispose(): Promise<void>;
}

export interface SessionOptions {
  device: DeviceChoice;
  log?: (line: string) => void;
  /** Restrict (and order) the backends tried, e.g. ['tfjs:wasm'] or ['onnx:cpu']; for tests and benchmarks. */
  backends?: string[];
  /** Largest batch for models with a dynamic batch axis (default 8). */
  maxBatch?: number;
  /** CPU threads for the ONNX Runtime CPU provider (default: its own choice). */
  threads?: number;
}

/** The candidates for a device, narrowed by an explicit backend list. */
export function candidateBackends(all: Record<DeviceChoice, string[]>, device: DeviceChoice, restrict: string[] | undefined): string[] {
  if (!restrict) return all[device];
  // An explicit list wins over the device; names of the other engine are ignored.
  return restrict.filter((b) => all.auto.includes(b));
}
