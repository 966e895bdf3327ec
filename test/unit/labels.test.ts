// Label corrections against real SQLite files: events -> derived state, append-only tables, the audit
// chain (and tampering), stale edits across two connections, interpolation, undo/redo, review.
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerAuditCommands } from '../../src/cli/commands/audit.js';
import { registerLabelCommands } from '../../src/cli/commands/labels.js';
import { ApiError } from '../../src/api/contract.js';
import { LabelConflictError } from '../../src/labels/errors.js';
import { shortestArc, wrapAngle } from '../../src/labels/geometry.js';
import { ReviewService } from '../../src/labels/review.js';
import { labelMethods, type LabelMethodInput, type LabelMethodName, type LabelsChangedEvent } from '../../src/labels/api.js';
import { createLabelHandlers } from '../../src/labels/handlers.js';
import type { EditResult, UndoRedoStacks } from '../../src/labels/model.js';
import { LabelService, type FrameRef, type LabelInput } from '../../src/labels/service.js';
import type { LogInfo } from '../../src/logs/model.js';
import { frameKey } from '../../src/logs/model.js';
import { canonicalJson, verifyAuditChain } from '../../src/store/audit.js';
import { listAuditEvents } from '../../src/store/auditQuery.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { createFrameWriter, listDetections } from '../../src/store/detections.js';
import { checkMaterialisation, labelValueJson, listLabelEvents, valueOf } from '../../src/store/labelEvents.js';
import { recordLogOpened } from '../../src/store/logs.js';
import { createRun } from '../../src/store/runs.js';

const LOG_ID = 'labels0123456789';
const FRAMES: FrameRef[] = Array.from({ length: 20 }, (_, i) => ({ id: frameKey(LOG_ID, String(i * 100_000_000)), stampNs: String(i * 100_000_000) }));
const frame = (i: number) => FRAMES[i]!.id;

