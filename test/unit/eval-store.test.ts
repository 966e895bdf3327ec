// Stored evaluations on the real KITTI fixtures: the label_2 files become ground-truth label sets, and
// runs are imported from KITTI result files this test writes by perturbing those labels (plus planted
// false positives). COCO and KITTI evaluations are stored through `sightline eval`; the stored
// per-object TP/FP/FN must equal an independent matching written here, the stored figures a fresh
// computation. Run B drops one car detection on purpose: `compare` must show it as TP→FN and rank its
// frame first, and the hard-case queries must find it.
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/contract.js';
import { registerEvalCommands } from '../../src/cli/commands/eval.js';
import { loadEvalFrames } from '../../src/eval/adapters.js';
import { evaluate, defaultSlices, EvalError, type EvaluateOptions, type MetricName } from '../../src/eval/index.js';
import { parseQuery, queryToSql, sliceFromQuery } from '../../src/eval/queries.js';
import { createEvalHandlers } from '../../src/eval/handlers.js';
import { evalMethods } from '../../src/eval/api.js';
import type { EvaluationDetail, ObjectQueryResult, RunComparison, StoredObject } from '../../src/eval/store/model.js';
import { EvalService } from '../../src/eval/store/service.js';
import { importLabels } from '../../src/io/index.js';
import { listAuditEvents } from '../../src/store/auditQuery.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { listDetections, type DetectionRecord } from '../../src/store/detections.js';
import { listLabelRecords, type LabelRecord } from '../../src/store/labelEvents.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

const actor = 'eval-tester';
const LOGS = { vis: fixture('kitti_object_vis', 'training'), extra: fixture('kitti_object_extra', 'training') } as const;
type LogName = keyof typeof LOGS;
/** Run B of the extra log loses the detection of this ground-truth line (000008, line 2: a car 7.9 m ahead). */
const DROPPED = { sample: '000008', line: 2 };
/** Planted false positives: boxes in the sky of every frame, away from all ground truth and DontCare regions. */
const FP_CAR = { bbox: [10, 10, 70, 55], score: 0.91 };
const FP_PED = { bbox: [600, 20, 630, 85], score: 0.4 };

let root: string;
let dbPath: string;
let db: Db;
const sets = {} as Record<LogName, number>;
const runs = {} as Record<LogName | 'extraB', number>;
const timings: Record<string, number> = {};

/** Deterministic numbers in [0, 1) (a 32-bit LCG): the perturbations are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** KITTI result lines: every labelled object slightly moved, with a score, plus the planted false positives. */
function writeResults(dir: string, out: string, drop?: { sample: string; line: number }): void {
  mkdirSync(out, { recursive: true });
  const rand = rng(7);
  for (const file of readdirSync(join(dir, 'label_2')).filter((f) => f.endsWith('.txt'))) {
    const sample = file.replace(/\.txt$/, '');
    const lines: string[] = [];
    readFileSync(join(dir, 'label_2', file), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .forEach((line, i) => {
        const t = line.trim().split(/\s+/);
        const jitter = (v: string, amount: number) => (Number(v) + (rand() * 2 - 1) * amount).toFixed(2);
        const score = (0.35 + rand() * 0.63).toFixed(4);
        // Draw the same random numbers whether or not the line is kept, so runs A and B agree elsewhere.
        const moved = [t[0], t[1], t[2], t[3], ...t.slice(4, 8).map((v) => jitter(v, 2)), ...t.slice(8, 11).map((v) => (Number(v) * (1 + (rand() * 2 - 1) * 0.02)).toFixed(2)), jitter(t[11]!, 0.05), t[12], jitter(t[13]!, 0.05), jitter(t[14]!, 0.02), score];
        if (t[0] === 'DontCare') return;
        if (drop && drop.sample === sample && drop.line === i + 1) return;
        lines.push(moved.join(' '));
      });
    lines.push(`Car 0.00 0 -1.50 ${FP_CAR.bbox.map((v) => v.toFixed(2)).join(' ')} 1.50 1.60 3.90 -15.00 1.50 45.00 -1.50 ${FP_CAR.score.toFixed(4)}`);
    lines.push(`Pedestrian 0.00 0 0.00 ${FP_PED.bbox.map((v) => v.toFixed(2)).join(' ')} 1.70 0.60 0.80 1.00 1.60 40.00 0.00 ${FP_PED.score.toFixed(4)}`);
    writeFileSync(join(out, file), `${lines.join('\n')}\n`);
  }
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('sightline').exitOverride();
  let stdout = '';
  registerEvalCommands(program, { write: (text) => void (stdout += text) });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = ApiError.from(error);
    return { code: e.code === 'BAD_INPUT' ? 2 : 1, stdout, stderr: `sightline: ${e.message}\n` };
  }
}

