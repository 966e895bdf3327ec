// The web UI end to end: the real server, a fresh renderer build, headless Chromium.
// Opens the demo drive through the path field, checks both canvases paint real pixels, scrubs,
// steps with the keyboard, shows the help overlay, shows an API error without crashing, and
// auto-opens a log the server already has open. Screenshots land in test-results/.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameStub } from '../../src/logs/model.js';
import { buildRendererInto, callApi, chromiumSkipReason, launchChromium, newCollectingPage, removeDirs, screenshotsDir } from '../helpers/browser.js';
import { demoLogPath } from '../helpers/demo.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

if (chromiumSkipReason) console.warn(`[app e2e] skipped: ${chromiumSkipReason}`);

// Browser globals used inside page.evaluate callbacks (the test tsconfig has no DOM lib).
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d', options?: { willReadFrequently?: boolean }): {
    drawImage(source: PageCanvas, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}
declare const document: { querySelector(selector: string): PageCanvas | null; createElement(tag: 'canvas'): PageCanvas };
declare const window: { __sightline?: { state(): UiState } };
declare const DataTransfer: new () => { items: { add(file: File): void } };

interface UiState {
  logId: string | null;
  frameIndex: number;
  frameCount: number;
  stampNs: string | null;
  playing: boolean;
  paintedFrame: { camera: number; scene: number };
}

/** Pixel summary of a canvas (2D or WebGL with preserveDrawingBuffer): lit fraction and a checksum. */
async function canvasPixels(page: Page, testId: string): Promise<{ width: number; height: number; lit: number; distinct: number; checksum: number }> {
  return page.evaluate((id) => {
    const source = document.querySelector(`[data-testid="${id}"]`);
    if (!source) throw new Error(`no canvas ${id}`);
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const g = copy.getContext('2d', { willReadFrequently: true })!;
    g.drawImage(source, 0, 0);
    const { data } = g.getImageData(0, 0, copy.width, copy.height);
    const [r0, g0, b0] = [data[0]!, data[1]!, data[2]!]; // the corner: background
    let lit = 0;
    let checksum = 0;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i]!;
      const gg = data[i + 1]!;
      const b = data[i + 2]!;
      if (Math.abs(r - r0) + Math.abs(gg - g0) + Math.abs(b - b0) > 24) lit++;
      checksum = (checksum + r * 3 + gg * 5 + b * 7 + (i % 9973)) % 2147483647;
      if (colours.size < 5000) colours.add((r << 16) | (gg << 8) | b);
    }
    return { width: copy.width, height: copy.height, lit: lit / (copy.width * copy.height), distinct: colours.size, checksum };
  }, testId);
}

const state = (page: Page): Promise<UiState> => page.evaluate(() => window.__sightline!.state());

/** Waits until both panels have painted the frame under the cursor. */
async function waitForPaint(page: Page, timeout = 60_000): Promise<UiState> {
  await page.waitForFunction(
    () => {
      const s = window.__sightline?.state();
      return !!s && s.frameCount > 0 && s.paintedFrame.camera === s.frameIndex && s.paintedFrame.scene === s.frameIndex;
    },
    undefined,
    { timeout },
  );
  return state(page);
}

const listFrames = (server: TestServer, logId: string): Promise<FrameStub[]> => callApi<FrameStub[]>(server, 'listFrames', { logId });