const root = mkdtempSync(join(tmpdir(), 'sightline-labels-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dbPath: string;
let db: Db;
let n = 0;

function registerLog(target: Db): void {
  recordLogOpened(target, { id: LOG_ID, path: '/synthetic/drive', name: 'drive', format: 'kitti', sizeBytes: 1, fingerprint: 'f'.repeat(64), frameCount: FRAMES.length, durationS: 1.9 }, 'setup');
}

/** A working set with a few labels copied from an imported ground-truth set. */
function workingSet(service: LabelService, labels: LabelInput[] = []): number {
  const gt = service.createSet({ logId: LOG_ID, name: `gt-${n}`, kind: 'ground_truth', labels, source: { format: 'test' } });
  return service.createWorkingSet({ fromSetId: gt.id, name: `work-${n}` }).id;
}

const car = (i: number, x = 10, extra: Partial<LabelInput> = {}): LabelInput => ({
  frameId: frame(i),
  class: 'Car',
  box2d: { sensorId: 'image_2', x1: 100, y1: 120, x2: 180, y2: 170 },
  box3d: { center: [x, 2, -0.8], size: [4.2, 1.8, 1.5], yaw: 0.1 },
  attributes: { occluded: 0 },
  ...extra,
});

beforeEach(() => {
  n++;
  dbPath = join(root, `w${n}.db`);
  db = openDatabase(dbPath);
  registerLog(db);
});
afterEach(() => db.close());

describe('events and derived state', () => {
  it('derives the state of every event kind, and the materialised rows equal the replay', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0), car(1, 20)]);
    const ctx = { setId, sessionId: 's1', reason: 'fix' };
    const [a, b] = service.listLabels(setId);
    expect(a!.revision).toBe(1);

    const created = service.createLabel(ctx, { frameId: frame(0), class: 'Pedestrian', box2d: { sensorId: 'image_2', x1: 5, y1: 6, x2: 25, y2: 60 } });
    const pedestrianId = created.events[0]!.labelId!;
    expect(created.events[0]).toMatchObject({ kind: 'create', baseRevision: 0, revision: 1, author: 'alice', reason: 'fix', labelId: created.events[0]!.id });

    const updated = service.updateLabel(ctx, a!.id, 1, { box3d: { center: [11, 2.5, -0.8], size: [4.2, 1.8, 1.5], yaw: 0.2 }, class: 'Van' });
    const ev = updated.events[0]!;
    expect(ev).toMatchObject({ kind: 'update', baseRevision: 1, revision: 2 });
    expect(ev.before!.box3d!.center).toEqual([10, 2, -0.8]);
    expect(ev.after!.box3d!.center).toEqual([11, 2.5, -0.8]);
    expect(ev.after!.class).toBe('Van');
    expect(ev.after!.box2d).toEqual(a!.box2d); // untouched fields carry over

    const deleted = service.deleteLabel(ctx, b!.id, 1);
    expect(deleted.labels[0]).toMatchObject({ id: b!.id, deleted: true, revision: 2 });
    expect(service.listLabels(setId).map((l) => l.id).sort()).toEqual([a!.id, pedestrianId].sort());

    // Predictions: a run with two detections; accept one, reject the other, then accept the rejected one.
    const run = createRun(db, { name: 'r', logId: LOG_ID, modelId: 'm', modelSha256: 'x', modelTask: 'detect2d', device: 'cpu', params: {}, softwareVersion: '0', framesTotal: 1 }, 'bob');
    createFrameWriter(db, { id: run.id, logId: LOG_ID }).write([
      {
        frameId: frame(2), frameIndex: 2, stampNs: FRAMES[2]!.stampNs, masks: [], pointLabels: [],
        detections: [
          { sensorId: 'image_2', label: 'car', modelClass: 'car', classIndex: 2, score: 0.9, box2d: { x1: 1, y1: 2, x2: 30, y2: 40 } },
          { sensorId: 'image_2', label: 'pedestrian', modelClass: 'person', classIndex: 0, score: 0.4, box2d: { x1: 50, y1: 60, x2: 70, y2: 99 } },
        ],
      },
    ]);
    const [d1, d2] = listDetections(db, run.id);
    const accepted = service.acceptDetection(ctx, d1!.id);
    expect(accepted.events[0]).toMatchObject({ kind: 'accept', detectionId: d1!.id });
    expect(accepted.labels[0]).toMatchObject({ class: 'car', score: 0.9, sourceDetectionId: d1!.id, box2d: { x1: 1, y1: 2, x2: 30, y2: 40 } });
    expect(() => service.acceptDetection(ctx, d1!.id)).toThrow(/already accepted/);
    service.rejectDetection(ctx, d2!.id);
    expect(service.rejections(setId)).toEqual([d2!.id]);
    const reAccepted = service.acceptDetection(ctx, d2!.id);
    expect(reAccepted.events.map((e) => e.kind)).toEqual(['unreject', 'accept']);
    expect(service.rejections(setId)).toEqual([]);
    // Rejecting an accepted detection deletes the label it became.
    const rejected = service.rejectDetection(ctx, d1!.id);
    expect(rejected.events.map((e) => e.kind)).toEqual(['delete', 'reject']);

    const check = service.verify(setId);
    expect(check.materialisation.mismatches).toEqual([]);
    expect(check.audit).toEqual({ ok: true, missing: [], mismatched: [] });
    expect(check.ok).toBe(true);
    expect(check.materialisation.events).toBe(listLabelEvents(db, { labelSetId: setId }).length);
    expect(verifyAuditChain(db).ok).toBe(true);
    // The fast serialiser the events use writes exactly the canonical JSON the audit trail hashes.
    for (const l of service.listLabels(setId, { includeDeleted: true })) expect(labelValueJson(valueOf(l))).toBe(canonicalJson(valueOf(l)));
    expect(labelValueJson({ ...valueOf(a!), class: 'x"y\\z', trackId: 'é', score: -0, attributes: { b: 1, a: 'q', c: false } })).toBe(canonicalJson({ ...valueOf(a!), class: 'x"y\\z', trackId: 'é', score: -0, attributes: { b: 1, a: 'q', c: false } }));

    // Ground truth is read-only.
    const gtId = service.getSet(setId).parentSetId!;
    expect(() => service.updateLabel({ ...ctx, setId: gtId }, service.listLabels(gtId)[0]!.id, 1, { class: 'X' })).toThrow(/read-only; create a working set/);
  });

  it('refuses bad values with clear messages and writes nothing for a failing multi-edit', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0)]);
    const ctx = { setId, sessionId: 's' };
    expect(() => service.createLabel(ctx, { frameId: frame(0), class: 'Car', box2d: { sensorId: 'image_2', x1: 10, y1: 0, x2: 5, y2: 4 } })).toThrow(/x2 < x1/);
    expect(() => service.createLabel(ctx, { frameId: frame(0), class: 'Car', box3d: { center: [0, 0, Number.NaN], size: [1, 1, 1], yaw: 0 } })).toThrow(/center\[2\] must be a finite number/);
    const before = listLabelEvents(db, { labelSetId: setId }).length;
    const [label] = service.listLabels(setId);
    expect(() =>
      service.applyEdits(ctx, [
        { kind: 'update', labelId: label!.id, expectedRevision: 1, patch: { class: 'Truck' } },
        { kind: 'delete', labelId: 999_999, expectedRevision: 1 },
      ]),
    ).toThrow(/No label with id 999999/);
    expect(listLabelEvents(db, { labelSetId: setId }).length).toBe(before);
    expect(service.getLabel(label!.id).class).toBe('Car');
  });

  it('has append-only event, op, comment and sign-off tables', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0)]);
    service.updateLabel({ setId, sessionId: 's' }, service.listLabels(setId)[0]!.id, 1, { class: 'Van' });
    const review = new ReviewService(db, { actor: 'alice' });
    const issue = review.openIssue({ setId, frameId: frame(0), title: 'box too wide', comment: 'see left edge' });
    review.signOff({ setId, stage: 'annotation', fromFrameId: frame(1), toFrameId: frame(3), force: true });
    for (const [table, where] of [['label_events', 'id > 0'], ['label_ops', 'id > 0'], ['issue_comments', `issue_id = ${issue.id}`], ['stage_signoffs', 'id > 0'], ['audit_events', 'seq > 0']]) {
      expect(() => db.prepare(`UPDATE ${table} SET ${table === 'audit_events' ? 'actor' : 'author'} = 'mallory' WHERE ${where}`).run(), table).toThrow(/append-only|no such column/);
      expect(() => db.prepare(`DELETE FROM ${table} WHERE ${where}`).run(), table).toThrow(/append-only/);
    }
    expect(() => db.prepare(`UPDATE stage_signoffs SET signed_by = 'mallory'`).run()).toThrow(/append-only/);
  });
});

