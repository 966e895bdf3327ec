// The Safety audit and Explain (saliency) panels end to end: the real server and SQLite file, a fresh
// renderer build, headless Chromium, real parts only.
// 1. The demo drive, with a run made through the API from the log's own ground truth minus the stalled
//    car (working set → delete its labels → nuScenes export → import as a run): audited from the UI with
//    comfort braking typed into the inputs, the miss rows equal the API's own audit with the same
//    parameters, a row seeks to its entry frame, and its frames become timeline markers.
// 2. KITTI frame 000134 with a real CenterNet run: a car detection explained from the UI (patch 64,
//    stride 64, around the box), the progress bar while the worker scans, the heatmap painted over the
//    box in the camera panel, its peak inside the box, a second ask answered from the cache with no new
//    SQLite row, and the visibility toggle taking the overlay away again.
// 3. A detection of an imported run (no model behind it) says why it cannot be explained, without a
//    refused call. Screenshots land in test-results/.
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectionEntry } from '../../src/api/contract.js';
import type { SaliencyMap } from '../../src/explain/index.js';
import { boxIoU } from '../../src/infer/index.js';
import type { LogInfo } from '../../src/logs/model.js';
import type { SafetyAuditDetail } from '../../src/safety/index.js';
import { buildRendererInto, callApi, chromiumSkipReason, launchChromium, logTimings, newCollectingPage, removeDirs, screenshotsDir, waitForRun } from '../helpers/browser.js';
import { ensureDist } from '../helpers/build.js';
import { demoLogPath } from '../helpers/demo.js';
import { fixture, fixturesSkipReason, hasFixtures, writeLabelsAsResults } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const KITTI = fixture('kitti_object_extra', 'training');
const SENSOR = 'image_2';
const kittiSkip = chromiumSkipReason ?? (hasFixtures ? null : fixturesSkipReason);
if (chromiumSkipReason) console.warn(`[safety e2e] skipped: ${chromiumSkipReason}`);
else if (kittiSkip) console.warn(`[safety e2e] saliency part skipped: ${kittiSkip}`);

/** The demo's stalled car (ground-truth track "1") reaches the braking horizon only under comfort braking in 5 s. */
const STALLED = '1';
const COMFORT = { brakeDecelMps2: 2.5, reactionTimeS: 1.5 };
/** About 35 CenterNet passes around the car: a few seconds on TF.js wasm. */
const SALIENCY_PARAMS = { patch: 64, stride: 64, region: 'target' } as const;
/** Calls of the two panels (and the detections they resolve); other panels' calls are theirs to check. */
const OWN_METHODS = /^(runSafetyAudit|getSafetyAudit|listSafetyAudits|safetyMarkers|getFrameConflicts|computeSaliency|cancelSaliency|getSaliency|listSaliency|getDetections)$/;

interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
interface CameraSnapshot {
  dpr: number;
  transform: { s: number; ox: number; oy: number };
}
interface SafetyHook {
  running: boolean;
  error: string | null;
  auditId: number | null;
  misses: Array<{ rank: number; kind: string; reason: string; trackId: string; entry: number; exit: number }>;
  markers: Array<{ index: number; label: string }>;
}
interface SaliencyHook {
  target: { runId: number; detectionId: number; frameIndex: number; box: Box } | null;
  problem: string | null;
  status: string;
  taskId: string | null;
  error: string | null;
  fromCache: boolean;
  visible: boolean;
  listed: number;
  shown: { saliencyId: number; frameIndex: number; sensorId: string; peak: { x: number; y: number; value: number }; decoded: boolean } | null;
  overlay: { draws: number; last: { sensorId: string; frameIndex: number; saliencyId: number } | null };
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelector(selector: string): PageCanvas | null };
declare const window: {
  __sightline?: {
    state(): { logId: string | null; frameIndex: number; markers: number; paintedFrame: { camera: number }; selection: { kind: string; id: string; trackId?: string } | null; detections: Array<{ runId: number; boxes2d: number }> | null };
    seek(index: number): void;
    camera(sensorId?: string): CameraSnapshot | null;
    ext: { safety(): SafetyHook; saliency(): SaliencyHook };
  };
};

