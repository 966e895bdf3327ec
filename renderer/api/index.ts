// Picks the transport: the Electron bridge when the preload exposed it, HTTP otherwise.
import type { SightlineApi, SightlineBridge } from '../../src/api/contract.js';
import { createHttpApi } from './httpClient.js';
import { createIpcApi } from './ipcClient.js';

export interface Connection {
  api: SightlineApi;
  transport: 'ipc' | 'http';
  /** Turns a dropped File into a path the core can open. */
  resolveDroppedFile(file: File): Promise<string>;
  /** Native dialog where available (Electron); null means "not available here". */
  showOpenDialog: (() => Promise<string | null>) | null;
}

declare global {
  interface Window {
    sightlineBridge?: SightlineBridge;
  }
}

export function connect(): Connection {
  const bridge = window.sightlineBridge;
  if (bridge) {
    return {
      api: createIpcApi(bridge),
      transport: 'ipc',
      resolveDroppedFile: async (file) => bridge.pathForFile(file),
      showOpenDialog: () => bridge.showOpenDialog(),
    };
  }
  const api = createHttpApi();
  return { api, transport: 'http', resolveDroppedFile: (file) => api.upload(file), showOpenDialog: null };
}
