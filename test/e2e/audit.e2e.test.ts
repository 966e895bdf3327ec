// The review workflow and audit UI end to end: the real server and SQLite file, a fresh renderer
// build, headless Chromium, the real KITTI raw drive (10 frames) with tracking labels imported as
// `kitti-tracking` and a working copy under review. From the UI: frame statuses by key and button and
// an issue → review/issue markers in the store and as pixels on the timeline's marker canvas; the frame
// filter lists and seeks; a range sign-off is refused with the server's reason, then forced → its
// audit row in SQLite; an edit made through the API shows in the frame history; a tampered audit row
// is named by the Verify button and by `sightline audit verify`. Screenshots land in test-results/.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabelRecord, LabelSetRecord } from '../../src/labels/model.js';
import type { LogInfo } from '../../src/logs/model.js';
import { buildRendererInto, callApi, chromiumSkipReason, launchChromium, logTimings, newCollectingPage, removeDirs, screenshotsDir } from '../helpers/browser.js';
import { cliBin, ensureDist } from '../helpers/build.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const RAW = fixture('kitti_raw_2011_09_26_sfnd');
const skipReason = chromiumSkipReason ?? (hasFixtures ? null : fixturesSkipReason);
if (skipReason) console.warn(`[audit e2e] skipped: ${skipReason}`);

// Browser globals used inside page.evaluate callbacks (the test tsconfig has no DOM lib).
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelector(selector: string): PageCanvas | null };

interface ReviewHook {
  setId: number | null;
  busy: string | null;
  error: string | null;
  refusal: string | null;
  frames: Array<{ index: number; frameId: string; status: string; openIssues: number; signedStages: string[] }>;
  issues: Array<{ id: number; frameId: string; title: string; status: string; comments: number }>;
  signOffs: Array<{ id: number; stage: string; fromFrameId: string; toFrameId: string; auditSeq: number }>;
  history: { frameId: string; ops: Array<{ opId: number; author: string; events: number }>; audit: string[] } | null;
  audit: { rows: number; firstSeq: number | null; hasMore: boolean; error: string | null };
  verification: { ok: boolean; events: number; brokenAt: { seq: number; reason: string } | null } | null;
}
declare const window: {
  __sightline?: {
    state(): { logId: string | null; frameIndex: number; markers: number; range: { start: number; end: number } | null };
    seek(index: number): void;
    ext: { review(): ReviewHook };
  };
};

/** Status colours (renderer/state/review.ts) as RGB. */
const COLORS = { done: [63, 185, 80], needs_attention: [240, 136, 62], issue: [248, 81, 73] } as const;

/** x centroid (fraction of the width) and count of marker-canvas pixels near each colour. */
async function markerPixels(page: Page): Promise<Record<keyof typeof COLORS, { count: number; x: number }>> {
  return page.evaluate((colors) => {
    const canvas = document.querySelector('[data-testid="timeline-markers"]');
    if (!canvas) throw new Error('no marker canvas');
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const out: Record<string, { count: number; x: number }> = {};
    for (const [name, [r, g, b]] of Object.entries(colors)) {
      let count = 0;
      let sx = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 200 && Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) < 30) {
          count++;
          sx += (i / 4) % canvas.width;
        }
      }
      out[name] = { count, x: count ? sx / count / canvas.width : -1 };
    }
    return out as Record<keyof typeof colors, { count: number; x: number }>;
  }, COLORS);
}

