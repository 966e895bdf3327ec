// `npm run build:core && node dist/src/bench/evalStore.js`: storing and querying a large evaluation.
// COCO on 5,000 synthetic images with 100 detections each (seeded, as bench:eval), stored with all
// its per-object records (about 530,000 rows) in a temporary SQLite file; then the detail read, two
// hard-case queries (a page plus every matching frame) and the reload a run comparison needs.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateCoco } from '../eval/coco.js';
import { compareEvaluations } from '../eval/compare.js';
import { parseQuery, queryToSql } from '../eval/queries.js';
import { getEvaluationDetail, insertEvaluation, loadEvaluationResult, selectObjects } from '../eval/store/evaluations.js';
import type { EvalBox, EvalFrame } from '../eval/types.js';
import { openDatabase } from '../store/db.js';
import { insertLabelSet } from '../store/labelSets.js';
import { recordLogOpened } from '../store/logs.js';
import { createRun } from '../store/runs.js';
import { createRng } from '../util/rng.js';
import { softwareVersion } from '../version.js';

const IMAGES = 5000;
const DETS_PER_IMAGE = 100;
const CLASSES = ['car', 'pedestrian', 'cyclist', 'truck', 'bus', 'motorcycle', 'van', 'tram'];

function makeFrames(seed: number): EvalFrame[] {
  const rng = createRng(seed);
  let nextId = 1;
  const frames: EvalFrame[] = [];
  for (let im = 0; im < IMAGES; im++) {
    const gts: EvalBox[] = [];
    const nGt = 1 + Math.floor(rng() * 13);
    for (let g = 0; g < nGt; g++) {
      const w = 8 + rng() ** 2 * 400;
      const h = w * (0.5 + rng() * 1.5);
      const x1 = rng() * 1200;
      const y1 = rng() * 360;
      gts.push({ id: String(nextId++), label: CLASSES[Math.floor(rng() ** 1.5 * CLASSES.length)]!, box2d: { x1, y1, x2: x1 + w, y2: y1 + h }, box3d: { center: [5 + rng() * 70, (rng() - 0.5) * 20, 0.8], size: [4, 1.8, 1.5], yaw: 0 } });
    }
    const dets: EvalBox[] = [];
    for (let d = 0; d < DETS_PER_IMAGE; d++) {
      const score = rng();
      if (d < nGt * 3) {
        const g = gts[d % nGt]!.box2d!;
        const jx = (rng() - 0.5) * 0.3 * (g.x2 - g.x1);
        const jy = (rng() - 0.5) * 0.3 * (g.y2 - g.y1);
        const label = rng() < 0.8 ? gts[d % nGt]!.label : CLASSES[Math.floor(rng() * CLASSES.length)]!;
        dets.push({ id: String(nextId++), label, score, box2d: { x1: g.x1 + jx, y1: g.y1 + jy, x2: g.x2 + jx * rng(), y2: g.y2 + jy * rng() } });
      } else {
        const x1 = rng() * 1200;
        const y1 = rng() * 360;
        dets.push({ id: String(nextId++), label: CLASSES[Math.floor(rng() * CLASSES.length)]!, score: score * 0.5, box2d: { x1, y1, x2: x1 + 8 + rng() * 200, y2: y1 + 8 + rng() * 200 } });
      }
    }
    frames.push({ frameId: `bench:${im}`, gts, dets });
  }
  return frames;
}

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
const dir = mkdtempSync(join(tmpdir(), 'sightline-bench-eval-store-'));
try {
  const db = openDatabase(join(dir, 'bench.db'));
  const actor = 'bench';
  recordLogOpened(db, { id: 'bench', path: dir, name: 'bench', format: 'demo', sizeBytes: 0, fingerprint: '0'.repeat(64), frameCount: IMAGES, durationS: IMAGES / 10 }, actor);
  const newRun = (name: string) => createRun(db, { name, logId: 'bench', modelId: 'synthetic', modelSha256: '0'.repeat(64), modelTask: 'detect2d', device: 'cpu', params: {}, softwareVersion, framesTotal: IMAGES }, actor);
  const runA = newRun('A');
  const runB = newRun('B');
  const setId = insertLabelSet(db, { logId: 'bench', name: 'bench gt', kind: 'ground_truth', createdAt: new Date().toISOString(), createdBy: actor });

  const ids: number[] = [];
  for (const [run, seed] of [
    [runA, 2024],
    [runB, 2024],
  ] as const) {
    const frames = makeFrames(seed);
    // Run B: every 50th image loses its best detection, so the comparison has regressions to find.
    if (run === runB) for (let i = 0; i < frames.length; i += 50) frames[i]!.dets.splice(0, 1);
    let t = performance.now();
    const result = evaluateCoco(frames, { slices: 'none' });
    console.log(`run ${run.name}: COCO with records, ${result.objects.length} objects: ${ms(t)} (AP ${result.overall.AP!.toFixed(4)})`);
    t = performance.now();
    const summary = insertEvaluation(
      db,
      {
        runId: run.id, labelSetId: setId, logId: 'bench', options: {}, labelSetEventId: 0, runDetections: 0, durationMs: 0, softwareVersion, result,
        extras: { frameIndex: (f) => Number(f.slice(6)), box: () => undefined },
      },
      actor,
    );
    console.log(`run ${run.name}: stored evaluation ${summary.id} (figures, curves, confusion, ${result.objects.length} object rows): ${ms(t)}`);
    ids.push(summary.id);
  }
  let t = performance.now();
  const detail = getEvaluationDetail(db, ids[0]!)!;
  console.log(`detail read (${detail.prCurves.length} PR curves, confusion ${detail.confusion.labels.length}²): ${ms(t)}`);
  for (const text of ['FP * score>0.8', 'FN pedestrian within 30 m']) {
    t = performance.now();
    const page = selectObjects(db, ids[0]!, queryToSql(parseQuery(text)), { limit: 100 });
    console.log(`query "${text}": ${page.total} objects on ${page.frames.length} frames, first page of 100: ${ms(t)}`);
  }
  t = performance.now();
  const a = loadEvaluationResult(db, ids[0]!)!;
  const b = loadEvaluationResult(db, ids[1]!)!;
  const loaded = ms(t);
  t = performance.now();
  const cmp = compareEvaluations(a, b);
  console.log(`comparison: both results reloaded in ${loaded}, compared in ${ms(t)}: ${cmp.regressed.length} regressed, ${cmp.improved.length} improved, ${cmp.frames.length} frames changed`);
  db.close();
  console.log(`database size: ${(statSync(join(dir, 'bench.db')).size / 2 ** 20).toFixed(1)} MiB (+ WAL)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
