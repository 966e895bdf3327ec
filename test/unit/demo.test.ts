// The built-in demo generator: determinism, the MCAP it writes (read back with independent
// readers), and that its ground truth matches what its lidar and camera actually show.
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader, McapStreamReader, type McapTypes } from '@mcap/core';
import { protobufFromBinaryDescriptor } from '@mcap/support';
import zstd from '@foxglove/wasm-zstd';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CAMERA_SENSOR_ID,
  DEMO_METADATA_NAME,
  DEMO_TOPICS,
  NO_HIT,
  OBSTACLE_S,
  STATIC_ID_BASE,
  Surface,
  TERRAIN_ID,
  castLidar,
  columnAzimuth,
  createDemoScene,
  groundTruthAt,
  packPoints,
  raycast,
  renderCamera,
  snapshotAt,
  writeDemoLog,
  type DemoOptions,
  type DemoScene,
} from '../../src/demo/index.js';
import { projectedBoxRect, uprightBoxCorners } from '../../src/demo/geometry.js';
import { polygonsOverlap } from '../../src/demo/scenario.js';
import { worldToCameraFn } from '../../src/demo/camera.js';
import { LEFT_KERB_D, RIGHT_KERB_D, KERB_HEIGHT, LANE_WIDTH } from '../../src/demo/road.js';
import type { Box2D, Box3D, Vec3 } from '../../src/logs/model.js';
import { applyPose, composePoses, invertPose } from '../../src/logs/transforms.js';
import { pointInBox } from '../../src/logs/geometry.js';

// Decoded protobuf messages are plain, untyped objects; the tests index into them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Decoded = any;

const SMALL: DemoOptions = { durationS: 1, seed: 7, imageWidth: 320, imageHeight: 180, azimuthSteps: 360 };

let dir: string;
let logA: string;
let bytesA: Buffer;

/** IReadable over a file handle (positional reads). */
async function fileReadable(path: string): Promise<McapTypes.IReadable & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const size = BigInt((await handle.stat()).size);
  return {
    size: async () => size,
    read: async (offset: bigint, length: bigint) => {
      const buf = new Uint8Array(Number(length));
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await handle.read(buf, done, buf.length - done, Number(offset) + done);
        if (bytesRead === 0) throw new Error('unexpected end of file');
        done += bytesRead;
      }
      return buf;
    },
    close: () => handle.close(),
  };
}

const decompressHandlers = { zstd: (data: Uint8Array, size: bigint) => zstd.decompress(data, Number(size)) };