async function evalJson(args: string[]): Promise<EvaluationDetail & { reused: boolean }> {
  const t = performance.now();
  const r = await cli(['eval', '--db', dbPath, '--json', ...args]);
  timings[`eval ${args.join(' ')}`] = performance.now() - t;
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as EvaluationDetail & { reused: boolean };
}

// ---- the independent matching ----

type Rect = [number, number, number, number];
const rectOf = (b: { x1: number; y1: number; x2: number; y2: number }): Rect => [b.x1, b.y1, b.x2, b.y2];
function iou(a: Rect, b: Rect): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

interface Expected {
  gt: Map<number, 'tp' | 'fn' | 'ignored'>;
  det: Map<number, 'tp' | 'fp' | 'ignored'>;
  /** Detection id -> ground-truth id it matched. */
  pairs: Map<number, number>;
}

/** Greedy per frame and class: detections by score (stable), each takes the unmatched ground truth of best IoU >= 0.5. */
function cocoMatching(labels: LabelRecord[], dets: DetectionRecord[]): Expected {
  const out: Expected = { gt: new Map(), det: new Map(), pairs: new Map() };
  const isIgnore = (l: LabelRecord) => l.attributes.ignore === true || l.class === 'DontCare';
  for (const l of labels) if (!isIgnore(l)) out.gt.set(l.id, 'fn');
  const groups = new Map<string, { gts: LabelRecord[]; dets: DetectionRecord[] }>();
  const group = (frame: string, cls: string) => {
    const key = `${frame}|${cls.toLowerCase()}`;
    if (!groups.has(key)) groups.set(key, { gts: [], dets: [] });
    return groups.get(key)!;
  };
  for (const l of labels) if (!isIgnore(l)) group(l.frameId, l.class).gts.push(l);
  for (const d of dets) group(d.frameId, d.class).dets.push(d);
  for (const { gts, dets: ds } of groups.values()) {
    const taken = new Set<number>();
    const order = ds.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i);
    for (const { d } of order) {
      let best = -1;
      let bestIou = 0.5;
      gts.forEach((g, j) => {
        if (taken.has(j)) return;
        const v = iou(rectOf(g.box2d!), d.box2d!);
        if (v >= bestIou) {
          bestIou = v;
          best = j;
        }
      });
      if (best >= 0) {
        taken.add(best);
        out.gt.set(gts[best]!.id, 'tp');
        out.det.set(d.id, 'tp');
        out.pairs.set(d.id, gts[best]!.id);
      } else out.det.set(d.id, 'fp');
    }
  }
  return out;
}

/**
 * KITTI 2D at 'hard' (the records' setting): ground truth of Car/Pedestrian/Cyclist counts when at least
 * 25 px tall, occluded <= 2 and truncated <= 0.5, else it is ignored; in file order each takes the
 * unassigned same-class detection of largest IoU above the class threshold (Car 0.7, others 0.5).
 */
function kittiMatching(labels: LabelRecord[], dets: DetectionRecord[]): Expected {
  const out: Expected = { gt: new Map(), det: new Map(), pairs: new Map() };
  const threshold: Record<string, number> = { car: 0.7, pedestrian: 0.5, cyclist: 0.5 };
  const frames = new Set([...labels.map((l) => l.frameId), ...dets.map((d) => d.frameId)]);
  for (const frame of frames) {
    const assigned = new Set<number>();
    for (const g of labels.filter((l) => l.frameId === frame)) {
      const cls = g.class.toLowerCase();
      if (!(cls in threshold)) continue;
      const h = g.box2d!.y2 - g.box2d!.y1;
      const valid = h >= 25 && (g.attributes.occluded as number) <= 2 && (g.attributes.truncated as number) <= 0.5;
      let best: DetectionRecord | undefined;
      let bestIou = threshold[cls]!;
      for (const d of dets) {
        if (d.frameId !== frame || d.class.toLowerCase() !== cls || assigned.has(d.id)) continue;
        const v = iou(rectOf(g.box2d!), d.box2d!);
        if (v > bestIou) {
          bestIou = v;
          best = d;
        }
      }
      if (best) {
        assigned.add(best.id);
        out.det.set(best.id, valid ? 'tp' : 'ignored');
        out.pairs.set(best.id, g.id);
      }
      out.gt.set(g.id, !valid ? 'ignored' : best ? 'tp' : 'fn');
    }
    for (const d of dets) if (d.frameId === frame && d.class.toLowerCase() in threshold && !out.det.has(d.id)) out.det.set(d.id, d.box2d![3] - d.box2d![1] < 25 ? 'ignored' : 'fp');
  }
  return out;
}

