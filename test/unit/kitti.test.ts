// KITTI reader on the real fixtures (object, raw, mmdet3d's truncated layout) and on small layouts
// built in a temp folder from the real files (tracking, raw with timestamps/oxts, bad input).
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogError } from '../../src/logs/errors.js';
import { pointInBox, projectBoxToRect, projectEgoPoint, rectIoU } from '../../src/logs/geometry.js';
import { detectKittiLayout, openKittiLog, parseKittiTimestamp } from '../../src/logs/kitti/index.js';
import type { Box3D, Vec3 } from '../../src/logs/model.js';
import { rotateVector } from '../../src/logs/transforms.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`kitti tests skipped: ${fixturesSkipReason}`);

const options = { logId: 'kitti-test', fingerprint: 'test' };
const OBJECT_DIRS = ['kitti_object_vis/training', 'kitti_object_extra/training'];
const RAW_DIR = 'kitti_raw_2011_09_26_sfnd';
const BOX_CLASSES = new Set(['Car', 'Van', 'Truck', 'Pedestrian', 'Cyclist']);

/** Width and height straight from the PNG's IHDR, independently of the reader. */
async function pngDims(path: string): Promise<{ width: number; height: number }> {
  const bytes = await readFile(path);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Whole points in a .bin whose four floats are all finite. */
async function finitePoints(path: string): Promise<number> {
  const bytes = await readFile(path);
  let count = 0;
  for (let o = 0; o + 16 <= bytes.length; o += 16) {
    if ([0, 4, 8, 12].every((k) => Number.isFinite(bytes.readFloatLE(o + k)))) count++;
  }
  return count;
}

async function stems(dir: string, ext: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(ext)).map((n) => n.slice(0, -ext.length)).sort();
}

function pointsInBox(box: Box3D, positions: Float32Array, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (pointInBox(box, [positions[3 * i]!, positions[3 * i + 1]!, positions[3 * i + 2]!])) n++;
  return n;
}

const wrapAngle = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
const expectClose = (a: readonly number[], b: readonly number[], tol: number) => a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(tol));

