// Foxglove schemas in FlatBuffers encoding inside MCAP. No FlatBuffers drive log is among the
// fixtures, so this test makes one from the real KITTI-derived Foxglove JSON MCAP: each message is
// re-encoded by the reference compiler (flatc, WebAssembly) from its JSON, with the .bfbs that flatc
// compiles from Foxglove's own .fbs. The FlatBuffers copy must then open as the same drive as the
// JSON original: same frames, image bytes, points, transforms, 3D and 2D boxes.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { McapStreamReader, McapWriter } from '@mcap/core';
import { Builder, ByteBuffer } from 'flatbuffers';
import { Schema as ReflectionSchema } from 'flatbuffers_reflection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriveLog } from '../../src/logs/driveLog.js';
import type { LogInfo } from '../../src/logs/model.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../src/logs/open.js';
import { createDecoder, type PlainMessage } from '../../src/logs/messages/decoders.js';
import { FlatbufferError } from '../../src/logs/messages/flatbufferSchema.js';
import { toTransforms } from '../../src/logs/messages/foxglove.js';
import type { SourceChannel } from '../../src/logs/messages/source.js';
import { createRng } from '../../src/util/rng.js';
import { cliBin, ensureDist, repoRoot } from '../helpers/build.js';
import { FoxgloveFlatbuffers } from '../helpers/flatbufferSchemas.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { MemoryWritable } from '../helpers/mcap.js';

const KITTI_JSON = fixture('mcap_kitti_derived', 'kitti_object_2samples_foxglove_json.mcap');
/** The KITTI files behind the JSON fixture's two samples (SOURCES.md). */
const SAMPLE_FILES = [
  { image: fixture('kitti_object_vis', 'training', 'image_2', '000002.png'), velodyne: fixture('kitti_object_vis', 'training', 'velodyne', '000002.bin') },
  { image: fixture('kitti_object_extra', 'training', 'image_2', '000134.png'), velodyne: fixture('kitti_object_extra', 'training', 'velodyne', '000134.bin') },
];

interface LogMessage {
  topic: string;
  schemaName: string;
  logTime: bigint;
  publishTime: bigint;
  /** The message as the JSON original holds it, bytes decoded from base64. */
  json: PlainMessage;
  /** The same message in FlatBuffers encoding. */
  flatbuffer: Uint8Array;
}


/** An indexed, chunked MCAP of FlatBuffers channels; extra channels may carry any schema. */
async function writeFlatbufferMcap(
  path: string,
  fb: FoxgloveFlatbuffers,
  messages: Array<Pick<LogMessage, 'topic' | 'schemaName' | 'logTime' | 'publishTime' | 'flatbuffer'> & { schemaData?: Uint8Array }>,
): Promise<void> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 256 * 1024 });
  await writer.start({ profile: '', library: 'sightline flatbuffer test' });
  const channels = new Map<string, number>();
  const sequence = new Map<number, number>();
  for (const m of messages) {
    let channelId = channels.get(m.topic);
    if (channelId === undefined) {
      const schemaId = await writer.registerSchema({ name: m.schemaName, encoding: 'flatbuffer', data: m.schemaData ?? fb.bfbs(m.schemaName) });
      channelId = await writer.registerChannel({ topic: m.topic, schemaId, messageEncoding: 'flatbuffer', metadata: new Map() });
      channels.set(m.topic, channelId);
    }
    const seq = (sequence.get(channelId) ?? 0) + 1;
    sequence.set(channelId, seq);
    await writer.addMessage({ channelId, sequence: seq, logTime: m.logTime, publishTime: m.publishTime, data: m.flatbuffer });
  }
  await writer.end();
  await writeFile(path, writable.bytes());
}

