// Import/export round trips on the real fixtures: KITTI label_2 (vis + extra, DontCare lines
// included) -> label set -> KITTI files equal to the originals field by field; KITTI with scores ->
// a run with detections; COCO export -> import gives the same boxes; the nuScenes submission
// validates against the documented fields, matches an independent global-frame computation, and
// imports back within 1e-6.
import { Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/contract.js';
import { registerIoCommands } from '../../src/cli/commands/io.js';
import { wrapAngle } from '../../src/labels/geometry.js';
import { LabelService } from '../../src/labels/service.js';
import { exportLabels, importLabels, importLogGroundTruth, type ExportManifest } from '../../src/io/index.js';
import { cocoResultsPath, type CocoDataset, type CocoResult } from '../../src/io/coco.js';
import { NUSCENES_ATTRIBUTES, nuscenesBoxProblem, type NuscenesSubmission } from '../../src/io/nuscenes.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { listAuditEvents } from '../../src/store/auditQuery.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { listDetections } from '../../src/store/detections.js';
import { getRun } from '../../src/store/runs.js';
import { softwareVersion } from '../../src/version.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

const KITTI_DIRS = [fixture('kitti_object_vis', 'training'), fixture('kitti_object_extra', 'training')];
const NUSCENES_DIR = fixture('mmdet3d_demo', 'nuscenes');
const actor = 'tester';

let root: string;
let db: Db;
let dbPath: string;
const timings: Record<string, number> = {};

beforeAll(() => {
  if (!hasFixtures) console.warn(`io round-trip tests skipped: ${fixturesSkipReason}`);
  root = mkdtempSync(join(tmpdir(), 'sightline-io-'));
  dbPath = join(root, 'workspace.db');
  db = openDatabase(dbPath);
});
afterAll(() => {
  db?.close();
  rmSync(root, { recursive: true, force: true });
  if (Object.keys(timings).length) console.log(`io timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
});

/** A label_2 line's fields as printed with two decimals (occluded as an integer), the way the benchmark files are written. */
function fields(line: string): string[] {
  const t = line.trim().split(/\s+/);
  return t.map((v, i) => (i === 0 ? v : i === 2 ? String(Math.round(Number(v))) : i === 15 ? Number(v).toFixed(4) : Number(v).toFixed(2).replace(/^-0\.00$/, '0.00')));
}
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());

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
    const e = ApiError.from(error);
    stderr += `sightline: ${e.message}\n`;
    code = e.code === 'BAD_INPUT' ? 2 : 1;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, stdout, stderr };
}

describe.skipIf(!hasFixtures)('KITTI label_2', () => {
  it.each(KITTI_DIRS)('imports and exports %s identical to the originals, DontCare lines included', async (dir) => {
    const name = `gt ${dir}`;
    let t = performance.now();
    // Through the command line, as a user would.
    const imported = await cli(['import', join(dir, 'label_2'), '--db', dbPath, '--log', dir, '--format', 'kitti', '--name', name]);
    timings[`kitti import ${dir.split('/').at(-2)}`] = performance.now() - t;
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/^Imported \d+ boxes on \d+ frames from \d+ file\(s\) as label set \d+ /);

    const out = join(root, `kitti-${dir.split('/').at(-2)}`);
    t = performance.now();
    const exported = await cli(['export', '--db', dbPath, '--labels', name, '--format', 'kitti', '--out', out]);
    timings[`kitti export ${dir.split('/').at(-2)}`] = performance.now() - t;
    expect(exported.code, exported.stderr).toBe(0);
    const originals = readdirSync(join(dir, 'label_2')).filter((f) => f.endsWith('.txt')).sort();
    expect(readdirSync(out).sort()).toEqual(originals);
    let count = 0;
    for (const file of originals) {
      const want = lines(join(dir, 'label_2', file)).map(fields);
      const got = lines(join(out, file)).map(fields);
      expect(got, file).toEqual(want);
      for (const line of lines(join(out, file))) expect(line.split(' ')).toHaveLength(15); // no score column for ground truth
      count += want.length;
    }
    expect(count).toBeGreaterThan(0);

    // The manifest next to the export traces it to the set, the audit chain and the software.
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as ExportManifest;
    const set = new LabelService(db).resolveSet(name);
    expect(manifest).toMatchObject({ format: 'kitti', labelSet: { id: set.id, name, kind: 'ground_truth' }, softwareVersion, exportedBy: expect.any(String) });
    expect(manifest.counts).toMatchObject({ written: count, skipped: 0, files: originals.length });
    expect(manifest.labels.count).toBe(count);
    const head = listAuditEvents(db, { limit: 1 })[0]!;
    expect(head).toMatchObject({ action: 'labels.export', entityId: String(set.id) });
    expect(manifest.audit).toEqual({ seq: head.seq, headHash: head.hash });
    expect(listAuditEvents(db, { entityType: 'label_set', entityId: String(set.id), order: 'asc' }).map((e) => e.action)).toEqual(['labels.import', 'labels.export']);
    expect(new LabelService(db).verify(set.id).ok).toBe(true);
  });

  it('imports KITTI lines with a score column as a run with detections, and exports its predictions with scores', async () => {
    const dir = KITTI_DIRS[1]!;
    const predictions = join(root, 'kitti-predictions');
    mkdirSync(predictions, { recursive: true });
    const scores = [0.91, 0.35, 0.775, 0.5, 0.66];
    let expected = 0;
    for (const file of readdirSync(join(dir, 'label_2'))) {
      const scored = lines(join(dir, 'label_2', file))
        .filter((l) => !l.startsWith('DontCare'))
        .map((l, i) => `${l} ${scores[i % scores.length]!.toFixed(4)}`);
      expected += scored.length;
      writeFileSync(join(predictions, file), `${scored.join('\n')}\n`);
    }
    const summary = await importLabels(db, { logPath: dir, format: 'kitti', path: predictions, as: 'run', name: 'pointpillars (external)', actor });
    expect(summary.run).toBeDefined();
    const run = getRun(db, summary.run!.id)!;
    expect(run).toMatchObject({ kind: 'import', status: 'done', name: 'pointpillars (external)', framesDone: 2, softwareVersion });
    const detections = listDetections(db, run.id);
    expect(detections).toHaveLength(expected);
    expect(detections.slice(0, 5).map((d) => d.score)).toEqual(scores);
    expect(detections.every((d) => d.box2d && d.box3d && d.sensorId === 'image_2')).toBe(true);
    expect(listAuditEvents(db, { entityType: 'run', entityId: String(run.id) }).map((e) => e.action)).toEqual(['run.import']);

    // The run's predictions as a label set, exported back: the same lines, score column included.
    const service = new LabelService(db, { actor });
    const set = service.createSetFromRun({ runId: run.id, name: 'pp predictions' });
    const out = join(root, 'kitti-pred-out');
    await exportLabels(db, { labelSet: set.id, format: 'kitti', out, actor });
    // Detections hold no truncation, occlusion or alpha (alpha is derived from the box on export): compare the rest.
    const geometry = (f: string[]) => [f[0], ...f.slice(4)];
    for (const file of readdirSync(predictions)) {
      expect(lines(join(out, file)).map(fields).map(geometry), file).toEqual(lines(join(predictions, file)).map(fields).map(geometry));
      expect(lines(join(out, file))[0]!.split(' ')).toHaveLength(16);
    }
  });
});

describe.skipIf(!hasFixtures)('COCO', () => {
  it('exports a label set as COCO and imports it back to the same boxes; predictions round-trip through the results JSON', async () => {
    const dir = KITTI_DIRS[0]!;
    const service = new LabelService(db, { actor });
    const gt = (await importLabels(db, { logPath: dir, format: 'kitti', path: join(dir, 'label_2'), name: 'coco source', actor })).labelSet!;
    const out = join(root, 'coco', 'gt.json');
    let t = performance.now();
    const exported = await exportLabels(db, { labelSet: gt.id, format: 'coco', out, actor });
    timings['coco export'] = performance.now() - t;
    expect(exported.manifestPath).toBe(join(root, 'coco', 'gt.manifest.json'));
    expect(existsSync(cocoResultsPath(out))).toBe(false); // ground truth: no results file

    const coco = JSON.parse(readFileSync(out, 'utf8')) as CocoDataset;
    expect(coco.images.map((i) => [i.id, i.file_name, i.width, i.height])).toEqual([
      [0, '000000.png', 1224, 370],
      [1, '000001.png', 1242, 375],
      [2, '000002.png', 1242, 375],
    ]);
    expect(coco.categories.map((c) => c.name)).toEqual(['Car', 'Cyclist', 'DontCare', 'Misc', 'Pedestrian', 'Truck']);
    const truck = coco.annotations.find((a) => coco.categories.find((c) => c.id === a.category_id)!.name === 'Truck')!;
    expect(truck.image_id).toBe(1);
    expect(truck.bbox).toEqual([599.41, 156.4, 629.75 - 599.41, 189.25 - 156.4]);
    expect(coco.annotations.filter((a) => a.iscrowd === 1)).toHaveLength(4); // the DontCare regions

    // Strip Sightline's own image fields: a plain COCO file maps by file name.
    const plain = join(root, 'coco', 'plain.json');
    writeFileSync(plain, JSON.stringify({ ...coco, images: coco.images.map(({ id, file_name, width, height }) => ({ id: id + 100, file_name, width, height })), annotations: coco.annotations.map((a) => ({ ...a, image_id: a.image_id + 100 })) }));
    for (const [file, name] of [[out, 'coco back'], [plain, 'coco plain']] as const) {
      t = performance.now();
      const back = await importLabels(db, { logPath: dir, format: 'coco', path: file, name, actor });
      timings[`coco import ${name}`] = performance.now() - t;
      expect(back.warnings).toEqual([]);
      const a = service.listLabels(gt.id);
      const b = service.listLabels(back.labelSet!.id);
      expect(b).toHaveLength(a.length);
      a.forEach((la, i) => {
        const lb = b[i]!;
        expect(lb.frameId).toBe(la.frameId);
        expect(lb.class).toBe(la.class);
        expect(lb.box2d!.sensorId).toBe('image_2');
        for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(lb.box2d![k]).toBeCloseTo(la.box2d![k], 9);
        expect(lb.attributes).toEqual(la.attributes);
      });
    }

    // Predictions: a run made from the GT with scores, exported as COCO (+ results), results imported back as a run.
    const scored = join(root, 'coco-scored');
    mkdirSync(scored, { recursive: true });
    for (const file of readdirSync(join(dir, 'label_2'))) {
      writeFileSync(join(scored, file), lines(join(dir, 'label_2', file)).filter((l) => !l.startsWith('DontCare')).map((l, i) => `${l} ${(0.9 - i * 0.1).toFixed(2)}`).join('\n'));
    }
    const run = (await importLabels(db, { logPath: dir, format: 'kitti', path: scored, as: 'run', name: 'scored', actor })).run!;
    const predictions = service.createSetFromRun({ runId: run.id, name: 'scored set' });
    const predOut = join(root, 'coco', 'pred.json');
    await exportLabels(db, { labelSet: predictions.id, format: 'coco', out: predOut, actor });
    const results = JSON.parse(readFileSync(cocoResultsPath(predOut), 'utf8')) as CocoResult[];
    expect(results).toHaveLength(listDetections(db, run.id).length);
    const rerun = (await importLabels(db, { logPath: dir, format: 'coco', path: cocoResultsPath(predOut), cocoDataset: predOut, as: 'run', name: 'coco results', actor })).run!;
    const before = listDetections(db, run.id);
    const after = listDetections(db, rerun.id);
    expect(after.map((d) => [d.frameId, d.class, d.score])).toEqual(before.map((d) => [d.frameId, d.class, d.score]));
    after.forEach((d, i) => d.box2d!.forEach((v, k) => expect(v).toBeCloseTo(before[i]!.box2d![k]!, 9)));
  });
});

describe.skipIf(!hasFixtures)('nuScenes detection submission', () => {
  it('exports documented fields in the global frame (checked independently), and imports back within 1e-6', async () => {
    let t = performance.now();
    const gt = await importLogGroundTruth(db, { logPath: NUSCENES_DIR, name: 'nuscenes gt', actor });
    timings['nuscenes log gt import'] = performance.now() - t;
    const service = new LabelService(db, { actor });
    const boxes3d = service.listLabels(gt.id).filter((l) => l.box3d);
    expect(boxes3d).toHaveLength(69);

    const out = join(root, 'nuscenes', 'submission.json');
    t = performance.now();
    const exported = await exportLabels(db, { labelSet: gt.id, format: 'nuscenes', out, actor });
    timings['nuscenes export'] = performance.now() - t;
    // mmdet3d marks one box of a class outside the ten detection classes as label −1 ('ignored'): not exportable.
    const exportable = boxes3d.filter((l) => l.class !== 'ignored');
    expect(exportable).toHaveLength(68);
    expect(exported.manifest.warnings.filter((w) => !/no 3D box/.test(w))).toEqual([
      `label ${boxes3d.find((l) => l.class === 'ignored')!.id} (ignored) not written: 'ignored' is none of the nuScenes detection classes (car, truck, bus, trailer, construction_vehicle, pedestrian, motorcycle, bicycle, traffic_cone, barrier)`,
    ]);
    expect(exported.manifest.counts.written).toBe(68);
    expect(exported.manifest.counts.skipped).toBe(service.listLabels(gt.id).length - 68); // the camera-only 2D boxes and the ignored one

    const submission = JSON.parse(readFileSync(out, 'utf8')) as NuscenesSubmission;
    expect(Object.keys(submission).sort()).toEqual(['meta', 'results']);
    expect(Object.keys(submission.meta).sort()).toEqual(['use_camera', 'use_external', 'use_lidar', 'use_map', 'use_radar']);
    // The info file is Python's JSON, NaN included.
    const info = JSON.parse(readFileSync(join(NUSCENES_DIR, 'n015-2018-07-24-11-22-45+0800.info.json'), 'utf8').replace(/\bNaN\b/g, 'null')) as {
      data_list: { token: string; ego2global: number[][]; lidar_points: { lidar2ego: number[][] }; instances: { bbox_3d: number[]; bbox_label_3d: number }[] }[];
      metainfo: { categories: Record<string, number> };
    };
    const sample = info.data_list[0]!;
    expect(Object.keys(submission.results)).toEqual([sample.token]);
    const results = submission.results[sample.token]!;
    const instances = sample.instances.filter((inst) => inst.bbox_label_3d >= 0);
    expect(results).toHaveLength(instances.length);
    const names = Object.fromEntries(Object.entries(info.metainfo.categories).map(([k, v]) => [v, k]));
    const mul = (m: number[][], p: number[]) => [0, 1, 2].map((r) => m[r]![0]! * p[0]! + m[r]![1]! * p[1]! + m[r]![2]! * p[2]! + m[r]![3]!);
    results.forEach((box, k) => {
      expect(Object.keys(box).sort()).toEqual(['attribute_name', 'detection_name', 'detection_score', 'rotation', 'sample_token', 'size', 'translation', 'velocity']);
      expect(nuscenesBoxProblem(box)).toBeUndefined();
      expect(box.detection_score).toBe(-1); // ground truth: no score, as the devkit writes it
      expect(box.attribute_name === '' || NUSCENES_ATTRIBUTES[box.detection_name as 'car'].includes(box.attribute_name)).toBe(true);
      // Independent: global centre = ego2global · lidar2ego · bbox centre; size [w, l, h]; yaw about the global z.
      const inst = instances[k]!;
      const global = mul(sample.ego2global, mul(sample.lidar_points.lidar2ego, inst.bbox_3d.slice(0, 3)));
      // (ego2global is float32 and not exactly orthonormal; the reader turns it into a quaternion: micrometres apart at 1 km.)
      global.forEach((v, i) => expect(box.translation[i]).toBeCloseTo(v, 5));
      expect(box.size).toEqual([inst.bbox_3d[4], inst.bbox_3d[3], inst.bbox_3d[5]].map((v) => expect.closeTo(v!, 9)));
      expect(box.detection_name).toBe(names[inst.bbox_label_3d]);
      // The box's heading (its x axis) rotated by the quaternion, against ego2global·lidar2ego applied to the lidar-frame heading.
      const [w, x, y, z] = box.rotation;
      const heading = [1 - 2 * (y * y + z * z), 2 * (x * y + w * z)];
      const yaw = inst.bbox_3d[6]!;
      const l2e = sample.lidar_points.lidar2ego;
      const e2g = sample.ego2global;
      const hEgo = [0, 1, 2].map((r) => l2e[r]![0]! * Math.cos(yaw) + l2e[r]![1]! * Math.sin(yaw));
      const hGlobal = [0, 1].map((r) => e2g[r]![0]! * hEgo[0]! + e2g[r]![1]! * hEgo[1]! + e2g[r]![2]! * hEgo[2]!);
      // Boxes are upright (yaw only) in the ego frame, the matrix chain keeps the lidar's ~0.5° tilt: agree within 2 mrad.
      expect(Math.abs(wrapAngle(Math.atan2(heading[1]!, heading[0]!) - Math.atan2(hGlobal[1]!, hGlobal[0]!)))).toBeLessThan(2e-3);
    });

    t = performance.now();
    const back = await importLabels(db, { logPath: NUSCENES_DIR, format: 'nuscenes', path: out, name: 'nuscenes back', actor });
    timings['nuscenes import'] = performance.now() - t;
    expect(back.warnings).toEqual([]);
    const again = service.listLabels(back.labelSet!.id);
    expect(again).toHaveLength(68);
    again.forEach((b, i) => {
      const a = exportable[i]!;
      expect(b.class).toBe(a.class);
      expect(b.frameId).toBe(a.frameId);
      expect(b.score).toBeNull();
      for (let j = 0; j < 3; j++) {
        expect(Math.abs(b.box3d!.center[j]! - a.box3d!.center[j]!)).toBeLessThan(1e-6);
        expect(Math.abs(b.box3d!.size[j]! - a.box3d!.size[j]!)).toBeLessThan(1e-6);
      }
      expect(Math.abs(wrapAngle(b.box3d!.yaw - a.box3d!.yaw))).toBeLessThan(1e-6);
      expect(Math.abs((b.attributes.velocity_x as number) - ((a.attributes.velocity_x as number) ?? 0))).toBeLessThan(1e-6);
      expect(Math.abs((b.attributes.velocity_y as number) - ((a.attributes.velocity_y as number) ?? 0))).toBeLessThan(1e-6);
    });

    // A prediction import (--as run) of the same file keeps the boxes as detections on LIDAR_TOP.
    const run = (await importLabels(db, { logPath: NUSCENES_DIR, format: 'nuscenes', path: out, as: 'run', name: 'nus run', actor })).run!;
    const detections = listDetections(db, run.id);
    expect(detections).toHaveLength(68);
    expect(detections[0]!.sensorId).toBe('LIDAR_TOP');
    expect(verifyAuditChain(db).ok).toBe(true);
  });

  it('says clearly what is wrong with a bad file, keeping the good boxes', async () => {
    const bad = join(root, 'bad-submission.json');
    const good = JSON.parse(readFileSync(join(root, 'nuscenes', 'submission.json'), 'utf8')) as NuscenesSubmission;
    const token = Object.keys(good.results)[0]!;
    const list = good.results[token]!.slice(0, 3);
    writeFileSync(bad, JSON.stringify({ meta: good.meta, results: { [token]: [list[0], { ...list[1], size: [1, 2] }, { ...list[2], detection_name: 'spaceship' }], 'no-such-token': [] } }));
    const summary = await importLabels(db, { logPath: NUSCENES_DIR, format: 'nuscenes', path: bad, name: 'partial', actor });
    expect(summary.boxes).toBe(1);
    expect(summary.warnings).toEqual([
      `${bad} results.${token}[1]: size must be 3 non-negative numbers [w, l, h]; skipped`,
      `${bad} results.${token}[2]: detection_name must be one of car, truck, bus, trailer, construction_vehicle, pedestrian, motorcycle, bicycle, traffic_cone, barrier; skipped`,
      `${bad}: results.no-such-token: no sample with this token in n015-2018-07-24-11-22-45+0800; skipped`,
    ]);
    await expect(importLabels(db, { logPath: NUSCENES_DIR, format: 'nuscenes', path: join(root, 'missing.json'), actor })).rejects.toThrow(/No such file/);
    writeFileSync(join(root, 'not-a-submission.json'), '[1, 2]');
    await expect(importLabels(db, { logPath: NUSCENES_DIR, format: 'nuscenes', path: join(root, 'not-a-submission.json'), actor })).rejects.toThrow(/not a nuScenes detection submission/);
  });
});
