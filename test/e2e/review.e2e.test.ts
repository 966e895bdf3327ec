// The review UI end to end, on real data: the real server, a fresh renderer build, headless
// Chromium (software WebGL). KITTI: ground-truth boxes, projected lidar and 3D wireframes checked
// through pixels and through `window.__sightline`; a model run started from the UI, its detections
// drawn and filtered by the score slider; 1,000 frame steps without memory growth; layout
// persistence; the 1–9 / b / ? shortcuts; the demo's driven path and sweep accumulation.
// Screenshots land in test-results/.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../src/infer/registry.js';
import type { FramePlan } from '../../src/api/contract.js';
import type { FrameData, LogInfo } from '../../src/logs/model.js';
import { buildRendererInto, callApi, chromiumSkipReason, launchChromium, newCollectingPage, removeDirs, screenshotsDir } from '../helpers/browser.js';
import { demoLogPath } from '../helpers/demo.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const KITTI_OBJECT = fixture('kitti_object_vis', 'training');
const KITTI_RAW = fixture('kitti_raw_2011_09_26_sfnd');
const skipReason = chromiumSkipReason ?? (hasFixtures ? null : fixturesSkipReason);
if (skipReason) console.warn(`[review e2e] skipped: ${skipReason}`);

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
declare const window: { __sightline?: Hooks; __reviewCanvases?: Record<string, Uint8ClampedArray>; dispatchEvent(event: unknown): boolean };
declare const KeyboardEvent: new (type: string, init: { key: string }) => unknown;
declare const requestAnimationFrame: (callback: () => void) => number;

interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

interface CameraSnapshot {
  index: number;
  imageWidth: number;
  imageHeight: number;
  canvasWidth: number;
  canvasHeight: number;
  transform: { s: number; ox: number; oy: number };
  boxes2d: Array<Rect & { id: string; kind: string; label: string; ignore: boolean; score: number | null; intrudes: boolean }>;
  wireframes: Array<Rect & { id: string; kind: string; label: string; segments: number; intrudes: boolean }>;
  lidar: { total: number; inFront: number; inImage: number; drawn: number; bounds: Rect; projectMs: number } | null;
  paths: Array<{ id: string; kind: string; segments: number; quads: number; bounds: Rect | null }>;
  drawMs: number;
}

interface SceneSnapshot {
  frameIndex: number;
  viewMode: string;
  colorMode: string;
  points: number;
  pastSweeps: number;
  gtBoxes: number;
  runBoxes: Record<string, number>;
  pathSegments: number;
  gridVisible: boolean;
  frustaVisible: boolean;
  memory: { geometries: number; textures: number; programs: number };
  renderMs: number;
  uploadMs: number;
}

interface UiState {
  logId: string | null;
  frameIndex: number;
  frameCount: number;
  paintedFrame: { camera: number; scene: number };
  helpOpen: boolean;
  selection: { kind: string; id: string } | null;
  layers: Record<string, boolean>;
  scene: { birdsEye: boolean; follow: boolean; colorMode: string; accumulate: number };
  review: { scoreThreshold: number; hiddenClasses: string[] };
  runs: Array<{ runId: number; status: string; visible: boolean }>;
  detections: Array<{ runId: number; boxes2d: number; boxes3d: number; masks: number }> | null;
  markers: number;
  range: { start: number; end: number } | null;
}

interface Hooks {
  state(): UiState;
  seek(index: number): void;
  waitPainted(index: number, kinds?: string[], timeoutMs?: number): Promise<boolean>;
  camera(sensorId?: string): CameraSnapshot | null;
  scene(): SceneSnapshot | null;
  memory(): { geometries: number; textures: number; programs: number; jsHeapUsed: number | null };
  gc(): boolean;
  decoder(): string;
}

const LAYER_KEYS = ['gt2d', 'gt3d', 'detections', 'lidarProjection', 'masks', 'paths', 'frusta', 'grid', 'wireframes'];

const state = (page: Page): Promise<UiState> => page.evaluate(() => window.__sightline!.state());
const cameraSnapshot = (page: Page, sensor?: string): Promise<CameraSnapshot> =>
  page.evaluate((s) => {
    const snap = window.__sightline!.camera(s);
    if (!snap) throw new Error('no camera view');
    return snap;
  }, sensor);
const sceneSnapshot = (page: Page): Promise<SceneSnapshot> => page.evaluate(() => window.__sightline!.scene()!);

