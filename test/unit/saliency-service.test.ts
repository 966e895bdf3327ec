// The saliency service end to end through the API handlers: a real run of the built-in CenterNet
// (TF.js) on the KITTI frame 000134, a map computed in a worker thread for the run's car detection
// (peak on the car), progress events, the SQLite cache (second request answered from it, no new row),
// a new row when the parameters change, shared and cancelled tasks, and the audit trail.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectionEntry, ProgressEvent } from '../../src/api/contract.js';
import { createHandlers, dispatch, type Handlers } from '../../src/api/handlers.js';
import { SightlineCore } from '../../src/app/core.js';
import { countSaliencyMaps, type SaliencyMap, type SaliencyStart, type SaliencySummary } from '../../src/explain/index.js';
import { boxIoU } from '../../src/infer/index.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { ensureDist } from '../helpers/build.js';
import { fixture, fixturesSkipReason, hasFixtures, writeLabelsAsResults } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`saliency service tests skipped: ${fixturesSkipReason}`);

const KITTI = fixture('kitti_object_extra', 'training');
// One patch per cell, only around the car: about 35 forward passes of CenterNet (~150 ms each on TF.js wasm).
const PARAMS = { patch: 64, stride: 64, region: 'target', fill: 'mean' } as const;

/** KITTI label_2 rows that are clearly visible cars: unoccluded, untruncated, >= 25 px tall. */
function clearCars(path: string): [number, number, number, number][] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p[0] === 'Car' && Number(p[1]) === 0 && Number(p[2]) === 0 && Number(p[7]) - Number(p[5]) >= 25)
    .map((p) => [Number(p[4]), Number(p[5]), Number(p[6]), Number(p[7])]);
}

const inBox = (x: number, y: number, b: { x1: number; y1: number; x2: number; y2: number }) => x >= b.x1 && x <= b.x2 && y >= b.y1 && y <= b.y2;

