// `npm run bench:ui`: the review UI in headless Chromium (web mode: the real server, a fresh
// renderer build). Frame-step latency from the → key to both panels painted (the paint marks the
// renderer leaves), on KITTI raw and the demo drive; 3D render time with synthetic clouds against
// a bare three.js page drawing the same points the same way; the JS heap around 1,000 steps.
// Options: --steps N (heap steps, default 1000), --points 100000,1000000,2000000,
// --frames N (timed renders per size and page, default 60: software GL times vary by ±30 % between runs of a few frames), --latency-steps N (default 40).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { startServer, type RunningServer } from '../api/http.js';
import { decodeWire } from '../api/wire.js';
import { ensureDemoLog } from '../cli/demoLog.js';
import type { PointCloud } from '../logs/model.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const chromiumPath = process.env.SIGHTLINE_CHROMIUM ?? '/usr/bin/chromium';
const fixturesDir = resolve(process.env.SIGHTLINE_FIXTURES ?? join(root, '..', 'shared', 'fixtures'));
const KITTI_RAW = join(fixturesDir, 'kitti_raw_2011_09_26_sfnd');
const STEP_GOAL_P95_MS = 50;
const RATIO_GOAL = 1.15;

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    points: { type: 'string', default: '100000,1000000,2000000' },
    frames: { type: 'string', default: '60' },
    'latency-steps': { type: 'string', default: '40' },
  },
});
const positiveInt = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} takes a positive whole number, not '${text}'`);
  return n;
};
const heapSteps = positiveInt('steps', args.steps);
const renderFrames = positiveInt('frames', args.frames);
const latencySteps = positiveInt('latency-steps', args['latency-steps']);
const pointCounts = args.points.split(',').map((p) => positiveInt('points', p.trim()));

// Page globals used inside page.evaluate callbacks (src/ has no DOM lib).
interface BenchWindow {
  __sightline?: {
    state(): { logId: string | null; frameIndex: number; frameCount: number; paintedFrame: { camera: number; scene: number } };
    seek(index: number): void;
    waitPainted(index: number, kinds?: string[], timeoutMs?: number): Promise<boolean>;
    scene(): { frameIndex: number; points: number } | null;
    ext: Record<string, (...args: never[]) => unknown>;
  };
  __bare?: { render(cloud: PointCloud, frames: number, setup: unknown): { ms: number[]; drawCalls: number } };
  __benchCloud?: PointCloud;
  __benchKeys?: number[];
  addEventListener(type: string, fn: (e: { key: string; timeStamp: number }) => void, options?: { capture: boolean }): void;
}
declare const window: BenchWindow;
declare const document: { createElement(tag: 'canvas'): { getContext(kind: 'webgl2'): { RENDERER: number; getParameter(p: number): unknown; getExtension(name: 'WEBGL_debug_renderer_info'): { UNMASKED_RENDERER_WEBGL: number } | null } | null } };

interface RenderBench {
  ms: number[];
  width: number;
  height: number;
  antialias: boolean;
  pointSize: number;
  camera: unknown;
  pointsMatrix: number[];
  drawCalls: number;
}

const quantile = (values: number[], q: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const round = (v: number, digits = 1) => Number(v.toFixed(digits));
const mb = (bytes: number) => round(bytes / 1e6, 1);

/**
 * A lidar-like cloud, the same for a given count on any page (runs in the page): 64 rings, ground
 * returns out to 80 m, the rest on walls and objects; [x y z] in the ego frame, z up.
 */
function makeSyntheticCloud(count: number): void {
  const positions = new Float32Array(count * 3);
  const rings = 64;
  const columns = Math.ceil(count / rings);
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  for (let i = 0; i < count; i++) {
    const ring = i % rings;
    const azimuth = (Math.floor(i / rings) / columns) * Math.PI * 2;
    const elevation = ((-24.9 + (26.9 * ring) / (rings - 1)) * Math.PI) / 180;
    let range = elevation < -0.01 ? Math.min(1.73 / Math.tan(-elevation), 80) : 15 + 50 * random();
    // A third of the returns hit something standing on the ground before the ground itself.
    if (random() < 0.33) range = Math.min(range, 4 + 30 * random());
    range *= 1 + 0.01 * (random() - 0.5);
    positions[3 * i] = range * Math.cos(elevation) * Math.cos(azimuth);
    positions[3 * i + 1] = range * Math.cos(elevation) * Math.sin(azimuth);
    positions[3 * i + 2] = 1.73 + range * Math.sin(elevation);
  }
  window.__benchCloud = { sensorId: 'bench', frameId: 'bench', stampNs: '0', count, positions, fields: {}, extrinsic: { translation: [0, 0, 0], rotation: [0, 0, 0, 1] } };
}

async function callApi<T>(server: RunningServer, method: string, input: unknown): Promise<T> {
  const response = await fetch(`${server.url}/api/call/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  if (!response.ok) throw new Error(`${method}: HTTP ${response.status} ${await response.text()}`);
  return decodeWire<T>(await response.arrayBuffer());
}

