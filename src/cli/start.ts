// `npm start`: the Electron app where its binary exists, otherwise the same UI in web mode.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../version.js';
import { ensureDemoLog } from './demoLog.js';

/** Path of the Electron binary, without triggering the electron package's download-on-require. */
export function findElectronBinary(): string | undefined {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const candidate = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, process.platform === 'win32' ? 'electron.exe' : 'electron');
    return existsSync(candidate) ? candidate : undefined;
  }
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const pathFile = join(dir, 'path.txt');
    if (!existsSync(pathFile)) return undefined;
    const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

export async function launchApp(
  opts: { port: number; db: string },
  serve: (o: { port: number; db: string; logs: string[] }) => Promise<void>,
): Promise<void> {
  const demo = await ensureDemoLog();
  const electron = findElectronBinary();
  if (electron) {
    const child = spawn(electron, [packageRoot, '--open', demo, '--db', opts.db], { stdio: 'inherit' });
    await new Promise<void>((resolve) => child.on('exit', (code) => {
      process.exitCode = code ?? 0;
      resolve();
    }));
    return;
  }
  process.stdout.write('Electron binary not available on this machine (it is downloaded on first run, and this machine is offline); starting the web UI instead.\n');
  await serve({ ...opts, logs: [demo] });
}