/** Every message of the Foxglove JSON fixture, re-encoded as FlatBuffers by flatc. */
async function transcodeJsonFixture(fb: FoxgloveFlatbuffers): Promise<LogMessage[]> {
  const reader = new McapStreamReader({ validateCrcs: true });
  reader.append(await readFile(KITTI_JSON));
  const schemas = new Map<number, string>();
  const channels = new Map<number, { topic: string; schemaName: string }>();
  const out: LogMessage[] = [];
  const decoder = new TextDecoder();
  for (let record; (record = reader.nextRecord()); ) {
    if (record.type === 'Schema') schemas.set(record.id, record.name);
    if (record.type === 'Channel') channels.set(record.id, { topic: record.topic, schemaName: schemas.get(record.schemaId)! });
    if (record.type !== 'Message') continue;
    const channel = channels.get(record.channelId)!;
    // Foxglove JSON carries bytes as base64; FlatBuffers carries them as [ubyte].
    const json = JSON.parse(decoder.decode(record.data), (key, value: unknown) =>
      key === 'data' && typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : value,
    ) as PlainMessage;
    if (channel.schemaName === 'foxglove.CameraCalibration') {
      // Foxglove's JSON schema spells the matrices D, K, R, P; its .fbs spells them d, k, r, p.
      for (const key of ['D', 'K', 'R', 'P']) {
        json[key.toLowerCase()] = json[key];
        delete json[key];
      }
    }
    out.push({ ...channel, logTime: record.logTime, publishTime: record.publishTime, json, flatbuffer: fb.encode(channel.schemaName, json) });
  }
  return out;
}

function flatbufferChannel(topic: string, schemaName: string, schemaData: Uint8Array): SourceChannel {
  return { id: 1, topic, schemaName, schemaEncoding: 'flatbuffer', schemaData, messageEncoding: 'flatbuffer' };
}

/** Every value in `expected` (what was encoded) is in `decoded`, exactly. */
function expectEncoded(decoded: unknown, expected: unknown, at: string): void {
  if (expected instanceof Uint8Array) {
    expect(decoded, at).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(Buffer.from(decoded as Uint8Array), Buffer.from(expected)), at).toBe(0);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(decoded), at).toBe(true);
    expect((decoded as unknown[]).length, at).toBe(expected.length);
    expected.forEach((e, i) => expectEncoded((decoded as unknown[])[i], e, `${at}[${i}]`));
  } else if (expected !== null && typeof expected === 'object') {
    expect(decoded, at).toBeTypeOf('object');
    for (const [key, value] of Object.entries(expected)) expectEncoded((decoded as PlainMessage)[key], value, `${at}.${key}`);
  } else {
    expect(decoded, at).toBe(expected);
  }
}

async function open(path: string): Promise<DriveLog> {
  const detected = await detectLog(path);
  return openDriveLog(path, detected, { logId: logIdFromFingerprint(detected.fingerprint) });
}

const streamSummary = (info: LogInfo) => info.streams.map((s) => ({ topic: s.topic, kind: s.kind, schema: s.schema, messageCount: s.messageCount }));