beforeAll(async () => {
  await zstd.isLoaded;
  dir = await mkdtemp(join(tmpdir(), 'sightline-demo-test-'));
  logA = join(dir, 'a.mcap');
  const progress: number[] = [];
  const result = await writeDemoLog(logA, SMALL, (p) => progress.push(p.done / p.total));
  expect(result.frames).toBe(10);
  expect(result.bytes).toBe((await stat(logA)).size);
  expect(progress.at(-1)).toBe(1);
  bytesA = await readFile(logA);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('determinism', () => {
  it('writes byte-identical files for the same options and different ones for another seed', async () => {
    const again = join(dir, 'a2.mcap');
    await writeDemoLog(again, SMALL);
    const other = join(dir, 'b.mcap');
    await writeDemoLog(other, { ...SMALL, seed: 8 });
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(await readFile(again))).toBe(sha(bytesA));
    expect(sha(await readFile(other))).not.toBe(sha(bytesA));
  });

  it('evaluates the scene as a pure function of time', () => {
    const a = createDemoScene({ seed: 3 });
    const b = createDemoScene({ seed: 3 });
    expect(b.agentsAt(7.35)).toEqual(a.agentsAt(7.35));
    expect(b.egoPoseAt(7.35)).toEqual(a.egoPoseAt(7.35));
    a.agentsAt(12); // querying other times first must not change anything
    expect(a.agentsAt(7.35)).toEqual(b.agentsAt(7.35));
  });
});

describe('MCAP output', () => {
  it('reads back with the indexed reader: topics, schemas, counts, metadata', async () => {
    const readable = await fileReadable(logA);
    try {
      const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers });
      expect(reader.header).toMatchObject({ profile: '', library: 'sightline-demo' });
      const byTopic = new Map([...reader.channelsById.values()].map((c) => [c.topic, c]));
      const expectSchema: Record<string, string> = {
        [DEMO_TOPICS.tfStatic]: 'foxglove.FrameTransforms',
        [DEMO_TOPICS.tf]: 'foxglove.FrameTransforms',
        [DEMO_TOPICS.egoPose]: 'foxglove.PoseInFrame',
        [DEMO_TOPICS.lidar]: 'foxglove.PointCloud',
        [DEMO_TOPICS.groundTruthBoxes]: 'foxglove.SceneUpdate',
        [DEMO_TOPICS.cameraImage]: 'foxglove.CompressedImage',
        [DEMO_TOPICS.cameraCalibration]: 'foxglove.CameraCalibration',
        [DEMO_TOPICS.groundTruthImageBoxes]: 'foxglove.ImageAnnotations',
      };
      expect([...byTopic.keys()].sort()).toEqual(Object.keys(expectSchema).sort());
      for (const [topic, name] of Object.entries(expectSchema)) {
        const channel = byTopic.get(topic)!;
        expect(channel.messageEncoding).toBe('protobuf');
        const schema = reader.schemasById.get(channel.schemaId)!;
        expect(schema.name).toBe(name);
        expect(schema.encoding).toBe('protobuf');
        expect(() => protobufFromBinaryDescriptor(schema.data).lookupType(name)).not.toThrow();
      }
      // Statistics and the index agree with what is really there.
      const counts = new Map<string, number>();
      let last = -1n;
      for await (const m of reader.readMessages()) {
        const topic = reader.channelsById.get(m.channelId)!.topic;
        counts.set(topic, (counts.get(topic) ?? 0) + 1);
        expect(m.logTime).toBe(m.publishTime);
        expect(m.logTime >= last).toBe(true);
        last = m.logTime;
      }
      expect(counts.get(DEMO_TOPICS.tfStatic)).toBe(1);
      for (const topic of Object.keys(expectSchema).filter((t) => t !== DEMO_TOPICS.tfStatic)) expect(counts.get(topic)).toBe(10);
      expect(Number(reader.statistics!.messageCount)).toBe(71);
      expect(reader.statistics!.messageStartTime).toBe(1_700_000_000_000_000_000n);
      expect(reader.statistics!.messageEndTime).toBe(1_700_000_000_900_000_000n + 5_000_000n);
      expect(reader.chunkIndexes.length).toBeGreaterThan(0);
      expect(reader.chunkIndexes.every((c) => c.compression === 'zstd')).toBe(true);
      const metadata = [];
      for await (const m of reader.readMetadata({ name: DEMO_METADATA_NAME })) metadata.push(m);
      expect(metadata).toHaveLength(1);
      const meta = metadata[0]!.metadata;
      expect(meta.get('seed')).toBe('7');
      expect(meta.get('duration_s')).toBe('1');
      expect(meta.get('obstacle_track_id')).toBe(createDemoScene(SMALL).obstacleTrackId);
      expect(meta.get('intensity_scale')).toMatch(/\[0, 1\]/);
      expect(meta.get('generator_version')).toBeTruthy();
    } finally {
      await readable.close();
    }
  });

  it('reads back identically with the stream reader', async () => {
    const stream = new McapStreamReader({ decompressHandlers, validateCrcs: true });
    stream.append(bytesA);
    const streamMessages: Array<{ topic: string; logTime: bigint; size: number }> = [];
    const channels = new Map<number, string>();
    let sawFooter = false;
    for (let rec = stream.nextRecord(); rec; rec = stream.nextRecord()) {
      if (rec.type === 'Channel') channels.set(rec.id, rec.topic);
      if (rec.type === 'Message') streamMessages.push({ topic: channels.get(rec.channelId)!, logTime: rec.logTime, size: rec.data.byteLength });
      if (rec.type === 'Footer') sawFooter = true;
    }
    expect(sawFooter).toBe(true);
    expect(stream.done()).toBe(true);
    const readable = await fileReadable(logA);
    try {
      const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers });
      const indexed = [];
      for await (const m of reader.readMessages()) indexed.push({ topic: reader.channelsById.get(m.channelId)!.topic, logTime: m.logTime, size: m.data.byteLength });
      expect(streamMessages).toEqual(indexed);
    } finally {
      await readable.close();
    }
  });

  it('decodes every message with the schemas in the file, matching the generator', async () => {
    const scene = createDemoScene(SMALL);
    const readable = await fileReadable(logA);
    try {
      const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers });
      const types = new Map<number, ReturnType<ReturnType<typeof protobufFromBinaryDescriptor>['lookupType']>>();
      for (const s of reader.schemasById.values()) types.set(s.id, protobufFromBinaryDescriptor(s.data).lookupType(s.name));
      const decoded: Record<string, Array<{ logTime: bigint; msg: Decoded }>> = {};
      for await (const m of reader.readMessages()) {
        const channel = reader.channelsById.get(m.channelId)!;
        const type = types.get(channel.schemaId)!;
        const msg = type.toObject(type.decode(m.data), { longs: String, enums: Number, defaults: true });
        (decoded[channel.topic] ??= []).push({ logTime: m.logTime, msg });
      }
      const t0 = 1_700_000_000n * 1_000_000_000n;
      const stampNs = (ts: Decoded) => BigInt(ts.seconds) * 1_000_000_000n + BigInt(ts.nanos);

      const [tfStatic] = decoded[DEMO_TOPICS.tfStatic]!;
      expect(tfStatic!.msg.transforms.map((t: Decoded) => `${t.parent_frame_id}->${t.child_frame_id}`)).toEqual(['base_link->lidar_top', 'base_link->camera_front']);
      const cam = tfStatic!.msg.transforms[1];
      // camera_front is the optical frame: its z axis looks along base_link's x.
      const q = [cam.rotation.x, cam.rotation.y, cam.rotation.z, cam.rotation.w] as [number, number, number, number];
      const zAxis = applyPose({ translation: [0, 0, 0], rotation: q }, [0, 0, 1]);
      expect(zAxis[0]).toBeCloseTo(1, 9);

      decoded[DEMO_TOPICS.lidar]!.forEach(({ logTime, msg }, k) => {
        expect(logTime).toBe(t0 + BigInt(k) * 100_000_000n);
        expect(stampNs(msg.timestamp)).toBe(logTime);
        expect(msg.frame_id).toBe('lidar_top');
        expect(msg.point_stride).toBe(18);
        expect(msg.fields.map((f: Decoded) => [f.name, f.offset, f.type])).toEqual([
          ['x', 0, 7],
          ['y', 4, 7],
          ['z', 8, 7],
          ['intensity', 12, 7],
          ['ring', 16, 3],
        ]);
        if (k === 3) {
          const expected = packPoints(castLidar(scene, 0.3));
          expect(Buffer.from(msg.data).equals(Buffer.from(expected))).toBe(true);
        }
      });

      decoded[DEMO_TOPICS.cameraImage]!.forEach(({ logTime, msg }, k) => {
        expect(logTime).toBe(t0 + BigInt(k) * 100_000_000n + 5_000_000n);
        expect(msg.format).toBe('jpeg');
        expect(msg.frame_id).toBe('camera_front');
        expect([...msg.data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
      });
      const calib = decoded[DEMO_TOPICS.cameraCalibration]![0]!.msg;
      expect(calib).toMatchObject({ width: 320, height: 180, distortion_model: 'plumb_bob', frame_id: 'camera_front' });
      expect(calib.K).toEqual(scene.camera.intrinsics.K);
      expect(calib.P).toEqual(scene.camera.intrinsics.P);
      expect(calib.R).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      expect(calib.K[0]).toBeCloseTo(160, 9); // 90 deg horizontal field of view

      // Ego pose: /tf and /ego/pose carry the same world <- base_link pose.
      decoded[DEMO_TOPICS.egoPose]!.forEach(({ msg }, k) => {
        const tf = decoded[DEMO_TOPICS.tf]![k]!.msg.transforms[0];
        expect(tf.parent_frame_id).toBe('world');
        expect(tf.child_frame_id).toBe('base_link');
        expect(msg.frame_id).toBe('world');
        expect(msg.pose.position.x).toBeCloseTo(tf.translation.x, 12);
        const ego = scene.egoPoseAt(k / 10);
        expect(msg.pose.position.x).toBeCloseTo(ego.translation[0], 9);
        expect(msg.pose.orientation.z).toBeCloseTo(ego.rotation[2], 9);
      });

      // 3D ground truth: one entity per agent within range, in base_link, with class metadata.
      const update = decoded[DEMO_TOPICS.groundTruthBoxes]![5]!.msg;
      const truth = groundTruthAt(scene, 0.5).boxes3dEgo;
      expect(update.entities).toHaveLength(truth.length);
      for (const e of update.entities) {
        const meta = Object.fromEntries(e.metadata.map((kv: Decoded) => [kv.key, kv.value]));
        const box = truth.find((b) => b.trackId === e.id)!;
        expect(e.frame_id).toBe('base_link');
        expect(stampNs(e.timestamp)).toBe(t0 + 500_000_000n);
        expect(meta).toMatchObject({ class: box.label, track_id: box.trackId, moving: String(box.attributes!.moving) });
        expect(e.cubes[0].pose.position.x).toBeCloseTo(box.center[0], 9);
        expect(e.cubes[0].size).toEqual({ x: box.size[0], y: box.size[1], z: box.size[2] });
      }
      expect(update.entities.find((e: Decoded) => e.id === scene.obstacleTrackId).metadata).toContainEqual({ key: 'role', value: 'obstacle' });

      // 2D ground truth: LINE_LOOP rectangles labelled "class track" at their top-left corner.
      const ann = decoded[DEMO_TOPICS.groundTruthImageBoxes]![2]!.msg;
      const boxes2d = groundTruthAt(scene, 0.205).boxes2d;
      expect(ann.points).toHaveLength(boxes2d.length);
      expect(boxes2d.length).toBeGreaterThan(0);
      ann.points.forEach((p: Decoded, i: number) => {
        const b = boxes2d[i]!;
        expect(p.type).toBe(2);
        expect(p.points.map((v: Decoded) => [v.x, v.y])).toEqual([
          [b.x1, b.y1],
          [b.x2, b.y1],
          [b.x2, b.y2],
          [b.x1, b.y2],
        ]);
        expect(ann.texts[i].text).toBe(`${b.label} ${b.trackId}`);
        expect([ann.texts[i].position.x, ann.texts[i].position.y]).toEqual([b.x1, b.y1]);
      });
    } finally {
      await readable.close();
    }
  });
});

