// ROS 1 bags as a MessageSource: the KITTI-derived bags (LZ4 and BZ2 chunks) read through their
// index and compared with the source files they were written from and with @foxglove/rosbag's own
// iterator; truncated, unindexed, corrupted and garbage copies; and a seeded fuzz loop.
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bag } from '@foxglove/rosbag';
import { FileReader } from '@foxglove/rosbag/node.js';
import decompressLz4 from '@foxglove/wasm-lz4';
import Bzip2 from '@foxglove/wasm-bz2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogError } from '../../src/logs/errors.js';
import type { Pose, Vec3 } from '../../src/logs/model.js';
import { createDecoder, type PlainMessage } from '../../src/logs/messages/decoders.js';
import type { MessageSource } from '../../src/logs/messages/source.js';
import { RosbagSource } from '../../src/logs/rosbag/bagSource.js';
import { applyPose } from '../../src/logs/transforms.js';
import { createRng } from '../../src/util/rng.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`rosbag tests on real bags skipped: ${fixturesSkipReason}`);

const BAG_DIR = 'rosbag_kitti_derived';
const LZ4_BAG = fixture(BAG_DIR, 'kitti_2011_09_26_sfnd_5frames_lz4.bag');
const BZ2_BAG = fixture(BAG_DIR, 'kitti_2011_09_26_sfnd_1frame_bz2.bag');
const KITTI = (...parts: string[]) => fixture('kitti_raw_2011_09_26_sfnd', ...parts);

const TOPICS: Record<string, string> = {
  '/tf_static': 'tf2_msgs/TFMessage',
  '/kitti/camera_color_left/camera_info': 'sensor_msgs/CameraInfo',
  '/kitti/camera_color_left/image_rect/compressed': 'sensor_msgs/CompressedImage',
  '/kitti/velo/pointcloud': 'sensor_msgs/PointCloud2',
};
const T0 = 1_317_000_000_000_000_000n;
const FRAME_NS = 100_000_000n;

interface Msg {
  conn: number;
  topic: string;
  timeNs: bigint;
  data: Uint8Array;
}

const key = (m: { conn: number; timeNs: bigint }) => `${m.conn}/${m.timeNs}`;
const byTimeThenConn = (a: Msg, b: Msg) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : a.conn - b.conn);
const toNs = (t: { sec: number; nsec: number }) => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
const pad = (i: number) => String(i).padStart(10, '0');

async function readAll(source: MessageSource): Promise<Msg[]> {
  const out: Msg[] = [];
  for (const ch of source.channels) {
    const times = source.times(ch.id);
    for (let i = 0; i < times.length; i++) {
      out.push({ conn: ch.id, topic: ch.topic, timeNs: times[i]!, data: await source.readMessage(source.refAt(ch.id, i)) });
    }
  }
  return out.sort(byTimeThenConn);
}

/** Every message, in order, from @foxglove/rosbag's own reader (the reference). */
async function referenceMessages(path: string): Promise<{ messages: Msg[]; bag: Bag }> {
  await decompressLz4.isLoaded;
  const bzip2 = await Bzip2.init();
  const reader = new FileReader(path);
  const bag = new Bag(reader, {
    parse: false,
    decompress: { lz4: (b, size) => decompressLz4(b, size), bz2: (b, size) => bzip2.decompress(b, size, { small: false }) },
  });
  await bag.open();
  const messages: Msg[] = [];
  for await (const m of bag.messageIterator()) {
    messages.push({ conn: m.connectionId, topic: m.topic, timeNs: toNs(m.timestamp), data: m.data });
  }
  await reader.close();
  return { messages, bag };
}

function calibValues(text: string, name: string): number[] {
  const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`calibration has no ${name}`);
  return line.slice(name.length + 1).trim().split(/\s+/).map(Number);
}

