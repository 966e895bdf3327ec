import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriveLog } from '../../src/logs/driveLog.js';
import { LogError } from '../../src/logs/errors.js';
import { pointInBox, projectBoxToRect, projectEgoPoint, rectIoU } from '../../src/logs/geometry.js';
import { frameKey, type Box3D, type FrameData, type PointCloud, type Pose, type Vec3 } from '../../src/logs/model.js';
import { detectNuscenesLayout, forEachTableRecord, openNuscenesLog } from '../../src/logs/nuscenes/index.js';
import { jpegSize } from '../../src/logs/nuscenes/jpeg.js';
import { applyPose, invertPose, poseFromMatrix3x4 } from '../../src/logs/transforms.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`nuscenes tests skipped: ${fixturesSkipReason}`);

const DEMO = fixture('mmdet3d_demo', 'nuscenes');
const LYFT_ROOT = fixture('mmdet3d_tests', 'lyft', 'v1.01-train');
const LYFT_TABLES = join(LYFT_ROOT, 'v1.01-train');
const options = (logId: string, referenceSensor?: string) => ({ logId, fingerprint: `${logId}-fingerprint`, referenceSensor });

type Json = Record<string, unknown>;
/** The info file as the test reads it, independently of the reader: Python's NaN tokens become null. */
async function readInfo(): Promise<Json> {
  const name = (await readdir(DEMO)).find((n) => n.endsWith('.info.json'))!;
  const text = await readFile(join(DEMO, name), 'utf8');
  return JSON.parse(text.replace(/\bNaN\b/g, 'null')) as Json;
}
const readTable = async (dir: string, name: string) => JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as Json[];

/** Lidar points in the ego frame. */
function egoPoints(cloud: PointCloud): Vec3[] {
  const out: Vec3[] = [];
  for (let i = 0; i < cloud.count; i++) {
    out.push(applyPose(cloud.extrinsic, [cloud.positions[3 * i]!, cloud.positions[3 * i + 1]!, cloud.positions[3 * i + 2]!]));
  }
  return out;
}
const countInside = (box: Pick<Box3D, 'center' | 'size' | 'yaw'>, points: Vec3[]) => points.filter((p) => pointInBox(box, p)).length;
const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const result = await run();
  return [result, performance.now() - t0];
};