describe.skipIf(!hasFixtures)(hasFixtures ? 'FlatBuffers MCAP (Foxglove schemas, real KITTI data)' : `FlatBuffers MCAP: ${fixturesSkipReason}`, () => {
  let dir: string;
  let fb: FoxgloveFlatbuffers;
  let messages: LogMessage[];
  let fbPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sightline-flatbuffer-'));
    fb = await FoxgloveFlatbuffers.load();
    messages = await transcodeJsonFixture(fb);
    fbPath = join(dir, 'kitti_object_2samples_foxglove_flatbuffer.mcap');
    await writeFlatbufferMcap(fbPath, fb, messages);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('decodes every message to the values flatc encoded, byte vectors as views into the message', () => {
    const schemaNames = new Set(messages.map((m) => m.schemaName));
    expect([...schemaNames].sort()).toEqual(
      ['foxglove.CameraCalibration', 'foxglove.CompressedImage', 'foxglove.FrameTransforms', 'foxglove.ImageAnnotations', 'foxglove.PointCloud', 'foxglove.SceneUpdate'],
    );
    for (const m of messages) {
      const decode = createDecoder(flatbufferChannel(m.topic, m.schemaName, fb.bfbs(m.schemaName)), fbPath)!;
      const decoded = decode(m.flatbuffer);
      expectEncoded(decoded, m.json, `${m.topic}@${m.logTime}`);
      if (m.json.data instanceof Uint8Array) {
        expect((decoded.data as Uint8Array).buffer, 'a view, not a copy').toBe(m.flatbuffer.buffer);
      }
    }
    // Fields the JSON left out come back at their schema defaults, as protobuf's do.
    const cloud = createDecoder(flatbufferChannel('/lidar/points', 'foxglove.PointCloud', fb.bfbs('foxglove.PointCloud')), fbPath)!(
      fb.encode('foxglove.PointCloud', { point_stride: 16 }),
    );
    expect(cloud).toEqual({ timestamp: null, frame_id: '', pose: null, point_stride: 16, fields: [], data: new Uint8Array() });
  });

  it('opens as the same drive as the JSON original: frames, images, points, transforms, boxes', async () => {
    const [flat, original] = [await open(fbPath), await open(KITTI_JSON)];
    try {
      const lidarMessages = messages.filter((m) => m.topic === '/lidar/points');
      expect(flat.frames.length).toBe(lidarMessages.length);
      expect(flat.frames.map((f) => f.stampNs)).toEqual(original.frames.map((f) => f.stampNs));
      expect(streamSummary(flat.info)).toEqual(streamSummary(original.info));
      expect(flat.info.streams.filter((s) => s.kind === 'other')).toEqual([]);
      expect(flat.info.warnings.filter((w) => /not supported|flatbuffer/i.test(w))).toEqual([]);
      expect(flat.info.sensors).toEqual(original.info.sensors);
      for (let i = 0; i < flat.frames.length; i++) {
        const [f, j] = [await flat.readFrame(i), await original.readFrame(i)];
        expect(f.warnings).toEqual(j.warnings);
        const files = SAMPLE_FILES[i]!;
        // Image: the original KITTI PNG, byte for byte.
        expect(f.cameras).toHaveLength(1);
        expect(f.cameras[0]!.format).toBe('png');
        expect(Buffer.compare(Buffer.from(f.cameras[0]!.data), await readFile(files.image))).toBe(0);
        expect(f.cameras[0]!.intrinsics).toEqual(j.cameras[0]!.intrinsics);
        // Transform applied: the camera sits where this sample's /tf puts camera_rect in the velodyne (ego) frame.
        const tf = messages.find((m) => m.topic === '/tf' && m.logTime === BigInt(f.stampNs))!;
        const [velodyneToCamera] = toTransforms('foxglove.FrameTransforms', tf.json);
        expect(f.cameras[0]!.extrinsic).toEqual(velodyneToCamera!.pose);
        expect(f.cameras[0]!.extrinsic).toEqual(j.cameras[0]!.extrinsic);
        // Points: the KITTI scan's x, y, z and reflectance.
        const scan = new Float32Array(new Uint8Array(await readFile(files.velodyne)).buffer);
        const count = scan.length / 4;
        expect(f.lidar!.count).toBe(count);
        expect(f.lidar!.positions).toEqual(Float32Array.from({ length: count * 3 }, (_, k) => scan[Math.floor(k / 3) * 4 + (k % 3)]!));
        expect(f.lidar!.fields.intensity).toEqual(Float32Array.from({ length: count }, (_, k) => scan[k * 4 + 3]!));
        expect(f.lidar!.positions).toEqual(j.lidar!.positions);
        // SceneUpdate cubes -> ground-truth 3D boxes, one per cube written.
        const scene = messages.find((m) => m.topic === '/ground_truth/cuboids' && m.logTime === BigInt(f.stampNs))!;
        const cubes = (scene.json.entities as Array<{ cubes: unknown[] }>).reduce((n, e) => n + e.cubes.length, 0);
        expect(f.labels3d.length).toBe(cubes);
        expect(f.labels3d).toEqual(j.labels3d);
        expect(f.labels2d.length).toBeGreaterThan(0);
        expect(f.labels2d).toEqual(j.labels2d);
        expect(f.egoPose).toEqual(j.egoPose);
        expect(f.paths).toEqual(j.paths);
      }
    } finally {
      await Promise.all([flat.close(), original.close()]);
    }
  });

  it('`sightline inspect` and the built app (point clouds decoded on worker threads) read it', { timeout: 300_000 }, async () => {
    await ensureDist();
    const { stdout } = await promisify(execFile)(process.execPath, [cliBin, 'inspect', fbPath, '--json']);
    const info = JSON.parse(stdout) as LogInfo;
    const original = await open(KITTI_JSON);
    try {
      expect(streamSummary(info)).toEqual(streamSummary(original.info));
      expect(info.streams.map((s) => s.kind)).not.toContain('other');
      expect(info.frameCount).toBe(original.info.frameCount);
      // Sensors carry what only decoding tells: the lidar's frame id, the camera's calibration and pose.
      expect(info.sensors).toEqual(original.info.sensors);
      expect(info.warnings.filter((w) => /flatbuffer|cannot decode|not supported|unknown schemas/i.test(w))).toEqual([]);

      // The compiled build hands point messages over 256 KiB to its worker threads.
      expect(existsSync(join(repoRoot, 'dist', 'src', 'logs', 'messages', 'pointWorker.js'))).toBe(true);
      const built = (await import(join(repoRoot, 'dist', 'src', 'logs', 'open.js'))) as typeof import('../../src/logs/open.js');
      const detected = await built.detectLog(fbPath);
      const drive = await built.openDriveLog(fbPath, detected, { logId: built.logIdFromFingerprint(detected.fingerprint) });
      try {
        const cloud = messages.find((m) => m.topic === '/lidar/points' && m.logTime === BigInt(drive.frames[0]!.stampNs))!;
        expect((cloud.json.data as Uint8Array).byteLength).toBeGreaterThan(256 * 1024);
        const [frame, expected] = [await drive.readFrame(0), await original.readFrame(0)];
        expect(frame.warnings).toEqual([]);
        expect(frame.lidar!.positions).toEqual(expected.lidar!.positions);
        expect(frame.lidar!.fields).toEqual(expected.lidar!.fields);
      } finally {
        await drive.close();
      }
    } finally {
      await original.close();
    }
  });

  it('reads messages built with the flatbuffers Builder, filling absent fields from the schema', async () => {
    const png = new Uint8Array(await readFile(SAMPLE_FILES[0]!.image));
    // foxglove.CompressedImage: timestamp:Time (struct, id 0), frame_id (1), data:[uint8] (2), format (3).
    const b = new Builder(1024);
    const frameId = b.createString('camera_rect');
    const data = b.createByteVector(png);
    const format = b.createString('png');
    b.startObject(4);
    b.addFieldOffset(1, frameId, 0);
    b.addFieldOffset(2, data, 0);
    b.addFieldOffset(3, format, 0);
    b.prep(4, 8);
    b.writeInt32(123_456_789); // nsec
    b.writeInt32(1_317_000_000); // sec
    b.addFieldStruct(0, b.offset(), 0);
    b.finish(b.endObject());
    const image = createDecoder(flatbufferChannel('/camera/image/compressed', 'foxglove.CompressedImage', fb.bfbs('foxglove.CompressedImage')), fbPath)!(b.asUint8Array());
    expect(image.timestamp).toEqual({ sec: 1_317_000_000, nsec: 123_456_789 });
    expect(image.frame_id).toBe('camera_rect');
    expect(image.format).toBe('png');
    expect(Buffer.compare(Buffer.from(image.data as Uint8Array), png)).toBe(0);

    // foxglove.FrameTransform with only a translation, itself with only x: Vector3 y, z default to 0,
    // the absent rotation and timestamp stay null (the adapter then uses identity and the log time).
    const t = new Builder(256);
    t.startObject(3);
    t.addFieldFloat64(0, 2.5, 0);
    const translation = t.endObject();
    const child = t.createString('camera');
    const parent = t.createString('base_link');
    t.startObject(5);
    t.addFieldOffset(1, parent, 0);
    t.addFieldOffset(2, child, 0);
    t.addFieldOffset(3, translation, 0);
    t.finish(t.endObject());
    const transform = createDecoder(flatbufferChannel('/tf', 'foxglove.FrameTransform', fb.bfbs('foxglove.FrameTransform')), fbPath)!(t.asUint8Array());
    expect(transform).toEqual({ timestamp: null, parent_frame_id: 'base_link', child_frame_id: 'camera', translation: { x: 2.5, y: 0, z: 0 }, rotation: null });
    expect(toTransforms('foxglove.FrameTransform', transform)[0]).toMatchObject({ timeNs: undefined, pose: { translation: [2.5, 0, 0], rotation: [0, 0, 0, 1] } });

    // foxglove.Color's channels default to 1.0 in the schema.
    const c = new Builder(64);
    c.startObject(4);
    c.addFieldFloat64(0, 0.25, 1);
    c.finish(c.endObject());
    expect(createDecoder(flatbufferChannel('/color', 'foxglove.Color', fb.bfbs('foxglove.Color')), fbPath)!(c.asUint8Array())).toEqual({ r: 0.25, g: 1, b: 1, a: 1 });
  });

  it('reads any table generically: a .bfbs as a reflection.Schema message matches flatc-generated code', async () => {
    // flatbuffers_reflection ships reflection.fbs compiled by flatc, and TypeScript that flatc generated from it.
    const reflectionBfbs = new Uint8Array(await readFile(join(import.meta.dirname, '..', '..', 'node_modules', 'flatbuffers_reflection', 'src', 'reflection.bfbs')));
    const decode = createDecoder(flatbufferChannel('/schemas', 'reflection.Schema', reflectionBfbs), fbPath)!;
    for (const name of ['foxglove.SceneUpdate', 'foxglove.PointCloud']) {
      const bfbs = fb.bfbs(name);
      const decoded = decode(bfbs) as { objects: Array<{ name: string; is_struct: boolean; bytesize: number; fields: Array<Record<string, unknown> & { type: Record<string, unknown> }> }>; root_table: { name: string }; file_ident: string };
      const generated = ReflectionSchema.getRootAsSchema(new ByteBuffer(bfbs));
      expect(decoded.root_table.name).toBe(name);
      expect(decoded.file_ident).toBe('');
      expect(decoded.objects.length).toBe(generated.objectsLength());
      decoded.objects.forEach((object, i) => {
        const ref = generated.objects(i)!;
        expect(object.name).toBe(ref.name());
        expect(object.is_struct).toBe(ref.isStruct());
        expect(object.bytesize).toBe(ref.bytesize());
        expect(object.fields.length).toBe(ref.fieldsLength());
        object.fields.forEach((field, k) => {
          const rf = ref.fields(k)!;
          expect(field).toMatchObject({
            name: rf.name(),
            id: rf.id(),
            offset: rf.offset(),
            default_integer: rf.defaultInteger().toString(),
            default_real: rf.defaultReal(),
            deprecated: rf.deprecated(),
            type: { base_type: rf.type()!.baseType(), element: rf.type()!.element(), index: rf.type()!.index() },
          });
        });
      });
    }
  });

  it('a damaged message is an error naming the schema, topic and byte, never a crash or a hang', async () => {
    const scene = messages.filter((m) => m.topic === '/ground_truth/cuboids').at(-1)!;
    const decode = createDecoder(flatbufferChannel(scene.topic, scene.schemaName, fb.bfbs(scene.schemaName)), fbPath)!;
    const expectClearError = (data: Uint8Array) => {
      let error: unknown;
      try {
        decode(data);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FlatbufferError);
      expect((error as Error).message).toMatch(/^malformed flatbuffer foxglove\.SceneUpdate on \/ground_truth\/cuboids: .*byte \d+/);
    };
    // Cut short anywhere: FlatBuffers writes leaves last, so every cut loses something the root refers to.
    for (let length = 0; length < scene.flatbuffer.byteLength; length += 61) expectClearError(scene.flatbuffer.subarray(0, length));
    const badRoot = scene.flatbuffer.slice();
    new DataView(badRoot.buffer).setUint32(0, 0xfffffff0, true);
    expectClearError(badRoot);

    // Random damage: each mutant decodes or fails with a FlatbufferError, and all of them finish.
    const rng = createRng(20_26);
    let failures = 0;
    const started = performance.now();
    for (let n = 0; n < 400; n++) {
      const mutant = scene.flatbuffer.slice();
      for (let k = 1 + Math.floor(rng() * 6); k > 0; k--) mutant[Math.floor(rng() * mutant.length)] = Math.floor(rng() * 256);
      try {
        decode(mutant);
      } catch (error) {
        expect(error, (error as Error).message).toBeInstanceOf(FlatbufferError);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(20_000);

    // In a drive: a damaged camera message is a frame warning; the rest of the frame still reads.
    const camera = messages.filter((m) => m.topic === '/camera/image/compressed').at(-1)!;
    const damagedPath = join(dir, 'damaged.mcap');
    await writeFlatbufferMcap(
      damagedPath,
      fb,
      messages.map((m) => (m === camera ? { ...m, flatbuffer: m.flatbuffer.subarray(0, m.flatbuffer.byteLength >> 1) } : m)),
    );
    const drive = await open(damagedPath);
    try {
      const last = drive.frames.findIndex((f) => BigInt(f.stampNs) === camera.logTime);
      expect(last).toBeGreaterThanOrEqual(0);
      const frame = await drive.readFrame(last);
      expect(frame.cameras).toEqual([]);
      expect(frame.warnings.join('\n')).toMatch(
        /cannot decode \/camera\/image\/compressed message at \d+ ns \(malformed flatbuffer foxglove\.CompressedImage on \/camera\/image\/compressed: .*byte \d+/,
      );
      expect(frame.lidar!.count).toBeGreaterThan(0);
      expect(frame.labels3d.length).toBeGreaterThan(0);
      expect((await drive.readFrame(0)).cameras).toHaveLength(1);
    } finally {
      await drive.close();
    }
  });

  it('keeps FlatBuffers channels of unknown schemas listed and skipped, and names a broken schema', async () => {
    const lidar = messages.find((m) => m.topic === '/lidar/points')!;
    const reflectionBfbs = new Uint8Array(await readFile(join(import.meta.dirname, '..', '..', 'node_modules', 'flatbuffers_reflection', 'src', 'reflection.bfbs')));
    const path = join(dir, 'mixed.mcap');
    await writeFlatbufferMcap(path, fb, [
      lidar,
      // A real FlatBuffers message of a schema Sightline has no adapter for.
      { topic: '/schemas', schemaName: 'reflection.Schema', schemaData: reflectionBfbs, logTime: lidar.logTime, publishTime: lidar.publishTime, flatbuffer: fb.bfbs('foxglove.PointCloud') },
      // A Foxglove schema name whose schema data is the .fbs text, not a .bfbs.
      { topic: '/camera/image/compressed', schemaName: 'foxglove.CompressedImage', schemaData: new TextEncoder().encode('table CompressedImage {}'), logTime: lidar.logTime, publishTime: lidar.publishTime, flatbuffer: new Uint8Array(8) },
    ]);
    const drive = await open(path);
    try {
      expect(drive.frames).toHaveLength(1);
      expect(drive.info.streams.map((s) => [s.topic, s.kind])).toEqual([
        ['/lidar/points', 'lidar'],
        ['/schemas', 'other'],
        ['/camera/image/compressed', 'other'],
      ]);
      expect(drive.info.warnings).toContain('Streams with unknown schemas skipped: /schemas (reflection.Schema)');
      expect(drive.info.warnings.join('\n')).toMatch(/\/camera\/image\/compressed: .*schema 'foxglove\.CompressedImage' of \/camera\/image\/compressed is invalid \(not a binary FlatBuffers schema/);
      expect((await drive.readFrame(0)).lidar!.count).toBe(lidar.json.data instanceof Uint8Array ? lidar.json.data.byteLength / 16 : -1);
    } finally {
      await drive.close();
    }
  });
});
