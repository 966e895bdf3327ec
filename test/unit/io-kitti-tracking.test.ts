// KITTI tracking label_02 against the real KITTI raw drive fixture (10 frames, 2011_09_26
// calibration): a tracking file written here for that drive's frames (a car ahead as track 0 over
// every frame, a pedestrian as track 1 on frames 2–6, a DontCare region with track −1) imports through
// the CLI (`--format kitti` detects label_02; `--format kitti-tracking` names it) with the track ids
// on the right frames, exports back (`kitti-tracking`) equal field by field, and re-imports to the
// same labels. The fixtures have no tracking layout, hence the generated file.
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/contract.js';
import { registerIoCommands } from '../../src/cli/commands/io.js';
import { exportLabels, type ImportSummary } from '../../src/io/index.js';
import { isTrackingLabels } from '../../src/io/kittiTracking.js';
import { LabelService } from '../../src/labels/service.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { listAuditEvents } from '../../src/store/auditQuery.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

const RAW = fixture('kitti_raw_2011_09_26_sfnd');
const actor = 'tester';

let root: string;
let db: Db;
let dbPath: string;

beforeAll(() => {
  if (!hasFixtures) console.warn(`KITTI tracking io tests skipped: ${fixturesSkipReason}`);
  root = mkdtempSync(join(tmpdir(), 'sightline-kitti-tracking-'));
  dbPath = join(root, 'workspace.db');
  db = openDatabase(dbPath);
});
afterAll(() => {
  db?.close();
  rmSync(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('sightline').exitOverride();
  registerIoCommands(program);
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => ((stdout += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof process.stderr.write;
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    stderr += `sightline: ${ApiError.from(error).message}\n`;
    code = 1;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, stdout, stderr };
}

const f2 = (v: number) => v.toFixed(2);

/** label_02 lines for the drive: frame, track, type, truncated, occluded, alpha, bbox, h w l, x y z, ry. */
function trackingLines(): string[] {
  const out: string[] = [];
  for (let k = 0; k < 10; k++) {
    const z = 12 - 0.4 * k;
    out.push([k, 0, 'Car', '0.00', 0, f2(-0.05), f2(560 - k), f2(175), f2(690 + k), f2(235 + k), '1.52', '1.65', '3.95', f2(0.6), '1.68', f2(z), f2(-1.58)].join(' '));
    if (k >= 2 && k <= 6) out.push([k, 1, 'Pedestrian', '0.00', 1, f2(0.42), f2(300 + 5 * k), f2(160), f2(330 + 5 * k), f2(240), '1.75', '0.60', '0.80', f2(-4 + 0.1 * k), '1.72', f2(9), f2(0.1)].join(' '));
  }
  out.push('0 -1 DontCare -1 -1 -10.00 900.00 170.00 960.00 200.00 -1.00 -1.00 -1.00 -1000.00 -1000.00 -1000.00 -10.00');
  return out;
}

const byKey = (lines: string[]) =>
  new Map(
    lines.map((l) => {
      const t = l.trim().split(/\s+/);
      return [`${t[0]} ${t[1]} ${t[2]}`, t.slice(3).map(Number)];
    }),
  );

describe.skipIf(!hasFixtures)('KITTI tracking label_02', () => {
  it('imports with track ids on the sequence frames, exports back field by field and re-imports the same labels', async () => {
    const labelDir = join(root, 'label_02');
    mkdirSync(labelDir);
    const original = trackingLines();
    writeFileSync(join(labelDir, '0000.txt'), `${original.join('\n')}\n`);
    expect(await isTrackingLabels(labelDir)).toBe(true);
    expect(await isTrackingLabels(join(fixture('kitti_object_vis', 'training', 'label_2')))).toBe(false);

    // Detected under the plain KITTI format.
    const imported = await cli(['import', labelDir, '--db', dbPath, '--log', RAW, '--format', 'kitti', '--name', 'tracking gt', '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const summary = JSON.parse(imported.stdout) as ImportSummary;
    expect(summary.boxes).toBe(original.length);
    expect(summary.frames).toBe(10);
    const service = new LabelService(db, { actor });
    const labels = service.listLabels(summary.labelSet!.id);
    const car = labels.filter((l) => l.trackId === '0');
    const ped = labels.filter((l) => l.trackId === '1');
    expect(car).toHaveLength(10);
    expect(ped).toHaveLength(5);
    expect(labels.filter((l) => l.trackId === null).map((l) => l.class)).toEqual(['DontCare']);
    // Frame k of the file is the drive's sample 000000000k: frame ids in time order.
    const frameIds = [...new Set(car.map((l) => l.frameId))];
    expect(frameIds).toHaveLength(10);
    const stamps = car.map((l) => BigInt(l.frameId.split(':').at(-1)!));
    expect(stamps.every((s, i) => i === 0 || s > stamps[i - 1]!)).toBe(true);
    // Placed in 3D (calibrated drive): the car ahead (+x), the pedestrian to the left (+y).
    expect(car[0]!.box3d!.center[0]).toBeGreaterThan(10);
    expect(ped[0]!.box3d!.center[1]).toBeGreaterThan(3);
    expect(ped.map((l) => frameIds.indexOf(l.frameId))).toEqual([2, 3, 4, 5, 6]);

    const out = join(root, 'export');
    const exported = await exportLabels(db, { labelSet: summary.labelSet!.id, format: 'kitti-tracking', out, actor });
    expect(exported.manifest.counts.written).toBe(original.length);
    expect((JSON.parse(readFileSync(exported.manifestPath, 'utf8')) as { files: string[] }).files).toEqual(['export/0000.txt']);
    const written = readFileSync(join(out, '0000.txt'), 'utf8').trim().split('\n');
    const want = byKey(original);
    const got = byKey(written);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, values] of want) {
      const back = got.get(key)!;
      // Columns truncated occluded alpha bbox h w l exact; location and ry through the calibration and back.
      expect(back.slice(0, 10), key).toEqual(values.slice(0, 10));
      back.slice(10).forEach((v, i) => expect(Math.abs(v - values[10 + i]!), `${key} column ${13 + i}`).toBeLessThanOrEqual(0.0101));
    }

    const again = await cli(['import', join(out, '0000.txt'), '--db', dbPath, '--log', RAW, '--format', 'kitti-tracking', '--name', 'tracking again', '--json']);
    expect(again.code).toBe(0);
    const reimported = service.listLabels((JSON.parse(again.stdout) as ImportSummary).labelSet!.id);
    const shape = (l: (typeof labels)[number]) => `${l.frameId} ${l.trackId} ${l.class} ${JSON.stringify(l.box2d)}`;
    expect(reimported.map(shape).sort()).toEqual(labels.map(shape).sort());

    const actions = listAuditEvents(db, { order: 'asc' }).map((e) => e.action);
    expect(actions.filter((a) => a === 'labels.import')).toHaveLength(2);
    expect(actions).toContain('labels.export');
    expect(verifyAuditChain(db).ok).toBe(true);
  });

  it('names the frames a tracking file has that the log does not', async () => {
    const file = join(root, 'beyond.txt');
    writeFileSync(file, `${trackingLines()[0]}\n42 0 Car 0.00 0 -0.05 560.00 175.00 690.00 235.00 1.52 1.65 3.95 0.60 1.68 12.00 -1.58\n`);
    const result = await cli(['import', file, '--db', dbPath, '--log', RAW, '--format', 'kitti-tracking', '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as ImportSummary;
    expect(summary.boxes).toBe(1);
    expect(summary.warnings.join('\n')).toMatch(/frames 42 \(1\) are not frames of/);
  });
});
