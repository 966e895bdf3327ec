// 2D label correction end to end: the real server and SQLite file, a fresh renderer build, headless
// Chromium, the KITTI object fixture and a real CenterNet run on its first frame. From the UI: a working
// set made from the log's ground truth in the Labels panel, edit mode by key, a box corner dragged with
// real mouse events → one update event in SQLite with the exact before/after boxes (3D box untouched)
// and an intact audit chain (`sightline audit verify`); undo and redo by key restore the exact boxes; a
// new box drawn with N; a CenterNet detection accepted with A; a stale drag refused with the server's
// message. Screenshots land in test-results/.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabelBox2D, LabelBox3D, LabelValue } from '../../src/labels/model.js';
import type { LogInfo } from '../../src/logs/model.js';
import { buildRendererInto, callApi, chromiumSkipReason, launchChromium, logTimings, newCollectingPage, removeDirs, screenshotsDir, waitForRun } from '../helpers/browser.js';
import { cliBin, ensureDist } from '../helpers/build.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const KITTI = fixture('kitti_object_vis', 'training');
const SENSOR = 'image_2';
const skipReason = chromiumSkipReason ?? (hasFixtures ? null : fixturesSkipReason);
if (skipReason) console.warn(`[labels e2e] skipped: ${skipReason}`);

interface HookLabel {
  id: number;
  class: string;
  trackId: string | null;
  revision: number;
  box2d: LabelBox2D | null;
  box3d: LabelBox3D | null;
  sourceDetectionId: number | null;
}

interface LabelsHook {
  setId: number | null;
  sets: Array<{ id: number; name: string; kind: string; labelCount: number }>;
  frameId: string | null;
  labels: HookLabel[];
  selected: number[];
  previews: number;
  rejected: number[];
  editMode: boolean;
  tool: string;
  drawClass: string;
  undo: Array<{ opId: number; description: string }>;
  redo: Array<{ opId: number; description: string }>;
  busy: string | null;
  error: string | null;
  conflict: string | null;
}

interface CameraSnapshot {
  index: number;
  dpr: number;
  transform: { s: number; ox: number; oy: number };
  boxes2d: Array<{ id: string; kind: string; label: string; x1: number; y1: number; x2: number; y2: number }>;
}

declare const document: { activeElement: { blur?(): void } | null; querySelectorAll(selector: string): { length: number } };
declare const window: {
  __sightline?: {
    state(): { logId: string | null; frameIndex: number; layers: Record<string, boolean>; selection: { id: string } | null; detections: Array<{ runId: number; boxes2d: number }> | null; paintedFrame: { camera: number; scene: number } };
    seek(index: number): void;
    waitPainted(index: number, kinds?: string[], timeoutMs?: number): Promise<boolean>;
    camera(sensorId?: string): CameraSnapshot | null;
    ext: { labels(): LabelsHook };
  };
};

interface EventRow {
  id: number;
  op_id: number;
  kind: string;
  label_id: number | null;
  detection_id: number | null;
  base_revision: number;
  revision: number;
  before_json: string | null;
  after_json: string | null;
}

