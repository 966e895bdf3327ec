// Point clouds decoded on worker threads (the compiled build, as the server runs it) must leave the
// cached chunks they came from intact: reading frames again, in any order, gives the same points as
// the .bin files. (A Node Buffer's slice() is a view: transferring it once detached a whole cached
// chunk, and every later read of that chunk failed with "detached ArrayBuffer".)
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FrameData } from '../../src/logs/model.js';
import type * as OpenModule from '../../src/logs/open.js';
import { ensureDist, repoRoot } from '../helpers/build.js';
import { demoLogPath } from '../helpers/demo.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`point worker cache test skipped: ${fixturesSkipReason}`);

describe.skipIf(!hasFixtures)('worker-decoded point clouds and the chunk cache', () => {
  let open: typeof OpenModule;
  const openDrive = async (path: string) => {
    const detected = await open.detectLog(path);
    return open.openDriveLog(path, detected, { logId: open.logIdFromFingerprint(detected.fingerprint), egoTrajectory: false });
  };
  beforeAll(async () => {
    await ensureDist();
    // Without the compiled worker script clouds decode in-process, and the chunk is never handed over.
    expect(existsSync(join(repoRoot, 'dist', 'src', 'logs', 'messages', 'pointWorker.js'))).toBe(true);
    open = (await import(pathToFileURL(join(repoRoot, 'dist', 'src', 'logs', 'open.js')).href)) as typeof OpenModule;
  }, 300_000);

  it('reads KITTI sweeps from the ROS 2 MCAP repeatedly and out of order, equal to the .bin files every time', async () => {
    const path = fixture('mcap_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_ros2.mcap');
    const drive = await openDrive(path);
    try {
      for (const index of [1, 0, 1, 2, 0, 1, 4, 3, 4]) {
        const frame = await drive.readFrame(index, { cameras: false, lidar: true });
        const bin = await readFile(fixture('kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data', `${String(index).padStart(10, '0')}.bin`));
        const expected = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
        const cloud = frame.lidar!;
        expect(cloud.count, `frame ${index}`).toBe(bin.byteLength / 16);
        // Spot-check x, y, z of points spread through the sweep.
        for (let i = 0; i < cloud.count; i += 997) {
          for (let k = 0; k < 3; k++) expect(cloud.positions[3 * i + k]).toBe(expected[4 * i + k]);
        }
      }
    } finally {
      await drive.close();
    }
  });
  it('reads the demo drive (zstd chunks) again and out of order: the same frame as a first read, no warnings', async () => {
    const path = await demoLogPath();
    const firstRead = async (index: number) => {
      const fresh = await openDrive(path);
      try {
        return await fresh.readFrame(index, { cameras: true, lidar: true });
      } finally {
        await fresh.close();
      }
    };
    const expected = new Map<number, FrameData>();
    for (const index of [0, 1, 2]) expected.set(index, await firstRead(index));
    const drive = await openDrive(path);
    try {
      for (const index of [1, 0, 1, 2, 0]) {
        const frame = await drive.readFrame(index, { cameras: true, lidar: true });
        const want = expected.get(index)!;
        expect(frame.warnings, `frame ${index}`).toEqual([]);
        expect(frame.cameras.map((c) => c.data.byteLength)).toEqual(want.cameras.map((c) => c.data.byteLength));
        expect(frame.labels3d.length).toBe(want.labels3d.length);
        const cloud = frame.lidar!;
        expect(cloud.count, `frame ${index}`).toBe(want.lidar!.count);
        expect(cloud.count).toBeGreaterThan(20_000); // large enough to be decoded on a worker
        for (let i = 0; i < cloud.count * 3; i += 1999) expect(cloud.positions[i]).toBe(want.lidar!.positions[i]);
      }
    } finally {
      await drive.close();
    }
  });
});
