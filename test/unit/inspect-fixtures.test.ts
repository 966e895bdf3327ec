// Every drive-log fixture through `inspect` (the same open path the app uses): frame and stream
// counts, and frame N's point count and image size checked against the files themselves.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inspectLog } from '../../src/logs/inspect.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../src/logs/open.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

const run = promisify(execFile);

interface Expectation {
  path: string[];
  format: string;
  frames: number;
  /** Streams the log must list (topic or folder). */
  streams?: string[];
  cameras?: number;
  /** Frame index to read, with the file its points come from and the bytes per point. */
  points?: { frame: number; file: string[]; stride: number; header?: number };
  image?: { frame: number; file: string[] };
}

const FIXTURE_LOGS: Expectation[] = [
  {
    path: ['kitti_object_vis', 'training'], format: 'kitti', frames: 3, streams: ['velodyne', 'image_2', 'label_2'], cameras: 1,
    points: { frame: 1, file: ['kitti_object_vis', 'training', 'velodyne', '000001.bin'], stride: 16 },
    image: { frame: 0, file: ['kitti_object_vis', 'training', 'image_2', '000000.png'] },
  },
  {
    path: ['kitti_object_extra', 'training'], format: 'kitti', frames: 2, cameras: 1,
    points: { frame: 1, file: ['kitti_object_extra', 'training', 'velodyne', '000134.bin'], stride: 16 },
    image: { frame: 1, file: ['kitti_object_extra', 'training', 'image_2', '000134.png'] },
  },
  {
    path: ['kitti_raw_2011_09_26_sfnd'], format: 'kitti', frames: 10, cameras: 1,
    points: { frame: 7, file: ['kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data', '0000000007.bin'], stride: 16 },
    image: { frame: 7, file: ['kitti_raw_2011_09_26_sfnd', 'image_02', 'data', '0000000007.png'] },
  },
  { path: ['mmdet3d_tests', 'kitti', 'training'], format: 'kitti', frames: 1, points: { frame: 0, file: ['mmdet3d_tests', 'kitti', 'training', 'velodyne_reduced', '000000.bin'], stride: 16 } },
  {
    path: ['mmdet3d_demo', 'nuscenes'], format: 'nuscenes', frames: 1, cameras: 6, streams: ['LIDAR_TOP', 'CAM_FRONT', 'CAM_BACK'],
    points: { frame: 0, file: ['mmdet3d_demo', 'nuscenes'], stride: 20 },
  },
  { path: ['mmdet3d_tests', 'lyft', 'v1.01-train'], format: 'nuscenes', frames: 1 },
  {
    path: ['mcap_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_ros2.mcap'], format: 'mcap', frames: 5, cameras: 1,
    streams: ['/tf_static', '/kitti/camera_color_left/camera_info', '/kitti/camera_color_left/image_rect/compressed', '/kitti/velo/pointcloud'],
    points: { frame: 3, file: ['kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data', '0000000003.bin'], stride: 16 },
    image: { frame: 3, file: ['kitti_raw_2011_09_26_sfnd', 'image_02', 'data', '0000000003.png'] },
  },
  {
    path: ['mcap_kitti_derived', 'kitti_object_2samples_foxglove_json.mcap'], format: 'mcap', frames: 2, cameras: 1,
    streams: ['/tf', '/camera/calibration', '/camera/image/compressed', '/lidar/points', '/ground_truth/cuboids', '/ground_truth/image_boxes', '/yolox_nano/image_boxes'],
    points: { frame: 0, file: ['kitti_object_vis', 'training', 'velodyne', '000002.bin'], stride: 16 },
    image: { frame: 1, file: ['pointpillars_demo', 'val', '000134.png'] },
  },
  {
    path: ['rosbag_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_lz4.bag'], format: 'rosbag', frames: 5, cameras: 1,
    points: { frame: 4, file: ['kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data', '0000000004.bin'], stride: 16 },
    image: { frame: 4, file: ['kitti_raw_2011_09_26_sfnd', 'image_02', 'data', '0000000004.png'] },
  },
  {
    path: ['rosbag_kitti_derived', 'kitti_2011_09_26_sfnd_1frame_bz2.bag'], format: 'rosbag', frames: 1, cameras: 1,
    points: { frame: 0, file: ['kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data', '0000000000.bin'], stride: 16 },
  },
  { path: ['kitti_pcd_sfnd_lidar', 'data_1', '0000000000.pcd'], format: 'pcd', frames: 1 },
];

