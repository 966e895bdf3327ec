// Runs sandboxed: exposes only the typed bridge, never ipcRenderer itself.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { ipcChannels, type SightlineBridge } from '../src/api/contract.js';

const bridge: SightlineBridge = {
  invoke: (method, input) => ipcRenderer.invoke(ipcChannels.invoke, method, input),
  onEvent: (listener) => {
    const handler = (_event: unknown, name: Parameters<typeof listener>[0], payload: unknown) => listener(name, payload);
    ipcRenderer.on(ipcChannels.event, handler);
    return () => ipcRenderer.off(ipcChannels.event, handler);
  },
  pathForFile: (file) => webUtils.getPathForFile(file),
  showOpenDialog: () => ipcRenderer.invoke(ipcChannels.openDialog),
};

contextBridge.exposeInMainWorld('sightlineBridge', bridge);
