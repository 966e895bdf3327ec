// Drive-level fuzzing: mutated and truncated logs go through the whole open + read path (container,
// decoders, schema adapters, frame assembly). Every case must end in a valid drive or a LogError:
// never another exception, never a hang.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapWriter } from '@mcap/core';
import zstd from '@foxglove/wasm-zstd';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogError } from '../../src/logs/errors.js';
import { encodeFoxglove, foxgloveDescriptorSet } from '../../src/logs/mcap/foxgloveProto.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../src/logs/open.js';
import { createRng } from '../../src/util/rng.js';
import { fixture, hasFixtures } from '../helpers/fixtures.js';
import { MemoryWritable } from '../helpers/mcap.js';


/** A small but complete drive: tf, calibration, image, lidar, 3D and 2D labels over 4 frames. */
async function smallDrive(): Promise<Uint8Array> {
  await zstd.isLoaded;
  const writable = new MemoryWritable();
  const writer = new McapWriter({
    writable,
    chunkSize: 24 * 1024,
    compressChunk: (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, 3) }),
  });
  await writer.start({ profile: '', library: 'sightline fuzz' });
  const channel = async (topic: string, schema: string) => {
    const schemaId = await writer.registerSchema({ name: schema, encoding: 'protobuf', data: foxgloveDescriptorSet(schema) });
    return writer.registerChannel({ topic, schemaId, messageEncoding: 'protobuf', metadata: new Map() });
  };
  const tf = await channel('/tf_static', 'foxglove.FrameTransforms');
  const calib = await channel('/camera/front/calibration', 'foxglove.CameraCalibration');
  const image = await channel('/camera/front/image', 'foxglove.CompressedImage');
  const lidar = await channel('/lidar/points', 'foxglove.PointCloud');
  const boxes = await channel('/ground_truth/boxes', 'foxglove.SceneUpdate');
  const jpeg = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 120, b: 200 } } }).jpeg().toBuffer());
  const rng = createRng(5);
  let seq = 0;
  const add = (channelId: number, ns: bigint, data: Uint8Array) => writer.addMessage({ channelId, sequence: seq++, logTime: ns, publishTime: ns, data });
  const t0 = 1_000_000_000_000n;
  const stamp = (ns: bigint) => ({ seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) });
  await add(tf, t0, encodeFoxglove('foxglove.FrameTransforms', {
    transforms: [
      { timestamp: stamp(t0), parent_frame_id: 'base_link', child_frame_id: 'lidar', translation: { x: 1, y: 0, z: 1.8 }, rotation: { x: 0, y: 0, z: 0, w: 1 } },
      { timestamp: stamp(t0), parent_frame_id: 'base_link', child_frame_id: 'camera', translation: { x: 1.5, y: 0, z: 1.5 }, rotation: { x: -0.5, y: 0.5, z: -0.5, w: 0.5 } },
    ],
  }));
  for (let f = 0; f < 4; f++) {
    const ns = t0 + BigInt(f) * 100_000_000n;
    await add(calib, ns, encodeFoxglove('foxglove.CameraCalibration', {
      timestamp: stamp(ns), frame_id: 'camera', width: 64, height: 48, distortion_model: 'plumb_bob', D: [0, 0, 0, 0, 0],
      K: [50, 0, 32, 0, 50, 24, 0, 0, 1], R: [1, 0, 0, 0, 1, 0, 0, 0, 1], P: [50, 0, 32, 0, 0, 50, 24, 0, 0, 0, 1, 0],
    }));
    await add(image, ns, encodeFoxglove('foxglove.CompressedImage', { timestamp: stamp(ns), frame_id: 'camera', format: 'jpeg', data: jpeg }));
    const points = new Float32Array(400 * 4).map(() => (rng() - 0.5) * 40);
    await add(lidar, ns, encodeFoxglove('foxglove.PointCloud', {
      timestamp: stamp(ns), frame_id: 'lidar', point_stride: 16,
      pose: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
      fields: ['x', 'y', 'z', 'intensity'].map((name, i) => ({ name, offset: i * 4, type: 7 })),
      data: new Uint8Array(points.buffer),
    }));
    await add(boxes, ns, encodeFoxglove('foxglove.SceneUpdate', {
      deletions: [],
      entities: [{
        timestamp: stamp(ns), frame_id: 'base_link', id: `car:${f}`, frame_locked: false,
        metadata: [{ key: 'class', value: 'car' }],
        cubes: [{ pose: { position: { x: 10, y: 0, z: 0.8 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, size: { x: 4.5, y: 1.9, z: 1.6 }, color: { r: 1, g: 0, b: 0, a: 1 } }],
      }],
    }));
  }
  await writer.end();
  return writable.bytes();
}

async function openAndReadAll(path: string): Promise<number> {
  const detected = await detectLog(path);
  const drive = await openDriveLog(path, detected, { logId: logIdFromFingerprint(detected.fingerprint) });
  try {
    for (let i = 0; i < drive.frames.length; i++) await drive.readFrame(i);
    await drive.backgroundWork;
    return drive.frames.length;
  } finally {
    await drive.close();
  }
}

function mutate(original: Uint8Array, rng: () => number): Uint8Array {
  if (rng() < 0.35) return original.slice(0, Math.floor(rng() * original.length));
  const copy = original.slice();
  const flips = 1 + Math.floor(rng() * 8);
  for (let k = 0; k < flips; k++) copy[Math.floor(rng() * copy.length)] = Math.floor(rng() * 256);
  return copy;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sightline-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fuzz(name: string, original: Uint8Array, cases: number, seed: number): Promise<void> {
  const rng = createRng(seed);
  const outcome = { ok: 0, logError: 0 };
  const path = join(dir, name);
  for (let c = 0; c < cases; c++) {
    await writeFile(path, mutate(original, rng));
    try {
      await openAndReadAll(path);
      outcome.ok++;
    } catch (error) {
      if (!(error instanceof LogError)) throw new Error(`case ${c} of ${name}: ${(error as Error).stack}`, { cause: error });
      expect(error.message).toContain(path);
      outcome.logError++;
      if (process.env.FUZZ_VERBOSE && outcome.logError < 8) console.log(error.message);
    }
  }
  console.log(`${name}: ${cases} cases → ${outcome.ok} opened and read, ${outcome.logError} clean LogErrors`);
}

describe('drive-level fuzzing', () => {
  it('a small Foxglove protobuf MCAP: 1,200 mutated or truncated copies', async () => {
    const original = await smallDrive();
    expect(await openAndReadAll(await writeFile(join(dir, 'ok.mcap'), original).then(() => join(dir, 'ok.mcap')))).toBe(4);
    await fuzz('small.mcap', original, 1200, 17);
  }, 120_000);

  it.skipIf(!hasFixtures)('the real one-frame bz2 ROS bag: 150 cases (each decompresses 1.4 MB of bzip2)', async () => {
    const bag = new Uint8Array(await readFile(fixture('rosbag_kitti_derived', 'kitti_2011_09_26_sfnd_1frame_bz2.bag')));
    await fuzz('kitti.bag', bag, 150, 23);
  }, 120_000);
});