/** Opens a log in the server, then a page showing it with both panels painted. */
async function openPage(browser: Browser, server: RunningServer, path: string): Promise<{ page: Page; frameCount: number }> {
  const info = await callApi<{ id: string; frameCount: number }>(server, 'openLog', { path });
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('pageerror', (error) => console.warn(`[bench:ui] page error: ${error.message}`));
  page.on('console', (message) => message.type() === 'error' && console.warn(`[bench:ui] console error: ${message.text()}`));
  await page.goto(server.url);
  await page.waitForFunction(() => !!window.__sightline?.state().logId, undefined, { timeout: 60_000 });
  if ((await page.evaluate(() => window.__sightline!.state().logId)) !== info.id) {
    await page.getByTestId('path-input').first().fill(path);
    await page.getByTestId('open-button').first().click();
  }
  await page.waitForFunction(
    (id) => {
      const s = window.__sightline!.state();
      return s.logId === id && s.frameCount > 0 && s.paintedFrame.camera === s.frameIndex && s.paintedFrame.scene === s.frameIndex;
    },
    info.id,
    { timeout: 60_000 },
  ).catch(async (error: Error) => {
    throw new Error(`${path} was not shown with both panels painted: ${JSON.stringify(await page.evaluate(() => window.__sightline?.state()))} (${error.message})`);
  });
  await page.mouse.move(5, 400); // keys go to the page, not to a focused control
  return { page, frameCount: info.frameCount };
}

/** → key (real input events) to both panels painted, per step: first visits, then a second pass. */
async function stepLatency(page: Page, frameCount: number, steps: number): Promise<{ first: number[]; again: number[] }> {
  await page.evaluate(() => {
    window.__benchKeys = [];
    window.addEventListener('keydown', (e) => e.key === 'ArrowRight' && window.__benchKeys!.push(e.timeStamp), { capture: true });
  });
  const span = Math.min(steps, frameCount - 1);
  const pass = async (): Promise<number[]> => {
    await page.evaluate(async () => {
      window.__sightline!.seek(0);
      await window.__sightline!.waitPainted(0, ['camera', 'scene'], 20_000);
    });
    const out: number[] = [];
    for (let i = 1; i <= span; i++) {
      await page.keyboard.press('ArrowRight');
      const ms = await page.evaluate(async (next) => {
        const since = window.__benchKeys!.at(-1)!;
        const deadline = performance.now() + 20_000;
        const paintedAt = (kind: string) => performance.getEntriesByName(`sightline:painted:${kind}:${next}`, 'mark').find((m) => m.startTime >= since)?.startTime;
        for (;;) {
          const camera = paintedAt('camera');
          const scene = paintedAt('scene');
          if (camera !== undefined && scene !== undefined) return Math.max(camera, scene) - since;
          if (performance.now() > deadline) return null;
          await new Promise((r) => setTimeout(r, 2));
        }
      }, i);
      if (ms === null) throw new Error(`frame ${i} was not painted within 20 s of the key press`);
      out.push(ms);
    }
    return out;
  };
  const first = await pass();
  const again = await pass();
  return { first, again };
}

/** Median render ms of the 3D panel and of the bare page, interleaved in rounds (shared CPUs drift). */
async function renderRatio(app: Page, bare: Page, count: number, frames: number): Promise<{ app: RenderBench; appMs: number[]; bareMs: number[]; bareDrawCalls: number }> {
  await app.evaluate(makeSyntheticCloud, count);
  await bare.evaluate(makeSyntheticCloud, count);
  const rounds = 3;
  const perRound = Math.max(2, Math.ceil(frames / rounds));
  const appMs: number[] = [];
  const bareMs: number[] = [];
  let setup: RenderBench | null = null;
  let bareDrawCalls = 0;
  for (let r = 0; r < rounds; r++) {
    // The page in front gets the GPU process's attention; both render synchronously here.
    await app.bringToFront();
    const result = await app.evaluate((frames) => (window.__sightline!.ext.sceneRenderBench as unknown as (cloud: PointCloud, frames: number) => RenderBench)(window.__benchCloud!, frames), perRound);
    setup ??= result;
    appMs.push(...result.ms);
    await bare.bringToFront();
    const bareResult = await bare.evaluate(({ frames, setup }) => window.__bare!.render(window.__benchCloud!, frames, setup), { frames: perRound, setup });
    bareMs.push(...bareResult.ms);
    bareDrawCalls = bareResult.drawCalls;
  }
  await app.evaluate(() => delete window.__benchCloud);
  await bare.evaluate(() => delete window.__benchCloud);
  return { app: setup!, appMs, bareMs, bareDrawCalls };
}