describe.skipIf(chromiumSkipReason !== null)('web UI', () => {
  let server: TestServer;
  let browser: Browser;
  let staticDir: string;
  let demo: string;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    staticDir = mkdtempSync(join(tmpdir(), 'sightline-renderer-'));
    await buildRendererInto(staticDir);
    demo = await demoLogPath();
    server = await startTestServer([], { staticDir });
    browser = await launchChromium(['--ignore-gpu-blocklist']);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDirs(staticDir);
  });

  const newPage = (): Promise<Page> => newCollectingPage(browser, problems, { viewport: { width: 1280, height: 800 }, failedLoads: true, csp: true });

  it('opens the demo by path, paints camera and 3D, scrubs, steps and shows help', async () => {
    const page = await newPage();
    await page.goto(server.url);
    // No log open on the server yet: the welcome screen with the path field.
    await page.getByTestId('path-input').first().fill(demo);
    await page.screenshot({ path: join(screenshotsDir, 'e2e-welcome.png') });
    await page.getByTestId('open-button').first().click();

    const first = await waitForPaint(page);
    expect(first.logId).toMatch(/\S/);
    expect(first.frameIndex).toBe(0);
    const frames = await listFrames(server, first.logId!);
    expect(first.frameCount).toBe(frames.length);
    expect(frames.length).toBeGreaterThan(10);
    await expect.poll(() => page.getByTestId('frame-timestamp').textContent()).toBe(frames[0]!.stampNs);
    await expect.poll(() => page.getByTestId('frame-index').textContent()).toBe('0');

    const camera0 = await canvasPixels(page, 'camera-canvas');
    const scene0 = await canvasPixels(page, 'scene-canvas');
    // The camera shows a real image (many colours over most of the letterboxed area); the 3D
    // view shows points, boxes and the ego on its dark background.
    expect(camera0.lit).toBeGreaterThan(0.3);
    expect(camera0.distinct).toBeGreaterThan(500);
    expect(scene0.lit).toBeGreaterThan(0.05);
    expect(scene0.distinct).toBeGreaterThan(50);
    await page.screenshot({ path: join(screenshotsDir, 'e2e-open.png') });

    // Scrub: click at 80% of the bar; the cursor lands on the frame nearest that time.
    const bar = (await page.getByTestId('scrub-bar').boundingBox())!;
    await page.mouse.click(bar.x + bar.width * 0.8, bar.y + bar.height / 2);
    const scrubbed = await waitForPaint(page);
    const t0 = frames[0]!.timeS;
    const t1 = frames[frames.length - 1]!.timeS;
    const expected = frames.reduce((best, f) => (Math.abs(f.timeS - (t0 + 0.8 * (t1 - t0))) < Math.abs(best.timeS - (t0 + 0.8 * (t1 - t0))) ? f : best));
    expect(Math.abs(scrubbed.frameIndex - expected.index)).toBeLessThanOrEqual(1);
    expect(scrubbed.frameIndex).toBeGreaterThan(frames.length / 2);
    const stub = frames[scrubbed.frameIndex]!;
    expect(scrubbed.stampNs).toBe(stub.stampNs);
    await expect.poll(() => page.getByTestId('frame-timestamp').textContent()).toBe(stub.stampNs);
    await expect.poll(() => page.getByTestId('frame-index').textContent()).toBe(String(stub.index));
    await expect.poll(() => page.getByTestId('frame-time').textContent()).toBe(stub.timeS.toFixed(3));
    const camera1 = await canvasPixels(page, 'camera-canvas');
    const scene1 = await canvasPixels(page, 'scene-canvas');
    expect(camera1.lit).toBeGreaterThan(0.3);
    expect(scene1.lit).toBeGreaterThan(0.05);
    expect(camera1.checksum).not.toBe(camera0.checksum);
    expect(scene1.checksum).not.toBe(scene0.checksum);
    await page.mouse.move(bar.x + bar.width * 0.3, bar.y + bar.height / 2); // hover readout in the shot
    await page.screenshot({ path: join(screenshotsDir, 'e2e-scrubbed.png') });

    // Keyboard: → steps one frame, ← back.
    await page.mouse.move(5, 300);
    await page.keyboard.press('ArrowRight');
    const stepped = await waitForPaint(page);
    expect(stepped.frameIndex).toBe(scrubbed.frameIndex + 1);
    await expect.poll(() => page.getByTestId('frame-timestamp').textContent()).toBe(frames[stepped.frameIndex]!.stampNs);
    await page.keyboard.press('ArrowLeft');
    expect((await waitForPaint(page)).frameIndex).toBe(scrubbed.frameIndex);

    // Help overlay: ? opens it, listing the shortcuts; ? closes it again.
    await expect(page.getByTestId('help-overlay').count()).resolves.toBe(0);
    await page.keyboard.press('?');
    const help = page.getByTestId('help-overlay');
    await help.waitFor({ state: 'visible' });
    const helpText = (await help.textContent()) ?? '';
    for (const entry of ['Play / pause', 'Previous / next frame', 'Back / forward 1 second', 'Slower / faster', 'Follow the ego', "Bird's-eye view", 'Space', 'Shift']) {
      expect(helpText).toContain(entry);
    }
    await page.screenshot({ path: join(screenshotsDir, 'e2e-help.png') });
    await page.keyboard.press('?');
    await help.waitFor({ state: 'detached' });

    // Bird's-eye view repaints the 3D canvas from above.
    await page.keyboard.press('b');
    await expect.poll(async () => (await canvasPixels(page, 'scene-canvas')).checksum).not.toBe(scene1.checksum);
    await page.screenshot({ path: join(screenshotsDir, 'e2e-birdseye.png') });
    await page.keyboard.press('b');

    // Playback advances on the log clock.
    const before = await state(page);
    await page.keyboard.press('Home');
    await waitForPaint(page);
    await page.keyboard.press(' ');
    await expect.poll(async () => (await state(page)).paintedFrame.camera, { timeout: 20_000 }).toBeGreaterThan(3);
    await page.keyboard.press(' ');
    expect((await state(page)).playing).toBe(false);
    expect(before.logId).toBe((await state(page)).logId);

    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows API errors (a bad path, a dropped non-log file) without losing the open log', async () => {
    const page = await newPage();
    await page.goto(server.url);
    const opened = await waitForPaint(page); // the server has the demo open: it opens by itself
    await page.getByTestId('path-input').fill('/definitely/not/here.mcap');
    await page.getByTestId('open-button').click();
    const banner = page.getByTestId('error-banner');
    await banner.waitFor({ state: 'visible' });
    expect(((await banner.textContent()) ?? '').length).toBeGreaterThan(5);
    expect(await banner.textContent()).toMatch(/not|no such|exist|found/i);
    // Still working: the log stays open and the canvases keep their frame.
    expect((await state(page)).logId).toBe(opened.logId);
    expect((await canvasPixels(page, 'camera-canvas')).lit).toBeGreaterThan(0.3);
    await page.screenshot({ path: join(screenshotsDir, 'e2e-error.png') });

    // Drag and drop anywhere on the window: the overlay shows, the file is uploaded (web mode) and
    // opened; this one is not a log, so the server's message is shown and the demo stays open.
    const transfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(2048).fill(7)], 'not-a-log.mcap'));
      return dt;
    });
    await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
    await page.getByTestId('drop-overlay').waitFor({ state: 'visible' });
    await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
    await page.getByTestId('drop-overlay').waitFor({ state: 'detached' });
    await expect.poll(() => banner.textContent()).toContain('not-a-log.mcap');
    expect((await state(page)).logId).toBe(opened.logId);
    expect(problems.filter((p) => !/\b4\d\d\b|Failed to load resource/.test(p))).toEqual([]);
    await page.close();
  });
});