describe('MCAP output at default settings', () => {
  it('holds ~100k-point clouds and 1280x720 JPEGs', async () => {
    const path = join(dir, 'default-frame.mcap');
    const result = await writeDemoLog(path, { durationS: 0.1 });
    expect(result.frames).toBe(1);
    const readable = await fileReadable(path);
    try {
      const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers });
      let points = 0;
      let jpeg: Uint8Array | undefined;
      for await (const m of reader.readMessages({ topics: [DEMO_TOPICS.lidar, DEMO_TOPICS.cameraImage] })) {
        const channel = reader.channelsById.get(m.channelId)!;
        const schema = reader.schemasById.get(channel.schemaId)!;
        const type = protobufFromBinaryDescriptor(schema.data).lookupType(schema.name);
        const msg: Decoded = type.toObject(type.decode(m.data), { longs: String, defaults: true });
        if (channel.topic === DEMO_TOPICS.lidar) points = msg.data.byteLength / msg.point_stride;
        else jpeg = msg.data;
      }
      expect(points).toBeGreaterThan(90_000);
      expect(points).toBeLessThan(120_000);
      const meta = await sharp(jpeg!).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 1280, 720]);
    } finally {
      await readable.close();
    }
  });
});

describe('scenario', () => {
  const scene = createDemoScene();

  it('has the cast the product asks for', () => {
    const roles = scene.agents.map((a) => a.role);
    expect(roles.filter((r) => r === 'obstacle')).toHaveLength(1);
    expect(roles).toContain('lead');
    expect(roles.filter((r) => r === 'oncoming').length).toBeGreaterThanOrEqual(3);
    expect(roles.filter((r) => r === 'parked').length).toBeGreaterThanOrEqual(5);
    expect(roles.filter((r) => r === 'cyclist')).toHaveLength(1);
    expect(roles.filter((r) => r === 'crossing-pedestrian')).toHaveLength(1);
    expect(roles.filter((r) => r === 'pedestrian').length).toBeGreaterThanOrEqual(3);
    expect(scene.statics.length).toBeGreaterThan(20);
    expect(new Set(scene.agents.map((a) => a.trackId)).size).toBe(scene.agents.length);
    expect(scene.frameCount).toBe(200);
  });

  it('drives the ego at 6-12 m/s with bounded acceleration, swerving smoothly', () => {
    let prev = scene.egoStateAt(0);
    let maxLat = 0;
    for (let t = 0.05; t <= 20; t += 0.05) {
      const e = scene.egoStateAt(t);
      expect(e.speed).toBeGreaterThan(6);
      expect(e.speed).toBeLessThan(12);
      expect(Math.abs(e.speed - prev.speed) / 0.05).toBeLessThan(2.5);
      expect(Math.abs(e.d - prev.d)).toBeLessThan(0.2); // no jumps
      maxLat = Math.max(maxLat, e.d);
      prev = e;
    }
    expect(maxLat).toBeGreaterThan(0.3); // it does move over into the other lane to pass
  });

  it('keeps the obstacle in the ego lane ahead for several seconds, visible to both sensors', () => {
    const obstacle = scene.agents.find((a) => a.trackId === scene.obstacleTrackId)!;
    expect(obstacle.label).toBe('car');
    let secondsAhead = 0;
    for (let t = 0; t <= 20; t += 0.1) {
      const box = scene.agentsAt(t).find((a) => a.trackId === obstacle.trackId)!;
      const ego = scene.egoStateAt(t);
      const ds = scene.road.toRoad(box.center[0], box.center[1]);
      // Every corner inside the ego lane (between the right edge line and the centre line).
      const inLane = uprightBoxCorners(box).every(([x, y]) => {
        const rc = scene.road.toRoad(x, y);
        return rc.d > -LANE_WIDTH && rc.d < 0;
      });
      expect(inLane).toBe(true);
      if (ds.s - ego.s > 8) secondsAhead += 0.1;
    }
    expect(secondsAhead).toBeGreaterThan(6);
    expect(OBSTACLE_S).toBeGreaterThan(50);
    // Seen by the lidar and the camera from 60 m out (once the lead car has swerved) until passed.
    for (const [t, points, pixels] of [
      [2, 20, 100],
      [4, 40, 400],
      [6, 200, 2000],
    ] as const) {
      const sweep = castLidar(scene, t);
      expect(sweep.objectIds.filter((id) => String(id) === scene.obstacleTrackId).length, `lidar points on the obstacle at ${t}s`).toBeGreaterThan(points);
      const img = renderCamera(scene, t + 0.005);
      expect(img.objectIds.filter((id) => String(id) === scene.obstacleTrackId).length, `obstacle pixels at ${t}s`).toBeGreaterThan(pixels);
    }
  });

  it('never lets agents overlap each other or come within 0.5 m of the ego', () => {
    const rect = (c: number[], size: number[], yaw: number, margin: number): Array<[number, number]> => {
      const l = size[0]! / 2 + margin;
      const w = size[1]! / 2 + margin;
      const co = Math.cos(yaw);
      const si = Math.sin(yaw);
      return [[l, w], [-l, w], [-l, -w], [l, -w]].map(([a, b]) => [c[0]! + co * a! - si * b!, c[1]! + si * a! + co * b!] as [number, number]);
    };
    const body = scene.egoBody;
    const clashes: string[] = [];
    for (let t = 0; t <= 20; t += 0.1) {
      const agents = scene.agentsAt(t);
      const e = scene.egoStateAt(t);
      const mid = (body.rearX + body.frontX) / 2;
      const ego = rect([e.x + Math.cos(e.yaw) * mid, e.y + Math.sin(e.yaw) * mid], [body.frontX - body.rearX, body.width], e.yaw, 0.5);
      agents.forEach((a, i) => {
        const ra = rect(a.center, a.size, a.yaw, 0.05);
        if (polygonsOverlap(ra, ego)) clashes.push(`${t.toFixed(1)}s ego/${a.trackId}`);
        for (const b of agents.slice(i + 1)) if (polygonsOverlap(ra, rect(b.center, b.size, b.yaw, 0.05))) clashes.push(`${t.toFixed(1)}s ${a.trackId}/${b.trackId}`);
        for (const st of scene.statics) {
          for (const p of st.parts) {
            const above = p.center[2] - p.size[2] / 2 > a.center[2] + a.size[2] / 2; // e.g. a lamp over the sidewalk
            if (!above && polygonsOverlap(ra, rect(p.center, p.size, p.yaw, 0))) clashes.push(`${t.toFixed(1)}s ${a.trackId}/${st.kind}`);
          }
        }
      });
    }
    expect(clashes).toEqual([]);
  });
});