describe.skipIf(!hasFixtures)('nuScenes reader: mmdet3d info.json sample (v1.0-mini)', () => {
  let log: DriveLog;
  let frame: FrameData;
  let info: Json;
  let entry: Json;

  beforeAll(async () => {
    info = await readInfo();
    entry = (info.data_list as Json[])[0]!;
    let openMs: number;
    let readMs: number;
    [log, openMs] = await timed(() => openNuscenesLog(DEMO, options('demo')));
    [frame, readMs] = await timed(() => log.readFrame(0));
    console.log(`info layout: open ${openMs.toFixed(1)} ms, readFrame ${readMs.toFixed(1)} ms (6 JPEGs + 34,688 points)`);
  });
  afterAll(() => log?.close());

  it('detects the layout from the folder or the info file, and not the KITTI info beside it', async () => {
    const layout = await detectNuscenesLayout(DEMO);
    expect(layout?.kind).toBe('info');
    expect((await detectNuscenesLayout(layout!.kind === 'info' ? layout!.infoPath : ''))?.kind).toBe('info');
    expect(await detectNuscenesLayout(fixture('mmdet3d_demo', 'kitti'))).toBeUndefined();
    expect(await detectNuscenesLayout(join(DEMO, 'no-such-folder'))).toBeUndefined();
  });

  it('summarises one frame with 6 cameras, LIDAR_TOP, 69 boxes', () => {
    const { info: summary } = log;
    expect(summary.format).toBe('nuscenes');
    expect(summary.frameCount).toBe(1);
    expect(summary.referenceSensor).toBe('LIDAR_TOP');
    expect(summary.labelCount).toBe(69);
    expect(summary.warnings).toEqual([]);
    const cameras = summary.sensors.filter((s) => s.kind === 'camera');
    expect(cameras.map((c) => c.id)).toEqual(['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_RIGHT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_FRONT_LEFT']);
    for (const camera of cameras) expect([camera.intrinsics?.width, camera.intrinsics?.height]).toEqual([1600, 900]);
    expect(summary.streams.find((s) => s.topic === 'instances')).toMatchObject({ kind: 'labels3d', messageCount: 69 });
  });

  it('stamps the frame and captures with the times in the file names', async () => {
    const lidarFile = (await readdir(DEMO)).find((n) => n.includes('__LIDAR_TOP__'))!;
    const lidarUs = /__(\d+)\.pcd\.bin$/.exec(lidarFile)![1]!;
    expect(frame.stampNs).toBe(`${lidarUs}000`);
    expect(frame.id).toBe(frameKey('demo', frame.stampNs));
    expect(log.frames[0]).toMatchObject({ index: 0, id: frame.id, stampNs: frame.stampNs, timeS: 0 });
    expect(frame.cameras).toHaveLength(6);
    for (const camera of frame.cameras) {
      const name = (await readdir(DEMO)).find((n) => n.includes(`__${camera.sensorId}__`))!;
      const cameraUs = BigInt(/__(\d+)\.jpg$/.exec(name)![1]!);
      expect(camera.stampNs).toBe(`${cameraUs}000`);
      expect(camera.skewS).toBeCloseTo(Number(cameraUs - BigInt(lidarUs)) / 1e6, 9);
      expect(camera.format).toBe('jpeg');
      expect(camera.data.byteLength).toBe((await stat(join(DEMO, name))).size);
      expect(jpegSize(camera.data)).toEqual({ width: 1600, height: 900 });
      expect([camera.intrinsics.width, camera.intrinsics.height]).toEqual([1600, 900]);
    }
  });

  it('reads all 34,688 lidar points with intensity and ring', async () => {
    const lidar = frame.lidar!;
    const size = (await stat(join(DEMO, (entry.lidar_points as Json).lidar_path as string))).size;
    expect(lidar.count).toBe(size / 20);
    expect(lidar.count).toBe(34688);
    expect(Object.keys(lidar.fields).sort()).toEqual(['intensity', 'ring']);
    const rings = new Set(lidar.fields.ring);
    expect(Math.min(...rings)).toBe(0);
    expect(Math.max(...rings)).toBe(31); // the 32-beam HDL-32E
    expect(frame.warnings).toEqual([]);
  });

  it('puts each camera in the frame ego with the ego motion mmdet3d folded into lidar2cam', () => {
    const lidarToEgo = frame.lidar!.extrinsic;
    const images = entry.images as Record<string, Json>;
    for (const camera of frame.cameras) {
      const image = images[camera.sensorId]!;
      const lidarToCam = poseFromMatrix3x4((image.lidar2cam as number[][]).slice(0, 3).flat());
      for (const p of [[10, 0, 0], [0, -20, 1], [5, 5, -2]] as Vec3[]) {
        const viaCamera = applyPose(camera.extrinsic, applyPose(lidarToCam, p));
        applyPose(lidarToEgo, p).forEach((v, i) => expect(viaCamera[i]).toBeCloseTo(v, 3));
      }
      // The sensor's static extrinsic is cam2ego; the frame's differs by the ego's motion in the capture gap.
      const camToEgo = (image.cam2ego as number[][]).slice(0, 3).flat();
      const sensor = log.info.sensors.find((s) => s.id === camera.sensorId)!;
      sensor.extrinsic!.translation.forEach((v, i) => expect(v).toBeCloseTo(camToEgo[4 * i + 3]!, 6));
      const moved = Math.hypot(...camera.extrinsic.translation.map((v, i) => v - sensor.extrinsic!.translation[i]!));
      expect(moved).toBeLessThan(0.5); // < 45 ms at city speed
    }
    // The ego pose is ego2global itself.
    const egoToGlobal = (entry.ego2global as number[][]).slice(0, 3).flat();
    applyPose(frame.egoPose!, [1, 2, 3]).forEach((v, i) =>
      expect(v).toBeCloseTo(egoToGlobal[4 * i]! + 2 * egoToGlobal[4 * i + 1]! + 3 * egoToGlobal[4 * i + 2]! + egoToGlobal[4 * i + 3]!, 6),
    );
  });

  it('places the 69 boxes so they hold the lidar points nuScenes counted (z is the box centre)', () => {
    expect(frame.labels3d).toHaveLength(69);
    const points = egoPoints(frame.lidar!);
    const rows = frame.labels3d.map((box) => {
      const expected = box.attributes!.num_lidar_pts as number;
      const inside = countInside(box, points);
      // The other reading of z: the bottom face, as in mmdet3d's LiDARInstance3DBoxes.
      const insideIfBottom = countInside({ ...box, center: [box.center[0], box.center[1], box.center[2] + box.size[2] / 2] }, points);
      return { label: box.label, expected, inside, insideIfBottom };
    });
    const withPoints = rows.filter((r) => r.inside > 0).length;
    const exact = rows.filter((r) => r.inside === r.expected).length;
    const close = rows.filter((r) => Math.abs(r.inside - r.expected) <= Math.max(2, 0.1 * r.expected)).length;
    const exactIfBottom = rows.filter((r) => r.insideIfBottom === r.expected).length;
    console.log(
      `points in boxes: ${withPoints}/69 boxes hold points; count = num_lidar_pts for ${exact}, within 10% for ${close}; ` +
        `reading z as the bottom would match ${exactIfBottom}; per box (expected/found): ${rows.map((r) => `${r.expected}/${r.inside}`).join(' ')}`,
    );
    expect(rows.filter((r) => r.expected > 0 && r.inside === 0)).toEqual([]);
    expect(withPoints).toBeGreaterThanOrEqual(0.9 * rows.length);
    expect(close).toBeGreaterThanOrEqual(0.9 * rows.length);
    expect(exact).toBeGreaterThan(2 * exactIfBottom);
  });

  it('projects boxes and points into the cameras where mmdet3d put them', () => {
    const front = frame.cameras.find((c) => c.sensorId === 'CAM_FRONT')!;
    // Boxes ahead of the car, well inside CAM_FRONT's ±35° field of view, land inside its image.
    const ahead = frame.labels3d.filter((b) => b.center[0] > 5 && Math.abs(b.center[1]) < b.center[0] * Math.tan((25 * Math.PI) / 180));
    expect(ahead.length).toBeGreaterThan(5);
    for (const box of ahead) {
      const [u, v] = projectEgoPoint(front.intrinsics, front.extrinsic, box.center)!;
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1600);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(900);
    }
    // mmdet3d's cam_instances: each center_2d is the projection of one of our box centres, and each
    // 2D box overlaps the projection of one of our boxes.
    const camInstances = entry.cam_instances as Record<string, Json[]>;
    let matched = 0;
    let total = 0;
    let worstCentrePx = 0;
    for (const camera of frame.cameras) {
      const rects = frame.labels3d.map((b) => projectBoxToRect(b, camera.intrinsics, camera.extrinsic)).filter((r) => !!r);
      const centres = frame.labels3d.map((b) => projectEgoPoint(camera.intrinsics, camera.extrinsic, b.center)).filter((c) => !!c);
      for (const instance of camInstances[camera.sensorId] ?? []) {
        const [x1, y1, x2, y2] = instance.bbox as number[];
        const [cu, cv] = instance.center_2d as number[];
        total++;
        if (Math.max(...rects.map((r) => rectIoU(r, { x1: x1!, y1: y1!, x2: x2!, y2: y2! }))) > 0.5) matched++;
        worstCentrePx = Math.max(worstCentrePx, Math.min(...centres.map(([u, v]) => Math.hypot(u - cu!, v - cv!))));
      }
    }
    expect(worstCentrePx).toBeLessThan(1);
    const labels2d = frame.labels2d;
    expect(labels2d).toHaveLength(total);
    expect(new Set(labels2d.map((b) => b.sensorId)).size).toBe(6);
    console.log(`2D boxes: ${matched}/${total} overlap a projected 3D box with IoU > 0.5; centres within ${worstCentrePx.toFixed(3)} px`);
    expect(matched).toBeGreaterThanOrEqual(0.8 * total);
    // Lidar points project into CAM_FRONT: ~1/6 of the sweep overall (its ±32° of the 360°), and nearly
    // all points in its horizontal field of view beyond the near ground it cannot see.
    const halfFov = Math.atan(front.intrinsics.K[2]! / front.intrinsics.K[0]!);
    const [cx, cy] = front.extrinsic.translation;
    let inImage = 0;
    let inSector = 0;
    let inSectorAndImage = 0;
    for (const p of egoPoints(frame.lidar!)) {
      const uv = projectEgoPoint(front.intrinsics, front.extrinsic, p);
      const inside = !!uv && uv[0] >= 0 && uv[0] < 1600 && uv[1] >= 0 && uv[1] < 900;
      if (inside) inImage++;
      const range = Math.hypot(p[0] - cx, p[1] - cy);
      if (p[0] > cx && range > 8 && Math.abs(Math.atan2(p[1] - cy, p[0] - cx)) < halfFov - 0.05) {
        inSector++;
        if (inside) inSectorAndImage++;
      }
    }
    console.log(`lidar into CAM_FRONT: ${inImage}/${frame.lidar!.count} points inside the image; ${inSectorAndImage}/${inSector} of those in its field of view beyond 8 m`);
    expect(inImage / frame.lidar!.count).toBeGreaterThan(0.05);
    expect(inSectorAndImage / inSector).toBeGreaterThan(0.9);
  });

  it('names a malformed info file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sightline-nuscenes-info-'));
    try {
      const name = (await readdir(DEMO)).find((n) => n.endsWith('.info.json'))!;
      const text = await readFile(join(DEMO, name), 'utf8');
      const cut = text.indexOf('"instances"');
      await writeFile(join(dir, name), text.slice(0, cut) + '"instances": [{"bbox_3d": [1, 2,, 3]}]}]}');
      const error = (await openNuscenesLog(dir, options('bad-info')).catch((e: unknown) => e)) as LogError;
      expect(error).toBeInstanceOf(LogError);
      expect(error.where.path).toBe(join(dir, name));
      expect(error.message).toMatch(/malformed JSON at byte \d+ \(line \d+\)/);
      // The offset is the second comma, which V8's message (Node 20) does not locate itself.
      expect(error.where.offset).toBe(Buffer.byteLength(text.slice(0, cut)) + '"instances": [{"bbox_3d": [1, 2,'.length);
      expect(error.where.line).toBe(text.slice(0, cut).split('\n').length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads only what include asks for, and synchronises on a camera when asked', async () => {
    const bare = await log.readFrame(0, { cameras: false, lidar: false });
    expect(bare.cameras).toEqual([]);
    expect(bare.lidar).toBeUndefined();
    expect(bare.labels3d).toHaveLength(69);
    const onCamera = await openNuscenesLog(DEMO, options('demo-cam', 'CAM_FRONT'));
    const cameraFrame = await onCamera.readFrame(0);
    expect(onCamera.info.referenceSensor).toBe('CAM_FRONT');
    expect(cameraFrame.stampNs).toBe(cameraFrame.cameras.find((c) => c.sensorId === 'CAM_FRONT')!.stampNs);
    expect(cameraFrame.cameras.find((c) => c.sensorId === 'CAM_FRONT')!.skewS).toBe(0);
    expect(cameraFrame.lidar?.count).toBe(34688);
    await expect(openNuscenesLog(DEMO, options('demo-x', 'CAM_NOPE'))).rejects.toThrow(/CAM_NOPE.*LIDAR_TOP.*CAM_BACK/);
    await expect(log.readFrame(1)).rejects.toThrow(LogError);
  });
});