describe.skipIf(skipReason !== null)('review workflow and audit UI', () => {
  let browser: Browser;
  let server: TestServer;
  let page: Page;
  let staticDir: string;
  let work: string;
  let info: LogInfo;
  let setId: number;
  let db: Database.Database;
  const problems: string[] = [];
  const timings: Record<string, number> = {};
  const review = (): Promise<ReviewHook> => page.evaluate(() => window.__sightline!.ext.review());
  // Keys go to the window, not to the last clicked control.
  const blur = () => page.evaluate(() => (document as unknown as { activeElement: { blur?(): void } | null }).activeElement?.blur?.());
  const seek = async (index: number) => {
    await page.evaluate((i) => window.__sightline!.seek(i), index);
    await page.waitForFunction((i) => window.__sightline!.state().frameIndex === i, index);
  };

  beforeAll(async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'sightline-audit-e2e-'));
    staticDir = mkdtempSync(join(tmpdir(), 'sightline-audit-renderer-'));
    const t0 = performance.now();
    const [, b] = await Promise.all([
      buildRendererInto(staticDir),
      launchChromium(),
      ensureDist(),
    ]);
    browser = b;
    timings.build = performance.now() - t0;
    server = await startTestServer([], { staticDir });
    info = await callApi<LogInfo>(server, 'openLog', { path: RAW });
    // A car ahead as track 0 on every frame: imported through the API as KITTI tracking labels.
    const lines = Array.from({ length: 10 }, (_, k) => `${k} 0 Car 0.00 0 -0.05 ${560 - k}.00 175.00 ${690 + k}.00 ${235 + k}.00 1.52 1.65 3.95 0.60 1.68 ${(12 - 0.4 * k).toFixed(2)} -1.58`);
    writeFileSync(join(work, '0000.txt'), `${lines.join('\n')}\n`);
    const gt = await callApi<{ labelSet: LabelSetRecord }>(server, 'importLabels', { logId: info.id, format: 'kitti-tracking', path: join(work, '0000.txt') });
    expect(gt.labelSet.labelCount).toBe(10);
    setId = (await callApi<LabelSetRecord>(server, 'createWorkingSet', { fromSetId: gt.labelSet.id, name: 'under review' })).id;
    db = new Database(server.dbPath, { fileMustExist: true });

    page = await newCollectingPage(browser, problems, { viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url);
    await page.waitForFunction((id) => window.__sightline?.state().logId === id, info.id, { timeout: 30_000 });
    await page.getByTestId('review-set').selectOption(String(setId));
    await page.waitForFunction((id) => window.__sightline!.ext.review().setId === id && !window.__sightline!.ext.review().busy, setId);
  }, 240_000);

  afterAll(async () => {
    db?.close();
    await browser?.close();
    await server?.close();
    removeDirs(staticDir, work);
    logTimings('audit e2e', timings);
  });

  it('sets statuses (keys and buttons) and opens an issue: markers in the store and on the timeline, the filter lists and seeks', async () => {
    const before = (await page.evaluate(() => window.__sightline!.state())).markers;
    const blank = await markerPixels(page);
    expect(blank.done.count + blank.needs_attention.count + blank.issue.count).toBe(0);

    await seek(3);
    await blur();
    await page.keyboard.press('i');
    await page.waitForFunction(() => window.__sightline!.ext.review().frames.some((f) => f.index === 3 && f.status === 'in_review'));
    await page.getByTestId('issue-title').fill('Car box too loose');
    await page.getByTestId('issue-comment').fill('right edge is 20 px off');
    await page.getByTestId('issue-open').click();
    await page.waitForFunction(() => window.__sightline!.ext.review().frames.some((f) => f.index === 3 && f.openIssues === 1));
    await seek(5);
    await page.getByTestId('review-status-done').click();
    await seek(7);
    await blur();
    await page.keyboard.press('!');
    await page.waitForFunction(() => window.__sightline!.ext.review().frames.length === 3);

    const ui = await review();
    expect(ui.error).toBeNull();
    expect(ui.frames.map((f) => [f.index, f.status, f.openIssues])).toEqual([[3, 'in_review', 1], [5, 'done', 0], [7, 'needs_attention', 0]]);
    expect(ui.issues).toEqual([expect.objectContaining({ frameId: ui.frames[0]!.frameId, title: 'Car box too loose', status: 'open', comments: 1 })]);
    // Three review markers and one issue marker.
    expect((await page.evaluate(() => window.__sightline!.state())).markers).toBe(before + 4);
    await expect.poll(async () => Number(await page.getByTestId('timeline-markers').getAttribute('data-count'))).toBe(before + 4);
    const drawn = await markerPixels(page);
    // Frame k of 10 frames at 10 Hz sits at k/9 of the strip.
    expect(drawn.issue.count).toBeGreaterThan(0);
    expect(drawn.done.count).toBeGreaterThan(0);
    expect(drawn.needs_attention.count).toBeGreaterThan(0);
    expect(Math.abs(drawn.issue.x - 3 / 9)).toBeLessThan(0.03);
    expect(Math.abs(drawn.done.x - 5 / 9)).toBeLessThan(0.03);
    expect(Math.abs(drawn.needs_attention.x - 7 / 9)).toBeLessThan(0.03);
    expect(await page.getByTestId('review-done').textContent()).toBe('1');

    // The filter: frames that need a look (open issue or attention), and the done ones; a click seeks.
    await seek(0);
    const listed = () => page.locator('[data-testid="review-frames"] button').evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { frameIndex: string } }).dataset.frameIndex)));
    expect(await listed()).toEqual([3, 7]);
    await page.getByTestId('review-filter').selectOption('done');
    expect(await listed()).toEqual([5]);
    await page.getByTestId('review-filter').selectOption('flagged');
    await page.locator('[data-testid="review-frames"] button[data-frame-index="7"]').click();
    await page.waitForFunction(() => window.__sightline!.state().frameIndex === 7);
    await page.getByRole('button', { name: 'Previous flagged frame' }).click();
    await page.waitForFunction(() => window.__sightline!.state().frameIndex === 3);
    await page.screenshot({ path: join(screenshotsDir, 'audit-review-markers.png') });
  });

  it('signs off a timeline range: refused with the server reason, forced after confirmation, recorded as an audit event', async () => {
    const bar = (await page.getByTestId('scrub-bar').boundingBox())!;
    await page.mouse.move(bar.x + bar.width * 0.2, bar.y + bar.height / 2);
    await page.keyboard.down('Shift');
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width * 0.85, bar.y + bar.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const range = (await page.evaluate(() => window.__sightline!.state())).range!;
    expect(range.start).toBeLessThanOrEqual(3);
    expect(range.end).toBeGreaterThanOrEqual(7);
    await expect.poll(() => page.getByTestId('signoff-range').textContent()).toContain('timeline selection');
    expect(await page.getByTestId('signoff-not-done').textContent()).toContain(`${range.end - range.start} of ${range.end - range.start + 1} frames`);

    const signoffRows = () => db.prepare("SELECT seq, entity_type, entity_id, actor, payload_json FROM audit_events WHERE action = 'review.signoff'").all() as Array<{ seq: number; entity_type: string; entity_id: string; actor: string; payload_json: string }>;
    await page.getByTestId('signoff-stage').selectOption('validation');
    await page.getByTestId('signoff-note').fill('validated range');
    await page.getByTestId('signoff-submit').click();
    await page.getByTestId('signoff-refusal').waitFor();
    const refusal = await page.getByTestId('signoff-refusal').textContent();
    expect(refusal).toMatch(/Cannot sign off validation/);
    expect(refusal).toMatch(/needs attention/);
    expect(refusal).toMatch(/open issue \d+ \('Car box too loose'\)/);
    expect(signoffRows()).toHaveLength(0);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('signoff-force').click();
    await page.waitForFunction(() => window.__sightline!.ext.review().signOffs.length === 1);
    const rows = signoffRows();
    expect(rows).toHaveLength(1);
    const payload = JSON.parse(rows[0]!.payload_json) as { stage: string; frameCount: number; note: string; overridden: string[] };
    expect(rows[0]).toMatchObject({ entity_type: 'label_set', entity_id: String(setId), actor: 'test' });
    expect(payload).toMatchObject({ stage: 'validation', frameCount: range.end - range.start + 1, note: 'validated range' });
    expect(payload.overridden).toHaveLength(2);
    const ui = await review();
    expect(ui.signOffs[0]!.auditSeq).toBe(rows[0]!.seq);
    expect(ui.frames.find((f) => f.index === 5)!.signedStages).toEqual(['validation']);
    await expect.poll(() => page.getByTestId('signoff-list').textContent()).toContain('validation');
  });

  it('shows an edit made through the API in the frame history', async () => {
    await seek(3);
    const frameId = (await review()).frames.find((f) => f.index === 3)!.frameId;
    const [label] = await callApi<LabelRecord[]>(server, 'listLabels', { setId, frameId });
    await callApi(server, 'editLabels', { setId, sessionId: 'api-editor', reason: 'it is a van', edits: [{ kind: 'update', labelId: label!.id, expectedRevision: label!.revision, patch: { class: 'Van' } }] });
    // The working copy's bulk op, then the edit.
    await page.waitForFunction(() => (window.__sightline!.ext.review().history?.ops.length ?? 0) >= 2);
    const history = (await review()).history!;
    expect(history.frameId).toBe(frameId);
    expect(history.ops[0]).toMatchObject({ author: 'test', events: 1 });
    expect(history.audit).toEqual(expect.arrayContaining(['review.status', 'issue.open']));
    const text = await page.getByTestId('history-list').textContent();
    expect(text).toContain('class: Car → Van');
    expect(text).toContain('it is a van');
    expect(text).toContain("opened issue");
    await page.getByTestId('history-filter').fill('van');
    await expect.poll(async () => page.locator('[data-testid="history-list"] > li').count()).toBe(1);
  });

  it('lists and filters the global audit log, and names a tampered event (Verify button and `sightline audit verify`)', async () => {
    await page.getByTestId('open-audit-log').click();
    await page.getByTestId('audit-log').waitFor();
    const total = db.prepare('SELECT count(*) FROM audit_events').pluck().get() as number;
    await page.waitForFunction((n) => window.__sightline!.ext.review().audit.rows === n, total);
    await page.getByTestId('audit-filter-action').fill('review.');
    await page.getByTestId('audit-apply').click();
    const reviewCount = db.prepare("SELECT count(*) FROM audit_events WHERE action LIKE 'review.%'").pluck().get() as number;
    await page.waitForFunction((n) => window.__sightline!.ext.review().audit.rows === n, reviewCount);
    expect(reviewCount).toBe(4); // three statuses and the sign-off

    await page.getByTestId('audit-verify').click();
    await page.waitForFunction(() => window.__sightline!.ext.review().verification?.ok === true);
    expect(await page.getByTestId('audit-verdict').textContent()).toContain(`Chain intact: ${total} events`);

    // Someone with the file rewrites the sign-off's note.
    const seq = (db.prepare("SELECT seq FROM audit_events WHERE action = 'review.signoff'").pluck().get() as number);
    db.exec('DROP TRIGGER audit_events_no_update');
    const payload = db.prepare('SELECT payload_json FROM audit_events WHERE seq = ?').pluck().get(seq) as string;
    db.prepare('UPDATE audit_events SET payload_json = ? WHERE seq = ?').run(payload.replace('validated range', 'nothing to see'), seq);
    db.exec("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;");

    await page.getByTestId('audit-verify').click();
    await page.waitForFunction(() => window.__sightline!.ext.review().verification?.ok === false);
    expect((await review()).verification!.brokenAt!.seq).toBe(seq);
    expect(await page.getByTestId('audit-broken-seq').textContent()).toBe(`#${seq}`);
    await page.getByTestId('audit-broken-seq').click();
    await expect.poll(() => page.getByTestId('audit-detail').textContent()).toContain('nothing to see');
    await page.screenshot({ path: join(screenshotsDir, 'audit-log-broken.png') });

    const cli = await promisify(execFile)(process.execPath, [cliBin, 'audit', 'verify', '--db', server.dbPath, '--no-labels']).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`Audit chain BROKEN at event #${seq}`);
    expect(problems).toEqual([]);
  });
});
