// Message-container logs (MCAP with Foxglove protobuf/JSON schemas and ROS 2 CDR) opened as drives:
// frame tables, calibration chains (lidar projected into the image), ground-truth boxes against the
// points they enclose, driven paths, and per-frame reads.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { pointInBox, projectBoxToRect, projectEgoPoint, rectIoU } from '../../src/logs/geometry.js';
import type { FrameData, Vec3 } from '../../src/logs/model.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../src/logs/open.js';
import { applyPose } from '../../src/logs/transforms.js';
import { demoLogPath } from '../helpers/demo.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

async function open(path: string, referenceSensor?: string) {
  const detected = await detectLog(path);
  return openDriveLog(path, detected, { logId: logIdFromFingerprint(detected.fingerprint), referenceSensor });
}

function egoPoints(frame: FrameData): Vec3[] {
  const lidar = frame.lidar!;
  const out: Vec3[] = [];
  for (let i = 0; i < lidar.count; i++) {
    out.push(applyPose(lidar.extrinsic, [lidar.positions[i * 3]!, lidar.positions[i * 3 + 1]!, lidar.positions[i * 3 + 2]!]));
  }
  return out;
}

/** Fraction of the points in front of the camera (and within 80 m) that project inside the image. */
function projectedInsideFraction(frame: FrameData, stride = 7): { inside: number; inFront: number } {
  const camera = frame.cameras[0]!;
  let inside = 0;
  let inFront = 0;
  const points = egoPoints(frame);
  for (let i = 0; i < points.length; i += stride) {
    const p = points[i]!;
    const uv = projectEgoPoint(camera.intrinsics, camera.extrinsic, p);
    if (!uv) continue;
    inFront++;
    if (uv[0] >= 0 && uv[0] < camera.intrinsics.width && uv[1] >= 0 && uv[1] < camera.intrinsics.height) inside++;
  }
  return { inside, inFront };
}