describe('audit trail', () => {
  it('verifies the chain, and a tampered row is named by verifyAuditChain, LabelService.verify and `audit verify`', async () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0)]);
    const label = service.listLabels(setId)[0]!;
    const edit = service.updateLabel({ setId, sessionId: 's' }, label.id, 1, { box2d: { sensorId: 'image_2', x1: 101, y1: 120, x2: 181, y2: 170 } });
    service.updateLabel({ setId, sessionId: 's' }, label.id, 2, { class: 'Van' });
    const ok = await cli(registerAuditCommands, ['audit', 'verify', '--db', dbPath]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Audit chain intact: \d+ events, head [0-9a-f]{64}/);

    const target = listAuditEvents(db, { entityType: 'label', action: 'label.update', order: 'asc' })[0]!;
    expect((target.payload as { eventId: number }).eventId).toBe(edit.events[0]!.id);
    db.close();
    // An attacker with file access: drop the trigger, rewrite the recorded "before" box, put the trigger back.
    const raw = new Database(dbPath);
    raw.exec('DROP TRIGGER audit_events_no_update');
    const payload = raw.prepare('SELECT payload_json FROM audit_events WHERE seq = ?').pluck().get(target.seq) as string;
    raw.prepare('UPDATE audit_events SET payload_json = ? WHERE seq = ?').run(payload.replace('"x1":100', '"x1":99'), target.seq);
    raw.exec("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;");
    // ... and the label event itself, so the materialised state no longer matches a replay.
    raw.exec('DROP TRIGGER label_events_no_update');
    raw.prepare("UPDATE label_events SET author = 'mallory' WHERE id = ?").run(edit.events[0]!.id + 1);
    raw.close();
    db = openDatabase(dbPath);

    const chain = verifyAuditChain(db);
    expect(chain.ok).toBe(false);
    expect(chain.brokenAt).toEqual({ seq: target.seq, reason: 'content does not match its hash' });
    const broken = await cli(registerAuditCommands, ['audit', 'verify', '--db', dbPath]);
    expect(broken.code).toBe(1);
    expect(broken.stdout + broken.stderr).toContain(`event #${target.seq}`);
    expect(broken.stdout + broken.stderr).toContain('label.update');

    const labels = new LabelService(db).verify(setId);
    expect(labels.ok).toBe(false);
    expect(labels.materialisation.mismatches.map((m) => m.labelId)).toEqual([label.id]);
    expect(labels.audit.mismatched).toEqual([edit.events[0]!.id + 1]);
  });

  it('filters the audit log by entity, action prefix, frame and label set', async () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0), car(1)]);
    const [a] = service.listLabels(setId);
    service.updateLabel({ setId, sessionId: 's' }, a!.id, 1, { class: 'Van' });
    new ReviewService(db, { actor: 'carol' }).setFrameStatus({ setId, frameId: frame(1), status: 'done' });
    expect(listAuditEvents(db, { entityType: 'label', entityId: String(a!.id) }).map((e) => e.action)).toEqual(['label.update']);
    expect(listAuditEvents(db, { action: 'label_set.' }).map((e) => e.action)).toEqual(['label_set.create_working']);
    expect(listAuditEvents(db, { frameId: frame(1) }).map((e) => `${e.actor}:${e.action}`)).toEqual(['carol:review.status']);
    expect(listAuditEvents(db, { setId }).length).toBe(3);
    const json = await cli(registerAuditCommands, ['audit', 'log', '--db', dbPath, '--entity', `label:${a!.id}`, '--json']);
    expect(json.code).toBe(0);
    const events = JSON.parse(json.stdout) as { action: string; payload: { before: { class: string }; after: { class: string } } }[];
    expect(events).toHaveLength(1);
    expect(events[0]!.payload.before.class).toBe('Car');
    expect(events[0]!.payload.after.class).toBe('Van');
    const text = await cli(registerAuditCommands, ['audit', 'log', '--db', dbPath, '--frame', frame(1)]);
    expect(text.stdout).toContain('carol');
    expect(text.stdout).toContain('review.status');
  });
});

