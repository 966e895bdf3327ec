// The audit report on real data: the built-in NanoDet detector run through the inference pipeline over
// the KITTI fixture frames, evaluated (COCO) against the frames' own label_2 ground truth, its stored
// per-object outcomes checked against an independent matching; then the report as HTML (rendered in
// Chromium with every network request refused, screenshot non-blank) and as PDF (Chromium print; pages
// counted and their content streams non-empty: poppler's pdftoppm is not installed here to rasterise
// them). The report must carry the provenance hashes and print the numbers the database holds.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Command } from 'commander';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/contract.js';
import { registerReportCommands } from '../../src/cli/commands/report.js';
import type { EvaluationDetail, StoredObject } from '../../src/eval/store/model.js';
import { EvalService } from '../../src/eval/store/service.js';
import { runInference } from '../../src/infer/pipeline/run.js';
import { ModelRegistry } from '../../src/infer/registry.js';
import { importLabels } from '../../src/io/index.js';
import { ReviewService } from '../../src/labels/review.js';
import { countPdfPages, exportReport, formatFigure } from '../../src/report/index.js';
import { getAuditEvent, listAuditEvents } from '../../src/store/auditQuery.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { listDetections, listRunFrames, type DetectionRecord } from '../../src/store/detections.js';
import { listLabelRecords, type LabelRecord } from '../../src/store/labelEvents.js';
import { getRun, type RunRecord } from '../../src/store/runs.js';
import { fixture, fixturesSkipReason, hasFixtures, writeLabelsAsResults } from '../helpers/fixtures.js';
import { ensureDist } from '../helpers/build.js';

const KITTI = fixture('kitti_object_extra', 'training');
const chromiumPath = process.env.SIGHTLINE_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
const skipReason = !hasFixtures ? fixturesSkipReason : !hasChromium ? `no Chromium at ${chromiumPath} (apt-get install chromium, or set SIGHTLINE_CHROMIUM)` : null;
if (skipReason) console.warn(`report tests skipped: ${skipReason}`);
const CLASSES = ['car', 'pedestrian', 'cyclist'];
const actor = 'auditor';


let dir: string;
let dbPath: string;
let db: Db;
let browser: Browser;
let detector: RunRecord;
let perfect: RunRecord;
let setId: number;
let evaluation: EvaluationDetail;
const timings: Record<string, number> = {};
const savedHome = process.env.SIGHTLINE_HOME;

async function timed<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  const t = performance.now();
  try {
    return await work();
  } finally {
    timings[name] = performance.now() - t;
  }
}

type Rect = [number, number, number, number];
function iou(a: Rect, b: Rect): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h);
}

/** COCO at IoU 0.5, written independently: per frame and class, detections by score take the unmatched ground truth of best IoU. */
function independentOutcomes(labels: LabelRecord[], dets: DetectionRecord[], classes: string[]): { gt: Map<number, string>; det: Map<number, string> } {
  const gt = new Map<number, string>();
  const det = new Map<number, string>();
  const frames = new Set(labels.map((l) => l.frameId));
  for (const frame of frames) {
    for (const cls of classes) {
      const g = labels.filter((l) => l.frameId === frame && l.class.toLowerCase() === cls && l.attributes.ignore !== true);
      const d = dets.filter((x) => x.frameId === frame && x.class.toLowerCase() === cls && x.box2d).sort((a, b) => b.score - a.score);
      const taken = new Set<number>();
      for (const x of d) {
        let best = -1;
        let bestIou = 0.5;
        g.forEach((l, j) => {
          const v = taken.has(j) ? 0 : iou([l.box2d!.x1, l.box2d!.y1, l.box2d!.x2, l.box2d!.y2], x.box2d!);
          if (v >= bestIou) [best, bestIou] = [j, v];
        });
        if (best >= 0) taken.add(best);
        det.set(x.id, best >= 0 ? 'tp' : 'fp');
      }
      g.forEach((l, j) => gt.set(l.id, taken.has(j) ? 'tp' : 'fn'));
    }
  }
  return { gt, det };
}