/** base_link <- lidar applied to a lidar-frame point. */
function lidarToEgo(scene: DemoScene, p: Vec3): Vec3 {
  return applyPose(scene.lidar.extrinsic, p);
}

describe('lidar against ground truth', () => {
  const scene = createDemoScene();
  const times = [0.5, 4.2, 8.1, 12.6, 16.3];
  const sweeps = new Map<number, ReturnType<typeof castLidar>>();
  const sweepAt = (t: number) => {
    if (!sweeps.has(t)) sweeps.set(t, castLidar(scene, t));
    return sweeps.get(t)!;
  };

  it('returns about 100k points a sweep with intensity in [0, 1] and all 64 rings', () => {
    const sweep = sweepAt(times[0]!);
    expect(sweep.count).toBeGreaterThan(90_000);
    expect(sweep.count).toBeLessThan(120_000);
    expect(sweep.positions).toHaveLength(sweep.count * 3);
    expect(new Set(sweep.ring).size).toBe(64);
    expect(Math.min(...sweep.intensity)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...sweep.intensity)).toBeLessThanOrEqual(1);
    // Lane paint is much brighter than asphalt.
    const mean = (surface: number) => {
      let sum = 0;
      let n = 0;
      for (let i = 0; i < sweep.count; i++) {
        if (sweep.objectIds[i] !== TERRAIN_ID || sweep.material[i] !== surface) continue;
        sum += sweep.intensity[i]!;
        n++;
      }
      return sum / n;
    };
    expect(mean(Surface.Marking)).toBeGreaterThan(3 * mean(Surface.Asphalt));
    // Maximum range and no returns from the ego itself.
    for (let i = 0; i < sweep.count; i++) {
      const [x, y, z] = [sweep.positions[i * 3]!, sweep.positions[i * 3 + 1]!, sweep.positions[i * 3 + 2]!];
      expect(Math.hypot(x, y, z)).toBeLessThanOrEqual(100.01);
      const b = lidarToEgo(scene, [x, y, z]);
      const inEgo = b[0] > scene.egoBody.rearX && b[0] < scene.egoBody.frontX && Math.abs(b[1]) < scene.egoBody.width / 2 && b[2] < scene.egoBody.height;
      if (inEgo) expect.fail(`point ${i} lies inside the ego`);
    }
  });

  it('puts every point that hit an agent inside that agent\'s ground-truth box (5 cm)', () => {
    for (const t of times) {
      const sweep = sweepAt(t);
      const boxes = new Map(groundTruthAt(scene, t).boxes3dEgo.map((b) => [b.trackId!, b]));
      let agentPoints = 0;
      for (let i = 0; i < sweep.count; i++) {
        const id = sweep.objectIds[i]!;
        if (id <= TERRAIN_ID || id >= STATIC_ID_BASE) continue;
        agentPoints++;
        const box = boxes.get(String(id));
        expect(box, `agent ${id} has points but no box at ${t}s`).toBeDefined();
        const p = lidarToEgo(scene, [sweep.positions[i * 3]!, sweep.positions[i * 3 + 1]!, sweep.positions[i * 3 + 2]!]);
        if (!pointInBox(box!, p, 0.05)) expect.fail(`point of agent ${id} at ${t}s outside its box: ${p}`);
      }
      expect(agentPoints).toBeGreaterThan(1000);
    }
  });

  it('gives every agent within 30 m in line of sight a good number of points', () => {
    for (const t of times) {
      const sweep = sweepAt(t);
      const world = snapshotAt(scene, t);
      const ego = scene.egoPoseAt(t);
      const lidarWorld = composePoses(ego, scene.lidar.extrinsic);
      const counts = new Map<number, number>();
      for (const id of sweep.objectIds) counts.set(id, (counts.get(id) ?? 0) + 1);
      let checked = 0;
      for (const box of groundTruthAt(scene, t).boxes3dEgo) {
        if (Math.hypot(box.center[0], box.center[1]) > 30) continue;
        // Line of sight: the box centre and the centre of its top are both seen directly.
        const worldBox = world.agents.find((a) => a.trackId === box.trackId)!;
        const targets: Vec3[] = [worldBox.center, [worldBox.center[0], worldBox.center[1], worldBox.center[2] + worldBox.size[2] / 2 - 0.05]];
        const visible = targets.every((target) => {
          const dir = [0, 1, 2].map((i) => target[i]! - lidarWorld.translation[i]!);
          return raycast(scene, world, lidarWorld.translation, dir).objectId === worldBox.objectId;
        });
        if (!visible) continue;
        checked++;
        expect(counts.get(worldBox.objectId) ?? 0, `points on ${box.label} ${box.trackId} at ${t}s`).toBeGreaterThanOrEqual(30);
      }
      expect(checked).toBeGreaterThan(2);
    }
  });

  it('puts ground points on the ground: z = 0 on the road, kerb height beyond, in the world frame', () => {
    for (const t of times.slice(0, 3)) {
      const sweep = sweepAt(t);
      const world = composePoses(scene.egoPoseAt(t), scene.lidar.extrinsic);
      const counts = new Map<number, number>();
      for (let i = 0; i < sweep.count; i++) {
        if (sweep.objectIds[i] !== TERRAIN_ID) continue;
        const m = sweep.material[i]!;
        counts.set(m, (counts.get(m) ?? 0) + 1);
        const p = applyPose(world, [sweep.positions[i * 3]!, sweep.positions[i * 3 + 1]!, sweep.positions[i * 3 + 2]!]);
        if (m === Surface.Asphalt || m === Surface.Marking) {
          if (Math.abs(p[2]) > 0.002) expect.fail(`road point at z=${p[2]}`);
          const { d } = scene.road.toRoad(p[0], p[1]);
          expect(d).toBeGreaterThanOrEqual(RIGHT_KERB_D - 0.01);
          expect(d).toBeLessThanOrEqual(LEFT_KERB_D + 0.01);
        } else if (m === Surface.Sidewalk || m === Surface.Grass) {
          if (Math.abs(p[2] - KERB_HEIGHT) > 0.002) expect.fail(`sidewalk/grass point at z=${p[2]}`);
        } else {
          expect(m).toBe(Surface.Kerb);
          expect(p[2]).toBeGreaterThan(-0.002);
          expect(p[2]).toBeLessThan(KERB_HEIGHT + 0.002);
        }
      }
      for (const m of [Surface.Asphalt, Surface.Marking, Surface.Sidewalk, Surface.Grass, Surface.Kerb]) expect(counts.get(m) ?? 0).toBeGreaterThan(20);
    }
  });

  it('agrees with a brute-force ray cast (the azimuth culling drops nothing)', () => {
    const t = times[2]!;
    const sweep = sweepAt(t);
    const world = snapshotAt(scene, t);
    const lidarWorld = composePoses(scene.egoPoseAt(t), scene.lidar.extrinsic);
    const N = scene.lidar.azimuthSteps;
    for (let i = 0; i < sweep.count; i += 97) {
      const local: Vec3 = [sweep.positions[i * 3]!, sweep.positions[i * 3 + 1]!, sweep.positions[i * 3 + 2]!];
      const range = Math.hypot(...local);
      // The exact beam direction: the column nearest the point's azimuth, the ring's elevation.
      const j = Math.round(((Math.atan2(local[1], local[0]) + Math.PI) * N) / (2 * Math.PI)) % N;
      const az = columnAzimuth(j, N);
      const el = (scene.lidar.elevationsDeg[sweep.ring[i]!]! * Math.PI) / 180;
      const beam: Vec3 = [Math.cos(el) * Math.cos(az), Math.cos(el) * Math.sin(az), Math.sin(el)];
      const dir = applyPose({ translation: [0, 0, 0], rotation: lidarWorld.rotation }, beam);
      const hit = raycast(scene, world, lidarWorld.translation, dir);
      expect(hit.objectId).toBe(sweep.objectIds[i]);
      expect(Math.abs(hit.t - range)).toBeLessThan(0.003);
    }
  });
});

