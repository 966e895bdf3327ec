// The inference pipeline end to end, with real models (the YOLOX-Nano ONNX fixture added through the
// registry, the built-in NanoDet TF.js model, the TwinLiteNet ONNX segmentation fixture), real logs
// (the demo MCAP, the KITTI raw fixture) and a real SQLite file.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/contract.js';
import { ModelRegistry } from '../../src/infer/registry.js';
import { runInference, type InferenceOptions } from '../../src/infer/pipeline/run.js';
import type { RunProgress } from '../../src/infer/pipeline/progress.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../src/logs/open.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { listDetections, listMasks, listPointLabels, listRunFrames } from '../../src/store/detections.js';
import { getRun } from '../../src/store/runs.js';
import { softwareVersion } from '../../src/version.js';
import { demoLogPath } from '../helpers/demo.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { ensureDist } from '../helpers/build.js';



const YOLOX = () => fixture('models', 'yolox_nano', 'yolox_nano.onnx');
const TWINLITE = () => fixture('models', 'twinlitenet', 'twinlitenet_best.onnx');

/** Manifests written from each model's own documentation (SOURCES.md). */
function writeManifests(dir: string): { yolox: string; twinlite: string } {
  const classes = readFileSync(fixture('models', 'yolox_nano', 'coco_classes.txt'), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
  const yolox = join(dir, 'yolox-nano.json');
  writeFileSync(
    yolox,
    JSON.stringify({
      id: 'yolox-nano',
      name: 'YOLOX-Nano (COCO)',
      task: 'detect2d',
      format: 'onnx',
      file: YOLOX(),
      input: { name: 'images', width: 416, height: 416, layout: 'NCHW', colorOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114 },
      decoder: { kind: 'yolox', output: 'output', scoreThreshold: 0.3, iouThreshold: 0.45 },
      classes,
      classMap: { person: 'pedestrian', car: 'car', bus: 'bus', truck: 'truck', bicycle: 'cyclist', motorbike: 'motorcycle' },
    }),
  );
  const twinlite = join(dir, 'twinlitenet.json');
  writeFileSync(
    twinlite,
    JSON.stringify({
      id: 'twinlitenet',
      name: 'TwinLiteNet drivable area + lanes',
      task: 'segment2d',
      format: 'onnx',
      file: TWINLITE(),
      input: { name: 'images', width: 640, height: 360, layout: 'NCHW', colorOrder: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], resize: 'stretch' },
      decoder: {
        kind: 'segmentation',
        heads: [
          { output: 'da', name: 'drivable', activation: 'argmax', classes: ['background', 'drivable'] },
          { output: 'll', name: 'lane', activation: 'argmax', classes: ['background', 'lane'] },
        ],
      },
      classes: ['background', 'drivable'],
    }),
  );
  return { yolox, twinlite };
}

let dir: string;
let db: Db;
let demo: string;
const saved = process.env.SIGHTLINE_HOME;

function run(options: Omit<InferenceOptions, 'db' | 'registryDir' | 'actor'>) {
  return runInference({ db, registryDir: dir, actor: 'test', ...options });
}