function storedOutcomes(evaluationId: number): StoredObject[] {
  const service = new EvalService(db, { actor });
  const all: StoredObject[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = service.objects(evaluationId, { limit: 1000, offset });
    all.push(...page.items);
    if (all.length >= page.total) return all;
  }
}

function expectSameOutcomes(stored: StoredObject[], expected: Expected): void {
  const gt = new Map(stored.filter((o) => o.source === 'gt').map((o) => [o.objectId, o]));
  const det = new Map(stored.filter((o) => o.source === 'det').map((o) => [o.objectId, o]));
  for (const [id, outcome] of expected.gt) expect(gt.get(id)?.outcome, `gt ${id}`).toBe(outcome);
  for (const [id, outcome] of expected.det) expect(det.get(id)?.outcome, `det ${id}`).toBe(outcome);
  for (const [detId, gtId] of expected.pairs) {
    if (expected.det.get(detId) !== 'tp') continue;
    expect(det.get(detId)!.matchedId, `det ${detId} matched`).toBe(gtId);
    expect(gt.get(gtId)!.matchedId, `gt ${gtId} matched`).toBe(detId);
  }
}

/** The ground truth of the dropped detection: line 2 of 000008, a car whose box starts at x 334.85. */
function droppedLabel(): LabelRecord {
  const label = listLabelRecords(db, sets.extra).find((l) => l.class === 'Car' && Math.abs(l.box2d!.x1 - 334.85) < 0.01);
  expect(label).toBeDefined();
  return label!;
}

const nullable = (v: number) => (Number.isFinite(v) ? v : null);
const figures = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, nullable(v)]));

beforeAll(async () => {
  if (!hasFixtures) {
    console.warn(`eval-store tests skipped: ${fixturesSkipReason}`);
    return;
  }
  root = mkdtempSync(join(tmpdir(), 'sightline-eval-store-'));
  dbPath = join(root, 'workspace.db');
  db = openDatabase(dbPath);
  const t = performance.now();
  for (const name of Object.keys(LOGS) as LogName[]) {
    const dir = LOGS[name];
    const gt = await importLabels(db, { logPath: dir, format: 'kitti', path: join(dir, 'label_2'), name: `gt-${name}`, actor });
    sets[name] = gt.labelSet!.id;
    writeResults(dir, join(root, `results-${name}`));
    runs[name] = (await importLabels(db, { logPath: dir, format: 'kitti', path: join(root, `results-${name}`), as: 'run', name: `perturbed-${name}`, actor })).run!.id;
  }
  writeResults(LOGS.extra, join(root, 'results-extra-b'), DROPPED);
  runs.extraB = (await importLabels(db, { logPath: LOGS.extra, format: 'kitti', path: join(root, 'results-extra-b'), as: 'run', name: 'perturbed-extra-b', actor })).run!.id;
  timings['import 2 label sets + 3 runs'] = performance.now() - t;
});

afterAll(() => {
  db?.close();
  if (root) rmSync(root, { recursive: true, force: true });
  if (Object.keys(timings).length) console.log(`eval-store timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}`);
});