describe('concurrency', () => {
  it('refuses a stale update from a second connection, naming who changed the label and when; other edits survive', () => {
    const alice = new LabelService(db, { actor: 'alice', now: () => new Date('2025-03-01T10:00:00.000Z') });
    const setId = workingSet(alice, [car(0), car(0, 30)]);
    const [first, second] = alice.listLabels(setId);
    const db2 = openDatabase(dbPath);
    try {
      const bob = new LabelService(db2, { actor: 'bob', now: () => new Date('2025-03-01T10:00:05.000Z') });
      // Both loaded revision 1 of `first`; alice saves first.
      alice.updateLabel({ setId, sessionId: 'a', reason: 'tighter box' }, first!.id, 1, { box2d: { sensorId: 'image_2', x1: 102, y1: 120, x2: 178, y2: 170 } });
      let error: unknown;
      try {
        bob.updateLabel({ setId, sessionId: 'b' }, first!.id, 1, { class: 'Truck' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LabelConflictError);
      const conflict = error as LabelConflictError;
      expect(conflict.code).toBe('CONFLICT');
      expect(conflict.message).toContain(`label ${first!.id}`);
      expect(conflict.message).toContain('alice');
      expect(conflict.message).toContain('2025-03-01T10:00:00.000Z');
      expect(conflict.message).toContain('revision 1');
      expect(conflict.conflict).toMatchObject({ expectedRevision: 1, currentRevision: 2, changedBy: 'alice' });
      // Bob's edit of the other label, and his retry from the current revision, both land.
      bob.updateLabel({ setId, sessionId: 'b' }, second!.id, 1, { class: 'Truck' });
      bob.updateLabel({ setId, sessionId: 'b' }, first!.id, 2, { class: 'Van' });
      const final = alice.getLabel(first!.id);
      expect(final.box2d!.x1).toBe(102); // alice's edit kept
      expect(final.class).toBe('Van'); // bob's edit on top
      expect(alice.getLabel(second!.id).class).toBe('Truck');
      // A delete underneath an edit is reported as such.
      alice.deleteLabel({ setId, sessionId: 'a' }, second!.id, 2);
      expect(() => bob.updateLabel({ setId, sessionId: 'b' }, second!.id, 2, { class: 'Bus' })).toThrow(/was deleted — alice deleted it/);
      expect(new LabelService(db2).verify(setId).ok).toBe(true);
    } finally {
      db2.close();
    }
  });
});

describe('tracks and multi-select', () => {
  it('interpolates a track between keyframes 0 and 10: linear position and size, shortest-arc yaw across ±π, linear 2D', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const a = car(0, 10, { trackId: '7', box3d: { center: [10, 2, -0.8], size: [4, 1.8, 1.5], yaw: 3.0 }, box2d: { sensorId: 'image_2', x1: 100, y1: 100, x2: 200, y2: 150 } });
    const b = car(10, 30, { trackId: '7', box3d: { center: [30, -3, -0.6], size: [5, 2, 1.7], yaw: -3.0 }, box2d: { sensorId: 'image_2', x1: 300, y1: 110, x2: 420, y2: 180 } });
    const stale = car(4, 0, { trackId: '7', class: 'Car', box3d: { center: [0, 0, 0], size: [1, 1, 1], yaw: 0 } });
    const setId = workingSet(service, [a, b, stale, car(5, 50, { trackId: '8' })]);
    const result = service.interpolateTrack({ setId, sessionId: 's' }, { trackId: '7', fromFrameId: frame(0), toFrameId: frame(10), frames: FRAMES });
    expect(result.events).toHaveLength(9);
    expect(result.events.every((e) => e.interpolated)).toBe(true);
    expect(result.events.filter((e) => e.kind === 'update').map((e) => e.frameId)).toEqual([frame(4)]);

    const track = service.listLabels(setId, { trackId: '7' });
    expect(track).toHaveLength(11);
    // Frame 5 by hand: t = 0.5. Centre and size are midpoints; yaw goes the short way from 3.0 to −3.0
    // (+0.2832 rad through π), so halfway is 3.0 + 0.1416 = π (not 0, which the long way would give).
    const mid = service.listLabels(setId, { frameId: frame(5), trackId: '7' })[0]!;
    expect(mid.interpolated).toBe(true);
    expect(mid.box3d!.center[0]).toBeCloseTo(20, 12);
    expect(mid.box3d!.center[1]).toBeCloseTo(-0.5, 12);
    expect(mid.box3d!.center[2]).toBeCloseTo(-0.7, 12);
    expect(mid.box3d!.size).toEqual([4.5, 1.9, 1.6].map((v) => expect.closeTo(v, 12)));
    expect(Math.abs(mid.box3d!.yaw)).toBeCloseTo(Math.PI, 12);
    expect(mid.box2d).toEqual({ sensorId: 'image_2', x1: 200, y1: 105, x2: 310, y2: 165 });
    // Frame 3: t = 0.3.
    const f3 = service.listLabels(setId, { frameId: frame(3), trackId: '7' })[0]!;
    const shortArc = 2 * Math.PI - 6;
    expect(f3.box3d!.center[0]).toBeCloseTo(10 + 0.3 * 20, 12);
    expect(f3.box3d!.yaw).toBeCloseTo(3.0 + 0.3 * shortArc, 12);
    expect(f3.box2d!.x2).toBeCloseTo(200 + 0.3 * 220, 12);
    // Frame 8: t = 0.8, past π: wrapped into (−π, π].
    const f8 = service.listLabels(setId, { frameId: frame(8), trackId: '7' })[0]!;
    expect(f8.box3d!.yaw).toBeCloseTo(wrapAngle(3.0 + 0.8 * shortArc), 12);
    expect(f8.box3d!.yaw).toBeLessThan(0);
    expect(shortestArc(3.0, -3.0)).toBeCloseTo(shortArc, 12);
    // Keyframes untouched and not interpolated; another track untouched.
    expect(service.listLabels(setId, { frameId: frame(0), trackId: '7' })[0]!.interpolated).toBe(false);
    expect(service.listLabels(setId, { trackId: '8' })).toHaveLength(1);
    // Undo removes the created boxes and restores the replaced one.
    service.undo('s');
    expect(service.listLabels(setId, { trackId: '7' }).map((l) => l.frameId).sort()).toEqual([frame(0), frame(10), frame(4)].sort());
    expect(service.listLabels(setId, { frameId: frame(4), trackId: '7' })[0]!.box3d!.center).toEqual([0, 0, 0]);
    expect(service.verify(setId).ok).toBe(true);
  });

  it('copies boxes from the previous frame and snaps boxes to the image bounds', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [
      car(0, 10, { trackId: '1', box2d: { sensorId: 'image_2', x1: -20, y1: 100, x2: 80, y2: 400 } }),
      car(0, 20, { trackId: '2' }),
      car(1, 20, { trackId: '2' }),
    ]);
    const ctx = { setId, sessionId: 's' };
    const copied = service.copyFromFrame(ctx, { fromFrameId: frame(0), toFrameId: frame(1) });
    expect(copied.events).toHaveLength(1);
    expect(copied.skipped[0]).toMatch(/track 2 already has a box/);
    const copy = copied.labels[0]!;
    expect(copy).toMatchObject({ frameId: frame(1), trackId: '1', class: 'Car' });
    expect(copied.events[0]!.meta).toHaveProperty('copiedFrom');
    const snapped = service.snapToImage(ctx, {
      labels: service.listLabels(setId, { trackId: '1' }).map((l) => ({ id: l.id, expectedRevision: l.revision })),
      bounds: { image_2: { width: 1242, height: 375 } },
    });
    expect(snapped.labels.map((l) => l.box2d)).toEqual([
      { sensorId: 'image_2', x1: 0, y1: 100, x2: 80, y2: 375 },
      { sensorId: 'image_2', x1: 0, y1: 100, x2: 80, y2: 375 },
    ]);
    expect(service.stacks('s').undo.map((o) => o.description)).toEqual(['snap 2 boxes to the image', 'copy all labels from the previous frame']);
    service.undo('s');
    expect(service.listLabels(setId, { trackId: '1' }).every((l) => l.box2d!.x1 === -20)).toBe(true);
  });
});

