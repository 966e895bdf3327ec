// Electron main process: windows, menus and the IPC bridge. No application logic lives here.
import { app, BrowserWindow } from 'electron';
import { SightlineCore } from '../src/app/core.js';
import { defaultDbPath } from '../src/app/paths.js';
import { packageRoot } from '../src/version.js';
import { registerIpc } from './ipc.js';
import { installMenu } from './menu.js';
import { createMainWindow } from './window.js';

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

app.enableSandbox();

void app.whenReady().then(async () => {
  const core = new SightlineCore({ dbPath: argValue('--db') ?? defaultDbPath() });
  const unregister = registerIpc(core);
  installMenu(core);
  createMainWindow(packageRoot);
  const initial = argValue('--open');
  if (initial) await core.openLog(initial).catch((error: Error) => console.error(`Could not open ${initial}: ${error.message}`));

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow(packageRoot);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    unregister();
    void core.close();
  });
});
