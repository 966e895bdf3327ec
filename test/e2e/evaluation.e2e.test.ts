// The Evaluation panel end to end, on the real KITTI object fixture: the real server and SQLite file,
// a fresh renderer build, headless Chromium. Two runs are imported with `sightline import --as run`
// from KITTI result files written here by perturbing the labels (run B also drops one car; both
// mislabel the cyclist as a pedestrian and plant a false-positive car), the ground truth with
// `sightline import`. From the UI: a COCO evaluation (tables equal to the stored figures; PR chart
// and confusion matrix paint pixels); a confusion cell and a PR point list exactly the objects the
// SQLite per-object records say, and mark their frames; a row seeks and selects; a hard-case query
// is saved and marks its frames; run B compared with run A lists the dropped car first; the HTML
// report is exported and downloaded. Screenshots land in test-results/.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationDetail } from '../../src/eval/store/model.js';
import type { LogInfo } from '../../src/logs/model.js';
import { buildRendererInto, callApi, chromiumSkipReason, launchChromium, logTimings, newCollectingPage, removeDirs, screenshotsDir } from '../helpers/browser.js';
import { cliBin, ensureDist } from '../helpers/build.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const KITTI = fixture('kitti_object_vis', 'training');
const skipReason = chromiumSkipReason ?? (hasFixtures ? null : fixturesSkipReason);
if (skipReason) console.warn(`[evaluation e2e] skipped: ${skipReason}`);

/** Run B loses the detection of this ground-truth line (000002, line 2: a car 34 m ahead). */
const DROPPED = { sample: '000002', line: 2 };
/** A false-positive car in the sky of every frame, and the cyclist reported as a pedestrian. */
const FP_CAR = '10.00 10.00 70.00 55.00';
const FP_SCORE = 0.91;

// Browser globals used inside page.evaluate callbacks (the test tsconfig has no DOM lib).
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d', options?: { willReadFrequently?: boolean }): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelector(selector: string): PageCanvas | null };

interface FilterState {
  kind: string;
  title: string;
  total: number;
  counts: { tp: number; fp: number; fn: number } | null;
  rows: Array<{ source: 'gt' | 'det'; objectId: number; outcome: string; shownOutcome: string; frameId: string }>;
  frames: Array<{ frameId: string; frameIndex: number | null; count: number }>;
}
interface EvalHookState {
  evaluationId: number | null;
  runs: number[];
  labelSets: number[];
  busy: string | null;
  error: string | null;
  filter: FilterState | null;
  query: { text: string; name: string | null; error: string | null; total: number | null; frames: Array<{ frameId: string }> } | null;
  savedQueries: Array<{ id: number; name: string; text: string }>;
  comparison: { regressed: Array<{ frameId: string; objectId: number; label: string }>; frames: Array<{ frameId: string; regressed: number }> } | null;
  lastExport: { path: string; sha256: string; auditSeq: number; downloaded: string | null } | null;
}
interface Hooks {
  select(selection: null): void;
  state(): { logId: string | null; frameIndex: number; frameCount: number; markers: number; selection: { kind: string; id: string } | null; paintedFrame: { camera: number } };
  ext: {
    evaluation(): EvalHookState;
    evaluationChartPoint(chart: 'pr' | 'confusion', a: string, b: string | number): { x: number; y: number; score?: number; count?: number } | null;
  };
}
declare const window: { __sightline?: Hooks };

/** Deterministic numbers in [0, 1) (a 32-bit LCG). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** KITTI result lines: every labelled object moved a little, with a score; the cyclist as a pedestrian; the planted car. */
function writeResults(out: string, drop?: { sample: string; line: number }): void {
  mkdirSync(out, { recursive: true });
  const rand = rng(11);
  for (const file of readdirSync(join(KITTI, 'label_2')).filter((f) => f.endsWith('.txt'))) {
    const sample = file.replace(/\.txt$/, '');
    const lines: string[] = [];
    readFileSync(join(KITTI, 'label_2', file), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .forEach((line, i) => {
        const t = line.trim().split(/\s+/);
        const jitter = (v: string) => (Number(v) + (rand() * 2 - 1) * 1.5).toFixed(2);
        const score = (0.4 + rand() * 0.45).toFixed(4);
        if (t[0] === 'DontCare' || (drop && drop.sample === sample && drop.line === i + 1)) return;
        const cls = t[0] === 'Cyclist' ? 'Pedestrian' : t[0];
        lines.push([cls, t[1], t[2], t[3], ...t.slice(4, 8).map(jitter), ...t.slice(8, 15), score].join(' '));
      });
    lines.push(`Car 0.00 0 -1.50 ${FP_CAR} 1.50 1.60 3.90 -15.00 1.50 45.00 -1.50 ${FP_SCORE.toFixed(4)}`);
    writeFileSync(join(out, file), `${lines.join('\n')}\n`);
  }
}

async function sightline(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [cliBin, ...args], { env: { ...process.env, SIGHTLINE_USER: 'e2e' } });
  return stdout;
}