/** One page on a server, its page errors and the panels' refused calls collected. */
async function openPage(browser: Browser, server: TestServer, logId: string, problems: string[]): Promise<Page> {
  const page = await newCollectingPage(browser, problems, { viewport: { width: 1500, height: 1000 } });
  page.on('response', (response) => {
    const method = /\/api\/call\/(\w+)/.exec(response.url())?.[1];
    if (response.status() >= 400 && method && OWN_METHODS.test(method)) problems.push(`HTTP ${response.status()} ${method}`);
  });
  await page.goto(server.url);
  await page.waitForFunction((id) => window.__sightline?.state().logId === id, logId, { timeout: 30_000 });
  return page;
}

let browser: Browser;
let staticDir = '';
/** The renderer build and the browser, shared by both parts and made once; servers start on the folder at once. */
let ready: Promise<void> | null = null;
const timings: Record<string, number> = {};
function prepare(): Promise<void> {
  if (!ready) {
    mkdirSync(screenshotsDir, { recursive: true });
    staticDir = mkdtempSync(join(tmpdir(), 'sightline-safety-renderer-'));
    const t0 = performance.now();
    ready = Promise.all([
      buildRendererInto(staticDir),
      launchChromium(),
      ensureDist(),
    ]).then(([, b]) => {
      browser = b;
      timings.build = performance.now() - t0;
    });
  }
  return ready;
}

afterAll(async () => {
  await browser?.close();
  removeDirs(staticDir);
  logTimings('safety e2e', timings);
});