describe('camera against ground truth', () => {
  const scene = createDemoScene();

  /** Per agent: pixel count and pixel bounding box, from the object-id buffer. */
  function pixelBoxes(ids: Int32Array, width: number): Map<number, { n: number; x1: number; y1: number; x2: number; y2: number; inside: number; box?: Box2D }> {
    const out = new Map<number, { n: number; x1: number; y1: number; x2: number; y2: number; inside: number }>();
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (id <= TERRAIN_ID || id >= STATIC_ID_BASE) continue;
      const i = k % width;
      const j = (k - i) / width;
      const e = out.get(id) ?? { n: 0, x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity, inside: 0 };
      e.n++;
      e.x1 = Math.min(e.x1, i);
      e.y1 = Math.min(e.y1, j);
      e.x2 = Math.max(e.x2, i);
      e.y2 = Math.max(e.y2, j);
      out.set(id, e);
    }
    return out;
  }

  it('renders sky, road and objects, with the object-id buffer matching the 3D scene', () => {
    const t = 3.005;
    const img = renderCamera(scene, t);
    expect(img.width).toBe(1280);
    expect(img.height).toBe(720);
    expect(img.rgb).toHaveLength(1280 * 720 * 3);
    // Top row: sky or buildings; bottom row: road right in front of the car.
    expect(img.objectIds[0]).not.toBe(TERRAIN_ID);
    expect(img.objectIds[719 * 1280 + 640]).toBe(TERRAIN_ID);
    const sky = img.objectIds.filter((id) => id === NO_HIT).length;
    expect(sky).toBeGreaterThan(50_000);
    // A sky pixel is bluish, the road below greyish.
    const px = (i: number, j: number) => [...img.rgb.subarray((j * 1280 + i) * 3, (j * 1280 + i) * 3 + 3)];
    const skyIndex = img.objectIds.indexOf(NO_HIT);
    const [r, , b] = px(skyIndex % 1280, Math.floor(skyIndex / 1280));
    expect(b!).toBeGreaterThan(r!);
    const road = px(640, 700);
    expect(Math.max(...road) - Math.min(...road)).toBeLessThan(20);
  });

  it('2D boxes cover their objects\' pixels and are tight unless clipped or occluded', () => {
    let checkedTight = 0;
    for (const t of [1.005, 6.005, 11.005, 15.005]) {
      const img = renderCamera(scene, t);
      const { boxes2d } = groundTruthAt(scene, t);
      const byId = new Map(boxes2d.map((b) => [Number(b.trackId), b]));
      const pix = pixelBoxes(img.objectIds, img.width);
      // Geometric occlusion test: any nearer part whose projected rectangle overlaps the box.
      const world = snapshotAt(scene, t);
      const toCam = worldToCameraFn(scene, scene.egoStateAt(t));
      const rects = [] as Array<{ id: number; near: number; far: number; x1: number; y1: number; x2: number; y2: number }>;
      for (let p = 0; p < world.parts.n; p++) {
        const P = world.parts;
        const corners = uprightBoxCorners({ center: [P.cx[p]!, P.cy[p]!, P.cz[p]!], size: [2 * P.hx[p]!, 2 * P.hy[p]!, 2 * P.hz[p]!], yaw: P.yaw[p]! }).map(([x, y, z]) => toCam(x, y, z));
        const r = projectedBoxRect(corners, scene.camera.pinhole);
        if (r) rects.push({ id: P.objectId[p]!, near: Math.min(...corners.map((c) => c[2])), far: Math.max(...corners.map((c) => c[2])), ...r });
      }
      for (const [id, e] of pix) {
        const box = byId.get(id);
        if (!box) {
          // Only agents beyond the labelling range (100 m) may be seen unlabelled, and small.
          expect(groundTruthAt(scene, t).boxes3dEgo.find((b) => b.trackId === String(id)), `agent ${id} at ${t}s`).toBeUndefined();
          expect(e.n).toBeLessThan(0.001 * img.width * img.height);
          continue;
        }
        let inside = 0;
        for (let k = 0; k < img.objectIds.length; k++) {
          if (img.objectIds[k] !== id) continue;
          const i = k % img.width;
          const j = (k - i) / img.width;
          if (i >= box!.x1 && i <= box!.x2 && j >= box!.y1 && j <= box!.y2) inside++;
        }
        expect(inside / e.n, `pixels of ${id} inside its box at ${t}s`).toBeGreaterThanOrEqual(0.99);
        // Tightness, for boxes away from the image border and free of nearer objects.
        const myFar = Math.max(...rects.filter((r) => r.id === id).map((r) => r.far));
        // Anything that overlaps the box on screen and is not entirely behind it may hide part of it.
        const occluded = rects.some((r) => r.id !== id && r.near < myFar && r.x1 < box!.x2 + 1 && r.x2 > box!.x1 - 1 && r.y1 < box!.y2 + 1 && r.y2 > box!.y1 - 1);
        const clipped = box!.x1 <= 0 || box!.y1 <= 0 || box!.x2 >= img.width - 1 || box!.y2 >= img.height - 1;
        if (occluded || clipped || e.n < 150) continue;
        // Cars and trucks are single boxes: tight to rounding. Pedestrians and cyclists are several
        // boxes (body, head, bike) whose envelope is the label, so some slack at the corners.
        const slack = box!.label === 'car' || box!.label === 'truck' ? 0.02 : 0.12;
        const tolX = 1.5 + slack * (box!.x2 - box!.x1);
        const tolY = 1.5 + slack * (box!.y2 - box!.y1);
        expect(Math.abs(e.x1 - box!.x1), `left side of ${id} at ${t}s`).toBeLessThanOrEqual(tolX);
        expect(Math.abs(e.x2 - box!.x2), `right side of ${id} at ${t}s`).toBeLessThanOrEqual(tolX);
        expect(Math.abs(e.y1 - box!.y1), `top of ${id} at ${t}s`).toBeLessThanOrEqual(tolY);
        expect(Math.abs(e.y2 - box!.y2), `bottom of ${id} at ${t}s`).toBeLessThanOrEqual(tolY);
        checkedTight++;
      }
    }
    expect(checkedTight).toBeGreaterThan(5);
  });

  it('projects boxes that are partly behind the camera by clipping at the near plane', () => {
    // A long box alongside the camera: half of it behind the image plane.
    const cam = scene.camera.pinhole;
    const box = { center: [0, 2, 4] as Vec3, size: [1, 1, 20] as Vec3, yaw: 0 };
    // In the optical frame directly (x right, y down, z forward): corners from uprightBoxCorners
    // with z as "height" would be wrong, so build them by hand.
    const corners: Vec3[] = [];
    for (const dx of [-0.5, 0.5]) for (const dy of [-0.5, 0.5]) for (const dz of [-10, 10]) corners.push([box.center[0] + dx, box.center[1] + dy, box.center[2] + dz]);
    const rect = projectedBoxRect(corners, cam)!;
    // Dense samples of the part in front of the camera give the same extent.
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    for (const dx of [-0.5, 0.5]) for (let dy = -0.5; dy <= 0.5; dy += 0.05) for (let z = 0.01; z <= 14; z += 0.01) {
      const u = cam.cx + (cam.fx * (box.center[0] + dx)) / z;
      const v = cam.cy + (cam.fy * (box.center[1] + dy)) / z;
      x1 = Math.min(x1, u); x2 = Math.max(x2, u); y1 = Math.min(y1, v); y2 = Math.max(y2, v);
    }
    expect(rect.x1).toBeCloseTo(x1, 3);
    expect(rect.x2).toBeCloseTo(x2, 3);
    expect(rect.y1).toBeCloseTo(y1, 3);
    expect(rect.y2).toBeCloseTo(y2, 3);
    // Dropping the corners behind the camera (the naive way) would give a far smaller box.
    const naive = corners.filter((c) => c[2] > 0).map((c) => cam.cy + (cam.fy * c[1]) / c[2]);
    expect(Math.max(...naive)).toBeLessThan(y2 / 10);
  });

  it('omits boxes behind the camera and keeps 3D boxes within 100 m in the ego frame', () => {
    const t = 9.0;
    const { boxes3dEgo, boxes2d } = groundTruthAt(scene, t);
    expect(boxes3dEgo.every((b: Box3D) => Math.hypot(b.center[0], b.center[1]) <= 100)).toBe(true);
    const behind = boxes3dEgo.filter((b) => b.center[0] < -5).map((b) => b.trackId);
    expect(behind.length).toBeGreaterThan(0);
    for (const id of behind) expect(boxes2d.find((b) => b.trackId === id)).toBeUndefined();
    expect(boxes2d.every((b) => b.sensorId === CAMERA_SENSOR_ID && b.x1 >= 0 && b.y1 >= 0 && b.x2 <= 1279 && b.y2 <= 719)).toBe(true);
    // Ego-frame boxes are the world boxes seen from the ego pose.
    const inv = invertPose(scene.egoPoseAt(t));
    for (const a of scene.agentsAt(t)) {
      const b = boxes3dEgo.find((x) => x.trackId === a.trackId);
      if (!b) continue;
      const c = applyPose(inv, a.center);
      expect(b.center[0]).toBeCloseTo(c[0], 9);
      expect(b.center[1]).toBeCloseTo(c[1], 9);
      expect(b.center[2]).toBeCloseTo(c[2], 9);
    }
  });
});

describe.skipIf(process.env.SIGHTLINE_FULL_DEMO !== '1')('full default demo (SIGHTLINE_FULL_DEMO=1)', () => {
  it('generates 20 s at 10 Hz well within a minute', async () => {
    const path = join(dir, 'full.mcap');
    const start = performance.now();
    const result = await writeDemoLog(path);
    const seconds = (performance.now() - start) / 1000;
    console.log(`full demo: ${result.frames} frames, ${(result.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s`);
    expect(result.frames).toBe(200);
    expect(seconds).toBeLessThan(60);
  }, 300_000);
});