/** Non-background pixels of the first canvas under a selector (the chart painted something). */
async function paintedFraction(page: Page, selector: string): Promise<number> {
  return page.evaluate((selector) => {
    const canvas = document.querySelector(`${selector} canvas`);
    if (!canvas) return 0;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && data[i]! + data[i + 1]! + data[i + 2]! > 90) painted++;
    return painted / (data.length / 4);
  }, selector);
}

/** The calls the Evaluation panel makes. */
const EVAL_METHODS = /^(runEvaluation|listEvaluations|getEvaluation|queryEvaluationObjects|prPointObjects|confusionCellObjects|compareRuns|saveQuery|listQueries|exportReport|readReportFile|listRuns|listLabelSets|getDetections)$/;

const formatFigure = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));

describe.skipIf(!!skipReason)('evaluation UI on the KITTI fixture', () => {
  let server: TestServer;
  let browser: Browser;
  let staticDir: string;
  let work: string;
  let db: Database.Database;
  let page: Page;
  let info: LogInfo;
  const runIds = { a: 0, b: 0 };
  let setId = 0;
  const problems: string[] = [];
  const refused: string[] = [];
  const timings: Record<string, number> = {};

  const evalState = () => page.evaluate(() => window.__sightline!.ext.evaluation());
  const uiState = () => page.evaluate(() => window.__sightline!.state());

  beforeAll(async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'sightline-eval-e2e-'));
    staticDir = mkdtempSync(join(tmpdir(), 'sightline-eval-renderer-'));
    const t0 = performance.now();
    const [, b] = await Promise.all([
      buildRendererInto(staticDir),
      launchChromium(),
      ensureDist(),
    ]);
    browser = b;
    timings.build = performance.now() - t0;
    server = await startTestServer([], { staticDir });
    info = await callApi<LogInfo>(server, 'openLog', { path: KITTI });
    writeResults(join(work, 'run-a'));
    writeResults(join(work, 'run-b'), DROPPED);
    const t1 = performance.now();
    const common = ['--log', KITTI, '--format', 'kitti', '--db', server.dbPath, '--json'];
    const gt = JSON.parse(await sightline(['import', join(KITTI, 'label_2'), ...common, '--name', 'kitti-gt'])) as { labelSet: { id: number } };
    const a = JSON.parse(await sightline(['import', join(work, 'run-a'), ...common, '--as', 'run', '--name', 'perturbed-a'])) as { run: { id: number } };
    const bRun = JSON.parse(await sightline(['import', join(work, 'run-b'), ...common, '--as', 'run', '--name', 'perturbed-b'])) as { run: { id: number } };
    timings.cliImports = performance.now() - t1;
    setId = gt.labelSet.id;
    runIds.a = a.run.id;
    runIds.b = bRun.run.id;
    db = new Database(server.dbPath, { readonly: true, fileMustExist: true });

    // Refused calls are checked by method below (other panels' calls are theirs to check).
    page = await newCollectingPage(browser, problems, { viewport: { width: 1400, height: 900 }, acceptDownloads: true, csp: true });
    page.on('response', (response) => {
      const method = /\/api\/call\/(\w+)/.exec(response.url())?.[1];
      if (response.status() >= 400 && method && EVAL_METHODS.test(method)) void response.text().then((body) => refused.push(`HTTP ${response.status()} ${method}: ${body.slice(0, 300)}`));
    });
    await page.goto(server.url);
    await page.waitForFunction((id) => window.__sightline?.state().logId === id, info.id, { timeout: 30_000 });
  }, 240_000);

  afterAll(async () => {
    db?.close();
    await browser?.close();
    await server?.close();
    removeDirs(staticDir, work);
    logTimings('evaluation e2e', timings);
  });

  it('starts hidden; shown from the Panels menu it evaluates from the UI, and its tables equal the stored evaluation', async () => {
    expect(await page.locator('[data-testid="evaluation-panel"]').count()).toBe(0);
    await page.getByRole('button', { name: /Panels/ }).click();
    await page.locator('.menu-item', { hasText: 'Evaluation' }).locator('input').check();
    await page.keyboard.press('Escape');
    await page.locator('.panel[data-panel="evaluation"] [data-testid="panel-header"]').dblclick();
    await page.waitForFunction((n) => window.__sightline!.ext.evaluation().labelSets.length > 0 && window.__sightline!.ext.evaluation().runs.length >= n, 2, { timeout: 15_000 });

    await page.getByTestId('eval-run').selectOption(String(runIds.a));
    await page.getByTestId('eval-set').selectOption(String(setId));
    const evaluateFromUi = async (metric: 'coco' | 'kitti'): Promise<EvaluationDetail> => {
      const before = (await evalState()).evaluationId;
      await page.getByTestId('eval-metric').selectOption(metric);
      const t = performance.now();
      await page.getByTestId('eval-run-button').click();
      await page.waitForFunction((id) => window.__sightline!.ext.evaluation().evaluationId !== id && !window.__sightline!.ext.evaluation().busy, before, { timeout: 30_000 });
      timings[`evaluate ${metric} from the UI`] = performance.now() - t;
      const ui = await evalState();
      expect(ui.error).toBeNull();
      const stored = await callApi<EvaluationDetail>(server, 'getEvaluation', { id: ui.evaluationId });
      expect(stored.runId).toBe(runIds.a);
      expect(stored.labelSetId).toBe(setId);
      expect(stored.metric).toBe(metric);
      return stored;
    };

    // Every figure cell equals the database's figure (the raw value in data-value, the text formatted).
    const cells = async (testId: string) =>
      page.locator(`[data-testid="${testId}"] tbody tr`).evaluateAll((rows) =>
        rows.map((r) => ({
          row: (r as unknown as { dataset: { row: string } }).dataset.row,
          cells: [...(r as unknown as { querySelectorAll(s: string): Iterable<{ dataset: { key: string; value: string }; textContent: string }> }).querySelectorAll('td[data-key]')].map((c) => ({ key: c.dataset.key, value: c.dataset.value, text: c.textContent })),
        })),
      );
    const check = (rows: Awaited<ReturnType<typeof cells>>, expected: Map<string, Record<string, number | null>>) => {
      expect(rows.map((r) => r.row).sort()).toEqual([...expected.keys()].sort());
      for (const r of rows) {
        const figures = expected.get(r.row)!;
        expect(r.cells.map((c) => c.key).sort()).toEqual(Object.keys(figures).sort());
        for (const c of r.cells) {
          const v = figures[c.key]!;
          expect(c.value === '' ? null : Number(c.value), `${r.row} ${c.key}`).toBe(v);
          expect(c.text, `${r.row} ${c.key}`).toBe(formatFigure(v));
        }
      }
    };
    // KITTI first: its per-class table (2D AP per difficulty and, the alphas being known, AOS).
    const kitti = await evaluateFromUi('kitti');
    check(await cells('eval-overall'), new Map([['all classes', kitti.overall]]));
    check(await cells('eval-per-class'), new Map(kitti.perClass.map((c) => [c.label, c.metrics])));
    expect(Object.keys(kitti.perClass[0]!.metrics)).toEqual(expect.arrayContaining(['AP_2d_moderate', 'AOS_2d_moderate']));
    expect(await page.locator('[data-testid="eval-per-class"] th', { hasText: 'AOS_2d_moderate' }).count()).toBe(1);

    const stored = await evaluateFromUi('coco');
    check(await cells('eval-overall'), new Map([['all classes', stored.overall]]));
    check(await cells('eval-per-class'), new Map(stored.perClass.map((c) => [c.label, c.metrics])));
    check(await cells('eval-slices'), new Map(stored.slices.map((s) => [s.name, s.overall])));
    expect(stored.slices.map((s) => s.name)).toEqual(expect.arrayContaining(['distance 0-30 m', 'distance 30-50 m']));

    // Both charts painted real pixels.
    await page.waitForFunction(() => !!window.__sightline!.ext.evaluationChartPoint('confusion', 'car', 'background'), undefined, { timeout: 15_000 });
    expect(await paintedFraction(page, '[data-testid="eval-pr-chart"]')).toBeGreaterThan(0.01);
    expect(await paintedFraction(page, '[data-testid="eval-confusion-chart"]')).toBeGreaterThan(0.05);
    await page.screenshot({ path: join(screenshotsDir, 'evaluation-metrics.png') });
  });

  it('a confusion cell and a PR point list exactly the objects the per-object records hold, mark their frames, and a row seeks and selects', async () => {
    const evaluationId = (await evalState()).evaluationId!;
    const markersBefore = (await uiState()).markers;

    // (car detected × background): the false-positive cars, all of them the planted ones.
    const cell = (await page.evaluate(() => window.__sightline!.ext.evaluationChartPoint('confusion', 'car', 'background')))!;
    await page.mouse.click(cell.x, cell.y);
    await page.waitForFunction(() => window.__sightline!.ext.evaluation().filter?.kind === 'cell', undefined, { timeout: 15_000 });
    let filter = (await evalState()).filter!;
    const fpCars = db.prepare("SELECT object_id AS id, frame_id AS frame FROM evaluation_objects WHERE evaluation_id = ? AND source = 'det' AND outcome = 'fp' AND label = 'car' ORDER BY object_id").all(evaluationId) as { id: number; frame: string }[];
    expect(fpCars.length).toBe(info.frameCount);
    expect(cell.count).toBe(fpCars.length);
    expect(filter.rows.map((r) => r.objectId).sort((x, y) => x - y)).toEqual(fpCars.map((r) => r.id));
    expect(filter.rows.every((r) => r.source === 'det' && r.outcome === 'fp')).toBe(true);
    expect(filter.frames.map((f) => f.frameId).sort()).toEqual([...new Set(fpCars.map((r) => r.frame))].sort());
    expect((await uiState()).markers).toBe(markersBefore + filter.frames.length);

    // (pedestrian detected × cyclist true): the mislabelled cyclist, a pair, both sides listed.
    const mixed = (await page.evaluate(() => window.__sightline!.ext.evaluationChartPoint('confusion', 'pedestrian', 'cyclist')))!;
    expect(mixed.count).toBe(1);
    await page.mouse.click(mixed.x, mixed.y);
    await page.waitForFunction(() => window.__sightline!.ext.evaluation().filter?.title.startsWith('detected pedestrian × true cyclist'), undefined, { timeout: 15_000 });
    filter = (await evalState()).filter!;
    const cyclist = db.prepare("SELECT object_id AS id FROM evaluation_objects WHERE evaluation_id = ? AND source = 'gt' AND label = 'cyclist'").pluck().all(evaluationId) as number[];
    expect(filter.rows.filter((r) => r.source === 'gt').map((r) => r.objectId)).toEqual(cyclist);
    expect(filter.rows.filter((r) => r.source === 'det')).toHaveLength(1);
    // The ground-truth row seeks to its frame and selects the log's own cyclist box.
    await page.locator(`[data-testid="eval-objects"] tr[data-source="gt"][data-object-id="${cyclist[0]}"]`).click();
    await page.waitForFunction(() => window.__sightline!.state().selection !== null, undefined, { timeout: 15_000 });
    const gtSelection = await uiState();
    const frame = await callApi<{ labels2d: Array<{ id: string; label: string }> }>(server, 'getFrame', { logId: info.id, index: gtSelection.frameIndex });
    expect(frame.labels2d.find((b) => b.id === gtSelection.selection!.id)?.label).toBe('Cyclist');
    await page.evaluate(() => window.__sightline!.select(null));

    // A PR point of the car curve: its threshold's TP/FP detections and the cars it leaves missed.
    const points = await page.evaluate(() => {
      const out: Array<{ i: number; score: number }> = [];
      for (let i = 0; i < 101; i += 5) {
        const p = window.__sightline!.ext.evaluationChartPoint('pr', 'car', i);
        if (p && (p.score ?? 0) > 0) out.push({ i, score: p.score! });
      }
      return out;
    });
    expect(points.length).toBeGreaterThan(2);
    const pick = points[Math.floor(points.length / 2)]!;
    const at = (await page.evaluate((i) => window.__sightline!.ext.evaluationChartPoint('pr', 'car', i), pick.i))!;
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction(() => window.__sightline!.ext.evaluation().filter?.kind === 'pr', undefined, { timeout: 15_000 });
    filter = (await evalState()).filter!;
    const t = pick.score;
    const dets = db.prepare("SELECT object_id AS id, outcome FROM evaluation_objects WHERE evaluation_id = ? AND source = 'det' AND label = 'car' AND outcome IN ('tp','fp') AND score >= ?").all(evaluationId, t) as { id: number; outcome: string }[];
    const missed = db
      .prepare(
        `SELECT g.object_id AS id FROM evaluation_objects g LEFT JOIN evaluation_objects d ON d.evaluation_id = g.evaluation_id AND d.source = 'det' AND d.object_id = g.matched_id
         WHERE g.evaluation_id = ? AND g.source = 'gt' AND g.label = 'car' AND (g.outcome = 'fn' OR (g.outcome = 'tp' AND d.score < ?))`,
      )
      .pluck()
      .all(evaluationId, t) as number[];
    const carGt = db.prepare("SELECT count(*) FROM evaluation_objects WHERE evaluation_id = ? AND source = 'gt' AND label = 'car' AND outcome IN ('tp','fn')").pluck().get(evaluationId) as number;
    expect(filter.counts).toEqual({ tp: dets.filter((d) => d.outcome === 'tp').length, fp: dets.filter((d) => d.outcome === 'fp').length, fn: missed.length });
    expect(filter.counts!.tp + filter.counts!.fn).toBe(carGt);
    expect(filter.rows.filter((r) => r.source === 'det').map((r) => r.objectId).sort((x, y) => x - y)).toEqual(dets.map((d) => d.id).sort((x, y) => x - y));
    expect(filter.rows.filter((r) => r.source === 'gt').map((r) => r.objectId).sort((x, y) => x - y)).toEqual([...missed].sort((x, y) => x - y));
    expect(filter.rows.filter((r) => r.source === 'gt').every((r) => r.shownOutcome === 'fn')).toBe(true);

    // A row seeks to its frame and selects the detection (its 2D box, in every panel).
    const row = filter.rows.find((r) => r.source === 'det')!;
    const frameIndex = (await callApi<Array<{ id: string }>>(server, 'listFrames', { logId: info.id })).findIndex((f) => f.id === row.frameId);
    await page.locator(`[data-testid="eval-objects"] tr[data-source="det"][data-object-id="${row.objectId}"]`).click();
    await page.waitForFunction(() => window.__sightline!.state().selection !== null, undefined, { timeout: 15_000 });
    const s = await uiState();
    expect(frameIndex).toBeGreaterThanOrEqual(0);
    expect(s.frameIndex).toBe(frameIndex);
    expect(s.selection!.kind).toBe('box2d');
    expect(s.selection!.id).toContain(`run${runIds.a}:${row.frameId}:`);
    await page.screenshot({ path: join(screenshotsDir, 'evaluation-pr-point.png') });
  });

  it('runs, saves and reloads a hard-case query; its frames become query markers; a bad query says where it fails', async () => {
    await page.getByTestId('eval-tab-queries').click();
    await page.getByTestId('eval-query-input').fill('FP car where score >>');
    await page.getByTestId('eval-query-run').click();
    await page.waitForFunction(() => !!window.__sightline!.ext.evaluation().query?.error, undefined, { timeout: 10_000 });
    expect(await page.getByTestId('eval-query-error').textContent()).toMatch(/score/);

    const markersBefore = (await uiState()).markers;
    await page.getByTestId('eval-query-input').fill('FP car score>0.8');
    await page.getByTestId('eval-query-run').click();
    await page.waitForFunction(() => window.__sightline!.ext.evaluation().query?.total != null, undefined, { timeout: 10_000 });
    const q = (await evalState()).query!;
    expect(q.total).toBe(info.frameCount); // the planted car, once a frame
    expect(q.frames).toHaveLength(info.frameCount);
    expect((await uiState()).markers).toBe(markersBefore + info.frameCount);

    await page.getByTestId('eval-query-name').fill('confident false cars');
    await page.getByTestId('eval-query-save').click();
    await page.waitForFunction(() => window.__sightline!.ext.evaluation().savedQueries.some((s) => s.name === 'confident false cars'), undefined, { timeout: 10_000 });
    const saved = await callApi<Array<{ name: string; text: string }>>(server, 'listQueries', {});
    expect(saved).toEqual([expect.objectContaining({ name: 'confident false cars', text: 'FP car score>0.8' })]);
    await page.getByTestId('eval-query-input').fill('FN car');
    await page.locator('[data-testid="eval-saved-queries"] button[data-query-name="confident false cars"]').click();
    await page.waitForFunction(() => window.__sightline!.ext.evaluation().query?.name === 'confident false cars' && window.__sightline!.ext.evaluation().query?.total != null, undefined, { timeout: 10_000 });
    expect(await page.getByTestId('eval-query-input').inputValue()).toBe('FP car score>0.8');
    await page.screenshot({ path: join(screenshotsDir, 'evaluation-query.png') });
  });

  it('compares run B with run A: the dropped car regressed TP→FN and its frame ranks first', async () => {
    await page.getByTestId('eval-tab-compare').click();
    await page.getByTestId('eval-compare-a').selectOption(String(runIds.a));
    await page.getByTestId('eval-compare-b').selectOption(String(runIds.b));
    await page.getByTestId('eval-compare-set').selectOption(String(setId));
    await page.getByTestId('eval-compare-metric').selectOption('coco');
    await page.getByTestId('eval-compare-run').click();
    await page.waitForFunction(() => !!window.__sightline!.ext.evaluation().comparison, undefined, { timeout: 30_000 });
    const cmp = (await evalState()).comparison!;
    // The dropped line's label: the car of sample 000002 (the third frame) whose box starts at x 657.39.
    const frames = await callApi<Array<{ id: string }>>(server, 'listFrames', { logId: info.id });
    const dropped = db.prepare("SELECT id FROM labels WHERE label_set_id = ? AND frame_id = ? AND class = 'Car' AND abs(x1 - 657.39) < 0.01").pluck().all(setId, frames[2]!.id) as number[];
    expect(dropped).toHaveLength(1);
    expect(cmp.regressed).toHaveLength(1);
    expect(cmp.regressed[0]!).toEqual({ frameId: frames[2]!.id, objectId: dropped[0], label: 'car' });
    expect(cmp.frames[0]!.frameId).toBe(cmp.regressed[0]!.frameId);
    expect(await page.locator('[data-testid="eval-compare-regressed"] tbody tr').first().getAttribute('data-object-id')).toBe(String(cmp.regressed[0]!.objectId));
    expect(await page.locator('[data-testid="eval-compare-frames"] tbody tr').first().getAttribute('data-frame-id')).toBe(cmp.regressed[0]!.frameId);
    // Clicking the regressed car shows its frame with the log's own box selected.
    await page.evaluate(() => window.__sightline!.select(null));
    await page.locator('[data-testid="eval-compare-regressed"] tbody tr').first().click();
    await page.waitForFunction(() => window.__sightline!.state().selection !== null, undefined, { timeout: 15_000 });
    const s = await uiState();
    expect(s.frameIndex).toBe(2);
    const shown = await callApi<{ labels2d: Array<{ id: string; label: string; x1: number }> }>(server, 'getFrame', { logId: info.id, index: 2 });
    const box = shown.labels2d.find((b) => b.id === s.selection!.id)!;
    expect(box.label).toBe('Car');
    expect(box.x1).toBeCloseTo(657.39, 2);
    await page.screenshot({ path: join(screenshotsDir, 'evaluation-compare.png') });
  });

  it('exports the HTML report with the reviewer sign-off; the browser downloads it; it holds the provenance hash', async () => {
    await page.getByTestId('eval-tab-metrics').click();
    await page.getByTestId('eval-history').selectOption(String((await evalState()).evaluationId));
    await page.getByTestId('eval-tab-report').click();
    await page.getByTestId('eval-report-reviewer').fill('Jane Reviewer');
    await page.getByTestId('eval-report-format').selectOption('html');
    const download = page.waitForEvent('download', { timeout: 60_000 });
    await page.getByTestId('eval-report-export').click();
    const file = await download;
    await page.waitForFunction(() => !!window.__sightline!.ext.evaluation().lastExport, undefined, { timeout: 60_000 });
    const exported = (await evalState()).lastExport!;
    expect(file.suggestedFilename()).toBe(exported.downloaded);
    const html = readFileSync(exported.path, 'utf8');
    const downloaded = readFileSync((await file.path())!, 'utf8');
    expect(downloaded).toBe(html);
    const event = db.prepare('SELECT payload_json FROM audit_events WHERE seq = ?').pluck().get(exported.auditSeq) as string;
    const payload = JSON.parse(event) as { sha256: string; auditHeadHash: string; reviewer: string };
    expect(payload.sha256).toBe(exported.sha256);
    expect(payload.reviewer).toBe('Jane Reviewer');
    expect(html).toContain(`data-prov="audit-head">${payload.auditHeadHash}<`);
    expect(html).toContain('data-prov="reviewer">Jane Reviewer<');
    await page.screenshot({ path: join(screenshotsDir, 'evaluation-report.png') });
    expect(problems).toEqual([]);
    // The one refused call is the bad query (400, with the parser's message).
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^HTTP 400 queryEvaluationObjects: .*'>' is not a number/);
  });
});