describe('undo and redo', () => {
  it('restores the exact boxes through a chain of undos and redos, as compensating events', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service);
    const ctx = { setId, sessionId: 'win-1' };
    const snapshot = () => JSON.stringify(service.listLabels(setId).map(({ id, class: c, box2d, box3d, trackId, attributes }) => ({ id, c, box2d, box3d, trackId, attributes })));
    const states = [snapshot()];
    const id = service.createLabel(ctx, car(0)).events[0]!.labelId!;
    states.push(snapshot());
    service.updateLabel(ctx, id, 1, { box3d: { center: [10.123456789, 2.5, -0.7], size: [4.3, 1.9, 1.55], yaw: -0.4 } });
    states.push(snapshot());
    service.applyEdits(ctx, [
      { kind: 'update', labelId: id, expectedRevision: 2, patch: { class: 'Van', attributes: { occluded: 2 } } },
      { kind: 'create', value: car(0, 40, { trackId: '9' }) },
    ], 'multi');
    states.push(snapshot());
    service.deleteLabel(ctx, id, 3);
    states.push(snapshot());
    const eventsBefore = listLabelEvents(db, { labelSetId: setId }).length;

    expect(service.stacks('win-1').undo.map((o) => o.description)).toEqual([`delete label ${id}`, 'multi', `edit label ${id}`, 'create Car']);
    for (let i = states.length - 2; i >= 0; i--) {
      expect(service.undo('win-1')).not.toBeNull();
      expect(snapshot()).toBe(states[i]);
    }
    expect(service.undo('win-1')).toBeNull();
    expect(service.stacks('win-1').redo.map((o) => o.description)).toEqual(['create Car', `edit label ${id}`, 'multi', `delete label ${id}`]);
    for (let i = 1; i < states.length; i++) {
      service.redo('win-1');
      expect(snapshot()).toBe(states[i]);
    }
    expect(service.redo('win-1')).toBeNull();
    // Undo twice, then a new edit clears the redo stack.
    service.undo('win-1');
    service.undo('win-1');
    expect(snapshot()).toBe(states[2]);
    expect(service.stacks('win-1').redo).toHaveLength(2);
    service.updateLabel(ctx, id, service.getLabel(id).revision, { trackId: '3' });
    expect(service.stacks('win-1').redo).toEqual([]);
    // Nothing was deleted: the history only grew.
    expect(listLabelEvents(db, { labelSetId: setId }).length).toBeGreaterThan(eventsBefore);
    expect(listLabelEvents(db, { labelSetId: setId }).filter((e) => e.meta.compensates !== undefined).length).toBeGreaterThan(0);
    expect(checkMaterialisation(db, setId).ok).toBe(true);
    // Sessions are independent; the stacks come from the database, so a new service object sees them too.
    expect(new LabelService(db).stacks('win-1').undo[0]!.description).toBe(`edit label ${id}`);
    expect(service.stacks('other').undo).toEqual([]);
  });

  it('refuses to undo over someone else’s later change', () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0)]);
    const label = service.listLabels(setId)[0]!;
    service.updateLabel({ setId, sessionId: 'a' }, label.id, 1, { class: 'Van' });
    new LabelService(db, { actor: 'bob' }).updateLabel({ setId, sessionId: 'b' }, label.id, 2, { class: 'Truck' });
    expect(() => service.undo('a')).toThrow(LabelConflictError);
    expect(() => service.undo('a')).toThrow(/bob updated it/);
    expect(service.getLabel(label.id).class).toBe('Truck');
  });
});

