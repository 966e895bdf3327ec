// Wires the contract's IPC transport to Electron: the handler table lives in src/api/ipc.ts.
import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { ipcChannels } from '../src/api/contract.js';
import { createIpcInvokeHandler, forwardEvents } from '../src/api/ipc.js';
import type { SightlineCore } from '../src/app/core.js';
import { LOG_FILE_FILTERS } from './menu.js';

/** Only our own bundled page may call the API. */
function fromTrustedFrame(event: IpcMainInvokeEvent): boolean {
  return event.senderFrame?.url.startsWith('file://') ?? false;
}

export function registerIpc(core: SightlineCore): () => void {
  const invoke = createIpcInvokeHandler(core);
  ipcMain.handle(ipcChannels.invoke, (event, method: unknown, input: unknown) =>
    fromTrustedFrame(event)
      ? invoke(method, input)
      : { ok: false, error: { code: 'BAD_INPUT', message: 'Untrusted sender' } },
  );
  ipcMain.handle(ipcChannels.openDialog, async (event) => {
    if (!fromTrustedFrame(event)) return null;
    const window = BrowserWindow.fromWebContents(event.sender);
    const options = { title: 'Open drive log', properties: ['openFile' as const], filters: LOG_FILE_FILTERS };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
  const stopForwarding = forwardEvents(core, (name, payload) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send(ipcChannels.event, name, payload);
  });
  return () => {
    stopForwarding();
    ipcMain.removeHandler(ipcChannels.invoke);
    ipcMain.removeHandler(ipcChannels.openDialog);
  };
}
