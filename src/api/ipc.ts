// The IPC transport's core side, free of Electron: main/ registers `invokeHandler` on
// ipcMain.handle and forwards events; tests drive the same functions directly.
import type { SightlineCore } from '../app/core.js';
import { ApiError, eventNames, type EventName, type SerializedApiError } from './contract.js';
import { createHandlers, dispatch } from './handlers.js';

export type IpcResult = { ok: true; value: unknown } | { ok: false; error: SerializedApiError };

export function createIpcInvokeHandler(core: SightlineCore): (method: unknown, input: unknown) => Promise<IpcResult> {
  const handlers = createHandlers(core, { transport: 'ipc', nativeDialogs: true });
  return async (method, input) => {
    try {
      if (typeof method !== 'string') throw new ApiError('BAD_INPUT', 'Method name must be a string');
      return { ok: true, value: await dispatch(handlers, method, input) };
    } catch (error) {
      // Errors cross IPC as plain data: Electron would otherwise reduce them to a message string.
      return { ok: false, error: ApiError.from(error).toJSON() };
    }
  };
}

/** Forwards every core event to a sink (a webContents.send in Electron). */
export function forwardEvents(core: SightlineCore, send: (event: EventName, payload: unknown) => void): () => void {
  const offs = eventNames.map((name) => core.on(name, (payload) => send(name, payload)));
  return () => offs.forEach((off) => off());
}
