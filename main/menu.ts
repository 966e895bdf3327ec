// The application menu. Actions go through the core like any other client.
import { app, BrowserWindow, dialog, Menu, type MenuItemConstructorOptions } from 'electron';
import type { SightlineCore } from '../src/app/core.js';

export const LOG_FILE_FILTERS = [
  { name: 'Drive logs', extensions: ['mcap', 'bag'] },
  { name: 'All files', extensions: ['*'] },
];

export function installMenu(core: SightlineCore): void {
  const openLog = async () => {
    const window = BrowserWindow.getFocusedWindow();
    const options = { title: 'Open drive log', properties: ['openFile' as const], filters: LOG_FILE_FILTERS };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    const path = result.filePaths[0];
    if (result.canceled || !path) return;
    // The renderer follows the core's logOpened event.
    await core.openLog(path).catch((error: Error) => dialog.showErrorBox('Could not open log', error.message));
  };
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Log…', accelerator: 'CmdOrCtrl+O', click: () => void openLog() },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'togglefullscreen' }] },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: `Sightline ${app.getVersion()}`, enabled: false }] },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
