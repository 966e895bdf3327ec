// Electron IPC transport of the API contract, over the preload's contextBridge.
import {
  ApiError,
  methods,
  type EventName,
  type Events,
  type MethodName,
  type SightlineApi,
  type SightlineBridge,
} from '../../src/api/contract.js';

export function createIpcApi(bridge: SightlineBridge): SightlineApi {
  const api = {
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void) {
      return bridge.onEvent((name, payload) => {
        if (name === event) listener(payload as Events[E]);
      });
    },
  } as Record<string, unknown>;
  for (const method of Object.keys(methods) as MethodName[]) {
    api[method] = async (input: unknown) => {
      const result = await bridge.invoke(method, input ?? {});
      if (result.ok) return result.value;
      throw ApiError.from(result.error);
    };
  }
  return api as unknown as SightlineApi;
}
