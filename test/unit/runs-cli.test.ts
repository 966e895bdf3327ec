// `sightline infer`, `runs` and `models` as a user runs them: the built binary, a real SQLite file,
// the YOLOX-Nano ONNX fixture added through `models add`, the demo drive.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectionDump } from '../../src/cli/commands/runs.js';
import type { RunRecord } from '../../src/store/runs.js';
import type { RunFrameRecord } from '../../src/store/detections.js';
import { demoLogPath } from '../helpers/demo.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { ensureDist } from '../helpers/build.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'dist', 'src', 'cli', 'bin.js');


let dir: string;
let db: string;
let demo: string;

async function sightline(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SIGHTLINE_HOME: dir }, maxBuffer: 64 << 20 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe.skipIf(!hasFixtures)('sightline infer / runs / models', () => {
  beforeAll(async () => {
    await ensureDist();
    dir = mkdtempSync(join(tmpdir(), 'sightline-runs-cli-'));
    db = join(dir, 'workspace.db');
    demo = await demoLogPath();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has --help for infer, runs and models', async () => {
    const top = await sightline('--help');
    for (const command of ['infer', 'runs', 'models']) expect(top.stdout).toContain(command);
    const infer = await sightline('infer', '--help');
    expect(infer.code).toBe(0);
    for (const option of ['--model', '--device', '--db', '--json', '--resume', '--frames', '--sensor', '--lidar', '--new-run']) expect(infer.stdout).toContain(option);
    expect(infer.stdout).toMatch(/continues the latest unfinished run/);
    expect((await sightline('runs', 'show', '--help')).stdout).toMatch(/^Usage: sightline runs show/);
    expect((await sightline('models', 'add', '--help')).stdout).toMatch(/--manifest <file>/);
  });

  it('lists, adds and describes models', async () => {
    const before = JSON.parse((await sightline('models', 'list', '--json')).stdout) as { id: string; builtin: boolean }[];
    expect(before.map((m) => m.id)).toEqual(['centernet-coco', 'nanodet-coco', 'lidar-clusters']);
    expect(before.every((m) => m.builtin)).toBe(true);

    const classes = readFileSync(fixture('models', 'yolox_nano', 'coco_classes.txt'), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
    const manifest = join(dir, 'yolox.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        id: 'yolox-nano',
        name: 'YOLOX-Nano (COCO)',
        task: 'detect2d',
        format: 'onnx',
        file: 'yolox_nano.onnx',
        input: { name: 'images', width: 416, height: 416, layout: 'NCHW', colorOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114 },
        decoder: { kind: 'yolox', output: 'output', scoreThreshold: 0.3 },
        classes,
      }),
    );
    const model = fixture('models', 'yolox_nano', 'yolox_nano.onnx');
    const added = await sightline('models', 'add', model, '--manifest', manifest, '--json');
    expect(added.code, added.stderr).toBe(0);
    const sha256 = createHash('sha256').update(readFileSync(model)).digest('hex');
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'yolox-nano', task: 'detect2d', format: 'onnx', builtin: false, sha256 });

    const info = JSON.parse((await sightline('models', 'info', 'yolox-nano', '--json')).stdout) as { sha256: string; manifest: { classes: string[] } };
    expect(info.sha256).toBe(sha256);
    expect(info.manifest.classes).toEqual(classes);
    const text = await sightline('models', 'info', 'nanodet-coco');
    expect(text.stdout).toMatch(/nanodet-coco: .*\(built-in\)/);
    expect(text.stdout).toMatch(/sha256 {4}[0-9a-f]{64}/);

    const unknown = await sightline('models', 'info', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sightline: Unknown model "nope"/);
    const badManifest = join(dir, 'bad.json');
    writeFileSync(badManifest, '{"id": "x", "task": "detect2d"');
    const bad = await sightline('models', 'add', model, '--manifest', badManifest);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(badManifest);
  });

  it('infer writes a run; runs list and runs show --json dump the record and every detection', async () => {
    const infer = await sightline('infer', demo, '--model', 'yolox-nano', '--frames', '10:16', '--db', db, '--json');
    expect(infer.code, infer.stderr).toBe(0);
    const { summary, run } = JSON.parse(infer.stdout) as { summary: { runId: number; status: string; framesDone: number }; run: RunRecord };
    expect(summary).toMatchObject({ status: 'done', framesDone: 6 });
    expect(run).toMatchObject({ id: summary.runId, status: 'done', modelId: 'yolox-nano', engine: 'onnx', params: { frames: { start: 10, end: 16 } } });

    const list = await sightline('runs', 'list', '--db', db, '--json');
    expect(list.code).toBe(0);
    const runs = JSON.parse(list.stdout) as RunRecord[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: summary.runId, status: 'done', framesDone: 6, framesTotal: 6, modelId: 'yolox-nano' });
    for (const key of ['modelSha256', 'executionProvider', 'softwareVersion', 'startedAt', 'finishedAt', 'framesPerS']) expect(runs[0]![key as keyof RunRecord]).toBeTruthy();
    const table = await sightline('runs', 'list', '--db', db);
    expect(table.stdout).toMatch(new RegExp(`^${summary.runId}\\s+done\\s+yolox-nano\\s+6/6`, 'm'));

    const show = await sightline('runs', 'show', String(summary.runId), '--db', db, '--json');
    expect(show.code, show.stderr).toBe(0);
    const dump = JSON.parse(show.stdout) as { run: RunRecord; frames: RunFrameRecord[]; detections: DetectionDump[] };
    expect(dump.run).toEqual(runs[0]);
    expect(dump.frames.map((f) => f.frameIndex)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(dump.detections.length).toBe(dump.frames.reduce((n, f) => n + f.detectionCount, 0));
    expect(dump.detections.length).toBeGreaterThan(0);
    for (const d of dump.detections) {
      expect(Object.keys(d).sort()).toEqual(['box2d', 'box3d', 'class', 'frameId', 'frameIndex', 'modelClass', 'score', 'sensorId', 'stampNs', 'trackId']);
      expect(d.frameId).toBe(dump.frames.find((f) => f.frameIndex === d.frameIndex)!.frameId);
      expect(d.stampNs).toMatch(/^\d+$/);
      expect(d.sensorId).toBe('camera/front');
      expect(d.box2d!.x2).toBeGreaterThan(d.box2d!.x1);
      expect(d.box2d!.y2).toBeGreaterThan(d.box2d!.y1);
      expect(d.box3d).toBeNull();
    }
    const text = await sightline('runs', 'show', String(summary.runId), '--db', db);
    expect(text.stdout).toMatch(/status {6}done/);
    expect(text.stdout).toMatch(new RegExp(`detections  ${dump.detections.length}`));
  });

  it('fails clearly on an unknown run, model, log, database or a bad frame range', async () => {
    const noRun = await sightline('runs', 'show', '999', '--db', db, '--json');
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toMatch(/^sightline: No run with id 999/);
    const noDb = await sightline('runs', 'show', '1', '--db', join(dir, 'none.db'));
    expect(noDb.stderr).toMatch(/No workspace database at .*none\.db/);
    expect(existsSync(join(dir, 'none.db'))).toBe(false);
    expect(JSON.parse((await sightline('runs', 'list', '--db', join(dir, 'none.db'), '--json')).stdout)).toEqual([]);

    const noModel = await sightline('infer', demo, '--model', 'nope', '--db', db);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/Unknown model "nope"/);
    const noLog = await sightline('infer', join(dir, 'missing.mcap'), '--model', 'yolox-nano', '--db', db);
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toMatch(/No such file or directory: .*missing\.mcap/);
    const badRange = await sightline('infer', demo, '--model', 'yolox-nano', '--frames', 'ten', '--db', db);
    expect(badRange.code).toBe(2);
    expect(badRange.stderr).toMatch(/Bad frame range 'ten'/);
    const badResume = await sightline('infer', demo, '--model', 'yolox-nano', '--resume', '77', '--db', db);
    expect(badResume.stderr).toMatch(/No run with id 77/);
    const doneResume = await sightline('infer', demo, '--model', 'yolox-nano', '--resume', '1', '--db', db);
    expect(doneResume.code).toBe(2);
    expect(doneResume.stderr).toMatch(/Run 1 is already done \(6\/6 frames\); nothing to resume/);
    const badDevice = await sightline('infer', demo, '--model', 'yolox-nano', '--device', 'tpu');
    expect(badDevice.code).not.toBe(0);
    expect(badDevice.stderr).toMatch(/Allowed choices are auto, gpu, cpu/);
  });
});

describe.skipIf(hasFixtures)('sightline infer / runs / models', () => {
  it.skip(`skipped: ${fixturesSkipReason}`, () => undefined);
});
