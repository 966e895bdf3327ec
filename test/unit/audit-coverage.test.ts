// Every change to data writes an audit event: a run's lifecycle (the store calls the inference
// pipeline makes), an import, a working set, label edits and their undo, review status, issues and
// comments, a stage sign-off (refused first, then forced) and an export, each performed through the
// label API handlers on a real SQLite file and the real KITTI object fixture. After each action the
// new audit rows are read back from SQLite and checked (action, entity, payload), the chain verifies,
// and the audit log's filters (author, action prefix, entity, frame, time range, text) select them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIoLog, type IoLog } from '../../src/io/logAccess.js';
import { createLabelHandlers } from '../../src/labels/handlers.js';
import type { AuditEntry, LabelSetRecord } from '../../src/labels/model.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { createRun, finishRun, markRunStarted } from '../../src/store/runs.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

const KITTI = fixture('kitti_object_vis', 'training');
const actor = 'auditor';

let root: string;
let db: Db;
let log: IoLog;

beforeAll(async () => {
  if (!hasFixtures) return;
  root = mkdtempSync(join(tmpdir(), 'sightline-audit-coverage-'));
  db = openDatabase(join(root, 'workspace.db'));
  log = await openIoLog(db, KITTI, actor);
});
afterAll(async () => {
  await log?.close();
  db?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Row {
  seq: number;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  payload_json: string;
}

describe.skipIf(!hasFixtures)(`audit coverage${hasFixtures ? '' : ` (${fixturesSkipReason})`}`, () => {
  it('writes an audit event for every change, chained, and the log filters select them', async () => {
    const api = createLabelHandlers({ db, actor, frames: () => log.frames, logInfo: () => log.info });
    let head = db.prepare('SELECT coalesce(max(seq), 0) FROM audit_events').pluck().get() as number;
    /** Runs an action; returns the audit rows it wrote (read straight from SQLite) after checking the chain. */
    const audited = async (what: () => Promise<unknown> | unknown): Promise<Row[]> => {
      await what();
      const rows = db.prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq').all(head) as Row[];
      head = rows.at(-1)?.seq ?? head;
      expect(verifyAuditChain(db).ok).toBe(true);
      return rows;
    };
    const actions = (rows: Row[]) => rows.map((r) => r.action);
    const payload = (row: Row) => JSON.parse(row.payload_json) as Record<string, unknown>;
    const frame = log.frames[1]!;

    // A model run: created, started, finished (the calls src/infer/pipeline/run.ts makes).
    let runId = 0;
    const created = await audited(() => {
      runId = createRun(db, { name: 'audit run', logId: log.logId, modelId: 'm', modelSha256: 'a'.repeat(64), modelTask: 'detect2d', device: 'cpu', params: {}, softwareVersion: 't', framesTotal: 3 }, actor).id;
    });
    expect(actions(created)).toEqual(['run.create']);
    const started = await audited(() => markRunStarted(db, runId, actor, false, 3));
    expect(actions(started)).toEqual(['run.start']);
    const finished = await audited(() => finishRun(db, runId, { status: 'done', framesPerS: 10, timings: {} }, actor));
    expect(actions(finished)).toEqual(['run.finish']);
    expect(finished[0]).toMatchObject({ entity_type: 'run', entity_id: String(runId), actor });

    // Import: one audit event for the whole set.
    let gt: LabelSetRecord | undefined;
    const imported = await audited(async () => {
      gt = ((await api.importLabels({ logId: log.logId, format: 'kitti', path: join(KITTI, 'label_2'), as: 'labels' })) as { labelSet: LabelSetRecord }).labelSet;
    });
    expect(actions(imported)).toEqual(['labels.import']);
    expect(payload(imported[0]!)).toMatchObject({ setId: gt!.id, count: gt!.labelCount });

    let work: LabelSetRecord | undefined;
    const copied = await audited(async () => {
      work = (await api.createWorkingSet({ fromSetId: gt!.id, name: 'review copy' })) as LabelSetRecord;
    });
    expect(actions(copied)).toEqual(['label_set.create_working']);
    const setId = work!.id;

    // Label edits: one event per label event, with before and after.
    const labels = (await api.listLabels({ setId, frameId: frame.id })) as Array<{ id: number; revision: number; class: string }>;
    const target = labels.find((l) => l.class !== 'DontCare')!;
    const edited = await audited(() =>
      api.editLabels({
        setId, sessionId: 'cov', reason: 'wrong class',
        edits: [
          { kind: 'update', labelId: target.id, expectedRevision: target.revision, patch: { class: 'Van' } },
          { kind: 'create', value: { frameId: frame.id, class: 'Car', box2d: { sensorId: 'image_2', x1: 10, y1: 10, x2: 60, y2: 40 } } },
        ],
      }),
    );
    expect(actions(edited)).toEqual(['label.update', 'label.create']);
    expect(payload(edited[0]!)).toMatchObject({ setId, frameId: frame.id, reason: 'wrong class', before: { class: target.class }, after: { class: 'Van' } });
    const undone = await audited(() => api.undoLabels({ sessionId: 'cov' }));
    expect(actions(undone).sort()).toEqual(['label.delete', 'label.update']);
    expect(undone.every((r) => payload(r).opKind === 'undo')).toBe(true);

    // Review: status, issue with comment thread, resolve.
    const status = await audited(() => api.setFrameReviewStatus({ setId, frameId: frame.id, status: 'needs_attention', note: 'van or car?' }));
    expect(status.map((r) => [r.action, r.entity_type, r.entity_id])).toEqual([['review.status', 'frame', frame.id]]);
    let issueId = 0;
    const opened = await audited(async () => {
      issueId = ((await api.openFrameIssue({ setId, frameId: frame.id, title: 'class unclear', labelId: target.id })) as { id: number }).id;
    });
    expect(actions(opened)).toEqual(['issue.open']);
    expect(actions(await audited(() => api.commentOnIssue({ issueId, body: 'looks like a van' })))).toEqual(['issue.comment']);

    // Sign-off: refused while the frame needs attention and has an open issue (nothing written), then forced.
    const range = { setId, stage: 'annotation' as const, fromFrameId: log.frames[0]!.id, toFrameId: log.frames.at(-1)!.id };
    const refused = await audited(() => expect(api.signOffStage(range)).rejects.toThrow(/needs attention.*open issue|Resolve them, or sign off with force/));
    expect(refused).toEqual([]);
    expect(actions(await audited(() => api.resolveIssue({ issueId, comment: 'van' })))).toEqual(['issue.resolve']);
    const forced = await audited(() => api.signOffStage({ ...range, note: 'first pass', force: true }));
    expect(actions(forced)).toEqual(['review.signoff']);
    expect(payload(forced[0]!)).toMatchObject({ stage: 'annotation', frameCount: log.frames.length, overridden: [expect.stringContaining('needs attention')] });
    const signOffs = (await api.listSignOffs({ setId })) as Array<{ auditSeq: number }>;
    expect(signOffs[0]!.auditSeq).toBe(forced[0]!.seq);

    // Export.
    const exported = await audited(() => api.exportLabels({ setId, format: 'kitti', out: join(root, 'export') }));
    expect(actions(exported)).toEqual(['labels.export']);

    // The audit log's filters, through the API.
    const list = (filter: Parameters<typeof api.listAuditEvents>[0]) => api.listAuditEvents(filter) as Promise<AuditEntry[]>;
    expect((await list({ action: 'issue.', order: 'asc' })).map((e) => e.action)).toEqual(['issue.open', 'issue.comment', 'issue.resolve']);
    expect((await list({ frameId: frame.id, setId })).map((e) => e.action)).toEqual(expect.arrayContaining(['review.status', 'issue.open', 'label.update']));
    expect((await list({ text: 'LOOKS LIKE A VAN' })).map((e) => e.action)).toEqual(['issue.comment']);
    expect((await list({ entityType: 'run', entityId: String(runId), order: 'asc' })).map((e) => e.action)).toEqual(['run.create', 'run.start', 'run.finish']);
    expect(await list({ actor: 'nobody' })).toEqual([]);
    const all = await list({ order: 'asc', limit: 10_000 });
    const at = all.find((e) => e.action === 'review.signoff')!.at;
    expect((await list({ since: at, until: at })).map((e) => e.action)).toContain('review.signoff');
    expect(await list({ until: '2000-01-01T00:00:00.000Z' })).toEqual([]);
    // Paging: pages of 5, newest first, cover the log exactly once.
    const paged: number[] = [];
    for (let before: number | undefined; ; ) {
      const page = await list({ limit: 5, order: 'desc', beforeSeq: before });
      paged.push(...page.map((e) => e.seq));
      if (page.length < 5) break;
      before = page.at(-1)!.seq;
    }
    expect(paged).toEqual(all.map((e) => e.seq).reverse());

    const verified = (await api.verifyAudit({})) as { chain: { ok: boolean; events: number }; labelSets: Array<{ ok: boolean }> };
    expect(verified.chain).toMatchObject({ ok: true, events: all.length });
    expect(verified.labelSets.every((s) => s.ok)).toBe(true);
  });
});