describe.skipIf(!hasFixtures)('nuScenes reader: Lyft Level 5 tables (nuScenes v1.0 schema)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sightline-nuscenes-'));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A copy of the Lyft tables in a fresh root; edit(tablesDir) changes it before use. */
  async function lyftCopy(name: string, edit?: (tablesDir: string) => Promise<void>): Promise<{ root: string; tables: string }> {
    const root = join(work, name);
    const tables = join(root, 'v1.01-train');
    await mkdir(tables, { recursive: true });
    for (const file of await readdir(LYFT_TABLES)) await copyFile(join(LYFT_TABLES, file), join(tables, file));
    await edit?.(tables);
    return { root, tables };
  }
  /** Puts a real Lyft sweep (5 points) where sample_data expects LIDAR_TOP's keyframe file, optionally altered. */
  async function placeLidar(root: string, alter: (bytes: Buffer) => Buffer = (b) => b): Promise<{ path: string; bytes: Buffer }> {
    const sensors = await readTable(join(root, 'v1.01-train'), 'sensor');
    const calibrated = await readTable(join(root, 'v1.01-train'), 'calibrated_sensor');
    const sampleData = await readTable(join(root, 'v1.01-train'), 'sample_data');
    const top = sensors.find((s) => s.channel === 'LIDAR_TOP')!;
    const calibration = calibrated.find((c) => c.sensor_token === top.token)!;
    const record = sampleData.find((d) => d.calibrated_sensor_token === calibration.token && d.is_key_frame)!;
    const source = join(fixture('mmdet3d_tests', 'lyft', 'lidar'), (await readdir(fixture('mmdet3d_tests', 'lyft', 'lidar')))[0]!);
    const bytes = alter(await readFile(source));
    const path = join(root, record.filename as string);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
    return { path, bytes };
  }

  it('detects the table layout from the root or the table folder, and not loose nuScenes files', async () => {
    const fromRoot = await detectNuscenesLayout(LYFT_ROOT);
    expect(fromRoot).toMatchObject({ kind: 'tables', root: LYFT_ROOT, tablesDir: LYFT_TABLES, version: 'v1.01-train' });
    expect(await detectNuscenesLayout(LYFT_TABLES)).toEqual(fromRoot);
    // samples/ and sweeps/ without tables: not a log, and open says what is missing.
    const loose = fixture('mmdet3d_tests', 'nuscenes');
    expect(await detectNuscenesLayout(loose)).toBeUndefined();
    await expect(openNuscenesLog(loose, options('loose'))).rejects.toThrow(/v1\.0-\*.*samples\/ or sweeps\//);
    const empty = join(work, 'empty');
    await mkdir(empty, { recursive: true });
    expect(await detectNuscenesLayout(empty)).toBeUndefined();
    await expect(openNuscenesLog(empty, options('empty'))).rejects.toThrow(/not a nuScenes folder/);
  });

  it('opens the fixture: frames = samples, labels = annotations, missing data files are warnings', async () => {
    const [log, openMs] = await timed(() => openNuscenesLog(LYFT_ROOT, options('lyft')));
    const [frame, readMs] = await timed(() => log.readFrame(0));
    console.log(`tables layout (Lyft): open ${openMs.toFixed(1)} ms, readFrame ${readMs.toFixed(1)} ms`);
    const samples = await readTable(LYFT_TABLES, 'sample');
    const annotations = await readTable(LYFT_TABLES, 'sample_annotation');
    const sampleData = await readTable(LYFT_TABLES, 'sample_data');
    expect(log.info.frameCount).toBe(samples.length);
    expect(log.info.labelCount).toBe(annotations.length);
    expect(log.info.referenceSensor).toBe('LIDAR_TOP');
    expect(log.info.warnings.join('\n')).toMatch(/data folder lidar\/ not found/);
    expect(log.info.warnings.join('\n')).toMatch(/lists 126 samples, sample.json holds 1/);
    expect(log.info.streams.find((s) => s.topic === 'sample_annotation')).toMatchObject({ kind: 'labels3d', messageCount: annotations.length });
    expect(log.info.streams.find((s) => s.topic === 'ego_pose')?.kind).toBe('pose');
    const cameras = log.info.sensors.filter((s) => s.kind === 'camera');
    expect(cameras.length).toBe(sampleData.filter((d) => d.fileformat === 'jpeg').length);
    for (const c of cameras) expect([c.intrinsics?.width, c.intrinsics?.height]).toEqual([1920, 1080]);
    // Lyft's fractional microseconds survive exactly.
    const lidarTop = sampleData.find((d) => (d.filename as string).includes('lidar1'))!;
    expect(frame.stampNs).toBe(String(lidarTop.timestamp).replace('.', '') + '00');
    expect(frame.cameras).toEqual([]);
    expect(frame.lidar).toBeUndefined();
    expect(frame.warnings.filter((w) => /file missing/.test(w))).toHaveLength(sampleData.length - 2); // all but the two unread lidars
  });

  it('turns global annotations into ego-frame boxes', async () => {
    const log = await openNuscenesLog(LYFT_ROOT, options('lyft'));
    const frame = await log.readFrame(0);
    const annotations = await readTable(LYFT_TABLES, 'sample_annotation');
    expect(frame.labels3d).toHaveLength(annotations.length);
    for (const box of frame.labels3d) {
      const source = annotations.find((a) => a.token === box.id)!;
      const [w, l, h] = source.size as number[];
      expect(box.size).toEqual([l, w, h]);
      expect(box.label).toBe('car');
      expect(box.trackId).toBe(source.instance_token);
      expect(box.attributes).toMatchObject({ category: 'car', num_radar_pts: source.num_radar_pts });
      expect(box.attributes?.attribute_names).toMatch(/^object_action_/);
      // Distances are frame-independent: ego-frame centre norm = world distance to the ego.
      const t = source.translation as Vec3;
      const ego = frame.egoPose!.translation;
      expect(Math.hypot(...box.center)).toBeCloseTo(Math.hypot(t[0] - ego[0], t[1] - ego[1], t[2] - ego[2]), 6);
      expect(Math.hypot(box.center[0], box.center[1])).toBeLessThan(100);
      expect(Math.abs(box.center[2])).toBeLessThan(3); // on the road, near the ego's height
      // The box yaw and the world yaw differ by the ego's heading.
      const q = source.rotation as number[]; // w x y z
      const worldYaw = Math.atan2(2 * (q[0]! * q[3]! + q[1]! * q[2]!), 1 - 2 * (q[2]! ** 2 + q[3]! ** 2));
      const [ex, ey, ez, ew] = frame.egoPose!.rotation;
      const egoYaw = Math.atan2(2 * (ew * ez + ex * ey), 1 - 2 * (ey * ey + ez * ez));
      const diff = Math.atan2(Math.sin(box.yaw - (worldYaw - egoYaw)), Math.cos(box.yaw - (worldYaw - egoYaw)));
      expect(Math.abs(diff)).toBeLessThan(0.05); // the ego's small roll/pitch tilts it slightly
    }
  });

  it('draws the ego-driven path from the recorded ego poses, in the current ego frame', async () => {
    const log = await openNuscenesLog(LYFT_ROOT, options('lyft'));
    const frame = await log.readFrame(0);
    const sampleData = await readTable(LYFT_TABLES, 'sample_data');
    const egoPoses = await readTable(LYFT_TABLES, 'ego_pose');
    const path = frame.paths.find((p) => p.source === 'ego-driven')!;
    // One point per distinct capture time (the truncated ego_pose table gives every record the same timestamp).
    const times = new Set(sampleData.map((d) => d.timestamp));
    expect(path.points).toHaveLength(times.size);
    expect(new Set(sampleData.map((d) => d.ego_pose_token)).size).toBe(egoPoses.length);
    // The last capture is the reference's: the path ends at the ego; earlier poses lie behind it.
    path.points[path.points.length - 1]!.forEach((v) => expect(v).toBeCloseTo(0, 6));
    for (let i = 1; i < path.points.length; i++) expect(path.points[i]![0]).toBeGreaterThan(path.points[i - 1]![0]);
    for (const p of path.points) expect(Math.abs(p[1])).toBeLessThan(0.3);
    const travelled = -path.points[0]![0];
    const seconds = (Math.max(...times as Set<number>) - Math.min(...times as Set<number>)) / 1e6;
    console.log(`ego path: ${path.points.length} points, ${travelled.toFixed(2)} m in ${seconds.toFixed(3)} s`);
    expect(travelled / seconds).toBeGreaterThan(1); // moving, at a road speed
    expect(travelled / seconds).toBeLessThan(40);
  });

  it('reads the lidar file where the tables put it: points = bytes / 20, in the calibrated frame', async () => {
    const { root } = await lyftCopy('with-lidar');
    const { bytes } = await placeLidar(root);
    const log = await openNuscenesLog(root, options('lyft-lidar'));
    const frame = await log.readFrame(0);
    const lidar = frame.lidar!;
    expect(lidar.count).toBe(bytes.byteLength / 20);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(Array.from(lidar.positions.slice(0, 3))).toEqual(Array.from(values.slice(0, 3)));
    expect(lidar.fields.intensity![0]).toBe(values[3]);
    expect(lidar.fields.ring![0]).toBe(values[4]);
    // Same ego pose as the reference capture: the extrinsic is the calibration itself.
    const sensors = await readTable(join(root, 'v1.01-train'), 'sensor');
    const calibration = (await readTable(join(root, 'v1.01-train'), 'calibrated_sensor')).find(
      (c) => c.sensor_token === sensors.find((s) => s.channel === 'LIDAR_TOP')!.token,
    )!;
    lidar.extrinsic.translation.forEach((v, i) => expect(v).toBeCloseTo((calibration.translation as number[])[i]!, 9));
    const [w, x, y, z] = calibration.rotation as number[];
    const sign = Math.sign(lidar.extrinsic.rotation[3]) === Math.sign(w!) ? 1 : -1;
    lidar.extrinsic.rotation.forEach((v, i) => expect(v * sign).toBeCloseTo([x, y, z, w][i]!, 9));
    log.info.sensors.find((s) => s.id === 'LIDAR_TOP')!.extrinsic!.translation.forEach((v, i) => expect(v).toBeCloseTo(lidar.extrinsic.translation[i]!, 9));
  });

  it('expresses a camera captured at another ego pose in the frame ego (ego motion compensated)', async () => {
    const { root, tables } = await lyftCopy('with-camera');
    const [sensors, calibrated, sampleData, egoPoses] = await Promise.all(['sensor', 'calibrated_sensor', 'sample_data', 'ego_pose'].map((n) => readTable(tables, n)));
    const front = calibrated.find((c) => c.sensor_token === sensors!.find((s) => s.channel === 'CAM_FRONT')!.token)!;
    const record = sampleData!.find((d) => d.calibrated_sensor_token === front.token)!;
    // A real nuScenes JPEG stands in for the Lyft image the fixture lacks.
    const jpeg = join(fixture('mmdet3d_tests', 'nuscenes', 'samples', 'CAM_BACK_LEFT'), (await readdir(fixture('mmdet3d_tests', 'nuscenes', 'samples', 'CAM_BACK_LEFT')))[0]!);
    await mkdir(join(root, 'images'), { recursive: true });
    await copyFile(jpeg, join(root, record.filename as string));
    const frame = await (await openNuscenesLog(root, options('lyft-camera'))).readFrame(0);
    const camera = frame.cameras.find((c) => c.sensorId === 'CAM_FRONT')!;
    expect([camera.intrinsics.width, camera.intrinsics.height]).toEqual([1600, 900]);
    expect(frame.warnings.join('\n')).toMatch(/CAM_FRONT: .* is 1600x900, the tables say 1920x1080/);
    expect(camera.skewS).toBeCloseTo(((record.timestamp as number) - Number(frame.stampNs) / 1000) / 1e6, 6);
    // A world point reaches the same camera coordinates through the frame's ego and through the camera's own ego pose.
    const toPose = (t: unknown, q: unknown): Pose => {
      const [w, x, y, z] = q as number[];
      return { translation: t as Vec3, rotation: [x!, y!, z!, w!] };
    };
    const cameraEgo = egoPoses!.find((e) => e.token === record.ego_pose_token)!;
    const world: Vec3 = [430, 2700, -17];
    const viaFrame = applyPose(invertPose(camera.extrinsic), applyPose(invertPose(frame.egoPose!), world));
    const viaOwnPose = applyPose(invertPose(toPose(front.translation, front.rotation)), applyPose(invertPose(toPose(cameraEgo.translation, cameraEgo.rotation)), world));
    viaFrame.forEach((v, i) => expect(v).toBeCloseTo(viaOwnPose[i]!, 6));
    // ... which differs from using the calibration alone by the ~1 m the car moved in between.
    const calibrationOnly = applyPose(invertPose(toPose(front.translation, front.rotation)), applyPose(invertPose(frame.egoPose!), world));
    expect(Math.hypot(...calibrationOnly.map((v, i) => v - viaFrame[i]!))).toBeGreaterThan(0.5);
  });

  it('keeps whole points of a truncated file and drops NaN points, with warnings', async () => {
    const { root } = await lyftCopy('bad-lidar');
    const { path } = await placeLidar(root, (b) => {
      const copy = Buffer.concat([b, Buffer.from([1, 2, 3])]);
      copy.writeFloatLE(NaN, 20); // point 1's x
      return copy;
    });
    const frame = await (await openNuscenesLog(root, options('lyft-bad'))).readFrame(0);
    expect(frame.lidar!.count).toBe(4);
    const text = frame.warnings.join('\n');
    expect(text).toContain(`${path} is 103 bytes, not a multiple of 20: read 5 whole points, ignored 3 trailing bytes`);
    expect(text).toContain('dropped 1 points with NaN or infinite coordinates');
    await unlink(path);
    const missing = await (await openNuscenesLog(root, options('lyft-bad'))).readFrame(0);
    expect(missing.lidar).toBeUndefined();
    expect(missing.warnings).toContain(`LIDAR_TOP: file missing: ${path}`);
    expect(missing.labels3d).toHaveLength(4);
  });

  it('names a missing table, a malformed table and an unknown reference sensor', async () => {
    const { root: noPoses, tables } = await lyftCopy('no-ego-pose', (dir) => unlink(join(dir, 'ego_pose.json')));
    const error = await openNuscenesLog(noPoses, options('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogError);
    expect((error as LogError).message).toMatch(/missing nuScenes table ego_pose\.json/);
    expect((error as LogError).where.path).toBe(join(tables, 'ego_pose.json'));

    const { root: broken, tables: brokenTables } = await lyftCopy('malformed', async (dir) => {
      // Pretty-printed (so lines mean something), with record 3's fileformat value deleted.
      const text = JSON.stringify(await readTable(dir, 'sample_data'), null, 1);
      const at = text.indexOf('"fileformat": "bin"');
      await writeFile(join(dir, 'sample_data.json'), text.slice(0, at) + '"fileformat": ,' + text.slice(at + '"fileformat": "bin",'.length));
    });
    const malformed = (await openNuscenesLog(broken, options('x')).catch((e: unknown) => e)) as LogError;
    expect(malformed).toBeInstanceOf(LogError);
    expect(malformed.where.path).toBe(join(brokenTables, 'sample_data.json'));
    expect(malformed.message).toMatch(/sample_data\.json: malformed JSON in record 3 at byte \d+ \(line \d+\)/);
    const text = await readFile(join(brokenTables, 'sample_data.json'), 'utf8');
    expect(text.slice(0, malformed.where.offset).split('\n').length).toBe(malformed.where.line); // offset and line agree

    await expect(openNuscenesLog(LYFT_ROOT, options('x', 'RADAR_X'))).rejects.toThrow(/RADAR_X.*LIDAR_TOP.*CAM_FRONT_ZOOMED/);
  });

  it('orders several scenes by time and keeps each ego path within its scene', async () => {
    const shiftUs = -3e6; // scene B: the same captures 3 s earlier, so it comes first
    const { root } = await lyftCopy('two-scenes', async (dir) => {
      const edit = async (name: string, change: (rows: Json[]) => Json[]) => writeFile(join(dir, `${name}.json`), JSON.stringify(change(await readTable(dir, name))));
      await edit('scene', (rows) => [...rows, { ...rows[0], token: 'scene-b', name: 'scene-B', nbr_samples: 1 }]);
      await edit('sample', (rows) => [...rows, { ...rows[0], token: 'sample-b', scene_token: 'scene-b', timestamp: (rows[0]!.timestamp as number) + shiftUs }]);
      await edit('sample_data', (rows) => [
        ...rows,
        ...rows.map((r) => ({ ...r, token: `${r.token as string}-b`, sample_token: 'sample-b', timestamp: (r.timestamp as number) + shiftUs })),
      ]);
    });
    const log = await openNuscenesLog(root, options('two'));
    expect(log.frames).toHaveLength(2);
    expect(BigInt(log.frames[1]!.stampNs) - BigInt(log.frames[0]!.stampNs)).toBe(3_000_000_000n);
    expect(log.frames[1]!.timeS).toBeCloseTo(3, 9);
    expect(log.info.name).toBe('v1.01-train (2 scenes)');
    expect(log.info.warnings.join('\n')).toMatch(/2 scenes, in time order: scene-B, host-a101/);
    const [first, second] = [await log.readFrame(0), await log.readFrame(1)];
    expect(first.labels3d).toHaveLength(0); // scene B has no annotations
    expect(second.labels3d).toHaveLength(4);
    // Scene B's poses are 3 s away (inside the ±5 s window) but belong to another scene.
    expect(second.paths[0]!.points).toHaveLength(first.paths[0]!.points.length);
    expect(second.paths[0]!.points.every((p) => Math.hypot(...p) < 5)).toBe(true);
  });

  it('opens without label detail tables, warning instead', async () => {
    const { root } = await lyftCopy('no-category', (dir) => unlink(join(dir, 'category.json')));
    const log = await openNuscenesLog(root, options('no-category'));
    expect(log.info.warnings.join('\n')).toMatch(/category\.json missing/);
    const frame = await log.readFrame(0);
    expect(frame.labels3d.map((b) => b.label)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
  });

  it('streams large tables record by record with the same result as a whole parse', async () => {
    for (const file of await readdir(LYFT_TABLES)) {
      const whole: unknown[] = [];
      const streamed: unknown[] = [];
      await forEachTableRecord(join(LYFT_TABLES, file), (r) => whole.push(r));
      await forEachTableRecord(join(LYFT_TABLES, file), (r) => streamed.push(r), { wholeParseLimit: 0, chunkBytes: 7 });
      expect(streamed, basename(file)).toEqual(whole);
      expect(whole).toEqual(await readTable(LYFT_TABLES, basename(file, '.json')));
    }
    const truncated = join(work, 'truncated.json');
    const text = await readFile(join(LYFT_TABLES, 'sample_annotation.json'), 'utf8');
    await writeFile(truncated, text.slice(0, 1500));
    await expect(forEachTableRecord(truncated, () => undefined, { wholeParseLimit: 0, chunkBytes: 64 })).rejects.toThrow(/truncated\.json: the table ends before its closing/);
    await expect(forEachTableRecord(truncated, () => undefined)).rejects.toThrow(/truncated\.json/);
  });
});