describe('review', () => {
  it('tracks frame status, issues with comments and stage sign-off, each audited', async () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0)]);
    const review = new ReviewService(db, { actor: 'carol' });
    expect(review.frameStatus(setId, frame(2)).status).toBe('unreviewed');
    review.setFrameStatus({ setId, frameId: frame(2), status: 'in_review' });
    const done = review.setFrameStatus({ setId, frameId: frame(2), status: 'needs_attention', expectedRevision: 1 });
    expect(done.revision).toBe(2);
    expect(() => review.setFrameStatus({ setId, frameId: frame(2), status: 'done', expectedRevision: 1 })).toThrow(LabelConflictError);
    expect(() => review.setFrameStatus({ setId, frameId: frame(2), status: 'finished' as never })).toThrow(/Unknown review status/);

    const issue = review.openIssue({ setId, frameId: frame(3), title: 'missed cyclist', comment: 'behind the van' });
    const commented = new ReviewService(db, { actor: 'alice' }).comment({ issueId: issue.id, body: 'added it' });
    expect(commented.comments.map((c) => `${c.author}: ${c.body}`)).toEqual(['carol: behind the van', 'alice: added it']);
    expect(() => review.signOff({ setId, stage: 'validation', fromFrameId: frame(0), toFrameId: frame(5), frames: FRAMES })).toThrow(/needs attention.*open issue/);
    review.resolveIssue({ issueId: issue.id, comment: 'checked' });
    review.setFrameStatus({ setId, frameId: frame(2), status: 'done' });
    const signed = review.signOff({ setId, stage: 'validation', fromFrameId: frame(5), toFrameId: frame(0), frames: FRAMES, note: 'first half' });
    expect(signed).toMatchObject({ stage: 'validation', fromFrameId: frame(0), toFrameId: frame(5), frameCount: 6, signedBy: 'carol' });

    const summary = review.summary(setId, FRAMES.slice(0, 7));
    expect(summary[2]).toEqual({ frameId: frame(2), status: 'done', openIssues: 0, resolvedIssues: 0, signedStages: ['validation'] });
    expect(summary[3]).toMatchObject({ resolvedIssues: 1, openIssues: 0 });
    expect(summary[6]!.signedStages).toEqual([]);
    expect(review.listIssues(setId, { status: 'resolved' }).map((i) => i.id)).toEqual([issue.id]);

    const actions = listAuditEvents(db, { setId, order: 'asc' }).map((e) => e.action).filter((a) => !a.startsWith('label'));
    expect(actions).toEqual(['review.status', 'review.status', 'issue.open', 'issue.comment', 'issue.resolve', 'review.status', 'review.signoff']);
    expect(signed.auditSeq).toBe(listAuditEvents(db, { action: 'review.signoff' })[0]!.seq);
    expect(verifyAuditChain(db).ok).toBe(true);

    // The CLI shows and sets the same state.
    const status = await cli(registerLabelCommands, ['labels', 'review', '--db', dbPath, '--set', String(setId), '--frame', frame(4), '--status', 'done']);
    expect(status.code).toBe(0);
    expect(review.frameStatus(setId, frame(4)).status).toBe('done');
    const signoffs = await cli(registerLabelCommands, ['labels', 'signoffs', '--db', dbPath, '--set', String(setId), '--json']);
    expect(JSON.parse(signoffs.stdout)).toHaveLength(1);
  });
});

