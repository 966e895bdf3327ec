// The desktop shell end to end, through Playwright's Electron driver. Electron downloads its binary
// on first run; on offline machines (CI here) there is none, and this test says so and skips.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../src/cli/start.js';
import { demoLogPath } from '../helpers/demo.js';

const binary = findElectronBinary();
const root = join(import.meta.dirname, '..', '..');
if (!binary) {
  console.warn('[electron e2e] skipped: no Electron binary (node_modules/electron has not downloaded it; this machine is offline). The web-mode e2e tests cover the same UI.');
}

describe.skipIf(!binary)('Electron app', () => {
  it('opens the demo in a sandboxed window with the typed bridge and paints both panels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sightline-electron-'));
    const demo = await demoLogPath();
    const app = await electron.launch({ executablePath: binary!, args: [root, '--open', demo, '--db', join(dir, 'e.db')] });
    try {
      const window = await app.firstWindow();
      // Isolation: the page sees the bridge, never Node or ipcRenderer.
      expect(await window.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
      expect(await window.evaluate(() => typeof (window as unknown as { sightlineBridge?: unknown }).sightlineBridge)).toBe('object');
      await window.waitForFunction(() => {
        const s = (window as unknown as { __sightline?: { state(): { paintedFrame: { camera: number; scene: number } } } }).__sightline?.state();
        return !!s && s.paintedFrame.camera >= 0 && s.paintedFrame.scene >= 0;
      }, undefined, { timeout: 60_000 });
      await window.screenshot({ path: join(root, 'test-results', 'electron-demo.png') });
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