describe.skipIf(!hasFixtures)('inference pipeline: real models on real logs', () => {
  beforeAll(async () => {
    await ensureDist();
    dir = mkdtempSync(join(tmpdir(), 'sightline-infer-'));
    // Workers read the user's class-map overrides from the data directory: keep them out.
    process.env.SIGHTLINE_HOME = dir;
    const manifests = writeManifests(dir);
    const registry = ModelRegistry.open(dir);
    await registry.add(YOLOX(), manifests.yolox);
    await registry.add(TWINLITE(), manifests.twinlite);
    db = openDatabase(join(dir, 'workspace.db'));
    demo = await demoLogPath();
  });
  afterAll(() => {
    db?.close();
    if (saved === undefined) delete process.env.SIGHTLINE_HOME;
    else process.env.SIGHTLINE_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs YOLOX (ONNX) over the demo drive: each frame stored once with its detections, full provenance, monotonic progress', async () => {
    const events: RunProgress[] = [];
    const lag = monitorEventLoopDelay({ resolution: 10 });
    const handle = await run({ logPath: demo, modelId: 'yolox-nano', onProgress: (p) => events.push({ ...p }) });
    lag.enable();
    const busyBefore = performance.eventLoopUtilization();
    const summary = await handle.done;
    const busy = performance.eventLoopUtilization(busyBefore);
    lag.disable();
    expect(summary.status, summary.error).toBe('done');
    expect(summary.framesTotal).toBe(30);
    expect(summary.framesThisSession).toBe(30);

    // Every frame of the log, once, with exactly the detections stored for it.
    const detected = await detectLog(demo);
    const drive = await openDriveLog(demo, detected, { logId: logIdFromFingerprint(detected.fingerprint) });
    const frames = listRunFrames(db, handle.runId);
    expect(frames.map((f) => f.frameId)).toEqual(drive.frames.map((f) => f.id));
    const detections = listDetections(db, handle.runId);
    expect(detections.length).toBe(summary.detectionsThisSession);
    expect(detections.length).toBeGreaterThan(0);
    for (const f of frames) expect(detections.filter((d) => d.frameId === f.frameId).length).toBe(f.detectionCount);
    const camera = drive.info.sensors.find((s) => s.kind === 'camera')!;
    for (const d of detections) {
      expect(d.sensorId).toBe(camera.id);
      expect(d.score).toBeGreaterThanOrEqual(0.3);
      expect(d.score).toBeLessThanOrEqual(1);
      const [x1, y1, x2, y2] = d.box2d!;
      expect(x2).toBeGreaterThan(x1);
      expect(y2).toBeGreaterThan(y1);
      expect(x1).toBeGreaterThan(-2);
      expect(x2).toBeLessThan(camera.intrinsics!.width + 2);
      expect(y2).toBeLessThan(camera.intrinsics!.height + 2);
      expect(d.box3d).toBeNull();
    }
    // The demo scene has cars; the class map turns the model's COCO names into driving classes.
    expect(detections.some((d) => d.class === 'car' && d.modelClass === 'car')).toBe(true);
    await drive.close();

    // Provenance.
    const record = getRun(db, handle.runId)!;
    expect(record).toMatchObject({
      status: 'done',
      modelId: 'yolox-nano',
      modelSha256: createHash('sha256').update(readFileSync(YOLOX())).digest('hex'),
      modelTask: 'detect2d',
      engine: 'onnx',
      device: 'auto',
      params: { sensors: [camera.id], frames: { start: 0, end: 30 }, lidar: false, device: 'auto' },
      softwareVersion,
      framesTotal: 30,
      framesDone: 30,
      ownerPid: null,
    });
    expect(record.executionProvider).toBeTruthy();
    expect(Date.parse(record.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(record.startedAt!));
    expect(record.framesPerS).toBeGreaterThan(0);
    expect(record.timings).toMatchObject({ stages: { infer: { jobs: 30 }, preprocess: { jobs: 30 }, postprocess: { jobs: 30 }, read: { jobs: 30 } } });

    // Progress: monotonic, ending at the total, with the backend.
    expect(events.length).toBeGreaterThan(1);
    for (let i = 1; i < events.length; i++) expect(events[i]!.framesDone).toBeGreaterThanOrEqual(events[i - 1]!.framesDone);
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ runId: handle.runId, status: 'done', framesDone: 30, framesTotal: 30 });
    expect(last.backend).toBe(`onnx:${record.executionProvider}`);
    expect(events.filter((e) => e.status === 'running').every((e) => e.framesDone < 30 || e.etaS === null || e.etaS >= 0)).toBe(true);

    // Audit trail: creation, start and finish, chain intact.
    const actions = (db.prepare("SELECT action FROM audit_events WHERE entity_type = 'run' AND entity_id = ? ORDER BY seq").pluck().all(String(handle.runId)) as string[]);
    expect(actions).toEqual(['run.create', 'run.start', 'run.finish']);
    expect(verifyAuditChain(db).ok).toBe(true);

    // Decode, inference and post-processing ran on worker threads: this thread's event loop stayed
    // mostly idle (utilization, unlike delay, does not count time the OS gave to other processes).
    console.log(
      `main event loop during the run: utilization ${(busy.utilization * 100).toFixed(1)}%, delay p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms; ${summary.framesPerS.toFixed(1)} frames/s`,
    );
    expect(busy.utilization).toBeLessThan(0.5);
  });

  it('runs the built-in NanoDet (TF.js graph model) on a frame range', async () => {
    const handle = await run({ logPath: demo, modelId: 'nanodet-coco', frameRange: { start: 2, end: 4 } });
    const summary = await handle.done;
    expect(summary.status, summary.error).toBe('done');
    expect(summary.engine).toBe('tfjs');
    const frames = listRunFrames(db, handle.runId);
    expect(frames.map((f) => f.frameIndex)).toEqual([2, 3]);
    const record = getRun(db, handle.runId)!;
    expect(record.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.params).toMatchObject({ frames: { start: 2, end: 4 } });
  });

  it('runs on a KITTI drive with the lidar stage: 3D obstacle boxes, camera detections placed in 3D, compressed point labels per sweep', async () => {
    const kitti = fixture('kitti_raw_2011_09_26_sfnd');
    const handle = await run({ logPath: kitti, modelId: 'yolox-nano', lidar: true, frameRange: { end: 2 } });
    const summary = await handle.done;
    expect(summary.status, summary.error).toBe('done');
    const detected = await detectLog(kitti);
    const drive = await openDriveLog(kitti, detected, { logId: logIdFromFingerprint(detected.fingerprint) });
    const lidarId = drive.info.sensors.find((s) => s.kind === 'lidar')!.id;
    const cameraId = drive.info.sensors.find((s) => s.kind === 'camera')!.id;
    for (const f of listRunFrames(db, handle.runId)) {
      const detections = listDetections(db, handle.runId, { frameId: f.frameId });
      const camera = detections.filter((d) => d.sensorId === cameraId);
      const lidar = detections.filter((d) => d.sensorId === lidarId);
      // A city street with a car ahead: the camera model sees cars, the lidar detector obstacles.
      expect(camera.some((d) => d.class === 'car')).toBe(true);
      expect(lidar.length).toBeGreaterThan(0);
      // Fusion: camera detections with lidar points in their frustum get a 3D box, in front of the car.
      const placed = camera.filter((d) => d.box3d);
      expect(placed.length).toBeGreaterThan(0);
      for (const d of placed) {
        expect(d.box2d).not.toBeNull();
        expect(d.box3d!.cx).toBeGreaterThan(0);
      }
      for (const d of lidar) {
        expect(d.box2d).toBeNull();
        expect(d.box3d!.length).toBeGreaterThan(0);
        expect(d.box3d!.height).toBeGreaterThan(0);
      }
      const [labels] = listPointLabels(db, handle.runId, f.frameId);
      const frame = await drive.readFrame(f.frameIndex!, { cameras: false, lidar: true });
      expect(labels!.sensorId).toBe(lidarId);
      expect(labels!.labels.length).toBe(frame.lidar!.count);
      expect(labels!.classes).toEqual(['other', 'ground', 'obstacle']);
      const counts = [0, 0, 0];
      for (const v of labels!.labels) counts[v]!++;
      expect(counts[0]! + counts[1]! + counts[2]!).toBe(frame.lidar!.count);
      expect(counts[1]).toBeGreaterThan(frame.lidar!.count / 10); // a road: plenty of ground
      expect(counts[2]).toBeGreaterThan(0);
    }
    await drive.close();
  });

  it('stores segmentation masks per frame and camera as class-index PNGs (TwinLiteNet, ONNX)', async () => {
    const kitti = fixture('kitti_raw_2011_09_26_sfnd');
    const handle = await run({ logPath: kitti, modelId: 'twinlitenet', frameRange: { start: 3, end: 5 } });
    const summary = await handle.done;
    expect(summary.status, summary.error).toBe('done');
    const frames = listRunFrames(db, handle.runId);
    expect(frames.length).toBe(2);
    for (const f of frames) {
      const masks = listMasks(db, handle.runId, f.frameId);
      expect(masks.map((m) => m.head).sort()).toEqual(['drivable', 'lane']);
      for (const m of masks) {
        expect(m.encoding).toBe('png-gray8');
        expect((await sharp(m.data).metadata()).channels).toBe(1);
        const { data, info } = await sharp(m.data).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height]).toEqual([m.width, m.height]);
        expect([m.width, m.height]).toEqual([1242, 375]);
        let on = 0;
        let highest = 0;
        for (const v of data) {
          highest = Math.max(highest, v);
          on += v;
        }
        expect(highest).toBeLessThan(m.classes.length);
        if (m.head === 'drivable') expect(on).toBeGreaterThan(0);
      }
    }
  });

  it('records frames whose image is damaged with the reason, and runs the rest', async () => {
    // A KITTI raw drive of four frames (links to the fixture files): frame 1's image is not a PNG at
    // all, frame 2's is the first 4 KiB of a real PNG (header fine, data cut off).
    const src = fixture('kitti_raw_2011_09_26_sfnd');
    const drive = join(dir, 'kitti-damaged');
    for (const sub of ['image_02/data', 'velodyne_points/data', 'calib']) mkdirSync(join(drive, sub), { recursive: true });
    for (const f of readdirSync(join(src, 'calib'))) symlinkSync(join(src, 'calib', f), join(drive, 'calib', f));
    const names = ['0000000000', '0000000001', '0000000002', '0000000003'];
    for (const name of names) {
      symlinkSync(join(src, 'velodyne_points', 'data', `${name}.bin`), join(drive, 'velodyne_points', 'data', `${name}.bin`));
      const image = join(drive, 'image_02', 'data', `${name}.png`);
      if (name === names[1]) writeFileSync(image, 'this is not an image');
      else if (name === names[2]) writeFileSync(image, readFileSync(join(src, 'image_02', 'data', `${name}.png`)).subarray(0, 4096));
      else symlinkSync(join(src, 'image_02', 'data', `${name}.png`), image);
    }
    const notes: string[] = [];
    const handle = await run({ logPath: drive, modelId: 'yolox-nano', onLog: (m) => notes.push(m) });
    const summary = await handle.done;
    expect(summary.status, summary.error).toBe('done');
    expect(summary.frameErrors).toBe(2);
    const frames = listRunFrames(db, handle.runId);
    expect(frames.map((f) => [f.frameIndex, f.error === null])).toEqual([
      [0, true],
      [1, false],
      [2, false],
      [3, true],
    ]);
    // The reader rejects frame 1 and names the file; sharp fails on frame 2's cut-off data.
    expect(frames[1]!.error).toMatch(/image_02: no image .*0000000001\.png/);
    expect(frames[2]!.error).toMatch(/^image_02: /);
    for (const f of frames) expect(f.detectionCount > 0).toBe(f.error === null);
    expect(notes.some((n) => n.startsWith('frame 1: ') && n.includes('0000000001.png'))).toBe(true);
    expect(notes.some((n) => n.startsWith('frame 2 image_02: '))).toBe(true);
  });

  it('fails clearly on an unknown model, camera, frame range or run, and writes nothing', async () => {
    const before = db.prepare('SELECT count(*) FROM runs').pluck().get();
    await expect(run({ logPath: demo, modelId: 'no-such-model' })).rejects.toThrow(/Unknown model "no-such-model"/);
    await expect(run({ logPath: demo, modelId: 'yolox-nano', sensors: ['camera/rear'] })).rejects.toThrow(/has no camera 'camera\/rear'; its cameras: camera\/front/);
    await expect(run({ logPath: demo, modelId: 'yolox-nano', frameRange: { start: 40 } })).rejects.toSatisfy(
      (e) => e instanceof ApiError && e.code === 'OUT_OF_RANGE' && /selects no frames .* has 30/.test(e.message),
    );
    await expect(run({ logPath: demo, modelId: 'yolox-nano', resume: 9999 })).rejects.toSatisfy((e) => e instanceof ApiError && e.code === 'NOT_FOUND');
    await expect(run({ logPath: join(dir, 'missing.mcap'), modelId: 'yolox-nano' })).rejects.toThrow(/No such file or directory: .*missing\.mcap/);
    expect(db.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(before);
  });
});

describe.skipIf(hasFixtures)('inference pipeline', () => {
  it.skip(`skipped: ${fixturesSkipReason}`, () => undefined);
});