describe.skipIf(!hasFixtures)('KITTI reader on the fixtures', () => {
  it('detects each layout from listings, and rejects non-KITTI folders', async () => {
    expect((await detectKittiLayout(fixture('kitti_object_vis')))?.kind).toBe('object'); // parent of training/
    expect((await detectKittiLayout(fixture('kitti_object_vis')))?.root).toBe(fixture('kitti_object_vis', 'training'));
    expect((await detectKittiLayout(fixture('kitti_object_extra', 'training')))?.kind).toBe('object');
    expect((await detectKittiLayout(fixture(RAW_DIR)))?.kind).toBe('raw');
    const raw = await detectKittiLayout(fixture(RAW_DIR));
    expect(raw?.kind === 'raw' && raw.calib).toEqual({
      camToCam: fixture(RAW_DIR, 'calib', 'calib_cam_to_cam.txt'),
      veloToCam: fixture(RAW_DIR, 'calib', 'calib_velo_to_cam.txt'),
      imuToVelo: undefined,
    });
    // mmdet3d's truncated KITTI sample: image_2 + velodyne, no calib or labels: still the object layout.
    expect((await detectKittiLayout(fixture('mmdet3d_tests', 'kitti')))?.kind).toBe('object');
    // Waymo's KITTI-style export (6 floats per point) and plain folders are not KITTI.
    expect(await detectKittiLayout(fixture('mmdet3d_tests', 'waymo', 'kitti_format'))).toBeUndefined();
    expect(await detectKittiLayout(fixture('mmdet3d_tests'))).toBeUndefined();
    expect(await detectKittiLayout(fixture('pointpillars_demo'))).toBeUndefined();
    expect(await detectKittiLayout(fixture('does-not-exist'))).toBeUndefined();
  });

  it.each([...OBJECT_DIRS, RAW_DIR, 'mmdet3d_tests/kitti/training'])('opens %s: one frame per scan, exact point counts and image sizes', async (dir) => {
    const root = fixture(...dir.split('/'));
    const started = performance.now();
    const log = await openKittiLog(root, options);
    const openMs = performance.now() - started;
    const isRaw = dir === RAW_DIR;
    const lidarDir = isRaw ? join(root, 'velodyne_points', 'data') : join(root, 'velodyne');
    const imageDir = isRaw ? join(root, 'image_02', 'data') : join(root, 'image_2');
    const scans = await stems(lidarDir, '.bin');
    expect(log.info.format).toBe('kitti');
    expect(log.info.referenceSensor).toBe('velodyne');
    expect(log.frames.length).toBe(scans.length);
    expect(log.info.frameCount).toBe(scans.length);
    expect(log.info.streams.find((s) => s.kind === 'lidar')?.messageCount).toBe(scans.length);
    const images = await stems(imageDir, '.png');
    expect(log.info.streams.find((s) => s.kind === 'camera')?.messageCount).toBe(images.length);
    const calibrated = !dir.startsWith('mmdet3d');
    const lines: string[] = [];
    for (const frame of log.frames) {
      const data = await log.readFrame(frame.index);
      const scan = join(lidarDir, `${scans[frame.index]}.bin`);
      expect(data.id).toBe(`${options.logId}:${frame.stampNs}`);
      expect(data.lidar?.count).toBe(await finitePoints(scan));
      expect(data.lidar?.positions.length).toBe(3 * data.lidar!.count);
      expect(data.lidar?.fields.intensity?.length).toBe(data.lidar!.count);
      expect(data.lidar?.extrinsic).toEqual({ translation: [0, 0, 0], rotation: [0, 0, 0, 1] });
      if (calibrated) {
        const png = join(imageDir, `${scans[frame.index]}.png`);
        expect(data.cameras).toHaveLength(1);
        const camera = data.cameras[0]!;
        expect(camera.format).toBe('png');
        expect(camera.data.byteLength).toBe((await readFile(png)).length);
        const dims = await pngDims(png);
        expect([camera.intrinsics.width, camera.intrinsics.height]).toEqual([dims.width, dims.height]);
        expect(camera.intrinsics.K).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10].map((k) => camera.intrinsics.P[k]));
        // The optical axis (camera +z) looks along ego +x; camera +x (right) is ego −y.
        expectClose(rotateVector(camera.extrinsic.rotation, [0, 0, 1]), [1, 0, 0], 0.03);
        expectClose(rotateVector(camera.extrinsic.rotation, [1, 0, 0]), [0, -1, 0], 0.03);
      } else {
        expect(data.cameras).toHaveLength(0);
      }
      lines.push(`${scans[frame.index]}: ${data.lidar?.count} points, ${data.cameras.map((c) => `${c.intrinsics.width}x${c.intrinsics.height}`).join(' ') || 'no camera'}`);
    }
    if (!calibrated) expect(log.info.warnings.some((w) => w.includes('no calib/'))).toBe(true);
    if (!isRaw) expect(log.info.warnings.some((w) => /synthetic/.test(w))).toBe(true);
    console.log(`${dir}: open ${openMs.toFixed(1)} ms; ${lines.join('; ')}`);
    await log.close();
  });

  it('every Car/Van/Truck/Pedestrian/Cyclist box holds lidar points, and its yaw is −rotation_y − π/2', async () => {
    const report: string[] = [];
    let checked = 0;
    let expected = 0;
    for (const dir of OBJECT_DIRS) {
      const root = fixture(...dir.split('/'));
      for (const stem of await stems(join(root, 'label_2'), '.txt')) {
        const text = await readFile(join(root, 'label_2', `${stem}.txt`), 'utf8');
        expected += text.split('\n').filter((l) => BOX_CLASSES.has(l.split(' ')[0]!)).length;
      }
      const log = await openKittiLog(root, options);
      for (const frame of log.frames) {
        const data = await log.readFrame(frame.index);
        const name = data.labels3d[0]?.id.split(':')[0];
        const text = await readFile(join(root, 'label_2', `${name}.txt`), 'utf8').catch(() => '');
        for (const box of data.labels3d.filter((b) => BOX_CLASSES.has(b.label))) {
          const n = pointsInBox(box, data.lidar!.positions, data.lidar!.count);
          report.push(`${box.id} ${box.label} ${n}`);
          expect(n, `${dir} ${box.id} ${box.label}`).toBeGreaterThan(0);
          const rotationY = Number(text.split('\n')[Number(box.id.split(':')[1]) - 1]!.trim().split(/\s+/)[14]);
          expect(Math.abs(wrapAngle(box.yaw - (-rotationY - Math.PI / 2)))).toBeLessThan(0.03);
          expect(box.attributes).toHaveProperty('occluded');
          checked++;
        }
      }
      await log.close();
    }
    console.log(`lidar points inside each labelled box: ${report.join(', ')}`);
    expect(checked).toBe(expected);
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it('projected 3D boxes of clear cars match their own 2D boxes (IoU ≥ 0.7)', async () => {
    const ious: string[] = [];
    for (const dir of OBJECT_DIRS) {
      const log = await openKittiLog(fixture(...dir.split('/')), options);
      for (const frame of log.frames) {
        const data = await log.readFrame(frame.index, { lidar: false });
        expect(data.lidar).toBeUndefined();
        const camera = data.cameras.find((c) => c.sensorId === 'image_2')!;
        for (const box of data.labels3d) {
          if (box.label !== 'Car' || box.attributes?.occluded !== 0 || Number(box.attributes?.truncated) >= 0.15) continue;
          const label = data.labels2d.find((b) => b.id === box.id)!;
          expect(label.sensorId).toBe('image_2');
          const projected = projectBoxToRect(box, camera.intrinsics, camera.extrinsic);
          expect(projected).toBeDefined();
          const clipped = { x1: Math.max(0, label.x1), y1: Math.max(0, label.y1), x2: Math.min(camera.intrinsics.width, label.x2), y2: Math.min(camera.intrinsics.height, label.y2) };
          const iou = rectIoU(projected!, clipped);
          ious.push(`${box.id} ${iou.toFixed(3)}`);
          expect(iou, `${dir} ${box.id}`).toBeGreaterThanOrEqual(0.7);
        }
      }
      await log.close();
    }
    console.log(`car 3D-box projection IoU vs label bbox: ${ious.join(', ')}`);
    expect(ious.length).toBeGreaterThanOrEqual(4);
  });

  it('DontCare regions are ignored 2D boxes without 3D boxes; labelCount skips them', async () => {
    const root = fixture('kitti_object_vis', 'training');
    const log = await openKittiLog(root, options);
    let nonDontCare = 0;
    for (const stem of await stems(join(root, 'label_2'), '.txt')) {
      const text = await readFile(join(root, 'label_2', `${stem}.txt`), 'utf8');
      nonDontCare += text.split('\n').filter((l) => l.trim() && !l.startsWith('DontCare')).length;
    }
    expect(log.info.labelCount).toBe(nonDontCare);
    const data = await log.readFrame(1, { lidar: false, cameras: false });
    const dontCare = data.labels2d.filter((b) => b.label === 'DontCare');
    expect(dontCare.length).toBeGreaterThan(0);
    expect(dontCare.every((b) => b.ignore === true)).toBe(true);
    expect(data.labels3d.some((b) => b.label === 'DontCare')).toBe(false);
    expect(data.labels2d.length - dontCare.length).toBe(data.labels3d.length);
    expect(data.cameras).toHaveLength(0);
    await log.close();
  });

  it('raw drive: 10 frames of ~114k points whose forward points land in the image', async () => {
    const log = await openKittiLog(fixture(RAW_DIR), options);
    expect(log.frames).toHaveLength(10);
    expect(log.info.warnings.some((w) => w.includes('timestamps.txt not found'))).toBe(true);
    expect(log.info.warnings.some((w) => w.includes('No oxts/'))).toBe(true);
    const fractions: string[] = [];
    for (const frame of log.frames) {
      const data = await log.readFrame(frame.index);
      expect(data.lidar!.count).toBeGreaterThan(100_000);
      expect(data.lidar!.count).toBeLessThan(130_000);
      expect(data.egoPose).toBeUndefined();
      const camera = data.cameras[0]!;
      const { width, height } = camera.intrinsics;
      const p = data.lidar!.positions;
      // Points 10+ m ahead within ±26° of straight ahead are well inside the camera's 81° x 29° view.
      let ahead = 0;
      let inside = 0;
      for (let i = 0; i < data.lidar!.count; i++) {
        const pt: Vec3 = [p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!];
        if (pt[0] < 10 || Math.abs(pt[1]) > 0.5 * pt[0]) continue;
        ahead++;
        const px = projectEgoPoint(camera.intrinsics, camera.extrinsic, pt);
        if (px && px[0] >= 0 && px[0] < width && px[1] >= 0 && px[1] < height) inside++;
      }
      fractions.push((inside / ahead).toFixed(3));
      expect(ahead).toBeGreaterThan(1000);
      expect(inside / ahead).toBeGreaterThan(0.9);
    }
    console.log(`raw: fraction of forward lidar points projecting inside image_02, per frame: ${fractions.join(' ')}`);
    await log.close();
  });

  it('reference sensor: velodyne by default, image_2 on request, unknown names listed in the error', async () => {
    const root = fixture('kitti_object_vis', 'training');
    const byImage = await openKittiLog(root, { ...options, referenceSensor: 'image_2' });
    expect(byImage.info.referenceSensor).toBe('image_2');
    expect(byImage.frames).toHaveLength((await stems(join(root, 'image_2'), '.png')).length);
    const error = await openKittiLog(root, { ...options, referenceSensor: 'lidar_top' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogError);
    expect((error as LogError).message).toMatch(/lidar_top.*velodyne, image_2/);
    const raw = await openKittiLog(fixture(RAW_DIR), { ...options, referenceSensor: 'image_2' }); // alias of image_02
    expect(raw.info.referenceSensor).toBe('image_02');
  });

  it('reads a full 120k-point frame quickly (timing printed)', async () => {
    const started = performance.now();
    const log = await openKittiLog(fixture('kitti_object_vis', 'training'), options);
    const openMs = performance.now() - started;
    await log.readFrame(1); // warm up the JIT and the page cache: measure steady-state reads
    const timings: Record<string, number> = {};
    for (const [name, include] of [
      ['points only', { cameras: false }],
      ['points + image', {}],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const data = await log.readFrame(1, include);
        times.push(performance.now() - t);
        expect(data.lidar!.count).toBe(120_268);
      }
      timings[name] = times.sort((a, b) => a - b)[2]!;
    }
    console.log(`kitti_object_vis open ${openMs.toFixed(1)} ms; readFrame(000001, 120,268 points) median: ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`);
    expect(timings['points only']).toBeLessThan(500);
  });
});

describe('KITTI timestamps', () => {
  it('parses raw timestamps.txt lines exactly to UTC nanoseconds', () => {
    // 2011-09-26 13:02:25 UTC is 1317042145 s (calendar.timegm); the fraction is kept to the nanosecond.
    expect(parseKittiTimestamp('2011-09-26 13:02:25.964389445')).toBe(1317042145964389445n);
    expect(parseKittiTimestamp('2011-09-26 13:02:25.9')).toBe(1317042145900000000n);
    expect(parseKittiTimestamp('2011-09-26 13:02:25')).toBe(1317042145000000000n);
    expect(parseKittiTimestamp('26/09/2011 13:02')).toBeUndefined();
  });
});

/** Builds layouts in a temp folder from the real fixture files. */
describe.skipIf(!hasFixtures)('KITTI layouts built from the real files', () => {
  let tmp = '';
  const rawCalib = (name: string) => readFile(fixture(RAW_DIR, 'calib', name), 'utf8');
  const rawFrame = (n: number, kind: 'png' | 'bin') =>
    kind === 'png' ? fixture(RAW_DIR, 'image_02', 'data', `${String(n).padStart(10, '0')}.png`) : fixture(RAW_DIR, 'velodyne_points', 'data', `${String(n).padStart(10, '0')}.bin`);
  /** The standard 2011_09_26 Tr_imu_to_velo, taken from the object calib (same drive day). */
  const imuToVelo = async () => {
    const line = (await readFile(fixture('kitti_object_vis', 'training', 'calib', '000000.txt'), 'utf8')).split('\n').find((l) => l.startsWith('Tr_imu_to_velo'))!;
    return line.split(':')[1]!.trim().split(/\s+/).map(Number);
  };
  const field = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}:`))!.split(':').slice(1).join(':').trim();
  /** OXTS lines moving north 1 m per frame, heading north (yaw = π/2: 0 is east). 30 fields each. */
  const oxtsLines = (n: number) => {
    const lat0 = 49.011;
    const degPerMetre = 180 / (Math.PI * 6378137); // Mercator scale cancels cos(lat0) at the start
    return Array.from({ length: n }, (_, k) => [lat0 + k * degPerMetre, 8.4167, 112.5, 0, 0, Math.PI / 2, ...new Array<number>(24).fill(0)].join(' '));
  };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'sightline-kitti-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('tracking: sequence chosen from the path, track ids, OXTS poses 1 m apart and the driven path', async () => {
    const root = join(tmp, 'tracking');
    const train = join(root, 'training');
    for (const seq of ['0000', '0001']) {
      await mkdir(join(train, 'image_02', seq), { recursive: true });
      await mkdir(join(train, 'velodyne', seq), { recursive: true });
    }
    for (const folder of ['calib', 'label_02', 'oxts']) await mkdir(join(train, folder), { recursive: true });
    for (let n = 0; n < 3; n++) {
      await copyFile(rawFrame(n, 'png'), join(train, 'image_02', '0000', `${String(n).padStart(6, '0')}.png`));
      await copyFile(rawFrame(n, 'bin'), join(train, 'velodyne', '0000', `${String(n).padStart(6, '0')}.bin`));
    }
    await copyFile(rawFrame(5, 'png'), join(train, 'image_02', '0001', '000000.png'));
    await copyFile(rawFrame(5, 'bin'), join(train, 'velodyne', '0001', '000000.bin'));
    // Tracking calib in its official spelling: "P2:" with a colon, "R_rect"/"Tr_velo_cam"/"Tr_imu_velo" without.
    const camToCam = await rawCalib('calib_cam_to_cam.txt');
    const veloToCam = await rawCalib('calib_velo_to_cam.txt');
    const R = field(veloToCam, 'R').split(/\s+/);
    const T = field(veloToCam, 'T').split(/\s+/);
    const calib = [
      ...[0, 1, 2, 3].map((n) => `P${n}: ${field(camToCam, `P_rect_0${n}`)}`),
      `R_rect ${field(camToCam, 'R_rect_00')}`,
      `Tr_velo_cam ${[R[0], R[1], R[2], T[0], R[3], R[4], R[5], T[1], R[6], R[7], R[8], T[2]].join(' ')}`,
      `Tr_imu_velo ${(await imuToVelo()).join(' ')}`,
    ].join('\n');
    for (const seq of ['0000', '0001']) await writeFile(join(train, 'calib', `${seq}.txt`), `${calib}\n`);
    // Two tracks over three frames, plus a DontCare region (track id -1).
    const labels: string[] = [];
    for (let f = 0; f < 3; f++) {
      labels.push(`${f} 0 Car 0 0 -1.58 ${590 + f} 170 660 215 1.5 1.6 3.9 0.5 1.7 ${15 - f} -1.57`);
      labels.push(`${f} 1 Pedestrian 0 1 0.2 ${300 + f} 160 330 230 1.8 0.6 0.9 -6 1.6 ${18 + f} 0.1`);
      labels.push(`${f} -1 DontCare -1 -1 -10 800 160 840 180 -1 -1 -1 -1000 -1000 -1000 -10`);
    }
    await writeFile(join(train, 'label_02', '0000.txt'), `${labels.join('\n')}\n`);
    await writeFile(join(train, 'oxts', '0000.txt'), `${oxtsLines(3).join('\n')}\n`);

    const layout = await detectKittiLayout(root);
    expect(layout?.kind === 'tracking' && [layout.sequence, layout.sequences]).toEqual(['0000', ['0000', '0001']]);
    const log = await openKittiLog(root, options);
    expect(log.info.warnings.some((w) => w.includes('2 tracking sequences') && w.includes('opened 0000'))).toBe(true);
    expect(log.info.warnings.some((w) => w.includes('no timestamps'))).toBe(true);
    expect(log.frames).toHaveLength(3);
    expect(log.info.labelCount).toBe(6);
    expect(log.info.streams.find((s) => s.kind === 'pose')?.messageCount).toBe(3);
    const frames = await Promise.all(log.frames.map((f) => log.readFrame(f.index)));
    for (const [f, data] of frames.entries()) {
      expect(data.labels3d.map((b) => [b.label, b.trackId])).toEqual([
        ['Car', '0'],
        ['Pedestrian', '1'],
      ]);
      expect(data.labels2d.map((b) => [b.label, b.trackId, b.ignore ?? false, b.sensorId])).toEqual([
        ['Car', '0', false, 'image_02'],
        ['Pedestrian', '1', false, 'image_02'],
        ['DontCare', undefined, true, 'image_02'],
      ]);
      expect(data.labels2d[0]!.x1).toBe(590 + f);
      expect(data.cameras[0]!.sensorId).toBe('image_02');
      expect(data.egoPose).toBeDefined();
    }
    // 1 m north per frame; the ego (velodyne) x axis points north too.
    for (let f = 1; f < 3; f++) {
      const a = frames[f - 1]!.egoPose!.translation;
      const b = frames[f]!.egoPose!.translation;
      expectClose([b[0] - a[0], b[1] - a[1], b[2] - a[2]], [0, 1, 0], 0.01);
    }
    expectClose(rotateVector(frames[1]!.egoPose!.rotation, [1, 0, 0]), [0, 1, 0], 0.03);
    expect(Math.hypot(...frames[0]!.egoPose!.translation)).toBeLessThan(2); // relative to the first pose
    const path = frames[1]!.paths[0]!;
    expect(path.source).toBe('ego-driven');
    expect(path.points).toHaveLength(3);
    expectClose(path.points[0]!, [-1, 0, 0], 0.05);
    expectClose(path.points[1]!, [0, 0, 0], 1e-9);
    expectClose(path.points[2]!, [1, 0, 0], 0.05);
    console.log(`tracking: ego steps ${frames.slice(1).map((f, i) => Math.hypot(...f.egoPose!.translation.map((v, k) => v - frames[i]!.egoPose!.translation[k]!)).toFixed(4)).join(', ')} m; path at frame 1: ${path.points.map((p) => `(${p.map((v) => v.toFixed(3)).join(', ')})`).join(' ')}`);
    await log.close();

    // A sequence's own folder opens that sequence.
    const second = await openKittiLog(join(train, 'velodyne', '0001'), options);
    expect(second.info.name).toContain('0001');
    expect(second.frames).toHaveLength(1);
    expect((await second.readFrame(0)).lidar!.count).toBe(await finitePoints(rawFrame(5, 'bin')));
    expect(second.info.warnings.some((w) => w.includes('No oxts/0001.txt'))).toBe(true);
  });

  it('raw drive in the official layout: calib in the date folder, exact timestamps, skew, sorting, OXTS', async () => {
    const date = join(tmp, '2011_09_26');
    const drive = join(date, '2011_09_26_drive_0001_sync');
    for (const d of ['image_02/data', 'velodyne_points/data', 'oxts/data']) await mkdir(join(drive, d), { recursive: true });
    await copyFile(fixture(RAW_DIR, 'calib', 'calib_cam_to_cam.txt'), join(date, 'calib_cam_to_cam.txt'));
    await copyFile(fixture(RAW_DIR, 'calib', 'calib_velo_to_cam.txt'), join(date, 'calib_velo_to_cam.txt'));
    const imu = await imuToVelo();
    await writeFile(join(date, 'calib_imu_to_velo.txt'), `calib_time: 25-May-2012 16:47:16\nR: ${[0, 1, 2, 4, 5, 6, 8, 9, 10].map((k) => imu[k]).join(' ')}\nT: ${[3, 7, 11].map((k) => imu[k]).join(' ')}\n`);
    const oxts = oxtsLines(3);
    for (let n = 0; n < 3; n++) {
      const name = String(n).padStart(10, '0');
      await copyFile(rawFrame(n, 'png'), join(drive, 'image_02', 'data', `${name}.png`));
      await copyFile(rawFrame(n, 'bin'), join(drive, 'velodyne_points', 'data', `${name}.bin`));
      await writeFile(join(drive, 'oxts', 'data', `${name}.txt`), `${oxts[n]}\n`);
    }
    // Scans 1 and 2 are listed out of time order; each camera frame is 5 ms after its scan.
    await writeFile(join(drive, 'velodyne_points', 'timestamps.txt'), '2011-09-26 13:02:25.964389445\n2011-09-26 13:02:26.164389445\n2011-09-26 13:02:26.064389445\n');
    await writeFile(join(drive, 'image_02', 'timestamps.txt'), '2011-09-26 13:02:25.969389445\n2011-09-26 13:02:26.169389445\n2011-09-26 13:02:26.069389445\n');

    const layout = await detectKittiLayout(drive);
    expect(layout?.kind === 'raw' && layout.calib.imuToVelo).toBe(join(date, 'calib_imu_to_velo.txt'));
    const log = await openKittiLog(drive, options);
    expect(log.frames.map((f) => f.stampNs)).toEqual(['1317042145964389445', '1317042146064389445', '1317042146164389445']);
    expect(log.info.warnings.some((w) => w.includes('not monotonic'))).toBe(true);
    expect(log.info.startNs).toBe('1317042145964389445');
    expect(log.info.durationS).toBeCloseTo(0.2, 9);
    const middle = await log.readFrame(1);
    // Frame 1 in time is file 0000000002.
    expect(middle.lidar!.count).toBe(await finitePoints(rawFrame(2, 'bin')));
    expect(middle.cameras[0]!.stampNs).toBe('1317042146069389445');
    expect(middle.cameras[0]!.skewS).toBeCloseTo(0.005, 9);
    expect(middle.egoPose).toBeDefined();
    expect(middle.paths[0]!.points).toHaveLength(3);
    // In time order the files are 0, 2, 1 (0, 2 and 1 m north): seen from the middle one, both others are behind.
    expectClose(middle.paths[0]!.points[0]!, [-2, 0, 0], 0.06);
    expectClose(middle.paths[0]!.points[2]!, [-1, 0, 0], 0.05);
    await log.close();
  });

  describe('bad input', () => {
    let objectRoot = '';
    beforeAll(async () => {
      objectRoot = join(tmp, 'object', 'training');
      const source = fixture('kitti_object_vis', 'training');
      for (const folder of ['image_2', 'velodyne', 'calib', 'label_2']) {
        await mkdir(join(objectRoot, folder), { recursive: true });
        for (const name of await readdir(join(source, folder))) await copyFile(join(source, folder, name), join(objectRoot, folder, name));
      }
    });

    it('a malformed calib line fails only its frame, naming the file and line', async () => {
      const calibPath = join(objectRoot, 'calib', '000001.txt');
      const lines = (await readFile(calibPath, 'utf8')).split('\n');
      lines[2] = 'P2: 7.2e+02 0 6.0e+02 oops';
      await writeFile(calibPath, lines.join('\n'));
      const log = await openKittiLog(objectRoot, options);
      const error = await log.readFrame(1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LogError);
      expect((error as LogError).where).toMatchObject({ path: calibPath, line: 3 });
      expect((error as LogError).message).toContain('000001.txt line 3');
      expect((await log.readFrame(0)).cameras).toHaveLength(1);
      expect((await log.readFrame(2)).labels3d.length).toBeGreaterThan(0);
      await expect(log.readFrame(1)).rejects.toThrow(/line 3/); // cached, still the same clear error
      await log.close();
      await copyFile(fixture('kitti_object_vis', 'training', 'calib', '000001.txt'), calibPath);
    });

    it('a .bin that is not whole points is read up to the last whole point, with a warning', async () => {
      const binPath = join(objectRoot, 'velodyne', '000002.bin');
      const original = await readFile(binPath);
      await writeFile(binPath, Buffer.concat([original, Buffer.from([1, 2, 3, 4, 5, 6, 7])]));
      const log = await openKittiLog(objectRoot, options);
      const data = await log.readFrame(2);
      expect(data.lidar!.count).toBe(original.length / 16);
      const warning = data.warnings.find((w) => w.includes('not a multiple of 16'));
      expect(warning).toContain(binPath);
      expect(warning).toContain(String(original.length + 7));
      await log.close();
      await writeFile(binPath, original);
    });

    it('a malformed label line becomes a warning naming file and line; the other labels stay', async () => {
      const labelPath = join(objectRoot, 'label_2', '000001.txt');
      const original = await readFile(labelPath, 'utf8');
      const lines = original.split('\n');
      lines[1] = 'Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87'; // cut short
      await writeFile(labelPath, lines.join('\n'));
      const log = await openKittiLog(objectRoot, options);
      const data = await log.readFrame(1, { lidar: false, cameras: false });
      expect(data.warnings.some((w) => w.includes(`${labelPath} line 2`))).toBe(true);
      expect(data.labels3d.map((b) => b.id)).toEqual(['000001:1', '000001:3']);
      await log.close();
      await writeFile(labelPath, original);
    });

    it('NaN and infinite points are dropped and counted', async () => {
      const binPath = join(objectRoot, 'velodyne', '000000.bin');
      const original = await readFile(binPath);
      const broken = Buffer.from(original);
      const poisoned = [0, 7, 100, 101, 5000, 90_000];
      const values = [NaN, Infinity, -Infinity, NaN, NaN, Infinity];
      poisoned.forEach((p, i) => broken.writeFloatLE(values[i]!, p * 16 + (i % 4) * 4)); // x, y, z or reflectance
      await writeFile(binPath, broken);
      const log = await openKittiLog(objectRoot, options);
      const data = await log.readFrame(0);
      expect(data.lidar!.count).toBe(original.length / 16 - poisoned.length);
      expect(data.lidar!.positions.every((v) => Number.isFinite(v))).toBe(true);
      expect(data.lidar!.fields.intensity!.every((v) => Number.isFinite(v))).toBe(true);
      // The first kept point is the original point 1 (point 0 was dropped).
      expect(data.lidar!.positions[0]).toBe(original.readFloatLE(16));
      expect(data.warnings.some((w) => w.includes(`dropped ${poisoned.length} of ${original.length / 16}`))).toBe(true);
      await log.close();
      await writeFile(binPath, original);
    });

    it('without velodyne/ the log is camera-only, with a warning; with no data at all, a clear error', async () => {
      const cameraOnly = join(tmp, 'camera-only');
      for (const folder of ['image_2', 'calib', 'label_2']) {
        await mkdir(join(cameraOnly, folder), { recursive: true });
        for (const name of await readdir(join(objectRoot, folder))) await copyFile(join(objectRoot, folder, name), join(cameraOnly, folder, name));
      }
      const log = await openKittiLog(cameraOnly, options);
      expect(log.info.referenceSensor).toBe('image_2');
      expect(log.info.warnings.some((w) => w.includes('camera-only'))).toBe(true);
      expect(log.info.sensors.map((s) => s.id)).toEqual(['image_2']);
      const data = await log.readFrame(1);
      expect(data.lidar).toBeUndefined();
      expect(data.cameras).toHaveLength(1);
      expect(data.labels3d.length).toBeGreaterThan(0);
      await log.close();

      const hollow = join(tmp, 'hollow');
      for (const folder of ['image_2', 'velodyne', 'calib']) await mkdir(join(hollow, folder), { recursive: true });
      expect((await detectKittiLayout(hollow))?.kind).toBe('object');
      await expect(openKittiLog(hollow, options)).rejects.toThrow(/no readable KITTI frames/);
    });

    it('an empty or unrelated folder is not KITTI', async () => {
      const empty = join(tmp, 'empty');
      await mkdir(empty, { recursive: true });
      expect(await detectKittiLayout(empty)).toBeUndefined();
      const error = await openKittiLog(empty, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LogError);
      expect((error as LogError).message).toContain(`${basename(empty)} is not a KITTI folder`);
    });
  });
});