describe.skipIf(!hasFixtures)('saliency service: CenterNet run on KITTI 000134', () => {
  let dir: string;
  let savedHome: string | undefined;
  let core: SightlineCore;
  let handlers: Handlers;
  let runId: number;
  let logId: string;
  let car: DetectionEntry;
  let first: SaliencyMap;
  const events: ProgressEvent[] = [];
  const call = <T>(method: string, input: unknown) => dispatch(handlers, method, input) as Promise<T>;

  /** Resolves with the task's final progress event. */
  const finished = (taskId: string) =>
    new Promise<ProgressEvent>((resolve) => {
      const check = () => events.find((e) => e.taskId === taskId && e.state !== 'running');
      const found = check();
      if (found) return resolve(found);
      const off = core.on('progress', () => {
        const end = check();
        if (end) {
          off();
          resolve(end);
        }
      });
    });

  beforeAll(async () => {
    await ensureDist();
    dir = mkdtempSync(join(tmpdir(), 'sightline-saliency-service-'));
    savedHome = process.env.SIGHTLINE_HOME;
    process.env.SIGHTLINE_HOME = join(dir, 'home');
    core = new SightlineCore({ dbPath: join(dir, 'workspace.db'), actor: 'tester', hashLogs: false });
    core.on('progress', (e) => events.push(e));
    handlers = createHandlers(core, { transport: 'ipc', nativeDialogs: false });
    const info = await call<{ id: string }>('openLog', { path: KITTI });
    logId = info.id;
    const run = await call<{ runId: number }>('startRun', { logId: info.id, modelId: 'centernet-coco', device: 'cpu', frameRange: { start: 1, end: 2 }, resume: 'new' });
    runId = run.runId;
    for (let i = 0; i < 600; i++) {
      const status = (await call<{ status: string }>('getRun', { runId })).status;
      if (status !== 'running' && status !== 'pending') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const runInfo = await call<{ status: string; engine: string; executionProvider: string }>('getRun', { runId });
    expect(runInfo.status).toBe('done');
    const frames = await call<Array<{ id: string }>>('listFrames', { logId: info.id });
    const detections = (await call<{ detections: DetectionEntry[] }>('getDetections', { runId, frameId: frames[1]!.id })).detections;
    // The target: the run's car detection (score >= 0.4) on the labelled clear car.
    let best = 0;
    for (const gt of clearCars(fixture('kitti_object_extra', 'training', 'label_2', '000134.txt'))) {
      for (const d of detections.filter((x) => x.class === 'car' && x.score >= 0.4 && x.box2d)) {
        const iou = boxIoU([...gt, ...d.box2d!], 0, 1);
        if (iou > best) [best, car] = [iou, d];
      }
    }
    expect(best, 'a car detection on a labelled clear car').toBeGreaterThanOrEqual(0.5);
    console.log(`run ${runId} on ${runInfo.engine}/${runInfo.executionProvider}: target car ${car.score.toFixed(3)} [${car.box2d!.map((v) => v.toFixed(0)).join(', ')}] detection ${car.detectionId}`);
  }, 180_000);

  afterAll(async () => {
    await core?.close();
    if (savedHome === undefined) delete process.env.SIGHTLINE_HOME;
    else process.env.SIGHTLINE_HOME = savedHome;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('computes off the request thread with progress, peaks on the car, and stores the map with its parameters', async () => {
    expect(await call('getSaliency', { runId, detectionId: car.detectionId })).toBeNull();
    // Event-loop lag while the worker scans: the server keeps answering.
    let lastTick = performance.now();
    let maxLagMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - lastTick - 20);
      lastTick = now;
    }, 20);
    const t0 = performance.now();
    const start = await call<SaliencyStart>('computeSaliency', { runId, detectionId: car.detectionId, params: PARAMS });
    expect(start.cached).toBe(false);
    // While the worker scans, other requests are answered: one sent at the first progress event
    // resolves before the task's last event.
    let answeredMidTask: boolean | undefined;
    const offProbe = core.on('progress', (e) => {
      if (e.taskId !== start.taskId || e.state !== 'running' || e.done === 0 || e.done >= e.total || answeredMidTask !== undefined) return;
      answeredMidTask = false;
      void call('listSaliency', { runId, detectionId: car.detectionId }).then(() => {
        answeredMidTask = !events.some((x) => x.taskId === start.taskId && x.state !== 'running');
      });
    });
    const end = await finished(start.taskId!);
    offProbe();
    clearInterval(ticker);
    const wallMs = performance.now() - t0;
    expect(end.state, end.message).toBe('done');
    const progress = events.filter((e) => e.taskId === start.taskId && e.state === 'running' && e.total > 0);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((e, i) => i === 0 || e.done > progress[i - 1]!.done)).toBe(true);
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
    expect(progress.some((e) => typeof e.etaS === 'number' && e.etaS > 0)).toBe(true);

    first = (await call<SaliencyMap>('getSaliency', { runId, detectionId: car.detectionId }))!;
    const box = { x1: car.box2d![0], y1: car.box2d![1], x2: car.box2d![2], y2: car.box2d![3] };
    console.log(
      `map: ${first.passes} passes in ${first.computeMs.toFixed(0)} ms (${(first.computeMs / (first.passes + 1)).toFixed(0)} ms/pass) on ${first.backend}, wall ${wallMs.toFixed(0)} ms, ` +
        `peak (${first.peak.x.toFixed(0)}, ${first.peak.y.toFixed(0)}) drop ${first.peak.value.toFixed(3)} of ${first.baselineScore.toFixed(3)}, max event-loop lag ${maxLagMs.toFixed(0)} ms`,
    );
    expect(first.backend).toBe('tfjs:wasm');
    expect(inBox(first.peak.x, first.peak.y, box)).toBe(true);
    expect(first.peak.value).toBeGreaterThan(0.1 * first.baselineScore);
    expect(first.params).toMatchObject({ ...PARAMS, device: 'cpu', matchIoU: 0.3 });
    expect(first.grid.values).toBeInstanceOf(Float32Array);
    expect(first.grid.values.length).toBe(first.grid.width * first.grid.height);
    expect(first.grid.width).toBe(Math.ceil(1224 / 64));
    expect(first.target).toMatchObject({ label: 'car', x1: box.x1, y2: box.y2 });
    expect([first.runId, first.detectionId, first.frameId, first.sensorId]).toEqual([runId, car.detectionId, car.frameId, 'image_2']);
    expect(first.imageSha256).toMatch(/^[0-9a-f]{64}$/);
    const heat = await sharp(first.heatmapPng).metadata();
    expect([heat.width, heat.height, heat.channels]).toEqual([1224, 370, 4]);
    expect(answeredMidTask).toBe(true);
    // A loose bound (shared CI cores load it): the answered request above is the real check.
    expect(maxLagMs).toBeLessThan(1000);
    expect(countSaliencyMaps(core.db)).toBe(1);
    const audit = core.db.prepare("SELECT entity_id, payload_json FROM audit_events WHERE action = 'saliency.compute'").all() as { entity_id: string; payload_json: string }[];
    expect(audit).toHaveLength(1);
    expect(audit[0]!.entity_id).toBe(String(first.saliencyId));
    expect(JSON.parse(audit[0]!.payload_json)).toMatchObject({ runId, detectionId: car.detectionId, params: { patch: 64, stride: 64 } });
    expect(verifyAuditChain(core.db).ok).toBe(true);
  }, 120_000);

  it('answers a second request from the cache: no task, no new row, fast', async () => {
    const t0 = performance.now();
    const again = await call<SaliencyStart>('computeSaliency', { runId, detectionId: car.detectionId, params: PARAMS });
    const ms = performance.now() - t0;
    console.log(`cached answer in ${ms.toFixed(0)} ms (computed in ${first.computeMs.toFixed(0)} ms)`);
    expect(again.cached).toBe(true);
    expect(again.taskId).toBeNull();
    expect(again.map!.saliencyId).toBe(first.saliencyId);
    expect(again.map!.cached).toBe(true);
    expect([...again.map!.grid.values]).toEqual([...first.grid.values]);
    expect(ms).toBeLessThan(first.computeMs / 4);
    expect(countSaliencyMaps(core.db)).toBe(1);
    // Speed-only settings (batch) do not change the key.
    expect((await call<SaliencyStart>('computeSaliency', { runId, detectionId: car.detectionId, params: { ...PARAMS, batch: 2 } })).cached).toBe(true);
    expect(await call('getSaliency', { runId, detectionId: car.detectionId, params: { ...PARAMS, fill: 'gray' } })).toBeNull();
  });

  it('a parameter change computes a new row; both are listed; an identical request in flight shares the task; cancel stops it', async () => {
    const gray = await call<SaliencyStart>('computeSaliency', { runId, detectionId: car.detectionId, params: { ...PARAMS, fill: 'gray' } });
    expect(gray.cached).toBe(false);
    expect((await finished(gray.taskId!)).state).toBe('done');
    expect(countSaliencyMaps(core.db)).toBe(2);
    const list = await call<SaliencySummary[]>('listSaliency', { runId, detectionId: car.detectionId });
    expect(list.map((s) => s.params.fill)).toEqual(['gray', 'mean']);
    const grayMap = (await call<SaliencyMap>('getSaliency', { runId, detectionId: car.detectionId, params: { ...PARAMS, fill: 'gray' } }))!;
    expect(grayMap.saliencyId).toBe(list[0]!.saliencyId);
    expect(inBox(grayMap.peak.x, grayMap.peak.y, grayMap.target)).toBe(true);

    const blur = { ...PARAMS, fill: 'blur' } as const;
    const [a, b] = await Promise.all([
      call<SaliencyStart>('computeSaliency', { runId, detectionId: car.detectionId, params: blur }),
      call<SaliencyStart>('computeSaliency', { runId, detectionId: car.detectionId, params: blur }),
    ]);
    expect(a.taskId).not.toBeNull();
    expect(b.taskId).toBe(a.taskId);
    await new Promise<void>((resolve) => {
      const off = core.on('progress', (e) => {
        if (e.taskId === a.taskId && e.done >= 2) {
          off();
          resolve();
        }
      });
    });
    expect(await call('cancelSaliency', { taskId: a.taskId })).toEqual({ cancelled: true });
    const end = await finished(a.taskId!);
    expect(end.state).toBe('cancelled');
    expect(end.done).toBeLessThan(end.total);
    expect(countSaliencyMaps(core.db)).toBe(2);
    expect(await call('cancelSaliency', { taskId: a.taskId })).toEqual({ cancelled: false });
  }, 120_000);

  it('clear errors: an unknown detection, bad parameters', async () => {
    await expect(call('computeSaliency', { runId, detectionId: 999_999 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(call('computeSaliency', { runId, detectionId: car.detectionId, params: { patch: 32, stride: 64 } })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/stride must be an integer from 1 to 32/) });
    await expect(call('computeSaliency', { runId, detectionId: car.detectionId, params: { fill: 'noise' } })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
  it('a run made elsewhere (imported, no model): lookups answer nothing stored, computing says why it cannot', async () => {
    // The fixture's own labels with a score column, imported as a run.
    const results = join(dir, 'imported-run');
    writeLabelsAsResults(join(KITTI, 'label_2'), results, '0.90');
    const imported = await call<{ run: { id: number } | null }>('importLabels', { logId, format: 'kitti', path: results, as: 'run', name: 'imported' });
    const importedRunId = imported.run!.id;
    const frames = await call<Array<{ id: string }>>('listFrames', { logId });
    const detection = (await call<{ detections: DetectionEntry[] }>('getDetections', { runId: importedRunId, frameId: frames[1]!.id })).detections[0]!;
    expect(await call('listSaliency', { runId: importedRunId, detectionId: detection.detectionId })).toEqual([]);
    expect(await call('getSaliency', { runId: importedRunId, detectionId: detection.detectionId })).toBeNull();
    await expect(call('computeSaliency', { runId: importedRunId, detectionId: detection.detectionId })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/was not made by a 2D detection model/),
    });
  });
});