async function expectLogError(promise: Promise<unknown>, path: string, pattern?: RegExp): Promise<LogError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a LogError').toBeInstanceOf(LogError);
  const logError = error as LogError;
  expect(logError.where.path).toBe(path);
  if (pattern) expect(logError.message).toMatch(pattern);
  return logError;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sightline-rosbag-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasFixtures)('KITTI-derived ROS bags', () => {
  for (const [name, path, frames] of [
    ['LZ4, 5 frames', LZ4_BAG, 5],
    ['BZ2, 1 frame', BZ2_BAG, 1],
  ] as const) {
    it(`${name}: channels, times, decoded messages and the original payload bytes`, async () => {
      const source = await RosbagSource.open(path);
      try {
        expect(source.warnings).toEqual([]);
        expect(source.path).toBe(path);
        expect(Object.fromEntries(source.channels.map((c) => [c.topic, c.schemaName]))).toEqual(TOPICS);
        for (const ch of source.channels) {
          expect(ch.schemaEncoding).toBe('ros1msg');
          expect(ch.messageEncoding).toBe('ros1');
          expect(new TextDecoder().decode(ch.schemaData)).toMatch(/^(std_msgs\/)?Header header|^geometry_msgs\/TransformStamped\[\] transforms/m);
        }
        const channel = (topic: string) => source.channels.find((c) => c.topic === topic)!;
        const calib = await readFile(KITTI('calib', 'calib_cam_to_cam.txt'), 'utf8');
        const veloToCam = await readFile(KITTI('calib', 'calib_velo_to_cam.txt'), 'utf8');
        const rRect = calibValues(calib, 'R_rect_00');
        const pRect = calibValues(calib, 'P_rect_02');

        for (const [topic] of Object.entries(TOPICS)) {
          const ch = channel(topic);
          const times = source.times(ch.id);
          expect(times.length, topic).toBe(topic === '/tf_static' ? 1 : frames);
          const decode = createDecoder(ch, path)!;
          for (let i = 0; i < times.length; i++) {
            // Synthetic stamps 1317000000 s + i * 0.1 s, written from floating-point seconds.
            const expected = T0 + BigInt(i) * FRAME_NS;
            const gap = times[i]! > expected ? times[i]! - expected : expected - times[i]!;
            expect(gap, `${topic} time ${i}`).toBeLessThan(1000n);
            const ref = source.refAt(ch.id, i);
            expect(ref.logTime).toBe(times[i]);
            const bytes = await source.readMessage(ref);
            const msg = decode(bytes);
            if (topic === '/tf_static') {
              const transforms = msg.transforms as PlainMessage[];
              expect(transforms).toHaveLength(1);
              const tf = transforms[0]!;
              expect((tf.header as PlainMessage).frame_id).toBe('velo_link');
              expect(tf.child_frame_id).toBe('camera_color_left');
              // The transform is the inverse of calib_velo_to_cam: p_velo = Rᵀ (p_cam − T).
              const t = tf.transform as { translation: { x: number; y: number; z: number }; rotation: { x: number; y: number; z: number; w: number } };
              const pose: Pose = {
                translation: [t.translation.x, t.translation.y, t.translation.z],
                rotation: [t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w],
              };
              const R = calibValues(veloToCam, 'R');
              const T = calibValues(veloToCam, 'T');
              for (const pCam of [[0, 0, 0], [1, 2, 10], [-3, 0.5, 20]] as Vec3[]) {
                const d = [pCam[0] - T[0]!, pCam[1] - T[1]!, pCam[2] - T[2]!];
                const pVelo = [0, 1, 2].map((c) => R[c]! * d[0]! + R[3 + c]! * d[1]! + R[6 + c]! * d[2]!);
                applyPose(pose, pCam).forEach((v, c) => expect(v).toBeCloseTo(pVelo[c]!, 3));
              }
              continue;
            }
            const header = msg.header as { stamp: { sec: number; nsec: number }; frame_id: string };
            expect(toNs(header.stamp), `${topic} header stamp`).toBe(times[i]);
            if (topic.endsWith('camera_info')) {
              expect(msg.width).toBe(1242);
              expect(msg.height).toBe(375);
              expect(msg.distortion_model).toBe('plumb_bob');
              const r = Array.from(msg.R as ArrayLike<number>);
              expect(r).not.toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
              r.forEach((v, k) => expect(v).toBeCloseTo(rRect[k]!, 6));
              Array.from(msg.P as ArrayLike<number>).forEach((v, k) => expect(v).toBeCloseTo(pRect[k]!, 4));
            } else if (topic.endsWith('compressed')) {
              expect(msg.format).toBe('png');
              const png = new Uint8Array(await readFile(KITTI('image_02', 'data', `${pad(i)}.png`)));
              expect(Buffer.compare(msg.data as Uint8Array, png), `PNG ${i} bytes`).toBe(0);
            } else {
              expect(header.frame_id).toBe('velo_link');
              expect((msg.fields as PlainMessage[]).map((f) => f.name)).toEqual(['x', 'y', 'z', 'intensity']);
              expect(msg.point_step).toBe(16);
              const bin = new Uint8Array(await readFile(KITTI('velodyne_points', 'data', `${pad(i)}.bin`)));
              expect(Buffer.compare(msg.data as Uint8Array, bin), `velodyne ${i} bytes`).toBe(0);
              expect((msg.width as number) * (msg.height as number) * 16).toBe(bin.byteLength);
            }
          }
        }
      } finally {
        await source.close();
      }
    });

    it(`${name}: the same (topic, time, bytes) sequence as @foxglove/rosbag's messageIterator`, async () => {
      const { messages: expected } = await referenceMessages(path);
      expect(expected).toHaveLength(1 + 3 * frames);
      const source = await RosbagSource.open(path);
      try {
        const actual = await readAll(source);
        expect(actual.map((m) => `${m.topic}@${m.timeNs}`)).toEqual([...expected].sort(byTimeThenConn).map((m) => `${m.topic}@${m.timeNs}`));
        const sorted = [...expected].sort(byTimeThenConn);
        actual.forEach((m, i) => expect(Buffer.compare(m.data, sorted[i]!.data), `${m.topic}@${m.timeNs}`).toBe(0));
      } finally {
        await source.close();
      }
    });
  }

  it('LZ4: opens from the index alone, shares concurrent chunk loads, works with no cache, reports progress', async () => {
    const progress: [number, number][] = [];
    let t = performance.now();
    const source = await RosbagSource.open(LZ4_BAG, { onProgress: (done, total) => progress.push([done, total]) });
    const openMs = performance.now() - t;
    try {
      expect(source.sizeBytes).toBe((await readFile(LZ4_BAG)).byteLength);
      expect(progress.at(-1)).toEqual([source.sizeBytes, source.sizeBytes]);
      progress.forEach(([done], i) => expect(done).toBeGreaterThanOrEqual(progress[i - 1]?.[0] ?? 0));
      t = performance.now();
      const all = await readAll(source);
      const readMs = performance.now() - t;
      console.info(`LZ4 bag (${source.sizeBytes} bytes, ${all.length} messages): open ${openMs.toFixed(1)} ms, read all ${readMs.toFixed(1)} ms`);
      // All refs at once: one load per chunk, identical bytes.
      const refs = source.channels.flatMap((c) => Array.from(source.times(c.id), (_, i) => source.refAt(c.id, i)));
      const twice = await Promise.all([...refs, ...refs].map((r) => source.readMessage(r)));
      refs.forEach((_, i) => expect(Buffer.compare(twice[i]!, twice[i + refs.length]!)).toBe(0));
      expect(() => source.refAt(source.channels[0]!.id, 99)).toThrow(LogError);
      expect(source.times(12345)).toHaveLength(0);
    } finally {
      await source.close();
    }
    const uncached = await RosbagSource.open(LZ4_BAG, { chunkCacheBytes: 0 });
    try {
      const { messages } = await referenceMessages(LZ4_BAG);
      const all = await readAll(uncached);
      expect(all.map(key)).toEqual([...messages].sort(byTimeThenConn).map(key));
    } finally {
      await uncached.close();
    }
  });

  it('LZ4: corrupt chunk data does not affect opening; reads of that chunk fail with a LogError, others still work', async () => {
    const original = new Uint8Array(await readFile(LZ4_BAG));
    const { bag, messages } = await referenceMessages(LZ4_BAG);
    const chunkPos = bag.chunkInfos.map((c) => c.chunkPosition);
    const expectedByKey = new Map(messages.map((m) => [key(m), m.data]));
    const intact = await RosbagSource.open(LZ4_BAG);
    const intactTimes = intact.channels.map((c) => Array.from(intact.times(c.id)));
    await intact.close();

    // One flipped byte early in chunk 2's LZ4 data: the frame fails mid-stream (a failure that, in
    // the package-level wasm-lz4 function, would leave its shared context broken for good).
    const flipped = original.slice();
    flipped[chunkPos[2]! + 1000]! ^= 0x55;
    const flippedPath = join(dir, 'flipped.bag');
    await writeFile(flippedPath, flipped);
    // No chunk cache: every read below decompresses again, after the failures before it.
    const source = await RosbagSource.open(flippedPath, { chunkCacheBytes: 0 });
    try {
      expect(source.warnings).toEqual([]);
      expect(source.channels.map((c) => Array.from(source.times(c.id)))).toEqual(intactTimes);
      const chunk2 = bag.chunkInfos[2]!;
      const inChunk2 = (t: bigint) => t >= toNs(chunk2.startTime) && t <= toNs(chunk2.endTime);
      // Concurrent reads: failures of chunk 2 do not spill over onto the reads of other chunks.
      const refs = source.channels.flatMap((c) => Array.from(source.times(c.id), (_, i) => source.refAt(c.id, i)));
      const settled = await Promise.allSettled(refs.map((r) => source.readMessage(r)));
      settled.forEach((result, i) => {
        const ref = refs[i]!;
        if (inChunk2(ref.logTime)) expect(result.status === 'rejected' && result.reason instanceof LogError).toBe(true);
        else expect(result.status === 'fulfilled' && Buffer.compare(result.value, expectedByKey.get(key({ conn: ref.channelId, timeNs: ref.logTime }))!)).toBe(0);
      });
      for (let round = 0; round < 2; round++) {
        for (const ch of source.channels) {
          const times = source.times(ch.id);
          for (let i = 0; i < times.length; i++) {
            const read = source.readMessage(source.refAt(ch.id, i));
            if (inChunk2(times[i]!)) {
              const error = await expectLogError(read, flippedPath, new RegExp(`chunk at byte ${chunkPos[2]}`));
              expect(error.where.offset).toBe(chunkPos[2]);
            } else {
              expect(Buffer.compare(await read, expectedByKey.get(key({ conn: ch.id, timeNs: times[i]! }))!)).toBe(0);
            }
          }
        }
      }
    } finally {
      await source.close();
    }
    // The shared wasm-lz4 module (also used by the MCAP reader) is not left broken by our failures.
    expect((await referenceMessages(LZ4_BAG)).messages).toHaveLength(16);

    // Garbage over the middle of every chunk: the index still opens the bag, unchanged; every read fails cleanly.
    const trashed = original.slice();
    for (let k = 0; k < chunkPos.length; k++) {
      const end = chunkPos[k + 1] ?? bag.header!.indexPosition;
      const at = Math.floor((chunkPos[k]! + end) / 2);
      trashed.fill(0xa5, at, at + 4096);
    }
    const trashedPath = join(dir, 'trashed.bag');
    await writeFile(trashedPath, trashed);
    const broken = await RosbagSource.open(trashedPath);
    try {
      expect(broken.warnings).toEqual([]);
      expect(broken.channels.map((c) => Array.from(broken.times(c.id)))).toEqual(intactTimes);
      for (const ch of broken.channels) await expectLogError(broken.readMessage(broken.refAt(ch.id, 0)), trashedPath, /cannot be read/);
    } finally {
      await broken.close();
    }
  });

  it('BZ2: a flipped byte in the chunk gives a LogError on reading, not a crash', async () => {
    const original = new Uint8Array(await readFile(BZ2_BAG));
    const { bag } = await referenceMessages(BZ2_BAG);
    const pos = bag.chunkInfos[0]!.chunkPosition;
    const flipped = original.slice();
    flipped[pos + 200_000]! ^= 0x01;
    const path = join(dir, 'flipped-bz2.bag');
    await writeFile(path, flipped);
    const source = await RosbagSource.open(path);
    try {
      expect(source.warnings).toEqual([]);
      for (const ch of source.channels) {
        const error = await expectLogError(source.readMessage(source.refAt(ch.id, 0)), path, /BZ2|bzip2/);
        expect(error.where.offset).toBe(pos);
      }
    } finally {
      await source.close();
    }
  });

  it('LZ4: truncated copies are scanned, keeping every message before the cut', async () => {
    const original = new Uint8Array(await readFile(LZ4_BAG));
    const { bag, messages } = await referenceMessages(LZ4_BAG);
    const chunkPos = bag.chunkInfos.map((c) => c.chunkPosition);
    const indexPos = bag.header!.indexPosition;
    const chunkOf = (m: Msg) => bag.chunkInfos.findIndex((c) => m.timeNs >= toNs(c.startTime) && m.timeNs <= toNs(c.endTime));
    const expectedByKey = new Map(messages.map((m) => [key(m), m.data]));

    // [cut, chunks kept, where the good data ends (undefined: the whole file scanned)]
    const cases: [number, number, number | undefined][] = [];
    for (let k = 1; k < chunkPos.length; k++) {
      cases.push([chunkPos[k]! + 1000, k, chunkPos[k]]); // inside chunk k's data
      cases.push([chunkPos[k]!, k, undefined]); // exactly after chunk k-1 and its index data
      cases.push([chunkPos[k]! - 20, k, undefined]); // inside chunk k-1's last IndexData record
    }
    cases.push([indexPos, chunkPos.length, undefined]); // the whole index section lost
    cases.push([indexPos + 500, chunkPos.length, indexPos]); // cut inside the first Connection record
    cases.push([original.byteLength - 10, chunkPos.length, undefined]); // cut inside the last ChunkInfo

    const path = join(dir, 'truncated.bag');
    for (const [cut, kept, goodEnd] of cases) {
      await writeFile(path, original.subarray(0, cut));
      const source = await RosbagSource.open(path);
      try {
        expect(source.warnings.length, `cut ${cut}`).toBeGreaterThan(0);
        const warning = source.warnings[0]!;
        expect(warning).toMatch(/truncated|cut off|unreadable/);
        const good = /good up to byte (\d+)/.exec(warning);
        if (goodEnd !== undefined) expect(Number(good?.[1]), warning).toBe(goodEnd);
        else if (good) {
          // Cut inside trailing IndexData: that record is lost, its chunk is recovered from its own records.
          expect(Number(good[1])).toBeGreaterThan(chunkPos[kept - 1]!);
          expect(Number(good[1])).toBeLessThan(cut);
        }
        const all = await readAll(source);
        const expected = messages.filter((m) => chunkOf(m) < kept);
        expect(all.map(key).sort(), `cut ${cut}`).toEqual(expected.map(key).sort());
        for (const m of all) expect(Buffer.compare(m.data, expectedByKey.get(key(m))!)).toBe(0);
        expect(Object.fromEntries(source.channels.map((c) => [c.topic, c.schemaName]))).toEqual(TOPICS);
      } finally {
        await source.close();
      }
    }

    // Cut inside the first chunk or the header: nothing to keep.
    for (const cut of [chunkPos[0]! + 1000, chunkPos[0]! + 3, 2000, 13, 5]) {
      await writeFile(path, original.subarray(0, cut));
      const error = await expectLogError(RosbagSource.open(path), path);
      expect(error.where.offset, error.message).toBeDefined();
    }
  });

  it('LZ4: a bag that was never closed (index_pos = 0) is scanned whole', async () => {
    const bytes = new Uint8Array(await readFile(LZ4_BAG));
    const field = Buffer.from(bytes.subarray(0, 4117)).indexOf('index_pos=');
    expect(field).toBeGreaterThan(0);
    bytes.fill(0, field + 10, field + 18);
    const path = join(dir, 'unclosed.bag');
    await writeFile(path, bytes);
    const source = await RosbagSource.open(path);
    try {
      expect(source.warnings[0]).toMatch(/index_pos is 0.*scanned the whole file.*16 messages in 5 chunks/);
      const { messages } = await referenceMessages(LZ4_BAG);
      const all = await readAll(source);
      expect(all.map(key)).toEqual([...messages].sort(byTimeThenConn).map(key));
      all.forEach((m, i) => expect(Buffer.compare(m.data, [...messages].sort(byTimeThenConn)[i]!.data)).toBe(0));
    } finally {
      await source.close();
    }
  });
});