describe('demo MCAP (Foxglove protobuf)', () => {
  it('opens with sensors, ground truth, ego poses and a driven path', async () => {
    const drive = await open(await demoLogPath());
    try {
      await drive.backgroundWork;
      expect(drive.info.format).toBe('mcap');
      expect(drive.frames.length).toBe(30);
      expect(drive.info.sensors.map((s) => s.kind).sort()).toEqual(['camera', 'lidar']);
      const frame = await drive.readFrame(10);
      expect(frame.lidar!.count).toBeGreaterThan(50_000);
      expect(frame.cameras).toHaveLength(1);
      expect(frame.labels3d.length).toBeGreaterThan(3);
      expect(frame.egoPose).toBeDefined();
      const driven = frame.paths.find((p) => p.source === 'ego-driven');
      expect(driven, 'driven path').toBeDefined();
      // The ego drives forward: the path starts behind it (x < 0) and ends ahead (x > 0).
      expect(driven!.points[0]![0]).toBeLessThan(-1);
      expect(driven!.points.at(-1)![0]).toBeGreaterThan(1);
      // Ground-truth boxes hold the lidar points that hit them.
      const points = egoPoints(frame);
      const near = frame.labels3d.filter((b) => Math.hypot(b.center[0], b.center[1]) < 30);
      for (const box of near) expect(points.some((p) => pointInBox(box, p, 0.05)), box.id).toBe(true);
    } finally {
      await drive.close();
    }
  });

  it('lets the user pick the camera as the reference sensor and rejects unknown sensors', async () => {
    const path = await demoLogPath();
    const drive = await open(path, 'camera/front');
    try {
      expect(drive.info.referenceSensor).toBe('camera/front');
      const frame = await drive.readFrame(0);
      expect(frame.cameras[0]!.skewS).toBe(0);
      expect(Math.abs(Number(BigInt(frame.lidar!.stampNs) - BigInt(frame.stampNs)))).toBeLessThan(50_000_000);
    } finally {
      await drive.close();
    }
    await expect(open(path, 'radar/front')).rejects.toThrow(/no sensor 'radar\/front' \(sensors: .*lidar/);
  });
});

const kittiTitle = 'KITTI-derived MCAP files (real KITTI payloads)';
describe.skipIf(!hasFixtures)(hasFixtures ? kittiTitle : `${kittiTitle}: skipped, ${fixturesSkipReason}`, () => {
  it('ROS 2 CDR MCAP: 5 frames, lidar projects into the image', async () => {
    const path = fixture('mcap_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_ros2.mcap');
    const drive = await open(path);
    try {
      expect(drive.frames.length).toBe(5);
      expect(drive.info.referenceSensor).toBe('kitti/velo');
      const camera = drive.info.sensors.find((s) => s.kind === 'camera')!;
      expect(camera.intrinsics).toMatchObject({ width: 1242, height: 375 });
      for (let i = 0; i < 5; i++) {
        const frame = await drive.readFrame(i);
        const bin = await readFile(fixture('kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data', `${String(i).padStart(10, '0')}.bin`));
        expect(frame.lidar!.count).toBe(bin.byteLength / 16);
        expect(frame.cameras[0]!.format).toBe('png');
        const { inside, inFront } = projectedInsideFraction(frame);
        // A 360° scan: most points in front of the camera fall within its field of view.
        expect(inside / inFront).toBeGreaterThan(0.3);
        expect(inside).toBeGreaterThan(1000);
      }
    } finally {
      await drive.close();
    }
  });

  it('Foxglove JSON MCAP: cuboids in the camera frame become ego boxes that enclose points and match the 2D labels', async () => {
    const path = fixture('mcap_kitti_derived', 'kitti_object_2samples_foxglove_json.mcap');
    const drive = await open(path);
    try {
      expect(drive.frames.length).toBe(2);
      for (let i = 0; i < 2; i++) {
        const frame = await drive.readFrame(i);
        const points = egoPoints(frame);
        const camera = frame.cameras[0]!;
        const cars = frame.labels3d.filter((b) => b.label === 'Car');
        expect(cars.length).toBeGreaterThan(0);
        for (const box of frame.labels3d) {
          const inside = points.filter((p) => pointInBox(box, p)).length;
          expect(inside, `${box.id} ${box.label}`).toBeGreaterThan(0);
        }
        // Projected cuboids overlap their own 2D label boxes (unoccluded cars).
        for (const box of cars.filter((b) => Number(b.attributes?.occluded ?? 1) === 0)) {
          const rect = projectBoxToRect(box, camera.intrinsics, camera.extrinsic);
          expect(rect).toBeDefined();
          const best = Math.max(...frame.labels2d.filter((l) => !l.ignore).map((l) => rectIoU(rect!, l)));
          expect(best, box.id).toBeGreaterThan(0.7);
        }
        if (i === 1) expect(frame.labels2d.some((l) => l.ignore), "DontCare regions kept").toBe(true);
      }
    } finally {
      await drive.close();
    }
  });

  it('ROS 1 bags (lz4, bz2): CameraInfo R folded into P projects exactly like the rectified ROS 2 MCAP', async () => {
    const mcap = await open(fixture('mcap_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_ros2.mcap'));
    try {
      for (const [name, frames] of [
        ['kitti_2011_09_26_sfnd_5frames_lz4.bag', 5],
        ['kitti_2011_09_26_sfnd_1frame_bz2.bag', 1],
      ] as const) {
        const bag = await open(fixture('rosbag_kitti_derived', name));
        try {
          expect(bag.info.format).toBe('rosbag');
          expect(bag.frames.length).toBe(frames);
          const a = await mcap.readFrame(0);
          const b = await bag.readFrame(0);
          expect(b.lidar!.count).toBe(a.lidar!.count);
          expect(Buffer.compare(Buffer.from(b.cameras[0]!.data), Buffer.from(a.cameras[0]!.data))).toBe(0);
          // Two camera conventions (R in the transform vs R in CameraInfo) must give the same pixels.
          let compared = 0;
          const points = egoPoints(a);
          for (let i = 0; i < points.length; i += 13) {
            const ua = projectEgoPoint(a.cameras[0]!.intrinsics, a.cameras[0]!.extrinsic, points[i]!);
            const ub = projectEgoPoint(b.cameras[0]!.intrinsics, b.cameras[0]!.extrinsic, points[i]!);
            if (!ua || !ub || ua[0] < 0 || ua[0] > 1242 || ua[1] < 0 || ua[1] > 375) continue;
            expect(Math.hypot(ua[0] - ub[0], ua[1] - ub[1])).toBeLessThan(0.5);
            compared++;
          }
          expect(compared).toBeGreaterThan(500);
        } finally {
          await bag.close();
        }
      }
    } finally {
      await mcap.close();
    }
  });
});