describe.skipIf(!!chromiumSkipReason)('safety audit from the UI on the demo drive', () => {
  let server: TestServer;
  let page: Page;
  let info: LogInfo;
  let runId = 0;
  let work: string;
  const problems: string[] = [];
  const safety = () => page.evaluate(() => window.__sightline!.ext.safety());

  beforeAll(async () => {
    const building = prepare();
    work = mkdtempSync(join(tmpdir(), 'sightline-safety-e2e-'));
    server = await startTestServer([], { staticDir });
    info = await callApi<LogInfo>(server, 'openLog', { path: await demoLogPath({ durationS: 5, seed: 1 }) });
    // A detector run that sees every ground-truth box except the stalled car, made through the API.
    const t0 = performance.now();
    const gt = await callApi<{ id: number }>(server, 'importLogGroundTruth', { logId: info.id, name: 'demo gt' });
    const working = await callApi<{ id: number }>(server, 'createWorkingSet', { fromSetId: gt.id, name: 'without the stalled car' });
    const stalled = await callApi<Array<{ id: number; revision: number }>>(server, 'listLabels', { setId: working.id, trackId: STALLED });
    expect(stalled.length).toBeGreaterThan(0);
    await callApi(server, 'editLabels', { setId: working.id, sessionId: 'e2e-setup', edits: stalled.map((l) => ({ kind: 'delete', labelId: l.id, expectedRevision: l.revision })) });
    const out = join(work, 'without-stalled.json');
    await callApi(server, 'exportLabels', { setId: working.id, format: 'nuscenes', out });
    const imported = await callApi<{ run: { id: number } }>(server, 'importLabels', { logId: info.id, format: 'nuscenes', path: out, as: 'run', name: 'without the stalled car' });
    runId = imported.run.id;
    timings.safetyRunSetup = performance.now() - t0;
    await building;
    page = await openPage(browser, server, info.id, problems);
  }, 240_000);

  afterAll(async () => {
    await page?.close();
    await server?.close();
    removeDirs(work);
  });

  it('audits the run from the UI with comfort braking: the miss rows are the API audit\'s, a row seeks to its frame, the misses mark the timeline', async () => {
    const markersBefore = (await page.evaluate(() => window.__sightline!.state())).markers;
    await page.waitForSelector(`[data-testid="safety-run"] option[value="${runId}"]`, { state: 'attached', timeout: 15_000 });
    await page.getByTestId('safety-run').selectOption(String(runId));
    await page.getByTestId('safety-brake').fill(String(COMFORT.brakeDecelMps2));
    await page.getByTestId('safety-reaction').fill(String(COMFORT.reactionTimeS));
    const t0 = performance.now();
    await page.getByTestId('safety-run-audit').click();
    await page.waitForFunction(() => {
      const s = window.__sightline!.ext.safety();
      return s.auditId !== null && !s.running;
    }, undefined, { timeout: 30_000 });
    timings.auditFromUi = performance.now() - t0;
    const ui = await safety();
    expect(ui.error).toBeNull();

    // The UI's audit was stored with the typed parameters; the API's own audit with them agrees.
    const stored = await callApi<SafetyAuditDetail>(server, 'getSafetyAudit', { auditId: ui.auditId });
    expect(stored.runId).toBe(runId);
    expect(stored.params).toMatchObject(COMFORT);
    const api = await callApi<SafetyAuditDetail>(server, 'runSafetyAudit', { logId: info.id, runId, params: COMFORT });
    expect(api.id).not.toBe(stored.id);
    expect(api.misses.map((m) => [m.rank, m.kind, m.reason, m.trackId, m.frames.map((f) => f.frameIndex)])).toEqual(
      stored.misses.map((m) => [m.rank, m.kind, m.reason, m.trackId, m.frames.map((f) => f.frameIndex)]),
    );
    // The stalled car, never detected, is the one safety-critical miss.
    expect(api.misses.map((m) => [m.kind, m.reason, m.trackId])).toEqual([['safety-miss', 'never-detected', STALLED]]);
    expect(ui.misses).toEqual(api.misses.map((m) => ({ rank: m.rank, kind: m.kind, reason: m.reason, trackId: m.trackId, entry: m.entryFrame.frameIndex, exit: m.exitFrame.frameIndex })));

    const rows = page.getByTestId('safety-miss-row');
    expect(await rows.count()).toBe(api.misses.length);
    const miss = api.misses[0]!;
    expect(await rows.first().getAttribute('data-entry')).toBe(String(miss.entryFrame.frameIndex));
    expect(await rows.first().getAttribute('data-track')).toBe(STALLED);
    expect(await rows.first().textContent()).toContain('never detected');

    // Timeline markers: one per missed frame (intrusions of detected obstacles are off by default).
    const missFrames = api.markers.filter((m) => m.kind !== 'corridor-intrusion').map((m) => m.frameIndex);
    expect(missFrames.length).toBeGreaterThan(0);
    expect(missFrames).toEqual(miss.frames.map((f) => f.frameIndex));
    expect(ui.markers.map((m) => m.index)).toEqual(missFrames);
    expect(ui.markers.every((m) => m.label.includes(`track ${STALLED}`))).toBe(true);
    expect(Number(await page.getByTestId('timeline-markers').getAttribute('data-count'))).toBeGreaterThanOrEqual(markersBefore + missFrames.length);
    // The strip paints them in the miss colour, in its top lane, at their frames' times (and not at frame 0).
    const stubs = await callApi<Array<{ timeS: number }>>(server, 'listFrames', { logId: info.id });
    const fraction = (i: number) => (stubs[i]!.timeS - stubs[0]!.timeS) / (stubs.at(-1)!.timeS - stubs[0]!.timeS);
    const strip = await page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="timeline-markers"]')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const row = Math.floor(canvas.height / 6); // the middle of the top lane
      return { width: canvas.width, rgba: Array.from(data.subarray(row * canvas.width * 4, (row + 1) * canvas.width * 4)) };
    });
    const missColourAt = (i: number) => {
      const x = Math.round(fraction(i) * (strip.width - 2)) + 1;
      return strip.rgba.slice(x * 4, x * 4 + 4).join();
    };
    expect(missFrames.map(missColourAt)).toEqual(missFrames.map(() => '255,77,79,255'));
    expect(missColourAt(0)).not.toBe('255,77,79,255');

    // The row jumps to the frame the car entered the corridor, and selects it.
    expect((await page.evaluate(() => window.__sightline!.state())).frameIndex).not.toBe(miss.entryFrame.frameIndex);
    await rows.first().click();
    await page.waitForFunction((i) => window.__sightline!.state().frameIndex === i, miss.entryFrame.frameIndex, { timeout: 15_000 });
    const s = await page.evaluate(() => window.__sightline!.state());
    expect(s.selection).toMatchObject({ kind: 'box3d', trackId: STALLED });
    await page.waitForFunction((i) => window.__sightline!.state().paintedFrame.camera === i, miss.entryFrame.frameIndex, { timeout: 15_000 });
    await page.getByTestId('safety-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotsDir, 'safety-audit.png') });
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!!kittiSkip)('saliency from the UI on KITTI 000134', () => {
  let server: TestServer;
  let page: Page;
  let db: Database.Database;
  let work: string;
  let logId: string;
  let frameId: string;
  let runId = 0;
  let importedRunId = 0;
  let car: DetectionEntry;
  let carIndex = -1;
  const problems: string[] = [];
  const saliency = () => page.evaluate(() => window.__sightline!.ext.saliency());
  const mapRows = () => db.prepare('SELECT count(*) FROM saliency_maps').pluck().get() as number;

  /** Image pixel → page (CSS) pixel in the camera canvas. */
  async function toPage(x: number, y: number): Promise<{ x: number; y: number }> {
    const canvas = (await page.locator(`[data-testid="camera-canvas"][data-sensor="${SENSOR}"]`).boundingBox())!;
    const snap = (await page.evaluate((s) => window.__sightline!.camera(s), SENSOR))!;
    return { x: canvas.x + (snap.transform.ox + x * snap.transform.s) / snap.dpr, y: canvas.y + (snap.transform.oy + y * snap.transform.s) / snap.dpr };
  }

  /** The screen pixels inside a detection box (a few pixels in from its outline), RGB. */
  async function boxPixels(box: Box): Promise<Buffer> {
    const a = await toPage(box.x1, box.y1);
    const b = await toPage(box.x2, box.y2);
    const inset = 4;
    const png = await page.screenshot({ clip: { x: Math.ceil(a.x) + inset, y: Math.ceil(a.y) + inset, width: Math.floor(b.x - a.x) - 2 * inset, height: Math.floor(b.y - a.y) - 2 * inset } });
    return sharp(png).removeAlpha().raw().toBuffer();
  }
  /** The box's pixels once two screenshots in a row agree (the redraw after a selection has landed). */
  async function steadyPixels(box: Box): Promise<Buffer> {
    let last = await boxPixels(box);
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const next = await boxPixels(box);
      if (next.equals(last)) return next;
      last = next;
    }
    throw new Error('the camera panel kept repainting the box');
  }
  const meanAbsDiff = (a: Buffer, b: Buffer) => {
    expect(a.length).toBe(b.length);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
    return sum / a.length;
  };

  beforeAll(async () => {
    const building = prepare();
    work = mkdtempSync(join(tmpdir(), 'sightline-saliency-e2e-'));
    server = await startTestServer([], { staticDir });
    const info = await callApi<LogInfo>(server, 'openLog', { path: KITTI });
    logId = info.id;
    const t0 = performance.now();
    // A real CenterNet run on frame 1 (sample 000134), while the renderer builds.
    runId = (await callApi<{ runId: number }>(server, 'startRun', { logId, modelId: 'centernet-coco', device: 'cpu', frameRange: { start: 1, end: 2 } })).runId;
    // The fixture's own labels with a score column, imported as a run: no model behind it.
    const resultsDir = join(work, 'imported-run');
    writeLabelsAsResults(join(KITTI, 'label_2'), resultsDir, '0.90');
    importedRunId = (await callApi<{ run: { id: number } }>(server, 'importLabels', { logId, format: 'kitti', path: resultsDir, as: 'run', name: 'imported kitti' })).run.id;
    await Promise.all([building, waitForRun(server, runId)]);
    timings.centernetRun = performance.now() - t0;
    frameId = (await callApi<Array<{ id: string }>>(server, 'listFrames', { logId }))[1]!.id;
    // The target: the run's car detection on a clearly visible labelled car (unoccluded, >= 25 px tall).
    const clearCars = readFileSync(join(KITTI, 'label_2', '000134.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((p) => p[0] === 'Car' && Number(p[1]) === 0 && Number(p[2]) === 0 && Number(p[7]) - Number(p[5]) >= 25)
      .map((p) => [Number(p[4]), Number(p[5]), Number(p[6]), Number(p[7])]);
    const detections = (await callApi<{ detections: DetectionEntry[] }>(server, 'getDetections', { runId, frameId })).detections;
    let best = 0;
    detections.forEach((d, i) => {
      if (d.class !== 'car' || d.score < 0.4 || !d.box2d) return;
      for (const gt of clearCars) {
        const iou = boxIoU([...gt, ...d.box2d], 0, 1);
        if (iou > best) [best, car, carIndex] = [iou, d, i];
      }
    });
    expect(best, 'a CenterNet car detection on a labelled clear car').toBeGreaterThanOrEqual(0.5);
    db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
    page = await openPage(browser, server, logId, problems);
    await page.evaluate(() => window.__sightline!.seek(1));
    await page.waitForFunction(() => window.__sightline!.state().paintedFrame.camera === 1, undefined, { timeout: 20_000 });
    await page.waitForFunction((id) => (window.__sightline!.state().detections?.find((d) => d.runId === id)?.boxes2d ?? 0) > 0, runId, { timeout: 20_000 });
  }, 240_000);

  afterAll(async () => {
    db?.close();
    await page?.close();
    await server?.close();
    removeDirs(work);
  });

  it('explains a CenterNet car from the UI: progress, the heatmap over the box, its peak inside it, then the cache answers; the toggle hides it', async () => {
    const box: Box = { x1: car.box2d![0], y1: car.box2d![1], x2: car.box2d![2], y2: car.box2d![3] };
    await page.locator(`[data-testid="detection-row"][data-id="run${runId}:${frameId}:${carIndex}"]`).click();
    await page.waitForFunction((id) => window.__sightline!.ext.saliency().target?.detectionId === id, car.detectionId, { timeout: 15_000 });
    expect((await saliency()).target!.box).toEqual(box);
    await page.getByTestId('saliency-patch').fill(String(SALIENCY_PARAMS.patch));
    await page.getByTestId('saliency-patch').press('Enter');
    await page.getByTestId('saliency-stride').fill(String(SALIENCY_PARAMS.stride));
    await page.getByTestId('saliency-stride').press('Enter');
    await page.getByTestId('saliency-region').selectOption(SALIENCY_PARAMS.region);
    expect(await page.getByTestId('saliency-stride').inputValue()).toBe(String(SALIENCY_PARAMS.stride));
    const before = await steadyPixels(box);
    expect(mapRows()).toBe(0);

    const t0 = performance.now();
    await page.getByTestId('saliency-explain').click();
    // The progress bar while the worker scans, counting occluded passes.
    await page.getByTestId('saliency-progress').waitFor({ state: 'visible', timeout: 10_000 });
    await page.getByTestId('saliency-progress').getByText(/\d+\/\d+ occluded passes/).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('saliency-explain').isDisabled()).toBe(true);
    await page.locator('[data-testid="saliency-result"][data-cached="false"]').waitFor({ timeout: 60_000 });
    timings.explainFromUi = performance.now() - t0;
    await page.waitForFunction(() => {
      const s = window.__sightline!.ext.saliency();
      return s.shown?.decoded === true && s.overlay.last?.saliencyId === s.shown.saliencyId;
    }, undefined, { timeout: 15_000 });
    expect(await page.getByTestId('saliency-progress').count()).toBe(0);
    const shown = await saliency();
    expect(shown.status).toBe('done');
    expect(shown.error).toBeNull();
    expect(shown.overlay.last).toMatchObject({ sensorId: SENSOR, frameIndex: 1, saliencyId: shown.shown!.saliencyId });
    expect(mapRows()).toBe(1);

    // The stored map: these parameters, its peak inside the box, and the one the panel shows.
    const map = (await callApi<SaliencyMap | null>(server, 'getSaliency', { runId, detectionId: car.detectionId, params: SALIENCY_PARAMS }))!;
    expect(map.saliencyId).toBe(shown.shown!.saliencyId);
    expect(map.params).toMatchObject(SALIENCY_PARAMS);
    expect(map.peak.x).toBeGreaterThanOrEqual(box.x1);
    expect(map.peak.x).toBeLessThanOrEqual(box.x2);
    expect(map.peak.y).toBeGreaterThanOrEqual(box.y1);
    expect(map.peak.y).toBeLessThanOrEqual(box.y2);
    expect(map.peak.value).toBeGreaterThan(0);
    expect(shown.shown!.peak).toEqual(map.peak);
    expect(await page.getByTestId('saliency-list').locator('li').count()).toBe(1);

    // The heatmap is painted over the car in the camera panel.
    const painted = await boxPixels(box);
    const change = meanAbsDiff(before, painted);
    console.log(`[safety e2e] heatmap: mean pixel change ${change.toFixed(1)} inside the box; peak (${map.peak.x.toFixed(0)}, ${map.peak.y.toFixed(0)}) drop ${map.peak.value.toFixed(3)}, ${map.passes} passes`);
    expect(change).toBeGreaterThan(8);
    await page.screenshot({ path: join(screenshotsDir, 'saliency-heatmap.png') });

    // Asked again: the cache answers, no task, no new row.
    await page.getByTestId('saliency-explain').click();
    await page.locator('[data-testid="saliency-result"][data-cached="true"]').waitFor({ timeout: 10_000 });
    const cached = await saliency();
    expect(cached.fromCache).toBe(true);
    expect(cached.taskId).toBeNull();
    expect(cached.shown!.saliencyId).toBe(map.saliencyId);
    expect(mapRows()).toBe(1);

    // The toggle takes the overlay off the image: the box's pixels are those from before.
    await page.getByTestId('saliency-visible').uncheck();
    await page.waitForFunction(() => !window.__sightline!.ext.saliency().visible);
    await expect.poll(async () => meanAbsDiff(before, await boxPixels(box)), { timeout: 5_000 }).toBeLessThan(change / 10);
    await page.screenshot({ path: join(screenshotsDir, 'saliency-hidden.png') });
    await page.getByTestId('saliency-visible').check();
    expect(problems).toEqual([]);
  });

  it('a detection of an imported run (no model) says why it cannot be explained, with no refused call', async () => {
    const detections = (await callApi<{ detections: DetectionEntry[] }>(server, 'getDetections', { runId: importedRunId, frameId })).detections;
    expect(detections.length).toBeGreaterThan(0);
    const rows = mapRows();
    await page.locator(`[data-testid="detection-row"][data-id="run${importedRunId}:${frameId}:0"]`).click();
    await page.waitForFunction((id) => window.__sightline!.state().selection?.id === id, `run${importedRunId}:${frameId}:0`);
    await page.getByTestId('explain-problem').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('explain-problem').textContent()).toMatch(/No 2D detection model behind run 'imported kitti'/);
    expect((await saliency()).problem).toMatch(/No 2D detection model/);
    expect(mapRows()).toBe(rows);
    // The car explained before stays on show, but Explain is off: it would explain that car, not this.
    expect(await page.getByTestId('saliency-explain').isDisabled()).toBe(true);
    await page.getByTestId('explain-problem').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotsDir, 'saliency-imported.png') });

    // A fresh window with no explained detection yet says the same.
    const fresh = await openPage(browser, server, logId, problems);
    try {
      await fresh.evaluate(() => window.__sightline!.seek(1));
      await fresh.waitForFunction((id) => (window.__sightline!.state().detections?.find((d) => d.runId === id)?.boxes2d ?? 0) > 0, importedRunId, { timeout: 20_000 });
      await fresh.locator(`[data-testid="detection-row"][data-id="run${importedRunId}:${frameId}:0"]`).click();
      await fresh.getByTestId('explain-problem').waitFor({ timeout: 10_000 });
      expect(await fresh.getByTestId('explain-problem').textContent()).toMatch(/No 2D detection model behind run 'imported kitti'/);
      expect((await fresh.evaluate(() => window.__sightline!.ext.saliency())).target).toBeNull();
    } finally {
      await fresh.close();
    }
    expect(mapRows()).toBe(rows);
    expect(problems).toEqual([]);
  });
});