/** Points in the nuScenes demo's lidar file (the one .pcd.bin under the folder). */
async function pointFile(parts: string[]): Promise<string> {
  const path = fixture(...parts);
  if ((await stat(path)).isFile()) return path;
  const found = (await readdir(path, { recursive: true })).find((f) => String(f).endsWith('.pcd.bin'));
  return join(path, String(found));
}

const title = 'inspect on every drive-log fixture';
describe.skipIf(!hasFixtures)(hasFixtures ? title : `${title}: skipped, ${fixturesSkipReason}`, () => {
  for (const expected of FIXTURE_LOGS) {
    it(expected.path.join('/'), async () => {
      const path = fixture(...expected.path);
      if (!existsSync(path)) throw new Error(`fixture missing: ${path}`);
      const summary = await inspectLog(path);
      expect(summary.format).toBe(expected.format);
      expect(summary.frameCount).toBe(expected.frames);
      for (const topic of expected.streams ?? []) expect(summary.streams.map((s) => s.topic)).toContain(topic);
      if (expected.cameras !== undefined) expect(summary.sensors.filter((s) => s.kind === 'camera')).toHaveLength(expected.cameras);

      const detected = await detectLog(path);
      const drive = await openDriveLog(path, detected, { logId: logIdFromFingerprint(detected.fingerprint) });
      try {
        if (expected.points) {
          const frame = await drive.readFrame(expected.points.frame);
          const bytes = (await stat(await pointFile(expected.points.file))).size;
          const dropped = Number(frame.warnings.join(' ').match(/(\d+) points with NaN/)?.[1] ?? 0);
          expect(frame.lidar!.count + dropped).toBe(bytes / expected.points.stride);
        }
        if (expected.image) {
          const frame = await drive.readFrame(expected.image.frame);
          const meta = await sharp(await readFile(fixture(...expected.image.file))).metadata();
          const camera = frame.cameras[0]!;
          expect([camera.intrinsics.width, camera.intrinsics.height]).toEqual([meta.width, meta.height]);
          const decoded = await sharp(Buffer.from(camera.data)).metadata();
          expect([decoded.width, decoded.height]).toEqual([meta.width, meta.height]);
        }
      } finally {
        await drive.close();
      }
    });
  }

  it('the CLI prints the same summary as JSON, and a clear error for an unsupported folder', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');
    if (!existsSync(bin)) throw new Error(`build first (npm run build:core): ${bin} missing`);
    const { stdout } = await run(process.execPath, [bin, 'inspect', fixture('rosbag_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_lz4.bag'), '--json']);
    const json = JSON.parse(stdout) as { format: string; frameCount: number; durationS: number; streams: Array<{ topic: string; messageCount: number; rateHz: number }>; sensors: Array<{ intrinsics?: unknown }>; labelCount: number; warnings: string[] };
    expect(json.format).toBe('rosbag');
    expect(json.frameCount).toBe(5);
    expect(json.durationS).toBeCloseTo(0.4, 3);
    expect(json.streams.find((s) => s.topic === '/kitti/velo/pointcloud')).toMatchObject({ messageCount: 5, rateHz: expect.closeTo(10, 3) });
    expect(json.sensors.some((s) => s.intrinsics)).toBe(true);
    const failure = await run(process.execPath, [bin, 'inspect', fixture('av2_sensor_log_adcf7d18')]).catch((e: { stderr: string; code: number }) => e);
    expect((failure as { code: number }).code).not.toBe(0);
    expect((failure as { stderr: string }).stderr).toMatch(/is a folder but not a KITTI .* or nuScenes/);
  });
});
