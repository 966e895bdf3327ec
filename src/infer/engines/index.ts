// Two engines behind one interface. The device choice picks an ordered list of backends; each is
// tried in turn and every failure is kept (providerAttempts) and logged with its reason.
import type { ResolvedModel } from '../registry.js';
import type { EngineSession, SessionOptions } from './session.js';

export async function createSession(model: ResolvedModel, options: SessionOptions): Promise<EngineSession> {
  if (model.manifest.format === 'onnx') {
    const { createOnnxSession } = await import('./onnx.js');
    return createOnnxSession(model, options);
  }
  const { createTfjsSession } = await import('./tfjs.js');
  return createTfjsSession(model, options);
}

export { candidateBackends, type EngineSession, type ProviderAttempt, type SessionOptions } from './session.js';
export { inspectModel, type ModelSignature } from './inspect.js';
