// MCAP access end to end: the real KITTI-derived files through the indexed and the scanned
// source (and @mcap/core's stream reader as the referee), truncated and corrupted copies, files
// this test writes (zstd, hand-made lz4 frames, an unknown compression), and a seeded fuzz run.
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapStreamReader, McapWriter } from '@mcap/core';
import zstd from '@foxglove/wasm-zstd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogError } from '../../src/logs/errors.js';
import { decompressHandlers } from '../../src/logs/mcap/chunks.js';
import { encodeFoxglove, foxgloveDescriptorSet } from '../../src/logs/mcap/foxgloveProto.js';
import { McapIndexedSource } from '../../src/logs/mcap/indexedSource.js';
import { openMcapSource, type McapSource } from '../../src/logs/mcap/openSource.js';
import { McapScannedSource } from '../../src/logs/mcap/scannedSource.js';
import { createDecoder } from '../../src/logs/messages/decoders.js';
import type { MessageSource } from '../../src/logs/messages/source.js';
import { createRng } from '../../src/util/rng.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { MemoryWritable } from '../helpers/mcap.js';

interface Msg {
  channelId: number;
  topic: string;
  logTime: bigint;
  data: Uint8Array;
  block: number;
}

const KITTI_ROS2 = fixture('mcap_kitti_derived', 'kitti_2011_09_26_sfnd_5frames_ros2.mcap');
const KITTI_JSON = fixture('mcap_kitti_derived', 'kitti_object_2samples_foxglove_json.mcap');

let dir: string;