describe('files that are not bags', () => {
  it('empty, garbage, other versions, directories and missing files give a LogError naming the file', async () => {
    const rng = createRng(7);
    const garbage = Uint8Array.from({ length: 10_000 }, () => Math.floor(rng() * 256));
    const magic = new TextEncoder().encode('#ROSBAG V2.0\n');
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty.bag', new Uint8Array(), /empty/],
      ['garbage.bag', garbage, /not a ROS bag/],
      ['v12.bag', new TextEncoder().encode('#ROSBAG V1.2\n' + 'x'.repeat(100)), /version 1\.2/],
      ['magic-only.bag', magic, /bag header at byte 13/],
      ['magic-garbage.bag', new Uint8Array([...magic, ...garbage]), /bag header at byte 13/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      await expectLogError(RosbagSource.open(path), path, pattern);
    }
    await expectLogError(RosbagSource.open(join(dir, 'missing.bag')), join(dir, 'missing.bag'), /cannot open/);
    await expectLogError(RosbagSource.open(dir), dir, /cannot open/);
  });
});

// ---------------------------------------------------------------------------------------------
// A small bag for the fuzz loop, written here (uncompressed chunks) from real messages of the
// LZ4 bag, and checked against @foxglove/rosbag before use.

const enc = new TextEncoder();
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const rosTime = (ns: bigint) => new Uint8Array([...u32(Number(ns / 1_000_000_000n)), ...u32(Number(ns % 1_000_000_000n))]);
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};
const fieldsBytes = (fields: [string, Uint8Array][]) =>
  concat(fields.flatMap(([name, value]) => [u32(name.length + 1 + value.byteLength), enc.encode(`${name}=`), value]));