/** JS heap after a forced GC (CDP), before and after `steps` frame steps. */
async function heapAroundSteps(page: Page, frameCount: number, steps: number): Promise<{ before: number; after: number; seconds: number }> {
  const cdp = await page.context().newCDPSession(page);
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
  const before = await heap();
  const started = performance.now();
  // Every step runs the whole data path (store, React, camera projection, point upload); every
  // 17th also waits for both paints (software WebGL paints slower than steps arrive).
  await page.evaluate(
    async ({ frames, steps }) => {
      const hooks = window.__sightline!;
      let index = hooks.state().frameIndex;
      for (let i = 0; i < steps; i++) {
        index = (index + 1) % frames;
        hooks.seek(index);
        if (i % 17 === 16 || i === steps - 1) {
          if (!(await hooks.waitPainted(index, ['camera', 'scene'], 20_000))) throw new Error(`frame ${index} not painted`);
        } else {
          await Promise.resolve();
          await Promise.resolve();
        }
      }
    },
    { frames: frameCount, steps },
  );
  const seconds = (performance.now() - started) / 1000;
  const after = await heap();
  await cdp.detach();
  return { before, after, seconds };
}

async function main(): Promise<void> {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (apt-get install chromium, or set SIGHTLINE_CHROMIUM)`);
  const started = performance.now();
  const demo = await ensureDemoLog();
  const work = mkdtempSync(join(tmpdir(), 'sightline-bench-ui-'));
  const staticDir = join(work, 'renderer');
  let browser: Browser | undefined;
  let server: RunningServer | undefined;
  try {
    // The app and the bare page, built from the current sources into a private folder.
    const [, launched] = await Promise.all([
      build({
        configFile: join(root, 'vite.config.ts'),
        logLevel: 'warn',
        root: join(root, 'renderer'),
        build: { outDir: staticDir, emptyOutDir: true, sourcemap: false, rolldownOptions: { input: { app: join(root, 'renderer', 'index.html'), bare: join(root, 'renderer', 'bench', 'bare.html') } } },
      }),
      chromium.launch({
        executablePath: chromiumPath,
        // Software WebGL where there is no GPU (as in CI); precise heap numbers.
        args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--disable-dev-shm-usage', '--enable-precise-memory-info'],
      }),
    ]);
    browser = launched;
    server = await startServer({ port: 0, dbPath: join(work, 'bench.db'), staticDir, uploadDir: join(work, 'uploads'), actor: 'bench', hashLogs: false });
    console.log(`renderer build and browser ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // ---- frame-step latency ----
    const logs: Array<{ name: string; path: string }> = [];
    if (existsSync(KITTI_RAW)) logs.push({ name: 'KITTI raw', path: KITTI_RAW });
    else console.log(`KITTI raw not found at ${KITTI_RAW} (set SIGHTLINE_FIXTURES): demo drive only`);
    logs.push({ name: 'demo drive', path: demo });
    const latency: Array<{ log: string; frames: number; points: number; first: { p50: number; p95: number }; again: { p50: number; p95: number }; n: number }> = [];
    // One page at a time: a page left open in the background keeps the next one from painting.
    let heap: { log: string; before: number; after: number; seconds: number } | null = null;
    for (const log of logs) {
      const opened = await openPage(browser, server, log.path);
      const { first, again } = await stepLatency(opened.page, opened.frameCount, latencySteps);
      const points = await opened.page.evaluate(() => window.__sightline!.scene()?.points ?? 0);
      latency.push({
        log: log.name,
        frames: opened.frameCount,
        points,
        first: { p50: round(quantile(first, 0.5)), p95: round(quantile(first, 0.95)) },
        again: { p50: round(quantile(again, 0.5)), p95: round(quantile(again, 0.95)) },
        n: first.length,
      });
      // The JS heap around N steps, on the first log (its frames are cached by now).
      heap ??= { log: log.name, ...(await heapAroundSteps(opened.page, opened.frameCount, heapSteps)) };
      await opened.page.close();
    }
    console.log('\nFrame step: → key to camera and 3D panels painted (ms)');
    console.log('log          frames  points   first visit p50 / p95   revisit p50 / p95   steps');
    for (const l of latency) {
      console.log(`${l.log.padEnd(12)} ${String(l.frames).padStart(6)}  ${String(l.points).padStart(6)}   ${`${l.first.p50} / ${l.first.p95}`.padStart(19)}   ${`${l.again.p50} / ${l.again.p95}`.padStart(17)}   ${l.n}`);
    }
    const { before: heapBefore, after: heapAfter } = heap!;
    console.log(`\nJS heap (after GC) around ${heapSteps} steps on ${heap!.log}: ${mb(heapBefore)} MB → ${mb(heapAfter)} MB (${heapAfter >= heapBefore ? '+' : ''}${mb(heapAfter - heapBefore)} MB; steps took ${heap!.seconds.toFixed(1)} s)`);


    // ---- render time against a bare three.js page ----
    const { page: app } = await openPage(browser, server, demo);
    const bare = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await bare.goto(`${server.url}/bench/bare.html`);
    await bare.waitForFunction(() => !!window.__bare);
    const renders: Array<{ points: number; sightlineMs: number; bareMs: number; ratio: number; sightlineP95: number; bareP95: number; drawCalls: { sightline: number; bare: number } }> = [];
    let canvas = '';
    for (const count of pointCounts) {
      const result = await renderRatio(app, bare, count, renderFrames);
      canvas = `${result.app.width}×${result.app.height}, point size ${result.app.pointSize} px, antialias ${result.app.antialias}`;
      const sightlineMs = quantile(result.appMs, 0.5);
      const bareMs = quantile(result.bareMs, 0.5);
      renders.push({
        points: count,
        sightlineMs: round(sightlineMs),
        bareMs: round(bareMs),
        ratio: round(sightlineMs / bareMs, 3),
        sightlineP95: round(quantile(result.appMs, 0.95)),
        bareP95: round(quantile(result.bareMs, 0.95)),
        drawCalls: { sightline: result.app.drawCalls, bare: result.bareDrawCalls },
      });
    }
    console.log(`\n3D render, each waited for on the GPU: median ms per frame (canvas ${canvas}; ${renderFrames} frames per page and size)`);
    console.log('points      Sightline   bare three.js   ratio   (p95: Sightline / bare)   draw calls');
    for (const r of renders) {
      const flag = r.ratio <= RATIO_GOAL ? '' : `  > ${RATIO_GOAL}`;
      console.log(
        `${String(r.points).padEnd(10)} ${r.sightlineMs.toFixed(1).padStart(10)}   ${r.bareMs.toFixed(1).padStart(13)}   ${r.ratio.toFixed(3).padStart(5)}   ${`${r.sightlineP95} / ${r.bareP95}`.padStart(23)}   ${r.drawCalls.sightline} / ${r.drawCalls.bare}${flag}`,
      );
    }
    await app.close();
    await bare.close();

    const webgl = await (async () => {
      const page = await browser.newPage();
      const name = await page.evaluate(() => {
        const gl = document.createElement('canvas').getContext('webgl2');
        const info = gl?.getExtension('WEBGL_debug_renderer_info');
        return gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'no WebGL 2';
      });
      await page.close();
      return name;
    })();
    const stepP95 = Math.max(...latency.map((l) => l.again.p95));
    const worstRatio = Math.max(...renders.map((r) => r.ratio));
    console.log(`\nWebGL: ${webgl}. Goals: step p95 < ${STEP_GOAL_P95_MS} ms (revisits: ${stepP95} ms), render ratio ≤ ${RATIO_GOAL} (worst ${worstRatio}). Total ${((performance.now() - started) / 1000).toFixed(0)} s.`);
    console.log(
      JSON.stringify({
        bench: 'ui',
        webgl,
        stepLatencyMs: latency,
        render: renders,
        heap: { log: heap!.log, steps: heapSteps, beforeMB: mb(heapBefore), afterMB: mb(heapAfter), deltaMB: mb(heapAfter - heapBefore) },
        goals: { stepP95Ms: STEP_GOAL_P95_MS, renderRatio: RATIO_GOAL, stepP95Met: stepP95 < STEP_GOAL_P95_MS, renderRatioMet: worstRatio <= RATIO_GOAL },
        totalS: round((performance.now() - started) / 1000),
      }),
    );
  } finally {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