beforeAll(async () => {
  await zstd.isLoaded;
  dir = await mkdtemp(join(tmpdir(), 'sightline-mcap-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every message, by channel id then log time (file order for equal times). */
async function readAll(source: MessageSource): Promise<Msg[]> {
  const out: Msg[] = [];
  for (const ch of [...source.channels].sort((a, b) => a.id - b.id)) {
    const times = source.times(ch.id);
    for (let i = 0; i < times.length; i++) {
      const ref = source.refAt(ch.id, i);
      expect(ref.logTime).toBe(times[i]);
      out.push({ channelId: ch.id, topic: ch.topic, logTime: ref.logTime, data: await source.readMessage(ref), block: ref.block });
    }
  }
  return out;
}

const key = (m: { channelId: number; logTime: bigint; data: Uint8Array }): string =>
  `${m.channelId}@${m.logTime}:${Buffer.from(m.data).toString('base64')}`;

/** What @mcap/core's streaming reader yields for the whole file, in the same order as readAll. */
async function streamMessages(path: string): Promise<{ channelId: number; logTime: bigint; data: Uint8Array }[]> {
  const reader = new McapStreamReader({ validateCrcs: true, decompressHandlers: await decompressHandlers() });
  reader.append(await readFile(path));
  const out: { channelId: number; logTime: bigint; data: Uint8Array }[] = [];
  for (let record; (record = reader.nextRecord()); ) {
    if (record.type === 'Message') out.push({ channelId: record.channelId, logTime: record.logTime, data: record.data });
  }
  expect(reader.done()).toBe(true);
  return out.sort((a, b) => a.channelId - b.channelId || (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
}

async function expectLogError(promise: Promise<unknown>, pattern: RegExp): Promise<LogError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LogError);
  expect((error as LogError).message).toMatch(pattern);
  return error as LogError;
}


interface Written {
  topic: string;
  logTime: bigint;
  data: Uint8Array;
  value?: Record<string, unknown>;
}

type Compress = (data: Uint8Array) => { compression: string; compressedData: Uint8Array };
const zstdChunks: Compress = (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, 3) });

/**
 * A small drive-like MCAP: a protobuf pose channel, a JSON status channel and a schemaless raw
 * channel, with some log times out of order. `indexed: false` writes no summary at all.
 */
async function writeSmallMcap(
  path: string,
  options: { indexed: boolean; compress?: Compress; chunkSize?: number; messages?: number },
): Promise<Written[]> {
  const writable = new MemoryWritable();
  const off = !options.indexed;
  const writer = new McapWriter({
    writable,
    chunkSize: options.chunkSize ?? 2048,
    compressChunk: options.compress ?? zstdChunks,
    useChunkIndex: options.indexed,
    useMessageIndex: options.indexed,
    useStatistics: options.indexed,
    useSummaryOffsets: options.indexed,
    repeatSchemas: !off,
    repeatChannels: !off,
  });
  await writer.start({ profile: '', library: 'sightline-test' });
  const poseSchema = await writer.registerSchema({
    name: 'foxglove.PoseInFrame',
    encoding: 'protobuf',
    data: foxgloveDescriptorSet('foxglove.PoseInFrame'),
  });
  const statusSchema = await writer.registerSchema({
    name: 'status',
    encoding: 'jsonschema',
    data: new TextEncoder().encode('{"type":"object","properties":{"speed":{"type":"number"},"mode":{"type":"string"}}}'),
  });
  const pose = await writer.registerChannel({ topic: '/ego/pose', schemaId: poseSchema, messageEncoding: 'protobuf', metadata: new Map() });
  const status = await writer.registerChannel({ topic: '/status', schemaId: statusSchema, messageEncoding: 'json', metadata: new Map([['k', 'v']]) });
  const raw = await writer.registerChannel({ topic: '/raw', schemaId: 0, messageEncoding: 'raw', metadata: new Map() });
  const rng = createRng(99);
  const written: Written[] = [];
  const count = options.messages ?? 60;
  for (let i = 0; i < count; i++) {
    // Every 7th message is logged slightly before its predecessor: readers must sort.
    const logTime = 1_000_000_000n + BigInt(i) * 50_000_000n - (i % 7 === 6 ? 70_000_000n : 0n);
    const kind = i % 3;
    let data: Uint8Array;
    let value: Record<string, unknown> | undefined;
    let channelId: number;
    if (kind === 0) {
      value = {
        timestamp: { seconds: Number(logTime / 1_000_000_000n), nanos: Number(logTime % 1_000_000_000n) },
        frame_id: 'map',
        pose: { position: { x: i * 0.5, y: -i, z: 0.25 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
      };
      data = encodeFoxglove('foxglove.PoseInFrame', value);
      channelId = pose;
    } else if (kind === 1) {
      value = { speed: Math.round(rng() * 3000) / 100, mode: i % 2 ? 'auto' : 'manual' };
      data = new TextEncoder().encode(JSON.stringify(value));
      channelId = status;
    } else {
      data = Uint8Array.from({ length: 50 + (i % 40) }, () => Math.floor(rng() * 256));
      channelId = raw;
    }
    await writer.addMessage({ channelId, sequence: i, logTime, publishTime: logTime, data });
    written.push({ topic: ['/ego/pose', '/status', '/raw'][kind]!, logTime, data, value });
  }
  await writer.end();
  await writeFile(path, writable.bytes());
  return written;
}

/** Written messages in readAll order (topics are registered in channel-id order). */
function writtenInReadOrder(written: Written[]): Written[] {
  const order = ['/ego/pose', '/status', '/raw'];
  return [...written].sort(
    (a, b) => order.indexOf(a.topic) - order.indexOf(b.topic) || (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0),
  );
}

describe('files written here', () => {
  it('reads an indexed and an unindexed zstd MCAP identically, and decodes protobuf and JSON payloads', async () => {
    const indexedPath = join(dir, 'small-indexed.mcap');
    const unindexedPath = join(dir, 'small-unindexed.mcap');
    const written = await writeSmallMcap(indexedPath, { indexed: true });
    await writeSmallMcap(unindexedPath, { indexed: false });
    const expected = writtenInReadOrder(written);
    for (const [path, indexed] of [
      [indexedPath, true],
      [unindexedPath, false],
    ] as const) {
      const progress: number[] = [];
      const source = await openMcapSource(path, { onProgress: (done, total) => progress.push(done / total) });
      try {
        expect(source.indexed).toBe(indexed);
        expect(source.channels.map((c) => c.topic)).toEqual(['/ego/pose', '/status', '/raw']);
        const got = await readAll(source);
        expect(got.map((m) => [m.topic, m.logTime, Buffer.from(m.data).toString('hex')])).toEqual(
          expected.map((m) => [m.topic, m.logTime, Buffer.from(m.data).toString('hex')]),
        );
        for (const ch of source.channels) {
          const decode = createDecoder(ch, path);
          if (ch.topic === '/raw') {
            expect(decode).toBeUndefined();
            continue;
          }
          const msgs = got.filter((m) => m.channelId === ch.id);
          const want = expected.filter((m) => m.topic === ch.topic);
          msgs.forEach((m, i) => {
            const decoded = decode!(m.data);
            if (ch.topic === '/status') expect(decoded).toEqual(want[i]!.value);
            else expect((decoded.pose as { position: { x: number } }).position.x).toBe(((want[i]!.value!.pose as { position: { x: number } }).position.x));
          });
        }
        if (indexed) {
          expect(source.warnings).toEqual([]);
        } else {
          expect(source.warnings[0]).toMatch(/small-unindexed\.mcap has no index \(.*\); built one with a full scan in \d+ ms/);
          expect(progress.at(-1)).toBe(1);
        }
      } finally {
        await source.close();
      }
    }
  });

  it('scans an unchunked file whose records straddle blocks and outgrow them', async () => {
    // Thousands of small messages cross the scan's block boundaries; two 9 MiB messages are larger
    // than a block (their payloads are skipped, not read, during the scan).
    const writable = new MemoryWritable();
    const writer = new McapWriter({
      writable,
      useChunks: false,
      useChunkIndex: false,
      useMessageIndex: false,
      useStatistics: false,
      useSummaryOffsets: false,
      repeatSchemas: false,
      repeatChannels: false,
    });
    await writer.start({ profile: '', library: 'sightline-test' });
    const small = await writer.registerChannel({ topic: '/small', schemaId: 0, messageEncoding: 'raw', metadata: new Map() });
    const big = await writer.registerChannel({ topic: '/big', schemaId: 0, messageEncoding: 'raw', metadata: new Map() });
    const rng = createRng(5);
    const written: { channelId: number; logTime: bigint; data: Uint8Array }[] = [];
    for (let i = 0; i < 3000; i++) {
      const isBig = i === 700 || i === 2100;
      const data = new Uint8Array(isBig ? 9 << 20 : 100 + Math.floor(rng() * 3000));
      for (let k = 0; k < data.length; k += 997) data[k] = Math.floor(rng() * 256);
      const m = { channelId: isBig ? big : small, logTime: BigInt(i) * 1000n, data };
      await writer.addMessage({ ...m, sequence: i, publishTime: m.logTime });
      written.push(m);
    }
    await writer.end();
    const path = join(dir, 'unchunked.mcap');
    await writeFile(path, writable.bytes());
    const source = await openMcapSource(path);
    try {
      expect(source.indexed).toBe(false);
      expect(source.messageCount).toBe(written.length);
      const got = await readAll(source);
      const want = [...written].sort((a, b) => a.channelId - b.channelId || Number(a.logTime - b.logTime));
      expect(got.map((m) => `${m.channelId}@${m.logTime}`)).toEqual(want.map((m) => `${m.channelId}@${m.logTime}`));
      expect(got.filter((m, i) => !Buffer.from(m.data).equals(Buffer.from(want[i]!.data))).length).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('reads lz4 chunks (hand-made LZ4 frames with stored blocks)', async () => {
    const path = join(dir, 'small-lz4.mcap');
    const written = await writeSmallMcap(path, { indexed: true, compress: (data) => ({ compression: 'lz4', compressedData: lz4StoredFrame(data) }) });
    for (const source of [await openMcapSource(path), await McapScannedSource.open(path)]) {
      try {
        const got = await readAll(source);
        expect(got.map(key)).toEqual(
          writtenInReadOrder(written).map((w) => key({ channelId: source.channels.find((c) => c.topic === w.topic)!.id, logTime: w.logTime, data: w.data })),
        );
        expect(source.warnings).toEqual([]);
      } finally {
        await source.close();
      }
    }
  });

  it('rejects an unknown compression with a LogError naming the file and the chunk', async () => {
    const brotli: Compress = (data) => ({ compression: 'brotli', compressedData: data });
    for (const indexed of [true, false]) {
      const path = join(dir, `brotli-${indexed}.mcap`);
      await writeSmallMcap(path, { indexed, compress: brotli });
      const error = await expectLogError(openMcapSource(path), /brotli-(true|false)\.mcap: the chunk at byte \d+ uses compression 'brotli'/);
      expect(error.where.path).toBe(path);
      expect(error.where.offset).toBeGreaterThan(8);
      await expectLogError(McapScannedSource.open(path), /compression 'brotli'/);
    }
  });

  it('gives LogErrors for an empty file, a non-MCAP file and a missing file', async () => {
    const empty = join(dir, 'empty.mcap');
    await writeFile(empty, new Uint8Array());
    const e = await expectLogError(openMcapSource(empty), /empty\.mcap is empty/);
    expect(e.where.offset).toBe(0);
    const text = join(dir, 'notes.mcap');
    await writeFile(text, 'these are not the bytes you are looking for\n');
    await expectLogError(openMcapSource(text), /notes\.mcap is not an MCAP file \(no MCAP magic at byte 0\)/);
    await expectLogError(openMcapSource(join(dir, 'missing.mcap')), /missing\.mcap: cannot open/);
    await expectLogError(McapIndexedSource.open(text), /notes\.mcap: no readable summary/);
    if (hasFixtures) {
      await expectLogError(openMcapSource(fixture('kitti_object_vis', 'training', 'image_2', '000000.png')), /not an MCAP file/);
    }
  });

  it('keeps a file cut inside its magic as an empty, warned source', async () => {
    const path = join(dir, 'magic-only.mcap');
    await writeFile(path, Uint8Array.of(0x89, 0x4d, 0x43));
    const source = await openMcapSource(path);
    try {
      expect(source.indexed).toBe(false);
      expect(source.messageCount).toBe(0);
      expect(source.warnings.join('\n')).toMatch(/truncated inside its magic .*byte 3/);
    } finally {
      await source.close();
    }
  });

  it('skips a zstd chunk whose compressed bytes are damaged, naming its offset', async () => {
    const path = join(dir, 'small-zstd.mcap');
    await writeSmallMcap(path, { indexed: true });
    const original = await McapIndexedSource.open(path);
    const chunks = original.reader.chunkIndexes;
    const all = await readAll(original);
    await original.close();
    expect(chunks.length).toBeGreaterThan(2);
    const victim = chunks[1]!;
    const start = Number(victim.chunkStartOffset);
    const bytes = await readFile(path);
    // Past the record header and the zstd frame header, inside the compressed blocks.
    const at = start + Math.floor(Number(victim.chunkLength) * 0.6);
    bytes[at] = bytes[at]! ^ 0x5a;
    const damaged = join(dir, 'small-zstd-damaged.mcap');
    await writeFile(damaged, bytes);

    const scanned = await McapScannedSource.open(damaged);
    try {
      expect(scanned.warnings.join('\n')).toContain(`chunk at byte ${start} is corrupt`);
      const kept = await readAll(scanned);
      expect(kept.map(key)).toEqual(all.filter((m) => m.block !== 1).map(key));
    } finally {
      await scanned.close();
    }
    const source = await openMcapSource(damaged);
    try {
      expect(source.indexed).toBe(true);
      for (const m of all) {
        const ref = source.refAt(m.channelId, indexOfMessage(source, m));
        if (m.block === 1) {
          const error = await expectLogError(source.readMessage(ref), new RegExp(`chunk at byte ${start} is corrupt`));
          expect(error.where.offset).toBe(start);
        } else {
          expect(Buffer.from(await source.readMessage(ref)).equals(Buffer.from(m.data))).toBe(true);
        }
      }
    } finally {
      await source.close();
    }
  });
});

function indexOfMessage(source: MessageSource, m: Msg): number {
  const times = source.times(m.channelId);
  const i = times.indexOf(m.logTime);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

describe.skipIf(!hasFixtures)('KITTI-derived MCAP files', () => {
  it.skipIf(!hasFixtures)('indexed source, scanned source and McapStreamReader agree on every message', async () => {
    for (const [path, expectedCount] of [
      [KITTI_ROS2, 16],
      [KITTI_JSON, 14],
    ] as const) {
      const indexed = await McapIndexedSource.open(path);
      const scanned = await McapScannedSource.open(path);
      const opened = await openMcapSource(path);
      try {
        expect(opened.indexed).toBe(true);
        expect(opened.warnings).toEqual([]);
        expect(scanned.warnings).toEqual([]);
        expect(scanned.stoppedAt).toBeUndefined();
        expect(scanned.channels).toEqual(indexed.channels);
        const a = await readAll(indexed);
        const b = await readAll(scanned);
        expect(a).toHaveLength(expectedCount);
        expect(b.map(key)).toEqual(a.map(key));
        expect(a.map(key)).toEqual((await streamMessages(path)).map(key));
        // Payloads decode with their schemas (CDR for ROS 2, JSON for the Foxglove file).
        for (const m of a) {
          const decoded = createDecoder(indexed.channels.find((c) => c.id === m.channelId)!, path)!(m.data);
          expect(Object.keys(decoded).length).toBeGreaterThan(0);
        }
      } finally {
        await Promise.all([indexed.close(), scanned.close(), opened.close()]);
      }
    }
  });

  it.skipIf(!hasFixtures)('opens truncated copies with a warning naming the offset and keeps the messages before the cut', async () => {
    const original = await McapIndexedSource.open(KITTI_ROS2);
    const all = await readAll(original);
    const { chunkIndexes, footer } = original.reader;
    await original.close();
    const bytes = await readFile(KITTI_ROS2);
    const chunkEnd = (block: number) => Number(chunkIndexes[block]!.chunkStartOffset + chunkIndexes[block]!.chunkLength);
    const summaryStart = Number(footer.summaryStart);
    const headerEnd = 8 + 9 + Number(bytes.readBigUInt64LE(9));
    const mid = chunkIndexes[1]!;
    const cases = [
      { name: 'mid-chunk', cut: Number(mid.chunkStartOffset + mid.chunkLength / 2n), stop: Number(mid.chunkStartOffset) },
      { name: 'mid-summary', cut: summaryStart + Math.floor((bytes.length - summaryStart) / 2), stop: undefined },
      { name: 'after-header', cut: headerEnd, stop: headerEnd },
    ];
    for (const c of cases) {
      const path = join(dir, `kitti-cut-${c.name}.mcap`);
      await writeFile(path, bytes.subarray(0, c.cut));
      const source = await openMcapSource(path);
      try {
        expect(source.indexed, c.name).toBe(false);
        const scanned = source as McapScannedSource;
        const stop = scanned.stoppedAt!;
        if (c.stop !== undefined) expect(stop, c.name).toBe(c.stop);
        else {
          expect(stop).toBeGreaterThanOrEqual(summaryStart - 13); // DataEnd precedes the summary
          expect(stop).toBeLessThanOrEqual(c.cut);
        }
        const text = source.warnings.join('\n');
        expect(text).toContain(`kitti-cut-${c.name}.mcap has no index (no readable summary`);
        expect(text).toMatch(new RegExp(`truncated.*byte ${stop}|ends at byte ${stop}`));
        const kept = await readAll(source);
        expect(kept.map(key), c.name).toEqual(all.filter((m) => chunkEnd(m.block) <= stop).map(key));
      } finally {
        await source.close();
      }
    }
  });

  it.skipIf(!hasFixtures)('reports a flipped byte inside a chunk as a CRC error naming the chunk, other chunks stay readable', async () => {
    const original = await McapIndexedSource.open(KITTI_ROS2);
    const all = await readAll(original);
    const victim = original.reader.chunkIndexes[1]!;
    await original.close();
    const start = Number(victim.chunkStartOffset);
    const bytes = await readFile(KITTI_ROS2);
    const at = start + Math.floor(Number(victim.chunkLength) / 2); // deep inside the (uncompressed) records
    bytes[at] = bytes[at]! ^ 0x01;
    const path = join(dir, 'kitti-flipped.mcap');
    await writeFile(path, bytes);
    expect(all.some((m) => m.block === 1)).toBe(true);

    const source = await openMcapSource(path);
    try {
      expect(source.indexed).toBe(true); // the summary is intact
      for (const m of all) {
        const ref = source.refAt(m.channelId, indexOfMessage(source, m));
        if (m.block === 1) {
          const error = await expectLogError(source.readMessage(ref), new RegExp(`kitti-flipped\\.mcap: chunk at byte ${start} is corrupt: CRC mismatch`));
          expect(error.where.offset).toBe(start);
        } else {
          expect(Buffer.from(await source.readMessage(ref)).equals(Buffer.from(m.data))).toBe(true);
        }
      }
    } finally {
      await source.close();
    }
    const scanned = await McapScannedSource.open(path);
    try {
      expect(scanned.warnings.join('\n')).toMatch(new RegExp(`chunk at byte ${start} is corrupt: CRC mismatch.*skipped`));
      expect((await readAll(scanned)).map(key)).toEqual(all.filter((m) => m.block !== 1).map(key));
    } finally {
      await scanned.close();
    }
  });
});

describe('fuzz: truncated and corrupted MCAP', () => {
  it('opens every mutant or rejects it with a LogError, never anything else, never hanging', async () => {
    const bases: { name: string; bytes: Buffer }[] = [];
    const small = join(dir, 'fuzz-indexed.mcap');
    const smallUnindexed = join(dir, 'fuzz-unindexed.mcap');
    await writeSmallMcap(small, { indexed: true, chunkSize: 1024, messages: 40 });
    await writeSmallMcap(smallUnindexed, { indexed: false, chunkSize: 1024, messages: 40 });
    const generated = [
      { name: 'zstd-indexed', bytes: await readFile(small) },
      { name: 'zstd-unindexed', bytes: await readFile(smallUnindexed) },
    ];
    const conformance: { name: string; bytes: Buffer }[] = [];
    if (hasFixtures) {
      const root = fixture('mcap_conformance');
      for (const family of readdirSync(root)) {
        for (const file of readdirSync(join(root, family))) {
          if (file.endsWith('.mcap')) conformance.push({ name: file, bytes: await readFile(join(root, family, file)) });
        }
      }
    } else {
      console.log(`fuzz runs on generated files only: ${fixturesSkipReason}`);
    }
    bases.push(...generated, ...conformance);

    // Reference message sets of the intact files, for the truncation subset check.
    const reference = new Map<string, Map<string, number>>();
    const referenceOf = async (base: { name: string; bytes: Buffer }): Promise<Map<string, number>> => {
      let ref = reference.get(base.name);
      if (!ref) {
        const path = join(dir, 'fuzz-reference.mcap');
        await writeFile(path, base.bytes);
        const source = await openMcapSource(path);
        ref = new Map();
        for (const m of await readAll(source)) ref.set(key(m), (ref.get(key(m)) ?? 0) + 1);
        await source.close();
        reference.set(base.name, ref);
      }
      return ref;
    };

    const rng = createRng(20240611);
    const pick = (n: number) => Math.floor(rng() * n);
    const CASES = 2000;
    const CASE_LIMIT_MS = 5_000;
    const outcomes = { ok: 0, partial: 0, rejected: 0 };
    const failures: string[] = [];
    const started = performance.now();
    const path = join(dir, 'fuzz-case.mcap');
    for (let n = 0; n < CASES; n++) {
      const base = rng() < 0.5 || conformance.length === 0 ? generated[pick(generated.length)]! : conformance[pick(conformance.length)]!;
      const truncate = rng() < 0.4;
      let bytes: Buffer;
      let what: string;
      if (truncate) {
        const cut = pick(base.bytes.length);
        bytes = base.bytes.subarray(0, cut);
        what = `cut at ${cut}`;
      } else {
        bytes = Buffer.from(base.bytes);
        const flips = 1 + pick(8);
        const spots: string[] = [];
        for (let f = 0; f < flips; f++) {
          const at = pick(bytes.length);
          bytes[at] = rng() < 0.5 ? bytes[at]! ^ (1 + pick(255)) : pick(256);
          spots.push(String(at));
        }
        what = `bytes ${spots.join(',')} changed`;
      }
      const label = `case ${n} (${base.name}, ${what})`;
      await writeFile(path, bytes);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'hang'>((resolve) => {
        timer = setTimeout(() => resolve('hang'), CASE_LIMIT_MS);
      });
      const run = async (): Promise<'ok' | 'partial' | 'rejected' | string> => {
        let source: McapSource;
        try {
          source = await openMcapSource(path);
        } catch (error) {
          return error instanceof LogError ? 'rejected' : `open threw ${String(error)}`;
        }
        try {
          let readErrors = 0;
          let total = 0;
          const seen = new Map<string, number>();
          for (const ch of source.channels) {
            const times = source.times(ch.id);
            for (let i = 0; i < times.length; i++) {
              if (i > 0 && times[i]! < times[i - 1]!) return `channel ${ch.id} times not sorted`;
              total++;
              try {
                const data = await source.readMessage(source.refAt(ch.id, i));
                if (!(data instanceof Uint8Array)) return 'readMessage returned a non-Uint8Array';
                const k = key({ channelId: ch.id, logTime: times[i]!, data });
                seen.set(k, (seen.get(k) ?? 0) + 1);
              } catch (error) {
                if (!(error instanceof LogError)) return `readMessage threw ${String(error)}`;
                readErrors++;
              }
            }
          }
          if (total !== source.messageCount) return `messageCount ${source.messageCount} but ${total} indexed`;
          if (truncate) {
            // A cut file holds a prefix of the original: nothing new, and every kept message readable.
            if (readErrors > 0) return `${readErrors} unreadable messages in a truncated file`;
            const ref = await referenceOf(base);
            for (const [k, count] of seen) if ((ref.get(k) ?? 0) < count) return `message ${k.slice(0, 60)} is not in the original`;
          }
          return readErrors > 0 ? 'partial' : 'ok';
        } finally {
          await source.close();
        }
      };
      const outcome = await Promise.race([run(), deadline]);
      clearTimeout(timer);
      if (outcome === 'ok' || outcome === 'partial' || outcome === 'rejected') outcomes[outcome]++;
      else failures.push(`${label}: ${outcome}`);
      // A cut at byte 0 leaves an empty file: the only truncation allowed to be rejected.
      if (truncate && outcome === 'rejected' && bytes.length > 0) failures.push(`${label}: a truncated file was rejected`);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ${CASES} cases over ${bases.length} base files in ${seconds} s: ${outcomes.ok} ok, ${outcomes.partial} partly readable (LogError on some reads), ${outcomes.rejected} rejected with LogError`,
    );
    expect(failures).toEqual([]);
    expect(outcomes.ok + outcomes.partial + outcomes.rejected).toBe(CASES);
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });
});

/** An LZ4 frame (content size declared) holding `data` in stored (uncompressed) blocks. */
function lz4StoredFrame(data: Uint8Array): Uint8Array {
  const BLOCK = 64 << 10;
  const descriptor = new Uint8Array(10);
  descriptor[0] = 0x68; // version 01, independent blocks, content size present
  descriptor[1] = 0x40; // 64 KiB maximum block size
  new DataView(descriptor.buffer).setBigUint64(2, BigInt(data.byteLength), true);
  const parts: Uint8Array[] = [Uint8Array.of(0x04, 0x22, 0x4d, 0x18), descriptor, Uint8Array.of((xxh32(descriptor) >>> 8) & 0xff)];
  for (let at = 0; at < data.byteLength; at += BLOCK) {
    const block = data.subarray(at, at + BLOCK);
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, (block.byteLength | 0x80000000) >>> 0, true);
    parts.push(size, block);
  }
  parts.push(new Uint8Array(4)); // end mark
  return Buffer.concat(parts);
}

/** xxHash32 (seed 0), for the LZ4 frame header checksum. */
function xxh32(bytes: Uint8Array): number {
  const P1 = 2654435761;
  const P2 = 2246822519;
  const P3 = 3266489917;
  const P4 = 668265263;
  const P5 = 374761393;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  const u32 = (i: number) => (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
  const round = (acc: number, input: number) => Math.imul(rotl((acc + Math.imul(input, P2)) | 0, 13), P1);
  const n = bytes.length;
  let i = 0;
  let h: number;
  if (n >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2 | 0;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (; i <= n - 16; i += 16) {
      v1 = round(v1, u32(i));
      v2 = round(v2, u32(i + 4));
      v3 = round(v3, u32(i + 8));
      v4 = round(v4, u32(i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = P5 | 0;
  }
  h = (h + n) | 0;
  for (; i + 4 <= n; i += 4) h = Math.imul(rotl((h + Math.imul(u32(i), P3)) | 0, 17), P4);
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(bytes[i]!, P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

if (!hasFixtures) console.log(`KITTI MCAP tests skipped: ${fixturesSkipReason}`);
