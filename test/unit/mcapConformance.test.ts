// The official MCAP conformance suite: every variant, opened through openMcapSource and through
// the scanned source alone, must yield the channels and messages its expected JSON lists.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMcapSource } from '../../src/logs/mcap/openSource.js';
import { McapScannedSource } from '../../src/logs/mcap/scannedSource.js';
import type { MessageSource } from '../../src/logs/messages/source.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

interface ExpectedRecord {
  type: string;
  fields: [string, unknown][];
}

interface ChannelView {
  id: number;
  topic: string;
  messageEncoding: string;
  schemaName: string;
  schemaEncoding: string;
  schemaData: number[];
}

interface MessageView {
  channelId: number;
  logTime: string;
  data: number[];
}

interface Expected {
  channels: ChannelView[];
  messages: MessageView[];
  features: string[];
}

const CONFORMANCE_DIR = fixture('mcap_conformance');

function listVariants(): string[] {
  if (!hasFixtures) return [];
  return readdirSync(CONFORMANCE_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(CONFORMANCE_DIR, d.name)).map((f) => join(CONFORMANCE_DIR, d.name, f)))
    .filter((f) => f.endsWith('.mcap'))
    .sort();
}

function loadExpected(mcapPath: string): Expected {
  const json = JSON.parse(readFileSync(mcapPath.replace(/\.mcap$/, '.json'), 'utf8')) as {
    records: ExpectedRecord[];
    meta?: { variant?: { features?: string[] } };
  };
  const schemas = new Map<string, { name: string; encoding: string; data: number[] }>();
  const channels = new Map<number, { topic: string; messageEncoding: string; schemaId: string }>();
  const messages: MessageView[] = [];
  for (const record of json.records) {
    const f = Object.fromEntries(record.fields) as Record<string, unknown>;
    if (record.type === 'Schema') {
      schemas.set(f.id as string, { name: f.name as string, encoding: f.encoding as string, data: (f.data as string[]).map(Number) });
    } else if (record.type === 'Channel') {
      channels.set(Number(f.id), { topic: f.topic as string, messageEncoding: f.message_encoding as string, schemaId: f.schema_id as string });
    } else if (record.type === 'Message') {
      messages.push({ channelId: Number(f.channel_id), logTime: f.log_time as string, data: (f.data as string[]).map(Number) });
    }
  }
  return {
    channels: [...channels].map(([id, ch]) => {
      const schema = schemas.get(ch.schemaId);
      return {
        id,
        topic: ch.topic,
        messageEncoding: ch.messageEncoding,
        schemaName: schema?.name ?? '',
        schemaEncoding: schema?.encoding ?? '',
        schemaData: schema?.data ?? [],
      };
    }),
    messages: inLogTimeOrder(messages),
    features: json.meta?.variant?.features ?? [],
  };
}

/** Per channel (by id), by log time; equal times keep file order (Array.prototype.sort is stable). */
function inLogTimeOrder(messages: MessageView[]): MessageView[] {
  return [...messages].sort((a, b) => a.channelId - b.channelId || Number(BigInt(a.logTime) - BigInt(b.logTime)));
}

async function readAll(source: MessageSource): Promise<{ channels: ChannelView[]; messages: MessageView[] }> {
  const channels = source.channels.map((ch) => ({
    id: ch.id,
    topic: ch.topic,
    messageEncoding: ch.messageEncoding,
    schemaName: ch.schemaName,
    schemaEncoding: ch.schemaEncoding,
    schemaData: [...ch.schemaData],
  }));
  const messages: MessageView[] = [];
  for (const ch of [...source.channels].sort((a, b) => a.id - b.id)) {
    const times = source.times(ch.id);
    for (let i = 0; i < times.length; i++) {
      const ref = source.refAt(ch.id, i);
      messages.push({ channelId: ch.id, logTime: ref.logTime.toString(), data: [...(await source.readMessage(ref))] });
    }
  }
  return { channels: channels.sort((a, b) => a.id - b.id), messages };
}