const record = (header: [string, Uint8Array][], data: Uint8Array) => {
  const h = fieldsBytes(header);
  return concat([u32(h.byteLength), h, u32(data.byteLength), data]);
};

interface MiniConnection {
  conn: number;
  topic: string;
  type: string;
  definition: Uint8Array;
}

/** Writes a bag-2.0 file with uncompressed chunks; returns it and where each chunk's span starts. */
function writeMiniBag(
  connections: MiniConnection[],
  chunks: Msg[][],
  { closed = true, indexData = true } = {},
): { bytes: Uint8Array; chunkSpans: [number, number][]; structure: number[] } {
  const connRecord = (c: MiniConnection) =>
    record(
      [
        ['op', Uint8Array.of(7)],
        ['conn', u32(c.conn)],
        ['topic', enc.encode(c.topic)],
      ],
      fieldsBytes([
        ['topic', enc.encode(c.topic)],
        ['type', enc.encode(c.type)],
        ['md5sum', enc.encode('0'.repeat(32))],
        ['message_definition', c.definition],
      ]),
    );
  const parts: Uint8Array[] = [enc.encode('#ROSBAG V2.0\n')];
  let at = 13;
  const structure: number[] = [13];
  const push = (bytes: Uint8Array) => {
    structure.push(at);
    parts.push(bytes);
    at += bytes.byteLength;
  };
  parts.push(new Uint8Array()); // the header goes here once the index position is known
  at += 4096;
  const written = new Set<number>();
  const chunkSpans: [number, number][] = [];
  const infos: { pos: number; start: bigint; end: bigint; counts: Map<number, number> }[] = [];
  for (const messages of chunks) {
    const inner: Uint8Array[] = [];
    let offset = 0;
    const index = new Map<number, [bigint, number][]>();
    for (const m of messages) {
      if (!written.has(m.conn)) {
        written.add(m.conn);
        const r = connRecord(connections.find((c) => c.conn === m.conn)!);
        inner.push(r);
        offset += r.byteLength;
      }
      const r = record(
        [
          ['op', Uint8Array.of(2)],
          ['conn', u32(m.conn)],
          ['time', rosTime(m.timeNs)],
        ],
        m.data,
      );
      if (!index.has(m.conn)) index.set(m.conn, []);
      index.get(m.conn)!.push([m.timeNs, offset]);
      inner.push(r);
      offset += r.byteLength;
    }
    const data = concat(inner);
    const start = at;
    push(
      record(
        [
          ['op', Uint8Array.of(5)],
          ['compression', enc.encode('none')],
          ['size', u32(data.byteLength)],
        ],
        data,
      ),
    );
    for (const [conn, entries] of indexData ? [...index].sort((a, b) => a[0] - b[0]) : []) {
      push(
        record(
          [
            ['op', Uint8Array.of(4)],
            ['ver', u32(1)],
            ['conn', u32(conn)],
            ['count', u32(entries.length)],
          ],
          concat(entries.map(([t, o]) => concat([rosTime(t), u32(o)]))),
        ),
      );
    }
    chunkSpans.push([start, at]);
    const times = messages.map((m) => m.timeNs).sort((a, b) => (a < b ? -1 : 1));
    infos.push({ pos: start, start: times[0]!, end: times.at(-1)!, counts: new Map([...index].map(([c, e]) => [c, e.length])) });
  }
  const indexPos = closed ? at : 0;
  for (const c of closed ? connections : []) push(connRecord(c));
  for (const info of closed ? infos : []) {
    push(
      record(
        [
          ['op', Uint8Array.of(6)],
          ['ver', u32(1)],
          ['chunk_pos', u64(info.pos)],
          ['start_time', rosTime(info.start)],
          ['end_time', rosTime(info.end)],
          ['count', u32(info.counts.size)],
        ],
        concat([...info.counts].map(([c, n]) => concat([u32(c), u32(n)]))),
      ),
    );
  }
  const headerFields = fieldsBytes([
    ['op', Uint8Array.of(3)],
    ['index_pos', u64(indexPos)],
    ['conn_count', u32(closed ? connections.length : 0)],
    ['chunk_count', u32(closed ? infos.length : 0)],
  ]);
  const padding = new Uint8Array(4096 - 8 - headerFields.byteLength).fill(0x20);
  parts[1] = concat([u32(headerFields.byteLength), headerFields, u32(padding.byteLength), padding]);
  return { bytes: concat(parts), chunkSpans, structure };
}