function iou(a: Rect, b: Rect): number {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

/** RGB at canvas pixels (2D or WebGL with preserveDrawingBuffer). */
async function pixelsAt(page: Page, selector: string, points: Array<[number, number]>): Promise<Array<[number, number, number]>> {
  return page.evaluate(
    ({ selector, points }) => {
      const source = document.querySelector(selector);
      if (!source) throw new Error(`no canvas ${selector}`);
      const copy = document.createElement('canvas');
      copy.width = source.width;
      copy.height = source.height;
      const g = copy.getContext('2d', { willReadFrequently: true })!;
      g.drawImage(source, 0, 0);
      const { data } = g.getImageData(0, 0, copy.width, copy.height);
      return points.map(([x, y]) => {
        const o = (Math.round(y) * copy.width + Math.round(x)) * 4;
        return [data[o]!, data[o + 1]!, data[o + 2]!] as [number, number, number];
      });
    },
    { selector, points },
  );
}

/**
 * Keeps a copy of a canvas's pixels in the page under `name`; `changedSince` compares against it
 * there (pixel arrays stay in the page: shipping them to the test costs seconds).
 */
async function rememberCanvas(page: Page, selector: string, name: string): Promise<void> {
  await page.evaluate(
    ({ selector, name }) => {
      const source = document.querySelector(selector);
      if (!source) throw new Error(`no canvas ${selector}`);
      const copy = document.createElement('canvas');
      copy.width = source.width;
      copy.height = source.height;
      const g = copy.getContext('2d', { willReadFrequently: true })!;
      g.drawImage(source, 0, 0);
      window.__reviewCanvases = { ...window.__reviewCanvases, [name]: g.getImageData(0, 0, copy.width, copy.height).data };
    },
    { selector, name },
  );
}

/** Fraction of pixels that changed (by more than a small colour distance) since `rememberCanvas`. */
async function changedSince(page: Page, selector: string, name: string): Promise<number> {
  return page.evaluate(
    ({ selector, name }) => {
      const source = document.querySelector(selector);
      const before = window.__reviewCanvases?.[name];
      if (!source || !before) throw new Error(`no canvas ${selector} or no copy ${name}`);
      const copy = document.createElement('canvas');
      copy.width = source.width;
      copy.height = source.height;
      const g = copy.getContext('2d', { willReadFrequently: true })!;
      g.drawImage(source, 0, 0);
      const now = g.getImageData(0, 0, copy.width, copy.height).data;
      if (now.length !== before.length) return 1;
      let changed = 0;
      for (let i = 0; i < now.length; i += 4) {
        if (Math.abs(now[i]! - before[i]!) + Math.abs(now[i + 1]! - before[i + 1]!) + Math.abs(now[i + 2]! - before[i + 2]!) > 30) changed++;
      }
      return changed / (now.length / 4);
    },
    { selector, name },
  );
}

const near = (c: [number, number, number], target: [number, number, number], tolerance = 60) => Math.abs(c[0] - target[0]) + Math.abs(c[1] - target[1]) + Math.abs(c[2] - target[2]) <= tolerance;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

describe.skipIf(!!skipReason)('review UI on real data', () => {
  let server: TestServer;
  let browser: Browser;
  let staticDir: string;
  let home: string;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    // A private workspace home whose model registry also has a segmentation model (for masks).
    home = mkdtempSync(join(tmpdir(), 'sightline-review-home-'));
    process.env.SIGHTLINE_HOME = home;
    const onnx = fixture('models', 'twinlitenet', 'twinlitenet_best.onnx');
    const manifestPath = join(home, 'twinlitenet.json');
    writeFileSync(
      manifestPath,
      JSON.stringify({
        id: 'twinlitenet',
        name: 'TwinLiteNet (drivable area + lanes)',
        task: 'segment2d',
        format: 'onnx',
        file: onnx,
        input: { name: 'images', width: 640, height: 360, layout: 'NCHW', colorOrder: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], resize: 'stretch' },
        decoder: {
          kind: 'segmentation',
          heads: [
            { output: 'da', name: 'drivable', activation: 'argmax', classes: ['background', 'drivable area'] },
            { output: 'll', name: 'lane', activation: 'argmax', classes: ['background', 'lane line'] },
          ],
        },
        classes: ['background', 'foreground'],
      }),
    );
    await ModelRegistry.open(home).add(onnx, manifestPath);
    staticDir = mkdtempSync(join(tmpdir(), 'sightline-review-renderer-'));
    const [, b] = await Promise.all([
      buildRendererInto(staticDir),
      // Precise heap numbers and gc() for the memory check.
      launchChromium(['--ignore-gpu-blocklist', '--enable-precise-memory-info', '--js-flags=--expose-gc']),
    ]);
    browser = b;
    server = await startTestServer([], { staticDir });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDirs(staticDir, home);
  });

  async function openPage(logPath: string, viewport = { width: 1280, height: 720 }): Promise<{ page: Page; info: LogInfo }> {
    const info = await callApi<LogInfo>(server, 'openLog', { path: logPath });
    const page = await newCollectingPage(browser, problems, { viewport, failedLoads: true, csp: true });
    await page.goto(server.url);
    await showLog(page, logPath, info.id);
    return { page, info };
  }

  /** The server has logs open and the UI shows one of them by itself: then open this one by path. */
  async function showLog(page: Page, logPath: string, logId: string): Promise<void> {
    await page.waitForFunction(() => !!window.__sightline?.state().logId, undefined, { timeout: 30_000 });
    if ((await state(page)).logId !== logId) {
      await page.getByTestId('path-input').first().fill(logPath);
      await page.getByTestId('open-button').first().click();
    }
    await page.waitForFunction((id) => window.__sightline?.state().logId === id, logId, { timeout: 30_000 });
    await page.waitForFunction(() => {
      const s = window.__sightline!.state();
      return s.frameCount > 0 && s.paintedFrame.camera === s.frameIndex && s.paintedFrame.scene === s.frameIndex;
    }, undefined, { timeout: 30_000 });
  }

  async function seek(page: Page, index: number, kinds = ['camera', 'scene']): Promise<void> {
    if ((await state(page)).frameIndex === index) return;
    const ok = await page.evaluate(
      async ({ index, kinds }) => {
        window.__sightline!.seek(index);
        return window.__sightline!.waitPainted(index, kinds, 20_000);
      },
      { index, kinds },
    );
    expect(ok, `frame ${index} painted`).toBe(true);
  }

  /** Lets pending requestAnimationFrame paints land. */
  const settle = (page: Page) => page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));

  it('KITTI: draws ground truth, projects lidar into the image, and a car wireframe matches its 2D box', async () => {
    const { page } = await openPage(KITTI_OBJECT);
    const canvas = '[data-testid="camera-canvas"][data-sensor="image_2"]';
    expect(await page.evaluate(() => window.__sightline!.decoder())).toBe('worker');
    // Camera maximized for pixel checks (double-click its header).
    await page.locator('.panel[data-panel="camera"] [data-testid="panel-header"]').dblclick();
    await seek(page, 2, ['camera']);
    await settle(page);

    // Frame 000002: an unoccluded car (34 m); its 3D box projected into the image must cover its 2D label.
    const snap = await cameraSnapshot(page, 'image_2');
    const car2d = snap.boxes2d.find((b) => b.kind === 'gt' && b.label === 'Car');
    const carWire = snap.wireframes.find((w) => w.id === car2d?.id);
    expect(car2d).toBeDefined();
    expect(carWire, 'car wireframe').toBeDefined();
    expect(carWire!.segments).toBeGreaterThanOrEqual(12);
    const carIoU = iou(car2d!, carWire!);
    console.log(`[review e2e] frame 2 car: 2D ${JSON.stringify(car2d)} wireframe ${JSON.stringify(carWire)} IoU ${carIoU.toFixed(3)}`);
    expect(carIoU).toBeGreaterThan(0.7);

    // The dashed ground-truth box is drawn in the class colour along its top edge; turning the layer
    // off (key 1) takes it away. Wireframes (9) off first so only the 2D box is on that edge.
    await page.keyboard.press('9');
    await settle(page);
    // Bottom and side edges (the top one carries the class tag); per sample, the best of the rows or
    // columns the 1.75 px line can cover.
    const t = snap.transform;
    const car = car2d!;
    const edge: Array<Array<[number, number]>> = [];
    const across = (v: number) => [Math.floor(v) - 1, Math.floor(v), Math.floor(v) + 1];
    for (let x = car.x1 + 2; x <= car.x2 - 2; x += 0.5) edge.push(across(t.oy + car.y2 * t.s).map((y) => [t.ox + x * t.s, y] as [number, number]));
    for (let y = car.y1 + 2; y <= car.y2 - 2; y += 0.5) {
      for (const x of [car.x1, car.x2]) edge.push(across(t.ox + x * t.s).map((cx) => [cx, t.oy + y * t.s] as [number, number]));
    }
    const carBlue: [number, number, number] = [63, 161, 255];
    const edgeInClassColour = async () => {
      const px = await pixelsAt(page, canvas, edge.flat());
      let hits = 0;
      for (let i = 0; i < edge.length; i++) if (px.slice(i * 3, i * 3 + 3).some((c) => near(c, carBlue))) hits++;
      return hits / edge.length;
    };
    const blueWith = await edgeInClassColour();
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-gt.png') });
    await page.keyboard.press('1');
    await settle(page);
    const blueWithout = await edgeInClassColour();
    console.log(`[review e2e] car box edges in class colour: ${(blueWith * 100).toFixed(0)}% with GT 2D, ${(blueWithout * 100).toFixed(0)}% without`);
    expect(blueWith).toBeGreaterThan(0.4); // dashed: about 7 of every 11 pixels
    expect(blueWithout).toBeLessThan(0.1);
    await page.keyboard.press('1');
    await page.keyboard.press('9');

    // Lidar projection (key 4): points inside the image, coloured by depth, visible in the pixels.
    await rememberCanvas(page, canvas, 'no-lidar');
    await page.keyboard.press('4');
    await settle(page);
    const lidar = (await cameraSnapshot(page, 'image_2')).lidar!;
    expect(lidar).not.toBeNull();
    console.log(`[review e2e] lidar into image_2: ${lidar.inImage} of ${lidar.total} points in the image (${lidar.inFront} in front), projected in ${lidar.projectMs.toFixed(1)} ms`);
    expect(lidar.total).toBeGreaterThan(100_000);
    expect(lidar.inImage).toBeGreaterThan(5_000);
    expect(lidar.drawn).toBe(lidar.inImage);
    expect(lidar.bounds.x1).toBeGreaterThanOrEqual(0);
    expect(lidar.bounds.y1).toBeGreaterThanOrEqual(0);
    expect(lidar.bounds.x2).toBeLessThanOrEqual(snap.imageWidth);
    expect(lidar.bounds.y2).toBeLessThanOrEqual(snap.imageHeight);
    // An HDL-64 sees nothing far above the horizon: the points start below the top sixth of the image.
    expect(lidar.bounds.y1).toBeGreaterThan(snap.imageHeight / 6);
    const changed = await changedSince(page, canvas, 'no-lidar');
    console.log(`[review e2e] lidar projection changed ${(changed * 100).toFixed(1)}% of the camera canvas`);
    expect(changed).toBeGreaterThan(0.02);
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-lidar.png') });

    // Frame 000001: DontCare regions are drawn (hatched), and the hover card names a box.
    await seek(page, 1, ['camera']);
    await page.keyboard.press('4');
    await settle(page);
    const snap1 = await cameraSnapshot(page, 'image_2');
    expect(snap1.boxes2d.filter((b) => b.ignore).length).toBe(4);
    const truck = snap1.boxes2d.find((b) => b.label === 'Truck')!;
    const box = (await page.locator(canvas).boundingBox())!;
    await page.mouse.move(box.x + snap1.transform.ox + ((truck.x1 + truck.x2) / 2) * snap1.transform.s, box.y + snap1.transform.oy + ((truck.y1 + truck.y2) / 2) * snap1.transform.s);
    await expect.poll(() => page.getByTestId('camera-tooltip').textContent()).toContain('Truck');
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-hover.png') });

    // The labels table sorts by distance; a row click selects that box in every panel.
    await page.getByTestId('sort-distance').click();
    const distances = (await page.locator('[data-testid="detection-row"] td:nth-child(4)').allTextContents()).map(Number);
    expect(distances.length).toBe(3);
    expect([...distances].sort((a, b) => a - b)).toEqual(distances);
    await page.getByTestId('sort-score').click();
    await page.locator(`[data-testid="detection-row"][data-id="${truck.id}"]`).click();
    expect((await state(page)).selection?.id).toBe(truck.id);

    // Restore the layout; the 3D view shows the ground-truth boxes.
    await page.locator('.panel[data-panel="camera"] [data-testid="panel-header"]').dblclick();
    await page.getByTestId('selection-card').waitFor({ state: 'visible' }); // the selected truck's attributes in 3D
    expect(await page.getByTestId('selection-card').textContent()).toContain('occluded');
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-selected.png') });
    await seek(page, 2);
    const scene = await sceneSnapshot(page);
    expect(scene.gtBoxes).toBe(2);
    expect(scene.points).toBeGreaterThan(100_000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('runs a model from the UI: progress, detections drawn, the score slider and class filter hide them', async () => {
    const { page, info } = await openPage(KITTI_OBJECT);
    await page.getByTestId('run-model').selectOption('centernet-coco');
    await page.getByTestId('run-device').selectOption('cpu');
    await page.getByTestId('run-start').click();
    const row = page.getByTestId('run-row').first();
    await row.waitFor({ state: 'visible' });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 90_000, interval: 250 }).toBe('done');
    const runs = await callApi<Array<{ runId: number; status: string; framesDone: number }>>(server, 'listRuns', { logId: info.id });
    expect(runs[0]!.status).toBe('done');
    expect(runs[0]!.framesDone).toBe(3);

    // Frame 0: the pedestrian detection (score ~0.65) is drawn next to the ground truth.
    await seek(page, 0);
    await page.waitForFunction(() => (window.__sightline!.state().detections?.[0]?.boxes2d ?? 0) > 0, undefined, { timeout: 20_000 });
    const canvas = '[data-testid="camera-canvas"][data-sensor="image_2"]';
    await page.getByTestId('score-threshold').fill('0.2');
    await settle(page);
    const low = await cameraSnapshot(page, 'image_2');
    const lowDetections = low.boxes2d.filter((b) => b.kind === 'detection');
    await rememberCanvas(page, canvas, 'low-threshold');
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-detections.png') });
    expect(lowDetections.length).toBeGreaterThan(1);
    expect(lowDetections.every((d) => (d.score ?? 0) >= 0.2)).toBe(true);
    const person = lowDetections.find((d) => d.label === 'pedestrian');
    expect(person, 'pedestrian detection').toBeDefined();
    const gtPerson = low.boxes2d.find((b) => b.kind === 'gt' && b.label === 'Pedestrian')!;
    expect(iou(person!, gtPerson)).toBeGreaterThan(0.6);

    await page.getByTestId('score-threshold').fill('0.6');
    await settle(page);
    const high = (await cameraSnapshot(page, 'image_2')).boxes2d.filter((b) => b.kind === 'detection');
    const thresholdChange = await changedSince(page, canvas, 'low-threshold');
    console.log(`[review e2e] detections on frame 0: ${lowDetections.length} at score >= 0.2, ${high.length} at >= 0.6; canvas changed ${(thresholdChange * 100).toFixed(2)}%`);
    expect(high.length).toBeLessThan(lowDetections.length);
    expect(high.every((d) => (d.score ?? 0) >= 0.6)).toBe(true);
    expect(thresholdChange).toBeGreaterThan(0.0005);

    // The class filter hides a class in every panel, detections and ground truth alike.
    await page.getByTestId('score-threshold').fill('0.2');
    await page.locator('[data-testid="class-filter"] [data-class="pedestrian"]').click();
    await settle(page);
    const filtered = await cameraSnapshot(page, 'image_2');
    expect(filtered.boxes2d.some((b) => b.label.toLowerCase() === 'pedestrian')).toBe(false);
    await page.locator('[data-testid="class-filter"] [data-class="pedestrian"]').click();


    // Timeline markers: frames with a detection above the threshold.
    await expect.poll(async () => Number(await page.getByTestId('timeline-markers').getAttribute('data-count')), { timeout: 15_000 }).toBeGreaterThan(0);
    // Clicking a table row selects that box in every panel.
    await page.locator(`[data-testid="detection-row"][data-id="${person!.id}"]`).click();
    expect((await state(page)).layers.detections).toBe(true);
    await expect.poll(async () => (await page.evaluate(() => window.__sightline!.state().selection))?.id).toBe(person!.id);
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-run-selected.png') });

    // A segmentation run on frame 1 (a road; started through the API, picked up by the UI from its
    // progress events): its masks are drawn with the class legend, and the opacity slider changes them.
    await seek(page, 1);
    await page.getByTestId('mask-opacity').fill('0.6');
    await settle(page);
    await rememberCanvas(page, canvas, 'no-masks');
    const seg = await callApi<{ runId: number }>(server, 'startRun', { logId: info.id, modelId: 'twinlitenet', device: 'cpu', frameRange: { start: 1, end: 2 } });
    await expect.poll(async () => (await state(page)).detections?.find((d) => d.runId === seg.runId)?.masks ?? 0, { timeout: 60_000, interval: 250 }).toBe(2);
    await settle(page);
    const legend = (await page.getByTestId('camera-legend').textContent()) ?? '';
    expect(legend).toContain('drivable area');
    const masked = await changedSince(page, canvas, 'no-masks');
    await rememberCanvas(page, canvas, 'masks-60');
    await page.getByTestId('mask-opacity').fill('0.1');
    await settle(page);
    const opacityChange = await changedSince(page, canvas, 'masks-60');
    console.log(`[review e2e] masks changed ${(masked * 100).toFixed(1)}% of the camera canvas; opacity 60% → 10% changed ${(opacityChange * 100).toFixed(1)}%`);
    expect(masked).toBeGreaterThan(0.03);
    expect(opacityChange).toBeGreaterThan(0.03);
    await page.getByTestId('mask-opacity').fill('0.45');
    await settle(page);
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-masks.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('steps 1,000 frames without growing GPU resources or the JS heap', async () => {
    const { page, info } = await openPage(KITTI_RAW, { width: 1280, height: 720 });
    await page.keyboard.press('4'); // lidar projected into the camera: the heaviest camera paint
    const frames = info.frameCount;
    expect(frames).toBeGreaterThanOrEqual(5);
    // One warm-up pass fills the frame cache.
    for (let i = 0; i < frames; i++) await seek(page, i);

    // Step latency as a user sees it: a → key event to both panels painted (performance marks).
    const latency = await page.evaluate(async (frames) => {
      const hooks = window.__sightline!;
      const out: number[] = [];
      for (let i = 0; i < 24; i++) {
        const next = (hooks.state().frameIndex + 1) % frames;
        const started = performance.now();
        if (next === 0) hooks.seek(0);
        else window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
        if (!(await hooks.waitPainted(next, ['camera', 'scene'], 10_000))) throw new Error(`frame ${next} not painted`);
        if (next !== 0) out.push(performance.now() - started);
      }
      return out;
    }, frames);

    // 1,000 steps. Software WebGL paints 100k points at ~13 fps, so each step runs the whole data
    // path (store, React, camera projection, point upload) and every 17th also waits for both paints.
    const before = await page.evaluate(() => (window.__sightline!.gc(), window.__sightline!.memory()));
    const started = Date.now();
    const result = await page.evaluate(
      async ({ frames, steps }) => {
        const hooks = window.__sightline!;
        let index = hooks.state().frameIndex;
        let painted = 0;
        for (let i = 0; i < steps; i++) {
          index = (index + 1) % frames;
          hooks.seek(index);
          if (i % 17 === 16) {
            if (!(await hooks.waitPainted(index, ['camera', 'scene'], 10_000))) throw new Error(`frame ${index} not painted`);
            painted++;
          } else {
            // Microtasks only: React commits the step (effects included) before the next one.
            await Promise.resolve();
            await Promise.resolve();
          }
          if (hooks.scene()!.frameIndex !== index) throw new Error(`step ${i}: the 3D view did not take frame ${index}`);
        }
        return { painted, camera: hooks.camera()!, scene: hooks.scene()! };
      },
      { frames, steps: 1000 },
    );
    const elapsedS = (Date.now() - started) / 1000;
    const after = await page.evaluate(() => (window.__sightline!.gc(), window.__sightline!.memory()));
    const heapMb = (v: number | null) => (v === null ? 'n/a' : `${(v / 1e6).toFixed(1)} MB`);
    console.log(
      `[review e2e] step (→ key to both panels painted) over ${frames} KITTI raw frames of ~${result.scene.points} points: p50 ${percentile(latency, 0.5).toFixed(1)} ms, p95 ${percentile(latency, 0.95).toFixed(1)} ms; ` +
        `3D render call ${result.scene.renderMs.toFixed(1)} ms, point upload ${result.scene.uploadMs.toFixed(1)} ms; camera draw ${result.camera.drawMs.toFixed(1)} ms (${result.camera.lidar?.drawn} projected points, projection ${result.camera.lidar?.projectMs.toFixed(1)} ms)`,
    );
    console.log(
      `[review e2e] 1,000 steps in ${elapsedS.toFixed(1)} s (${result.painted} awaited paints): geometries ${before.geometries}→${after.geometries}, textures ${before.textures}→${after.textures}, programs ${before.programs}→${after.programs}, JS heap ${heapMb(before.jsHeapUsed)}→${heapMb(after.jsHeapUsed)}`,
    );
    expect(after.geometries).toBe(before.geometries);
    expect(after.textures).toBe(before.textures);
    expect(after.programs).toBe(before.programs);
    if (before.jsHeapUsed !== null && after.jsHeapUsed !== null) expect(after.jsHeapUsed - before.jsHeapUsed).toBeLessThan(16e6);
    await page.screenshot({ path: join(screenshotsDir, 'review-kitti-raw-stepped.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps a rearranged layout across a reload, and the 1–9, b and ? shortcuts work', async () => {
    const { page } = await openPage(KITTI_OBJECT);
    const firstPanel = () => page.locator('.columns .column').first().locator('.panel').first().getAttribute('data-panel');
    expect(await firstPanel()).toBe('camera');
    // Drag the camera header onto the 3D panel: they swap.
    const from = (await page.locator('.panel[data-panel="camera"] [data-testid="panel-header"]').boundingBox())!;
    const to = (await page.locator('.panel[data-panel="scene"]').boundingBox())!;
    await page.mouse.move(from.x + 40, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + 80, from.y + from.height / 2, { steps: 4 });
    await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 8 });
    await page.screenshot({ path: join(screenshotsDir, 'review-layout-dragging.png') });
    await page.mouse.up();
    expect(await firstPanel()).toBe('scene');
    await page.reload();
    await showLog(page, KITTI_OBJECT, (await callApi<LogInfo>(server, 'openLog', { path: KITTI_OBJECT })).id);
    expect(await firstPanel()).toBe('scene');
    await page.screenshot({ path: join(screenshotsDir, 'review-layout-restored.png') });

    // 1–9 toggle the layers, in the order of the layer table.
    await page.mouse.move(5, 400);
    const initial = (await state(page)).layers;
    for (const [i, id] of LAYER_KEYS.entries()) {
      await page.keyboard.press(String(i + 1));
      expect((await state(page)).layers[id], `key ${i + 1} toggles ${id}`).toBe(!initial[id]);
      await page.keyboard.press(String(i + 1));
      expect((await state(page)).layers[id]).toBe(initial[id]);
    }
    // Grid off (8) is visible in the 3D pixels.
    const scene = '[data-testid="scene-canvas"]';
    await rememberCanvas(page, scene, 'grid');
    await page.keyboard.press('8');
    await settle(page);
    expect((await sceneSnapshot(page)).gridVisible).toBe(false);
    expect(await changedSince(page, scene, 'grid')).toBeGreaterThan(0.001);
    await page.keyboard.press('8');

    // b: bird's-eye view.
    await rememberCanvas(page, scene, 'chase');
    await page.keyboard.press('b');
    await settle(page);
    expect((await sceneSnapshot(page)).viewMode).toBe('birdseye');
    expect(await page.locator('.scene-panel').getAttribute('data-view-mode')).toBe('birdseye');
    expect(await changedSince(page, scene, 'chase')).toBeGreaterThan(0.02);
    await page.screenshot({ path: join(screenshotsDir, 'review-birdseye.png') });
    await page.keyboard.press('b');

    // ?: the help overlay lists every shortcut, the layer keys included.
    await page.keyboard.press('?');
    const help = page.getByTestId('help-overlay');
    await help.waitFor({ state: 'visible' });
    const text = (await help.textContent()) ?? '';
    for (const entry of ['Play / pause', 'Previous / next frame', 'Back / forward 1 second', 'Slower / faster', 'Follow the ego', "Bird's-eye view", 'GT 2D', 'GT 3D', 'Detections', 'Lidar in camera', 'Masks', 'Paths', 'Frusta', 'Grid', '3D in camera']) {
      expect(text).toContain(entry);
    }
    for (let k = 1; k <= 9; k++) expect(await help.locator('kbd', { hasText: new RegExp(`^${k}$`) }).count()).toBe(1);
    await page.screenshot({ path: join(screenshotsDir, 'review-help.png') });
    await page.keyboard.press('?');
    await help.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('demo drive: driven and planned paths on the road ahead, the intruding car highlighted, sweeps accumulate, colour modes repaint', async () => {
    // 5 s of the demo drive: far enough to come close to the stalled car.
    const demo = await demoLogPath({ durationS: 5, seed: 1 });
    const { page, info } = await openPage(demo);
    const sensor = info.sensors.find((s) => s.kind === 'camera')!.id;

    // The built-in planner through the API (the UI asks getPlan for each frame it shows): the stalled
    // car on the lane intrudes the corridor; the reference path goes around it, clear of everything,
    // and the UI draws it and highlights the car in both panels and on the timeline.
    const plan = await callApi<FramePlan>(server, 'getPlan', { logId: info.id, index: 0 });
    const intruders = plan.intrusions.filter((i) => i.intrudes).map((i) => i.obstacleId);
    expect(intruders.length).toBeGreaterThan(0);
    expect(plan.planned.blocked).toBe(false);
    expect(plan.planned.minClearanceM).toBeGreaterThan(0);
    // Closer (frame 40, 4 s in): the stalled car stands in the lane ahead; the reference path
    // swerves around it, clear of it and of everything else.
    const near = await callApi<FramePlan>(server, 'getPlan', { logId: info.id, index: 40 });
    const frame40 = await callApi<FrameData>(server, 'getFrame', { logId: info.id, index: 40 });
    // A car in the straight-ahead corridor within the planning horizon: the stalled one.
    const inLane = frame40.labels3d.filter((b) => b.label === 'car' && b.center[0] > 5 && b.center[0] < near.planned.lengthM && Math.abs(b.center[1]) < near.corridorHalfWidthM);
    expect(inLane.length).toBeGreaterThan(0);
    expect(near.planned.blocked).toBe(false);
    expect(near.planned.minClearanceM).toBeGreaterThan(0.2);
    expect(Math.max(...near.planned.points.map((p) => Math.abs(p[1])))).toBeGreaterThan(1.5);
    expect(near.intrusions.filter((i) => i.intrudes)).toEqual([]);
    await expect.poll(async () => (await cameraSnapshot(page, sensor)).paths.some((p) => p.kind === 'reference'), { timeout: 20_000 }).toBe(true);
    await settle(page);
    const planned = await cameraSnapshot(page, sensor);
    const reference = planned.paths.find((p) => p.kind === 'reference');
    expect(reference, 'reference path in the camera').toBeDefined();
    expect(reference!.segments).toBeGreaterThan(10);
    expect(reference!.bounds!.y1).toBeGreaterThan(planned.imageHeight / 2);
    const highlighted = planned.wireframes.filter((w) => w.intrudes).map((w) => w.id);
    expect(highlighted).toEqual(expect.arrayContaining(intruders.filter((id) => planned.wireframes.some((w) => w.id === id))));
    expect(highlighted.length).toBeGreaterThan(0);
    expect(planned.boxes2d.some((b) => b.intrudes)).toBe(true);
    expect((await sceneSnapshot(page)).pathSegments).toBeGreaterThan(reference!.segments);
    await expect.poll(async () => Number(await page.getByTestId('timeline-markers').getAttribute('data-count'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshotsDir, 'review-demo-plan.png') });

    // Timeline: hovering previews a frame (a small image, fetched without lidar); shift-drag selects a range.
    const bar = (await page.getByTestId('scrub-bar').boundingBox())!;
    await page.mouse.move(bar.x + bar.width * 0.5, bar.y + bar.height / 2);
    await page.getByTestId('scrub-thumbnail').waitFor({ state: 'visible', timeout: 15_000 });
    await page.screenshot({ path: join(screenshotsDir, 'review-timeline-preview.png') });
    await page.keyboard.down('Shift');
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width * 0.8, bar.y + bar.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const range = (await state(page)).range;
    expect(range).not.toBeNull();
    expect(range!.start).toBeGreaterThanOrEqual(Math.floor(info.frameCount * 0.4));
    expect(range!.end).toBeLessThanOrEqual(Math.ceil(info.frameCount * 0.9));
    expect(range!.end - range!.start).toBeGreaterThan(info.frameCount * 0.2);
    await page.getByTestId('range-chip').waitFor({ state: 'visible' });
    expect((await state(page)).frameIndex).toBe(0); // a range selection does not move the cursor

    await seek(page, 10);
    const snap = await cameraSnapshot(page, sensor);
    const driven = snap.paths.find((p) => p.kind === 'driven');
    expect(driven, 'driven path in the camera').toBeDefined();
    expect(driven!.segments).toBeGreaterThan(3);
    expect(driven!.quads).toBeGreaterThan(3);
    // On the road in front of the ego: below the horizon (the camera looks level, cy = h/2).
    expect(driven!.bounds!.y1).toBeGreaterThan(snap.imageHeight / 2);
    expect((await sceneSnapshot(page)).pathSegments).toBeGreaterThan(3);

    // Accumulate 3 sweeps: two past sweeps join the live one in the world frame.
    await page.getByTestId('accumulate').selectOption('3');
    await seek(page, 11);
    await expect.poll(async () => (await sceneSnapshot(page)).pastSweeps, { timeout: 15_000 }).toBe(2);
    await settle(page);
    await page.screenshot({ path: join(screenshotsDir, 'review-demo-accumulated.png') });

    // Colour modes repaint the cloud.
    const scene = '[data-testid="scene-canvas"]';
    await rememberCanvas(page, scene, 'height');
    await page.getByTestId('color-mode').selectOption('intensity');
    await settle(page);
    expect((await sceneSnapshot(page)).colorMode).toBe('intensity');
    expect(await changedSince(page, scene, 'height')).toBeGreaterThan(0.01);
    await page.getByTestId('color-mode').selectOption('distance');
    await settle(page);
    await page.screenshot({ path: join(screenshotsDir, 'review-demo-distance.png') });
    await page.getByTestId('accumulate').selectOption('1');
    await page.getByTestId('color-mode').selectOption('height');
    expect(problems).toEqual([]);
    await page.close();
  });
});