describe.skipIf(skipReason !== null)('2D label editing in the camera panel', () => {
  let browser: Browser;
  let server: TestServer;
  let page: Page;
  let staticDir: string;
  let info: LogInfo;
  let runId: number;
  let db: Database.Database;
  const problems: string[] = [];
  const timings: Record<string, number> = {};
  const labels = (): Promise<LabelsHook> => page.evaluate(() => window.__sightline!.ext.labels());
  const idle = () => page.waitForFunction(() => window.__sightline!.ext.labels().busy === null && window.__sightline!.ext.labels().previews === 0);
  // Keys go to the window, not to the last clicked control.
  const blur = () => page.evaluate(() => document.activeElement?.blur?.());
  const lastEvent = (): EventRow => db.prepare('SELECT * FROM label_events ORDER BY id DESC LIMIT 1').get() as EventRow;

  /** Image pixel → page (CSS) pixel in the camera canvas, through the view's current zoom/pan. */
  async function toPage(x: number, y: number): Promise<{ x: number; y: number }> {
    const box = (await page.locator(`[data-testid="camera-canvas"][data-sensor="${SENSOR}"]`).boundingBox())!;
    const snap = (await page.evaluate((s) => window.__sightline!.camera(s), SENSOR))!;
    return { x: box.x + (snap.transform.ox + x * snap.transform.s) / snap.dpr, y: box.y + (snap.transform.oy + y * snap.transform.s) / snap.dpr };
  }

  async function cssPerImagePixel(): Promise<number> {
    const snap = (await page.evaluate((s) => window.__sightline!.camera(s), SENSOR))!;
    return snap.transform.s / snap.dpr;
  }

  /** A real press-move-release with intermediate pointer moves. */
  async function drag(from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
  }

  beforeAll(async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    staticDir = mkdtempSync(join(tmpdir(), 'sightline-labels-renderer-'));
    const t0 = performance.now();
    server = await startTestServer([], { staticDir });
    info = await callApi<LogInfo>(server, 'openLog', { path: KITTI });
    // A real CenterNet run on the first frame, while the renderer builds.
    const run = await callApi<{ runId: number }>(server, 'startRun', { logId: info.id, modelId: 'centernet-coco', device: 'cpu', frameRange: { start: 0, end: 1 } });
    runId = run.runId;
    const [, b] = await Promise.all([
      buildRendererInto(staticDir),
      launchChromium(),
      ensureDist(),
    ]);
    browser = b;
    timings.build = performance.now() - t0;
    await waitForRun(server, runId);
    timings.runDone = performance.now() - t0;
    db = new Database(server.dbPath, { readonly: true, fileMustExist: true });

    page = await newCollectingPage(browser, problems, { viewport: { width: 1500, height: 1000 } });
    await page.goto(server.url);
    await page.waitForFunction((id) => window.__sightline?.state().logId === id, info.id, { timeout: 30_000 });
    await page.waitForFunction(() => window.__sightline!.waitPainted(0, ['camera'], 20_000));
  }, 240_000);

  afterAll(async () => {
    db?.close();
    await browser?.close();
    await server?.close();
    removeDirs(staticDir);
    logTimings('labels e2e', timings);
  });

  it('creates a working set from ground truth and drags a box corner: one update event, exact before/after, 3D kept, audit chain intact', async () => {
    await page.getByTestId('labels-source').selectOption('gt');
    await page.getByTestId('labels-create').click();
    await page.waitForFunction(() => {
      const l = window.__sightline!.ext.labels();
      return l.setId !== null && l.labels.length > 0 && l.busy === null;
    });
    const created = await labels();
    const set = created.sets.find((s) => s.id === created.setId)!;
    expect(set.kind).toBe('working');
    expect(created.sets.some((s) => s.kind === 'ground_truth')).toBe(true);
    // Frame 0 of the fixture: one pedestrian, with its 3D box.
    const person = created.labels.find((l) => l.class === 'Pedestrian')!;
    expect(person.box2d).toEqual({ sensorId: SENSOR, x1: 712.4, y1: 143, x2: 810.73, y2: 307.92 });
    expect(person.box3d).not.toBeNull();

    await blur();
    await page.keyboard.press('e');
    await page.waitForFunction(() => window.__sightline!.ext.labels().editMode);
    // The log's own 2D ground truth steps aside for the editable copy.
    expect((await page.evaluate(() => window.__sightline!.state().layers)).gt2d).toBe(false);

    // Click selects; the eight handles appear; drag the bottom-right corner.
    const box = person.box2d!;
    const center = await toPage((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2);
    await page.mouse.click(center.x, center.y);
    await page.waitForFunction((id) => window.__sightline!.ext.labels().selected.join() === String(id), person.id);
    const scale = await cssPerImagePixel();
    const corner = await toPage(box.x2, box.y2);
    const t0 = performance.now();
    await drag(corner, { x: corner.x + 40, y: corner.y + 24 });
    await page.waitForFunction((id) => window.__sightline!.ext.labels().labels.find((l) => l.id === id)?.revision === 2, person.id);
    await idle();
    timings.dragToStored = performance.now() - t0;
    await page.screenshot({ path: join(screenshotsDir, 'labels-dragged.png') });

    const moved = (await labels()).labels.find((l) => l.id === person.id)!;
    // Only the corner moved, by the drag in image pixels (pointer positions are whole CSS pixels).
    expect(moved.box2d!.x1).toBe(box.x1);
    expect(moved.box2d!.y1).toBe(box.y1);
    expect(moved.box2d!.x2).toBeCloseTo(box.x2 + 40 / scale, 0);
    expect(moved.box2d!.y2).toBeCloseTo(box.y2 + 24 / scale, 0);
    expect(moved.box3d).toEqual(person.box3d);
    expect(moved.class).toBe('Pedestrian');

    const event = lastEvent();
    expect(event.kind).toBe('update');
    expect(event.label_id).toBe(person.id);
    expect(event.base_revision).toBe(1);
    expect(event.revision).toBe(2);
    const before = JSON.parse(event.before_json!) as LabelValue;
    const after = JSON.parse(event.after_json!) as LabelValue;
    expect(before.box2d).toEqual(box);
    expect(after.box2d).toEqual(moved.box2d);
    expect(after.box3d).toEqual(before.box3d);
    // One drag, one event, one undo step.
    expect((db.prepare('SELECT count(*) FROM label_events WHERE op_id = ?').pluck().get(event.op_id) as number)).toBe(1);
    const hook = await labels();
    expect(hook.undo.length).toBe(1);
    expect(hook.redo.length).toBe(0);
    expect(await page.getByTestId('labels-undo').textContent()).toContain('(1)');

    const cli = await promisify(execFile)(process.execPath, [cliBin, 'audit', 'verify', '--db', server.dbPath, '--json']);
    const verdict = JSON.parse(cli.stdout) as { chain: { ok: boolean; events: number }; labelSets: Array<{ ok: boolean; labelSetId: number }> };
    expect(verdict.chain.ok).toBe(true);
    expect(verdict.labelSets.find((s) => s.labelSetId === created.setId)?.ok).toBe(true);
    const audit = db.prepare("SELECT payload_json FROM audit_events WHERE action = 'label.update' ORDER BY seq DESC LIMIT 1").pluck().get() as string;
    expect((JSON.parse(audit) as { after: LabelValue }).after.box2d).toEqual(moved.box2d);
  });

  it('undo and redo (Ctrl+Z, Ctrl+Shift+Z) restore the exact boxes', async () => {
    const start = await labels();
    const person = start.labels.find((l) => l.class === 'Pedestrian')!;
    const original = JSON.parse(lastEvent().before_json!) as LabelValue;
    await blur();
    await page.keyboard.press('Control+z');
    await page.waitForFunction((id) => window.__sightline!.ext.labels().labels.find((l) => l.id === id)?.revision === 3, person.id);
    await idle();
    const undone = (await labels()).labels.find((l) => l.id === person.id)!;
    expect(undone.box2d).toEqual(original.box2d);
    expect(undone.box3d).toEqual(original.box3d);
    expect((await labels()).redo.length).toBe(1);

    await page.keyboard.press('Control+Shift+z');
    await page.waitForFunction((id) => window.__sightline!.ext.labels().labels.find((l) => l.id === id)?.revision === 4, person.id);
    await idle();
    const redone = (await labels()).labels.find((l) => l.id === person.id)!;
    expect(redone.box2d).toEqual(person.box2d);
    const stacks = await labels();
    expect(stacks.undo.length).toBe(1);
    expect(stacks.redo.length).toBe(0);
  });

  it('draws a new box with N and a drag on empty image', async () => {
    const before = await labels();
    await blur();
    await page.keyboard.press('n');
    await page.waitForFunction(() => window.__sightline!.ext.labels().tool === 'draw');
    const scale = await cssPerImagePixel();
    const from = await toPage(100, 250);
    const to = { x: from.x + 120 * scale, y: from.y + 80 * scale };
    await drag(from, to);
    await page.waitForFunction((n) => window.__sightline!.ext.labels().labels.length === n + 1, before.labels.length);
    await idle();
    const after = await labels();
    const drawn = after.labels.find((l) => !before.labels.some((b) => b.id === l.id))!;
    expect(drawn.class).toBe(after.drawClass);
    expect(drawn.box3d).toBeNull();
    expect(drawn.box2d!.sensorId).toBe(SENSOR);
    expect(drawn.box2d!.x1).toBeCloseTo(100, 0);
    expect(drawn.box2d!.y1).toBeCloseTo(250, 0);
    expect(drawn.box2d!.x2 - drawn.box2d!.x1).toBeCloseTo(120, 0);
    expect(drawn.box2d!.y2 - drawn.box2d!.y1).toBeCloseTo(80, 0);
    expect(after.selected).toEqual([drawn.id]);
    expect(after.tool).toBe('select');
    expect(lastEvent().kind).toBe('create');

    // Delete removes it again (one more undo step).
    await page.keyboard.press('Delete');
    await page.waitForFunction((id) => !window.__sightline!.ext.labels().labels.some((l) => l.id === id), drawn.id);
    expect(lastEvent().kind).toBe('delete');
  });

  it('accepts a CenterNet detection with A: the label keeps its detection id', async () => {
    await page.waitForFunction(() => (window.__sightline!.state().detections?.[0]?.boxes2d ?? 0) > 0, undefined, { timeout: 20_000 });
    const stored = db.prepare('SELECT id, class, score FROM detections WHERE run_id = ? ORDER BY score DESC').all(runId) as Array<{ id: number; class: string; score: number }>;
    expect(stored.length).toBeGreaterThan(0);
    // The highest-scoring detection: its table row selects it in every panel.
    const snap = (await page.evaluate((s) => window.__sightline!.camera(s), SENSOR))!;
    const detection = snap.boxes2d.filter((b) => b.kind === 'detection').find((b) => b.label === stored[0]!.class)!;
    await page.locator(`[data-testid="detection-row"][data-id="${detection.id}"]`).first().click();
    await page.waitForFunction((id) => window.__sightline!.state().selection?.id === id, detection.id);
    await blur();
    await page.keyboard.press('a');
    await page.waitForFunction(() => window.__sightline!.ext.labels().labels.some((l) => l.sourceDetectionId !== null));
    await idle();
    const accepted = (await labels()).labels.find((l) => l.sourceDetectionId !== null)!;
    const row = db.prepare('SELECT id, class FROM detections WHERE id = ?').get(accepted.sourceDetectionId) as { id: number; class: string };
    expect(row.class).toBe(accepted.class);
    expect(accepted.box2d).toMatchObject({ sensorId: SENSOR, x1: detection.x1, y1: detection.y1, x2: detection.x2, y2: detection.y2 });
    const event = lastEvent();
    expect(event.kind).toBe('accept');
    expect(event.detection_id).toBe(accepted.sourceDetectionId);
    await page.screenshot({ path: join(screenshotsDir, 'labels-accepted.png') });
  });

  it('refuses a drag whose label changed meanwhile in another window, with the server message, then shows the stored box', async () => {
    const hook = await labels();
    const person = hook.labels.find((l) => l.class === 'Pedestrian' && l.sourceDetectionId === null)!;
    // Select it in the Labels panel's table (the accepted detection overlaps it), then grab its top-left handle.
    await page.locator(`[data-testid="label-row"][data-id="${person.id}"]`).click();
    await page.waitForFunction((id) => window.__sightline!.ext.labels().selected.join() === String(id), person.id);
    const corner = await toPage(person.box2d!.x1, person.box2d!.y1);
    await page.mouse.move(corner.x, corner.y);
    await page.mouse.down();
    await page.mouse.move(corner.x - 20, corner.y - 10, { steps: 4 });
    await page.waitForFunction(() => window.__sightline!.ext.labels().previews === 1);
    // Mid-drag, another window moves the same label (its own session); this window hears of it.
    const elsewhere = { ...person.box2d!, x1: person.box2d!.x1 - 5 };
    await callApi(server, 'editLabels', { setId: hook.setId, sessionId: 'other-window', edits: [{ kind: 'update', labelId: person.id, expectedRevision: person.revision, patch: { box2d: elsewhere } }] });
    await page.waitForFunction((r) => window.__sightline!.ext.labels().labels.some((l) => l.revision === r), person.revision + 1);
    await page.mouse.up();
    await page.waitForFunction(() => window.__sightline!.ext.labels().conflict !== null);
    await idle();
    expect(await page.getByTestId('labels-conflict').textContent()).toContain('changed underneath you');
    // Nothing of the stale drag was written; the window shows the other window's box.
    expect(lastEvent().after_json && (JSON.parse(lastEvent().after_json!) as LabelValue).box2d).toEqual(elsewhere);
    expect((await labels()).labels.find((l) => l.id === person.id)!.box2d).toEqual(elsewhere);
    await page.screenshot({ path: join(screenshotsDir, 'labels-conflict.png') });
    expect(problems).toEqual([]);
  });
  it('interpolates a track between two keyframes from the track section: the frame between gets the blended box', async () => {
    const hook = await labels();
    const person = hook.labels.find((l) => l.class === 'Pedestrian' && l.sourceDetectionId === null)!;
    await page.locator(`[data-testid="label-row"][data-id="${person.id}"]`).click();
    await page.getByTestId('labels-track-input').fill('P1');
    await page.getByTestId('labels-set-track').click();
    await page.waitForFunction((id) => window.__sightline!.ext.labels().labels.find((l) => l.id === id)?.trackId === 'P1', person.id);
    await idle();
    const first = (await labels()).labels.find((l) => l.id === person.id)!;

    // Frame 2: draw the second keyframe and give it the same track.
    await page.evaluate(() => window.__sightline!.seek(2));
    await page.waitForFunction((f0) => window.__sightline!.state().frameIndex === 2 && ![null, f0].includes(window.__sightline!.ext.labels().frameId), hook.frameId);
    await page.waitForFunction(() => window.__sightline!.state().paintedFrame.camera === 2);
    await idle();
    const before = await labels();
    await blur();
    await page.keyboard.press('n');
    const scale = await cssPerImagePixel();
    const from = await toPage(600, 150);
    await drag(from, { x: from.x + 100 * scale, y: from.y + 150 * scale });
    await page.waitForFunction((n) => window.__sightline!.ext.labels().labels.length === n + 1, before.labels.length);
    await idle();
    const second = (await labels()).labels.find((l) => !before.labels.some((b) => b.id === l.id))!;
    await page.getByTestId('labels-track-input').fill('P1');
    await page.getByTestId('labels-set-track').click();
    await page.waitForFunction((id) => window.__sightline!.ext.labels().labels.find((l) => l.id === id)?.trackId === 'P1', second.id);
    await idle();

    // The track section lists both keyframes; interpolate fills frame 1.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="labels-track-frames"] [data-keyframe]').length === 2);
    expect(await page.getByTestId('labels-track-interpolate').textContent()).toContain('1 frame');
    await page.getByTestId('labels-track-interpolate').click();
    await idle();
    expect((await page.evaluate(() => window.__sightline!.state())).frameIndex).toBe(2);
    const frame1 = db.prepare("SELECT l.frame_id FROM labels l WHERE l.label_set_id = ? AND l.track_id = 'P1' AND l.interpolated = 1").all(hook.setId) as Array<{ frame_id: string }>;
    expect(frame1.length).toBe(1);
    const interpolated = (await callApi<HookLabel[]>(server, 'listLabels', { setId: hook.setId, trackId: 'P1' })).find((l) => (l as unknown as { interpolated: boolean }).interpolated)!;
    // Frame times are 0, 100 and 200 ms: the middle frame is the average of the two keyframe boxes.
    const a = first.box2d!;
    const b = second.box2d!;
    expect(interpolated.box2d!.x1).toBeCloseTo((a.x1 + b.x1) / 2, 6);
    expect(interpolated.box2d!.y1).toBeCloseTo((a.y1 + b.y1) / 2, 6);
    expect(interpolated.box2d!.x2).toBeCloseTo((a.x2 + b.x2) / 2, 6);
    expect(interpolated.box2d!.y2).toBeCloseTo((a.y2 + b.y2) / 2, 6);
    expect(interpolated.class).toBe('Pedestrian');
    // One keyframe has no 3D box, so the interpolated box has none either.
    expect(interpolated.box3d).toBeNull();
    expect(lastEvent().kind).toBe('create');
    expect((await labels()).undo[0]?.description).toContain('interpolate track P1');
    expect(problems).toEqual([]);
  });
});