/** Texts inside an SVG (what the chart prints). */
const svgTexts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').trim());

/** The chart figures of a report: data attributes plus the SVG inside. */
function charts(html: string): { attrs: Record<string, string>; svg: string }[] {
  return [...html.matchAll(/<figure class="chart"([^>]*)>([\s\S]*?)<\/figure>/g)].map((m) => ({
    attrs: Object.fromEntries([...m[1]!.matchAll(/data-([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
    svg: m[2]!,
  }));
}

async function reportCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('sightline').exitOverride();
  let stdout = '';
  registerReportCommands(program, { write: (text) => void (stdout += text) });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = ApiError.from(error);
    return { code: e.code === 'BAD_INPUT' ? 2 : 1, stdout, stderr: `sightline: ${e.message}\n` };
  }
}

describe.skipIf(skipReason !== null)('audit report', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-report-'));
    // The workers read the user's class-map overrides from the data directory: keep them out.
    process.env.SIGHTLINE_HOME = dir;
    dbPath = join(dir, 'workspace.db');
    const [, b] = await Promise.all([
      timed('ensure dist', ensureDist),
      timed('chromium launch', () => chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })),
    ]);
    browser = b;
    db = openDatabase(dbPath);
    setId = (await importLabels(db, { logPath: KITTI, format: 'kitti', path: join(KITTI, 'label_2'), name: 'kitti-gt', actor })).labelSet!.id;
    // The reference for --compare: the labels themselves as results (every object found, score 1).
    const results = join(dir, 'labels-as-results');
    writeLabelsAsResults(join(KITTI, 'label_2'), results, '1.0000');
    perfect = getRun(db, (await importLabels(db, { logPath: KITTI, format: 'kitti', path: results, as: 'run', name: 'labels-as-run', actor })).run!.id)!;

    const handle = await timed('nanodet run (2 frames)', async () => {
      const h = await runInference({ db, logPath: KITTI, modelId: 'nanodet-coco', registryDir: dir, actor });
      const summary = await h.done;
      expect(summary.status, summary.error).toBe('done');
      return h;
    });
    detector = getRun(db, handle.runId)!;
    const frames = listRunFrames(db, detector.id);
    new ReviewService(db, { actor: 'reviewer-jane' }).signOff({ setId, stage: 'acceptance', fromFrameId: frames[0]!.frameId, toFrameId: frames.at(-1)!.frameId, note: 'boxes checked against the images' });
    evaluation = await timed('evaluate', () => new EvalService(db, { actor }).evaluate({ run: detector.id, against: setId, metric: 'coco', options: { classes: CLASSES } }).evaluation);
  });

  afterAll(async () => {
    await browser?.close();
    db?.close();
    if (savedHome === undefined) delete process.env.SIGHTLINE_HOME;
    else process.env.SIGHTLINE_HOME = savedHome;
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`report timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}`);
  });

  it("stores the detector run's per-object TP/FP/FN exactly as an independent matching finds them", async () => {
    expect(detector).toMatchObject({ modelId: 'nanodet-coco', engine: 'tfjs', status: 'done' });
    expect(detector.modelSha256).toBe((await ModelRegistry.open(dir).resolve('nanodet-coco')).sha256);
    const labels = listLabelRecords(db, setId);
    const dets = listDetections(db, detector.id);
    const expected = independentOutcomes(labels, dets, CLASSES);
    const stored = new EvalService(db).objects(evaluation.id, { limit: 10_000 }).items;
    const byId = (source: string) => new Map(stored.filter((o) => o.source === source && CLASSES.includes(o.label)).map((o) => [o.objectId, o.outcome]));
    expect(byId('gt')).toEqual(expected.gt);
    expect(byId('det')).toEqual(expected.det);
    // The detector finds some of the cars and misses some objects: both kinds of rows exist.
    expect([...expected.gt.values()]).toContain('tp');
    expect([...expected.gt.values()]).toContain('fn');
  });

  it('writes a self-contained HTML report that renders in Chromium, with provenance hashes and the charts showing the stored numbers', async () => {
    const out = join(dir, 'report.html');
    const result = await timed('html report', () => exportReport(db, { run: detector.id, evaluationId: evaluation.id, compareRun: perfect.id, out, actor }));
    expect(result.warnings).toEqual([]);
    const html = readFileSync(out, 'utf8');
    expect(result).toMatchObject({ format: 'html', evaluationId: evaluation.id, comparedRunId: perfect.id, pages: null, bytes: Buffer.byteLength(html) });
    expect(result.sha256).toBe(createHash('sha256').update(html).digest('hex'));

    // Self-contained: nothing to fetch (the only URLs are SVG namespace names).
    expect(html.match(/(?:src|href)="(?!data:)[^"]*"/g) ?? []).toEqual([]);
    expect(html).not.toMatch(/<link|<script/i);

    // Provenance: model sha256, engine, the audit head before the export, the label set id, the log's hashes.
    const prov = (key: string) => html.match(new RegExp(`data-prov="${key}">([^<]*)<`))?.[1];
    expect(prov('model-sha256')).toBe(detector.modelSha256);
    expect(prov('label-set-id')).toBe(String(setId));
    const exportEvent = getAuditEvent(db, result.auditSeq)!;
    expect(exportEvent).toMatchObject({ action: 'report.export', payload: { sha256: result.sha256, format: 'html', evaluationId: evaluation.id } });
    expect(prov('audit-head')).toBe(exportEvent.prevHash);
    expect(prov('log-fingerprint')).toMatch(/^[0-9a-f]{64}$/);
    expect(html).toContain(`${detector.engine} / ${detector.executionProvider}`);

    // Charts: every PR chart's title prints the class AP the database holds; the bars print the same; the heatmap the confusion counts.
    const stored = new EvalService(db).get(evaluation.id);
    const figures = charts(html);
    const pr = figures.filter((f) => f.attrs.class);
    expect(pr.map((f) => f.attrs.class).sort()).toEqual(stored.perClass.filter((c) => c.numGt > 0).map((c) => c.label).sort());
    for (const f of pr) {
      const want = formatFigure(stored.perClass.find((c) => c.label === f.attrs.class)!.metrics.AP);
      expect(svgTexts(f.svg), f.attrs.class).toContain(`${f.attrs.class} — AP ${want}`);
      expect(Number(want)).toBeCloseTo(stored.perClass.find((c) => c.label === f.attrs.class)!.metrics.AP!, 4);
    }
    const bars = figures.find((f) => f.attrs.kind === 'bars')!;
    const barValues = svgTexts(bars.svg).filter((t) => /^\d\.\d{4}$|^n\/a$/.test(t));
    expect(barValues).toEqual(stored.perClass.filter((c) => c.numGt > 0).map((c) => formatFigure(c.metrics.AP)));
    const heat = figures.find((f) => f.attrs.figure === 'confusion')!;
    const cells = svgTexts(heat.svg).filter((t) => /^\d+$/.test(t)).map(Number).sort((a, b) => a - b);
    expect(cells).toEqual(Array.from(stored.confusion.counts).sort((a, b) => a - b));
    expect(html).toContain(`<strong data-figure="AP">${formatFigure(stored.overall.AP)}</strong>`);

    // Safety section (no path-conflict audit yet): the note, and the largest misses with crops from the camera image.
    expect(html).toContain('id="safety-critical-misses"');
    expect(html).toContain('No path-conflict audit has been run for this run');
    const misses = new EvalService(db).objects(evaluation.id, { outcome: 'fn', order: 'size', limit: 8 }).items.filter((o: StoredObject) => o.box2d);
    const thumbs = [...html.matchAll(/<img class="thumb" alt="miss:(\d+)" src="data:image\/jpeg;base64,([^"]+)"/g)];
    expect(thumbs.map((m) => Number(m[1]))).toEqual(misses.map((o) => o.seq));
    for (const m of thumbs) {
      const { data: px, info: meta } = await sharp(Buffer.from(m[2]!, 'base64')).raw().toBuffer({ resolveWithObject: true });
      expect(meta.width).toBeLessThanOrEqual(200);
      expect(meta.height).toBeLessThanOrEqual(140);
      expect(Math.max(meta.width, meta.height) >= 139).toBe(true);
      // The object's box is outlined in red on the camera crop.
      let red = 0;
      for (let i = 0; i < px.length; i += meta.channels) if (px[i]! > 190 && px[i + 1]! < 90 && px[i + 2]! < 90) red++;
      expect(red, `thumbnail miss:${m[1]}`).toBeGreaterThan(100);
    }

    // Comparison with the labels-as-run, and the reviewer's sign-off.
    expect(html).toContain('id="comparison"');
    expect(html).toMatch(/\d+ objects regressed \(TP → FN\)/);
    expect(html).toContain('reviewer-jane');
    expect(html).toContain('boxes checked against the images');

    // Rendered by Chromium with every request refused: none is made, and the page is not blank.
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (!url.startsWith('data:') && url !== 'about:blank') requests.push(url);
      return url.startsWith('data:') ? route.continue() : route.abort();
    });
    await page.setContent(html, { waitUntil: 'load' });
    expect(requests).toEqual([]);
    expect(await page.locator('figure.chart svg').count()).toBe(figures.length);
    // (The test tsconfig has no DOM lib: the page's globals are typed where used.)
    const brokenImages = await page.evaluate(() => {
      const images = (globalThis as unknown as { document: { images: ArrayLike<{ complete: boolean; naturalWidth: number }> } }).document.images;
      return Array.from(images).filter((i) => !i.complete || i.naturalWidth === 0).length;
    });
    expect(brokenImages).toBe(0);
    const shot = await page.screenshot({ fullPage: true });
    await page.close();
    const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
    let ink = 0;
    for (let i = 0; i < data.length; i += info.channels) if (data[i]! < 200 || data[i + 1]! < 200 || data[i + 2]! < 200) ink++;
    expect(ink / (info.width * info.height)).toBeGreaterThan(0.02);
  });

  it('prints KITTI and nuScenes reports with their own tables and charts, and the safety-critical misses the audit hands in', async () => {
    const service = new EvalService(db, { actor });
    for (const metric of ['kitti', 'nuscenes'] as const) {
      const e = service.evaluate({ run: perfect.id, against: setId, metric }).evaluation;
      const out = join(dir, `report-${metric}.html`);
      await timed(`${metric} html report`, () => exportReport(db, { run: perfect.id, evaluationId: e.id, out, actor }));
      const html = readFileSync(out, 'utf8');
      const pr = charts(html).filter((f) => f.attrs.class);
      expect(pr.length).toBeGreaterThan(0);
      for (const f of pr) {
        const value = e.perClass.find((c) => c.label === f.attrs.class)!.metrics[f.attrs.figure!];
        expect(f.attrs.value).toBe(formatFigure(value));
        expect(svgTexts(f.svg).some((t) => t.startsWith(f.attrs.class!) && t.endsWith(`AP ${formatFigure(value)}`)), `${metric} ${f.attrs.class} ${f.attrs.figure}`).toBe(true);
      }
      if (metric === 'kitti') expect(html).toContain('AP per class × difficulty × 2D/BEV/3D');
      else expect(html).toMatch(/<th class="n">NDS<\/th>/);
    }

    // The hook for the path-conflict audit: its rows replace the stand-in list, each with its crop.
    const miss = service.objects(evaluation.id, { outcome: 'fn', order: 'size', limit: 1 }).items[0]!;
    const out = join(dir, 'report-safety.html');
    await exportReport(db, {
      run: detector.id, evaluationId: evaluation.id, out, actor,
      safetyMisses: [{ frameId: miss.frameId, objectId: miss.objectId, label: miss.label, reason: 'in the ego corridor, never detected', distanceM: miss.egoDistance, ttcS: 1.5, sensorId: miss.sensorId, box2d: miss.box2d }],
    });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('in the ego corridor, never detected');
    expect(html).toMatch(/<img class="thumb" alt="safety:0" src="data:image\/jpeg;base64,/);
    expect(html).not.toContain('Largest missed objects');
  });

  it('prints the report to PDF through `sightline report`: pages with content, the export in the audit trail', async () => {
    const out = join(dir, 'report.pdf');
    const r = await timed('pdf report (cli)', () => reportCli(['report', '--db', dbPath, '--run', String(detector.id), '--against', 'kitti-gt', '--compare', 'labels-as-run', '--out', out, '--json']));
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { format: string; pages: number; sha256: string; auditSeq: number; evaluationId: number };
    // Asked by label set name, without options: an evaluation with the default classes (computed once, then reused).
    expect(result.evaluationId).not.toBe(evaluation.id);
    const pdf = readFileSync(out);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(result.format).toBe('pdf');
    expect(result.pages).toBe(countPdfPages(pdf));
    expect(result.pages).toBeGreaterThanOrEqual(3);
    expect(result.sha256).toBe(createHash('sha256').update(pdf).digest('hex'));
    // Non-blank pages: every page's content stream draws something (text or paths).
    const streams = [...pdf.toString('latin1').matchAll(/stream\r?\n/g)].map((m) => {
      const start = m.index! + m[0].length;
      const end = pdf.indexOf('endstream', start, 'latin1');
      try {
        return inflateSync(pdf.subarray(start, end)).toString('latin1');
      } catch {
        return '';
      }
    });
    const drawing = streams.filter((s) => /\b(TJ|Tj)\b/.test(s) && /\bre\b|\bf\b/.test(s));
    expect(drawing.length).toBeGreaterThanOrEqual(result.pages);
    const events = listAuditEvents(db, { action: 'report.export', order: 'asc' });
    // One event per export: the HTML reports of the tests above, then this PDF.
    expect(events.map((e) => (e.payload as { format: string }).format)).toEqual(['html', 'html', 'html', 'html', 'pdf']);
    expect(events.at(-1)!.seq).toBe(result.auditSeq);

    // Clear errors: an unknown extension, a run without evaluations.
    const bad = await reportCli(['report', '--db', dbPath, '--run', String(detector.id), '--out', join(dir, 'report.docx')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/name it \.html or \.pdf/);
    const none = await reportCli(['report', '--db', dbPath, '--run', String(detector.id), '--metric', 'kitti', '--out', join(dir, 'x.html')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/has no kitti evaluation yet; pass --against SET/);

    // A reviewer signs the report off from the command line: named in it and in its audit event.
    const signed = join(dir, 'report-signed.html');
    const r2 = await reportCli(['report', '--db', dbPath, '--run', String(detector.id), '--against', 'kitti-gt', '--reviewer', 'Dana Reviewer', '--out', signed, '--json']);
    expect(r2.stderr).toBe('');
    expect(readFileSync(signed, 'utf8')).toContain('data-prov="reviewer">Dana Reviewer<');
    const signedEvent = listAuditEvents(db, { action: 'report.export', order: 'asc' }).at(-1)!;
    expect(signedEvent.seq).toBe((JSON.parse(r2.stdout) as { auditSeq: number }).auditSeq);
    expect((signedEvent.payload as { reviewer: string | null }).reviewer).toBe('Dana Reviewer');
  });
});