describe('hard-case query language', () => {
  it('parses outcomes, classes (plural, alternatives, any), conditions and distance phrases', () => {
    expect(parseQuery('FN pedestrians within 30 m')).toEqual({ outcomes: ['fn'], classes: ['pedestrians', 'pedestrian'], conditions: [{ field: 'distance', op: '<=', value: 30 }] });
    expect(parseQuery('FP cars with score > 0.8')).toEqual({ outcomes: ['fp'], classes: ['cars', 'car'], conditions: [{ field: 'score', op: '>', value: 0.8 }] });
    expect(parseQuery('fp * score>0.8 band=0-30 matched=none frame="ab:12"')).toEqual({
      outcomes: ['fp'],
      classes: null,
      conditions: [
        { field: 'score', op: '>', value: 0.8 },
        { field: 'band', op: '=', value: '0-30' },
        { field: 'matched', op: '=', value: null },
        { field: 'frame', op: '=', value: 'ab:12' },
      ],
    });
    expect(parseQuery('tp car|van occlusion>=1').classes).toEqual(['car', 'van']);
    const sql = queryToSql(parseQuery('TP car iou<0.6'));
    expect(sql.where).toContain("o.source = 'det'");
    expect(sql.params).toEqual(['tp', 'car', 0.6]);
  });

  it('names the character where a query goes wrong', () => {
    expect(() => parseQuery('FN car distance<')).toThrow(EvalError);
    expect(() => parseQuery('FN car distance<')).toThrow(/character 17: expected a value/);
    expect(() => parseQuery('FP colour=red')).toThrow(/character 4: unknown field 'colour'/);
    expect(() => parseQuery('FP score>high')).toThrow(/'high' is not a number/);
    expect(() => parseQuery('band=near')).toThrow(/band is one of 0-30, 30-50, >50/);
    expect(() => sliceFromQuery('FN distance<30')).toThrow(/outcome words/);
    expect(sliceFromQuery('distance<30')).toEqual({ name: 'distance<30', where: { field: 'distance', op: '<', value: 30 } });
  });
});