/** Real tf and camera-info messages from the LZ4 bag, spread over 4 uncompressed chunks. */
async function miniBagContent(): Promise<{ connections: MiniConnection[]; chunks: Msg[][] }> {
  const lz4 = await RosbagSource.open(LZ4_BAG);
  const real = (await readAll(lz4)).filter((m) => m.data.byteLength < 1000);
  const connections: MiniConnection[] = lz4.channels
    .filter((c) => real.some((m) => m.conn === c.id))
    .map((c) => ({ conn: c.id, topic: c.topic, type: c.schemaName, definition: c.schemaData }));
  await lz4.close();
  const tf = real.find((m) => m.topic === '/tf_static')!;
  const infos = real.filter((m) => m.topic !== '/tf_static');
  const chunks: Msg[][] = [0, 1, 2, 3].map((k) => [
    { ...tf, timeNs: T0 + BigInt(k) * 1_000_000_000n + 5n },
    ...infos.slice(0, 3).map((m, i) => ({ ...m, timeNs: T0 + BigInt(k) * 1_000_000_000n + BigInt(i) * FRAME_NS })),
  ]);
  return { connections, chunks };
}

describe.skipIf(!hasFixtures)('small written bags', () => {
  it('a bag killed before closing, without any index data, is rebuilt from its chunks', async () => {
    const { connections, chunks } = await miniBagContent();
    const path = join(dir, 'killed.bag');
    await writeFile(path, writeMiniBag(connections, chunks, { closed: false, indexData: false }).bytes);
    const source = await RosbagSource.open(path);
    try {
      expect(source.warnings).toHaveLength(1);
      expect(source.warnings[0]).toMatch(/index_pos is 0.*scanned the whole file.*16 messages in 4 chunks/);
      expect(source.channels.map((c) => [c.topic, c.schemaName])).toEqual(connections.map((c) => [c.topic, c.type]));
      const all = await readAll(source);
      const expected = chunks.flat().sort(byTimeThenConn);
      expect(all.map(key)).toEqual(expected.map(key));
      all.forEach((m, i) => expect(Buffer.compare(m.data, expected[i]!.data)).toBe(0));
      const decode = createDecoder(source.channels.find((c) => c.topic.endsWith('camera_info'))!, path)!;
      const info = all.find((m) => m.topic.endsWith('camera_info'))!;
      expect(decode(info.data).width).toBe(1242);
    } finally {
      await source.close();
    }
  });

  it('≥ 500 mutated or truncated bags give a LogError or consistent messages, quickly', async () => {
    const started = performance.now();
    const { connections, chunks } = await miniBagContent();
    const { bytes: mini, chunkSpans, structure } = writeMiniBag(connections, chunks);
    const originals = new Map(chunks.flat().map((m) => [key(m), m.data]));
    const chunkOfKey = new Map(chunks.flatMap((c, k) => c.map((m) => [key(m), k] as const)));

    // The writer is right: @foxglove/rosbag and RosbagSource both read back every message.
    const miniPath = join(dir, 'mini.bag');
    await writeFile(miniPath, mini);
    const reference = (await referenceMessages(miniPath)).messages;
    expect(reference.map(key).sort()).toEqual([...originals.keys()].sort());
    const intact = await RosbagSource.open(miniPath);
    expect(intact.warnings).toEqual([]);
    const intactAll = await readAll(intact);
    await intact.close();
    expect(intactAll.map(key).sort()).toEqual([...originals.keys()].sort());
    for (const m of intactAll) expect(Buffer.compare(m.data, originals.get(key(m))!)).toBe(0);

    const rng = createRng(20240601);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rng() * list.length)]!;
    const tally = { logError: 0, opened: 0, reads: 0, readErrors: 0, changed: 0, scanned: 0 };
    const path = join(dir, 'fuzz.bag');
    const CASES = 520;
    for (let n = 0; n < CASES; n++) {
      const kind = pick(['flip', 'flip', 'length', 'truncate', 'truncate+flip', 'zero-run'] as const);
      let bytes = mini.slice();
      let mutated = false;
      if (kind === 'truncate' || kind === 'truncate+flip') bytes = bytes.subarray(0, Math.floor(rng() * mini.byteLength));
      if (kind !== 'truncate' && bytes.byteLength > 0) {
        mutated = true;
        // Half the mutations land on record headers, where lengths and fields live.
        const near = () => Math.min(bytes.byteLength - 1, rng() < 0.5 ? pick(structure) + Math.floor(rng() * 48) : Math.floor(rng() * bytes.byteLength));
        if (kind === 'length') {
          const at = Math.min(bytes.byteLength - 4, near());
          if (at >= 0) new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, Math.floor(rng() * 2 ** 32), true);
        } else if (kind === 'zero-run') {
          const at = near();
          bytes.fill(rng() < 0.5 ? 0 : 0xff, at, at + 1 + Math.floor(rng() * 16));
        } else {
          for (let f = 1 + Math.floor(rng() * 3); f > 0; f--) bytes[near()]! ^= 1 << Math.floor(rng() * 8);
        }
      }
      await writeFile(path, bytes);
      let source: RosbagSource;
      try {
        source = await RosbagSource.open(path);
      } catch (error) {
        expect(error, `case ${n} (${kind})`).toBeInstanceOf(LogError);
        expect((error as LogError).where.path).toBe(path);
        tally.logError++;
        continue;
      }
      tally.opened++;
      if (source.warnings.some((w) => /scanning/.test(w))) tally.scanned++;
      try {
        const seen = new Set<string>();
        for (const ch of source.channels) {
          const times = source.times(ch.id);
          for (let i = 0; i < times.length; i++) {
            if (i > 0) expect(times[i]! >= times[i - 1]!, `case ${n}: times sorted`).toBe(true);
            let data: Uint8Array;
            try {
              data = await source.readMessage(source.refAt(ch.id, i));
            } catch (error) {
              expect(error, `case ${n} (${kind})`).toBeInstanceOf(LogError);
              tally.readErrors++;
              continue;
            }
            tally.reads++;
            const k = key({ conn: ch.id, timeNs: times[i]! });
            seen.add(k);
            const original = originals.get(k);
            if (!original || Buffer.compare(data, original) !== 0) {
              // Only mutated bytes may change what a message reads as; a cut never does.
              expect(mutated, `case ${n} (${kind}): ${k} read back different bytes`).toBe(true);
              tally.changed++;
            }
          }
        }
        if (!mutated) {
          // Every chunk (with its index data) wholly before the cut is recovered.
          for (const [k, chunk] of chunkOfKey) {
            if (chunkSpans[chunk]![1] <= bytes.byteLength) expect(seen.has(k), `case ${n}: lost ${k} before the cut`).toBe(true);
          }
        }
      } finally {
        await source.close();
      }
    }

    // And the real LZ4 bag, mutated in place on its record headers and index (restored after each case).
    const { bag } = await referenceMessages(LZ4_BAG);
    const realBytes = new Uint8Array(await readFile(LZ4_BAG));
    const realOriginals = new Map((await referenceMessages(LZ4_BAG)).messages.map((m) => [key(m), m.data]));
    const realPath = join(dir, 'fuzz-real.bag');
    await writeFile(realPath, realBytes);
    const hotSpots = [
      [13, 160],
      ...bag.chunkInfos.flatMap((c, k) => [
        [c.chunkPosition, 80],
        [(bag.chunkInfos[k + 1]?.chunkPosition ?? bag.header!.indexPosition) - 300, 300],
      ]),
      [bag.header!.indexPosition, realBytes.byteLength - bag.header!.indexPosition],
    ] as [number, number][];
    const handle = await open(realPath, 'r+');
    const REAL_CASES = 40;
    try {
      for (let n = 0; n < REAL_CASES; n++) {
        const [start, length] = pick(hotSpots);
        const at = start + Math.floor(rng() * length);
        const saved = realBytes.subarray(at, at + 4);
        const mutation = saved.slice();
        mutation[0]! ^= 1 << Math.floor(rng() * 8);
        for (let b = 1; b < mutation.byteLength; b++) if (rng() < 0.3) mutation[b]! ^= 1 << Math.floor(rng() * 8);
        await handle.write(mutation, 0, mutation.byteLength, at);
        try {
          const source = await RosbagSource.open(realPath);
          tally.opened++;
          try {
            for (const ch of source.channels) {
              for (let i = 0; i < source.times(ch.id).length; i++) {
                const ref = source.refAt(ch.id, i);
                try {
                  const data = await source.readMessage(ref);
                  tally.reads++;
                  // Header and index mutations may drop or fail messages but never alter their bytes (the
                  // LZ4 frames carry content checksums, so damaged chunk data cannot read back either).
                  const original = realOriginals.get(key({ conn: ch.id, timeNs: ref.logTime }));
                  expect(original && Buffer.compare(data, original) === 0, `real case ${n} at ${at}`).toBe(true);
                } catch (error) {
                  expect(error, `real case ${n} at ${at}`).toBeInstanceOf(LogError);
                  tally.readErrors++;
                }
              }
            }
          } finally {
            await source.close();
          }
        } catch (error) {
          expect(error, `real case ${n} at ${at}`).toBeInstanceOf(LogError);
          tally.logError++;
        } finally {
          await handle.write(saved, 0, saved.byteLength, at);
        }
      }
    } finally {
      await handle.close();
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(`rosbag fuzz: ${CASES + REAL_CASES} cases in ${seconds.toFixed(1)} s`, tally);
    expect(tally.logError).toBeGreaterThan(0);
    expect(tally.opened).toBeGreaterThan(0);
    expect(tally.scanned).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(30);
  });
});