describe('API methods and handlers', () => {
  it('validates inputs with the zod schemas and serves them from the database, broadcasting changes', async () => {
    const service = new LabelService(db, { actor: 'alice' });
    const setId = workingSet(service, [car(0, 10, { trackId: '4' }), car(4, 30, { trackId: '4' })]);
    const changes: LabelsChangedEvent[] = [];
    const info = { path: '/synthetic/drive', sensors: [{ id: 'image_2', kind: 'camera', frameId: 'cam', intrinsics: { width: 1242, height: 375, K: [], P: [], distortionModel: '', D: [] } }] } as unknown as LogInfo;
    const handlers = createLabelHandlers({ db, actor: 'alice', frames: (id) => (id === LOG_ID ? FRAMES : undefined), logInfo: (id) => (id === LOG_ID ? info : undefined), onLabelsChanged: (e) => changes.push(e) });
    const call = <M extends LabelMethodName>(method: M, input: unknown) => handlers[method](labelMethods[method].input.parse(input) as LabelMethodInput<M>);

    expect(() => labelMethods.editLabels.input.parse({ setId, sessionId: 'w', edits: [{ kind: 'create', value: { frameId: frame(1), class: 'Car', box3d: { center: [0, 0, Number.NaN], size: [1, 1, 1], yaw: 0 } } }] })).toThrow(/received NaN|finite/);
    expect(() => labelMethods.editLabels.input.parse({ setId, sessionId: 'w', edits: [] })).toThrow();
    const edit = (await call('editLabels', { setId, sessionId: 'w', edits: [{ kind: 'create', value: { frameId: frame(1), class: 'Cyclist', box2d: { sensorId: 'image_2', x1: -5, y1: 10, x2: 40, y2: 400 } } }] })) as EditResult;
    expect(edit.labels[0]).toMatchObject({ class: 'Cyclist', box3d: null, trackId: null, attributes: {} });
    const snapped = (await call('snapLabelsToImage', { setId, sessionId: 'w', labels: [{ id: edit.labels[0]!.id, expectedRevision: 1 }] })) as EditResult;
    expect(snapped.labels[0]!.box2d).toEqual({ sensorId: 'image_2', x1: 0, y1: 10, x2: 40, y2: 375 });
    const interpolated = (await call('interpolateTrack', { setId, sessionId: 'w', trackId: '4', fromFrameId: frame(0), toFrameId: frame(4) })) as EditResult;
    expect(interpolated.events).toHaveLength(3);
    expect(changes.map((c) => c.frameIds.length)).toEqual([1, 1, 3]);
    expect(((await call('getUndoStacks', { sessionId: 'w' })) as UndoRedoStacks).undo.map((o) => o.description)).toEqual(['interpolate track 4', 'snap 1 box to the image', 'create Cyclist']);
    await call('undoLabels', { sessionId: 'w' });
    expect(changes.at(-1)!.setId).toBe(setId);
    expect((await call('listLabels', { setId, trackId: '4' }) as unknown[]).length).toBe(2);
    await call('setFrameReviewStatus', { setId, frameId: frame(1), status: 'needs_attention' });
    const summary = (await call('getReviewSummary', { setId })) as { frameId: string; status: string }[];
    expect(summary).toHaveLength(FRAMES.length);
    expect(summary[1]!.status).toBe('needs_attention');
    const audit = (await call('listAuditEvents', { frameId: frame(1), order: 'asc' })) as { action: string }[];
    // The cyclist created and snapped, the interpolated box created and undone, the status.
    expect(audit.map((a) => a.action)).toEqual(['label.create', 'label.update', 'label.create', 'label.delete', 'review.status']);
    const verified = (await call('verifyAudit', {})) as { chain: { ok: boolean }; labelSets: { ok: boolean }[] };
    expect(verified.chain.ok).toBe(true);
    expect(verified.labelSets.every((s) => s.ok)).toBe(true);
  });
});