describe.skipIf(!hasFixtures)('stored evaluations on the KITTI fixtures', () => {
  it('evaluates COCO through `sightline eval --json`: AP/AP50/AP75 and per class, stored, per-object outcomes equal an independent greedy matching', async () => {
    for (const name of ['vis', 'extra'] as const) {
      const json = await evalJson(['--run', `perturbed-${name}`, '--against', `gt-${name}`, '--metric', 'coco', '--slice', 'distance<30']);
      expect(json.metric).toBe('coco');
      expect(json.reused).toBe(false);
      for (const key of ['AP', 'AP50', 'AP75']) expect(typeof json.overall[key], key).toBe('number');
      const labels = listLabelRecords(db, sets[name]);
      const dets = listDetections(db, runs[name]);
      // Every class with ground truth or detections, lower-cased on both sides (KITTI files say 'Car').
      const classes = [...new Set([...labels.filter((l) => l.class !== 'DontCare').map((l) => l.class), ...dets.map((d) => d.class)].map((c) => c.toLowerCase()))].sort();
      expect(json.perClass.map((c) => c.label)).toEqual(classes);
      for (const c of json.perClass) expect(Object.keys(c.metrics)).toEqual(expect.arrayContaining(['AP', 'AP50', 'AP75']));
      expect(json.confusion.labels.at(-1)).toBe('background');

      const expected = cocoMatching(labels, dets);
      const stored = storedOutcomes(json.id);
      expect(stored.filter((o) => o.source === 'det')).toHaveLength(dets.length);
      expectSameOutcomes(stored, expected);
      // Every perturbed object is found; only the planted boxes are false positives.
      expect([...expected.gt.values()].every((o) => o === 'tp')).toBe(true);
      expect(stored.filter((o) => o.outcome === 'fp').map((o) => o.score).sort()).toEqual([...Array(json.counts.frames).fill(FP_PED.score), ...Array(json.counts.frames).fill(FP_CAR.score)].sort());

      // The user slice: ground truth nearer than 30 m, counted independently from the labels' 3D centres.
      const near = labels.filter((l) => l.attributes.ignore !== true && l.box3d && Math.hypot(l.box3d.center[0], l.box3d.center[1]) < 30).length;
      expect(json.slices.find((s) => s.name === 'distance<30')?.numGt).toBe(near);
    }
  });

  it('evaluates KITTI 2D/BEV/3D per class × difficulty; records at hard equal an independent devkit-style assignment', async () => {
    const json = await evalJson(['--run', String(runs.extra), '--against', String(sets.extra), '--metric', 'kitti']);
    expect(json.params.variants).toEqual(['2d', 'bev', '3d']);
    for (const cls of ['Car', 'Pedestrian', 'Cyclist']) {
      const c = json.perClass.find((p) => p.label === cls)!;
      for (const v of ['2d', 'bev', '3d']) for (const d of ['easy', 'moderate', 'hard']) expect(c.metrics, `${cls} ${v} ${d}`).toHaveProperty(`AP_${v}_${d}`);
    }
    // Every class here has counted ground truth, so every AP is defined (the values are checked against a fresh computation below).
    for (const c of json.perClass) expect(Object.entries(c.metrics).filter(([k, v]) => k.startsWith('AP') && typeof v !== 'number'), c.label).toEqual([]);
    const expected = kittiMatching(listLabelRecords(db, sets.extra), listDetections(db, runs.extra));
    expectSameOutcomes(storedOutcomes(json.id), expected);
    expect([...expected.gt.values()].filter((o) => o === 'ignored').length).toBeGreaterThan(0);

    const text = await cli(['eval', '--db', dbPath, '--show', String(json.id)]);
    expect(text.stdout).toMatch(/AP \(40 recall points\), class × variant × difficulty:/);
    expect(text.stdout).toMatch(/Car\s+\d+\s+[\d.]+/);
  });

  it('evaluates nuScenes-style (centre distance, TP errors, NDS) on the same 3D boxes', async () => {
    const json = await evalJson(['--run', 'perturbed-extra', '--against', 'gt-extra', '--metric', 'nuscenes']);
    for (const key of ['mAP', 'NDS', 'mATE', 'mASE', 'mAOE']) expect(typeof json.overall[key], key).toBe('number');
    // Boxes moved by at most 5 cm: every evaluated ground truth is matched within 2 m, with a small translation error.
    const stored = storedOutcomes(json.id);
    expect(stored.filter((o) => o.source === 'gt' && o.outcome === 'fn')).toEqual([]);
    expect(stored.filter((o) => o.source === 'gt' && o.outcome === 'tp').every((o) => o.centerDistance! < 0.1)).toBe(true);
    expect(json.overall.mATE).toBeLessThan(0.1);
    // DontCare regions carry no 3D box: they are left out of a 3D evaluation without a warning each.
    expect(json.warnings.filter((w) => /no 3D box/.test(w))).toEqual([]);
    const text = await cli(['eval', '--db', dbPath, '--show', String(json.id)]);
    expect(text.stdout).toMatch(/^mAP\s+NDS\s+mATE\s+mASE\s+mAOE/m);
    const list = await cli(['eval', '--db', dbPath, '--list', '--run', 'perturbed-extra']);
    expect(list.stdout).toMatch(new RegExp(`^${json.id}\\s+${runs.extra}\\s+${sets.extra}\\s+nuscenes\\s+mAP ${json.overall.mAP!.toFixed(4)} NDS`, 'm'));
  });

  it('stores exactly what a fresh computation gives: figures, per class, slices, PR curves (blobs) and confusion', () => {
    const service = new EvalService(db, { actor });
    for (const metric of ['coco', 'kitti'] as MetricName[]) {
      const stored = service.list({ runId: runs.extra, metric })[0]!;
      const detail = service.get(stored.id);
      const adapted = loadEvalFrames(db, { runId: runs.extra, labelSetId: sets.extra });
      const userSlices = (detail.options.slices ?? []);
      const fresh = evaluate(adapted.frames, { metric, slices: [...defaultSlices(adapted.frames), ...userSlices], records: true } as EvaluateOptions);
      expect(detail.overall).toEqual(figures(fresh.overall));
      expect(detail.perClass).toEqual(fresh.perClass.map((c) => ({ ...c, metrics: figures(c.metrics) })));
      expect(detail.slices.map((s) => [s.name, s.numGt, s.overall])).toEqual(fresh.slices.map((s) => [s.name, s.numGt, figures(s.overall)]));
      expect(detail.prCurves).toHaveLength(fresh.prCurves.length);
      detail.prCurves.forEach((c, i) => {
        const f = fresh.prCurves[i]!;
        expect([c.label, c.key]).toEqual([f.label, f.key]);
        expect(Array.from(c.recall)).toEqual(Array.from(f.recall));
        expect(Array.from(c.precision)).toEqual(Array.from(f.precision));
        expect(Array.from(c.scores)).toEqual(Array.from(f.scores));
      });
      expect(detail.confusion.labels).toEqual(fresh.confusion.labels);
      expect(Array.from(detail.confusion.counts)).toEqual(Array.from(fresh.confusion.counts));
      expect(detail.stale).toBe(false);
    }
    // Each evaluation is in the audit trail, the chain intact.
    const events = listAuditEvents(db, { action: 'evaluation.create' });
    expect(events.length).toBe(service.list().length);
    expect(verifyAuditChain(db).ok).toBe(true);
  });

  it('compares run B (one car detection dropped) with run A: that car regressed TP→FN, its frame ranks first', async () => {
    const t = performance.now();
    const r = await cli(['compare', '--db', dbPath, '--run', 'perturbed-extra', '--run', 'perturbed-extra-b', '--against', 'gt-extra', '--metric', 'coco', '--json']);
    timings.compare = performance.now() - t;
    expect(r.stderr).toBe('');
    const c = JSON.parse(r.stdout) as RunComparison;
    const labels = listLabelRecords(db, sets.extra);
    const dropped = droppedLabel();
    expect(dropped).toBeDefined();
    expect(c.regressed).toEqual([expect.objectContaining({ objectId: dropped.id, frameId: dropped.frameId, label: 'car', from: 'tp', to: 'fn', matchedIdB: null })]);
    expect(c.regressed[0]!.matchedIdA).toBe([...cocoMatching(labels, listDetections(db, runs.extra)).pairs].find(([, g]) => g === dropped.id)![0]);
    expect(c.improved).toEqual([]);
    expect(c.frames[0]).toMatchObject({ frameId: dropped.frameId, regressed: 1, regressionSize: 1 });
    const car = c.perClass.find((p) => p.label === 'car')!.deltas.find((d) => d.key === 'AP')!;
    expect(car.delta).toBeLessThan(0);
    // A second comparison reuses both stored evaluations (neither side changed).
    const before = new EvalService(db).list().length;
    const text = await cli(['compare', '--db', dbPath, '--run', String(runs.extra), '--run', String(runs.extraB), '--against', String(sets.extra)]);
    expect(text.stdout).toMatch(/Regressed \(TP → FN\): 1/);
    expect(text.stdout).toContain(dropped.frameId);
    expect(text.stdout).toContain(`evaluations ${c.evaluationA.id} and ${c.evaluationB.id}`);
    expect(new EvalService(db).list().length).toBe(before);
  });

  it('queries hard cases: "FN car" is exactly the dropped car, "FP * score>0.8" the planted boxes; saved queries list and run', async () => {
    const service = new EvalService(db, { actor });
    const evalB = service.list({ runId: runs.extraB, metric: 'coco' })[0]!;
    const dropped = droppedLabel();

    const fn = await cli(['query', '--db', dbPath, '--eval', String(evalB.id), 'FN car', '--json']);
    expect(fn.stderr).toBe('');
    const fnResult = JSON.parse(fn.stdout) as ObjectQueryResult;
    expect(fnResult.total).toBe(1);
    expect(fnResult.items.map((o) => [o.source, o.objectId, o.frameId])).toEqual([['gt', dropped.id, dropped.frameId]]);
    expect(fnResult.frames).toEqual([{ frameId: dropped.frameId, frameIndex: expect.any(Number), count: 1 }]);

    const plantedCars = listDetections(db, runs.extraB).filter((d) => d.score === FP_CAR.score && Math.abs(d.box2d![0] - FP_CAR.bbox[0]!) < 0.01);
    const fp = service.objects(evalB.id, { query: 'FP * score>0.8' });
    expect(fp.items.map((o) => o.objectId).sort()).toEqual(plantedCars.map((d) => d.id).sort());
    expect(fp.items.every((o) => o.source === 'det' && o.outcome === 'fp')).toBe(true);
    expect(service.objects(evalB.id, { query: 'fp pedestrians' }).items.map((o) => o.score)).toEqual([FP_PED.score, FP_PED.score]);
    // Field filters and a query combine; distances are ego distances of the 3D boxes.
    const near = service.objects(evalB.id, { outcome: 'tp', source: 'det', class: 'car', distanceMax: 20 });
    expect(near.items.every((o) => o.egoDistance! <= 20 && o.source === 'det')).toBe(true);
    expect(near.total).toBeGreaterThan(0);

    const saved = await cli(['query', '--db', dbPath, '--save', 'missed cars', 'FN cars within 50 m', '--description', 'cars the run did not find']);
    expect(saved.stdout).toMatch(/^Saved query \d+ 'missed cars'/);
    const list = await cli(['query', '--db', dbPath, '--list']);
    expect(list.stdout).toContain('FN cars within 50 m');
    const rerun = await cli(['query', '--db', dbPath, '--eval', String(evalB.id), '--saved', 'missed cars', '--json']);
    expect((JSON.parse(rerun.stdout) as ObjectQueryResult).items.map((o) => o.objectId)).toEqual([dropped.id]);
    const bad = await cli(['query', '--db', dbPath, '--eval', String(evalB.id), 'FN car distance<']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/character 17/);
  });

  it('serves the same through the API table: zod inputs validate, handlers answer, a stale evaluation is not reused', async () => {
    const handlers = createEvalHandlers({ db, actor });
    const input = evalMethods.runEvaluation.input.parse({ run: 'perturbed-vis', against: 'gt-vis', metric: 'coco', options: { slices: ['occlusion>=1'] } });
    const first = (await handlers.runEvaluation(input)) as { evaluation: EvaluationDetail; reused: boolean };
    expect(first.evaluation.slices.map((s) => s.name)).toContain('occlusion>=1');
    const again = (await handlers.runEvaluation({ ...input, reuse: true })) as { evaluation: EvaluationDetail; reused: boolean };
    expect(again).toMatchObject({ reused: true, evaluation: { id: first.evaluation.id } });
    expect(() => evalMethods.queryEvaluationObjects.input.parse({ evaluationId: 1, outcome: 'maybe' })).toThrow();
    const page = (await handlers.queryEvaluationObjects(evalMethods.queryEvaluationObjects.input.parse({ evaluationId: first.evaluation.id, outcome: 'tp', limit: 2 }))) as ObjectQueryResult;
    expect(page.items).toHaveLength(2);
    expect(page.total).toBeGreaterThan(2);
    const listed = (await handlers.listEvaluations({ runId: runs.vis })) as { id: number }[];
    expect(listed[0]!.id).toBe(first.evaluation.id);
    const saved = (await handlers.saveQuery({ name: 'confident FPs', text: 'FP * score>0.8' })) as { id: number };
    const viaSaved = (await handlers.queryEvaluationObjects({ evaluationId: first.evaluation.id, savedQueryId: saved.id })) as ObjectQueryResult;
    expect(viaSaved.total).toBe(first.evaluation.counts.frames);

    // Editing the ground truth makes the stored evaluation stale: reuse computes afresh.
    const { LabelService } = await import('../../src/labels/service.js');
    const labels = new LabelService(db, { actor });
    const working = labels.createWorkingSet({ fromSetId: sets.vis, name: 'vis-working' });
    const w1 = (await handlers.runEvaluation({ run: runs.vis, against: working.id, metric: 'coco' })) as { evaluation: EvaluationDetail };
    const victim = labels.listLabels(working.id).find((l) => l.class === 'Car')!;
    labels.deleteLabel({ setId: working.id, sessionId: 's1' }, victim.id, victim.revision);
    expect((await handlers.getEvaluation({ id: w1.evaluation.id })) as EvaluationDetail).toMatchObject({ stale: true });
    const w2 = (await handlers.runEvaluation({ run: runs.vis, against: working.id, metric: 'coco', reuse: true })) as { evaluation: EvaluationDetail; reused: boolean };
    expect(w2.reused).toBe(false);
    expect(w2.evaluation.counts.gts).toBe(w1.evaluation.counts.gts - 1);

    // Bad references say what exists.
    await expect(handlers.runEvaluation({ run: 'no such run', against: 'gt-vis', metric: 'coco' })).rejects.toThrow(/No run 'no such run'; recent runs:/);
    await expect(handlers.runEvaluation({ run: runs.vis, against: 'gt-extra', metric: 'coco' })).rejects.toThrow(/is on log .*, run \d+ on log/);
  });
});