function mismatch(name: string, expected: Expected, actual: { channels: ChannelView[]; messages: MessageView[] }): string | undefined {
  const want = [...expected.channels].sort((a, b) => a.id - b.id);
  if (JSON.stringify(actual.channels) !== JSON.stringify(want)) {
    return `${name}: channels ${JSON.stringify(actual.channels)} != ${JSON.stringify(want)}`;
  }
  if (JSON.stringify(actual.messages) !== JSON.stringify(expected.messages)) {
    return `${name}: ${actual.messages.length} messages ${JSON.stringify(actual.messages).slice(0, 300)} != expected ${expected.messages.length}`;
  }
  return undefined;
}

const variants = listVariants();

describe.skipIf(!hasFixtures)('MCAP conformance suite', () => {
  it.skipIf(!hasFixtures)('has the 416 variants', () => {
    expect(variants).toHaveLength(416);
  });

  it.skipIf(!hasFixtures)('openMcapSource reads every variant as its expected output says', async () => {
    const failures: string[] = [];
    let indexed = 0;
    let messages = 0;
    for (const path of variants) {
      const name = basename(path);
      const expected = loadExpected(path);
      try {
        const source = await openMcapSource(path);
        try {
          const actual = await readAll(source);
          const problem = mismatch(name, expected, actual);
          if (problem) failures.push(problem);
          if (source.indexed) indexed++;
          messages += actual.messages.length;
          // Valid files: the only warning allowed is the note that a scan built the index.
          const other = source.warnings.filter((w) => !w.includes('built one with a full scan'));
          if (other.length > 0) failures.push(`${name}: unexpected warnings ${JSON.stringify(other)}`);
          // Chunk indexes (with or without message indexes) are always used, never rescanned.
          if (expected.features.includes('chx') && !source.indexed) failures.push(`${name}: has chunk indexes but was scanned`);
          if (!expected.features.includes('chx') && expected.messages.length > 0 && source.indexed) {
            failures.push(`${name}: has messages but no chunk index, yet was not scanned`);
          }
        } finally {
          await source.close();
        }
      } catch (error) {
        failures.push(`${name}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    console.log(`conformance via openMcapSource: ${variants.length} variants, ${indexed} indexed, ${variants.length - indexed} scanned, ${messages} messages`);
    expect(failures).toEqual([]);
  });

  it.skipIf(!hasFixtures)('the scanned source alone reads every variant, with no warnings', async () => {
    const failures: string[] = [];
    for (const path of variants) {
      const name = basename(path);
      const expected = loadExpected(path);
      try {
        const source = await McapScannedSource.open(path);
        try {
          const problem = mismatch(name, expected, await readAll(source));
          if (problem) failures.push(problem);
          if (source.warnings.length > 0) failures.push(`${name}: warnings ${JSON.stringify(source.warnings)}`);
          if (source.stoppedAt !== undefined) failures.push(`${name}: scan stopped early at byte ${source.stoppedAt}`);
          if (source.messageCount !== expected.messages.length) failures.push(`${name}: messageCount ${source.messageCount}`);
        } finally {
          await source.close();
        }
      } catch (error) {
        failures.push(`${name}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it.skipIf(!hasFixtures)('variants without messages open cleanly with zero messages', async () => {
    const empty = variants.filter((p) => loadExpected(p).messages.length === 0);
    expect(empty.length).toBeGreaterThan(0);
    for (const path of empty) {
      const source = await openMcapSource(path);
      try {
        expect(source.messageCount, basename(path)).toBe(0);
        expect(source.channels.every((ch) => source.times(ch.id).length === 0)).toBe(true);
        expect(source.warnings, basename(path)).toEqual([]);
      } finally {
        await source.close();
      }
    }
  });
});

if (!hasFixtures) console.log(`mcapConformance skipped: ${fixturesSkipReason}`);