describe('labels CLI', () => {
  it('lists sets, shows labels, creates a working set and verifies it', async () => {
    const service = new LabelService(db, { actor: 'alice' });
    const gt = service.createSet({ logId: LOG_ID, name: 'kitti-gt', kind: 'ground_truth', labels: [car(0), car(1)] });
    db.close();
    const created = await cli(registerLabelCommands, ['labels', 'create-working', '--db', dbPath, '--from', 'kitti-gt', '--name', 'fixes']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/Created working set \d+ 'fixes' from 'kitti-gt' \(2 labels\)/);
    const list = await cli(registerLabelCommands, ['labels', 'list', '--db', dbPath, '--json']);
    expect((JSON.parse(list.stdout) as { name: string; kind: string }[]).map((s) => `${s.name}:${s.kind}`)).toEqual(['kitti-gt:ground_truth', 'fixes:working']);
    const show = await cli(registerLabelCommands, ['labels', 'show', '--db', dbPath, '--set', 'fixes', '--frame', frame(1), '--json']);
    expect((JSON.parse(show.stdout) as { class: string }[]).map((l) => l.class)).toEqual(['Car']);
    const verify = await cli(registerLabelCommands, ['labels', 'verify', '--db', dbPath, '--set', 'fixes']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/materialised state equals the replay of 2 events/);
    const missing = await cli(registerLabelCommands, ['labels', 'show', '--db', dbPath, '--set', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No label set 'nope'; known sets: 1 'kitti-gt'/);
    db = openDatabase(dbPath);
    expect(gt.labelCount).toBe(2);
  });
});

/** Runs one of our command groups in-process, as `sightline` would (the lead wires them into the binary). */
async function cli(register: (program: Command) => void, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('sightline').exitOverride();
  register(program);
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  const saved = process.exitCode;
  process.exitCode = undefined;
  let code: number;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    // As bin.ts does it.
    const e = ApiError.from(error);
    stderr += `sightline: ${e.message}\n`;
    code = e.code === 'BAD_INPUT' ? 2 : 1;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = saved;
  }
  return { code, stdout, stderr };
}
