// The label correction workflow over the store: label sets, edits as append-only events with
// optimistic concurrency, undo/redo as compensating events, keyframe interpolation, multi-select
// operations, and the checks that prove the materialised state and the audit trail match the events.
//
// Concurrency. Every write runs in a BEGIN IMMEDIATE transaction: it takes the database's write lock
// before reading the revisions it checks, so two processes cannot both pass the check and then
// overwrite each other (the second waits on busy_timeout, then sees the first one's revision and is
// refused with a LabelConflictError naming who changed the label and when).
//
// Durability. src/store/db.ts opens the file in WAL mode with synchronous=NORMAL. A commit appends the
// transaction's pages to the -wal file with write() before COMMIT returns, so once a call here returns
// (the edit is acknowledged) the data is in the OS page cache: a SIGKILL of this process, or a crash of
// the app, cannot lose it, and the next open recovers it from the WAL. Only an OS crash or power loss
// before the next checkpoint's fsync can drop the most recent commits; pass `synchronous: 'full'` to
// fsync the WAL on every commit where that matters (about 1–10 ms more per edit on an SSD).
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { defaultActor } from '../app/paths.js';
import type { Vec3 } from '../logs/model.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { listDetections, type DetectionRecord } from '../store/detections.js';
import {
  acceptedLabelOf, appendLabelEvent, batchDigest, checkMaterialisation, getLabelRecord, getOp, insertOp, isRejected,
  iterateEventDigests, lastDetectionEvent, lastLabelEvent, listLabelEvents, listLabelRecords, nextLabelEventId, listRejections, listSessionOps, previousLabelEvent, reduceLabel, valueOf,
  type AttributeValue, type LabelEvent, type LabelEventKind, type LabelFilter, type LabelOp, type LabelOpKind, type LabelRecord,
  type LabelValue,
} from '../store/labelEvents.js';
import { findLabelSetsByName, getLabelSet, insertLabelSet, listLabelSets, type LabelSetKind, type LabelSetRecord } from '../store/labelSets.js';
import { LabelConflictError, LabelError } from './errors.js';
import type { AuditCoverage, EditResult, LabelSetVerification, OpSummary, UndoRedoStacks } from './model.js';

export type { AuditCoverage, EditResult, LabelSetVerification, OpSummary, UndoRedoStacks } from './model.js';
import { clampBox2D, GEOMETRY_DERIVED_ATTRIBUTES, interpolateBox2D, interpolateBox3D, sameBox3D, stampOfFrameId } from './geometry.js';

export interface LabelServiceOptions {
  /** Author of every change (default: SIGHTLINE_USER, else the OS user). */
  actor?: string;
  /** fsync the WAL on every commit (see the durability note above). */
  synchronous?: 'normal' | 'full';
  /** Clock, for tests. */
  now?: () => Date;
}

/** A label as the caller supplies it: optional fields default to null / {}. */
export type LabelInput = Pick<LabelValue, 'frameId' | 'class'> & Partial<Omit<LabelValue, 'frameId' | 'class'>>;
/** The fields an update may change. */
export type LabelPatch = Partial<LabelValue>;

export type LabelEdit =
  | { kind: 'create'; value: LabelInput }
  | { kind: 'update'; labelId: number; expectedRevision: number; patch: LabelPatch }
  | { kind: 'delete'; labelId: number; expectedRevision: number };

export interface EditContext {
  setId: number;
  /** The editing session (one window or one CLI process); undo/redo stacks are per session. */
  sessionId: string;
  reason?: string;
}

/** A frame of the log, for operations that need the frames between two others. */
export interface FrameRef {
  id: string;
  stampNs: string;
}

export interface BulkLabelSetInput {
  logId: string;
  name: string;
  kind: Exclude<LabelSetKind, 'working'>;
  sourceRunId?: number | null;
  source?: Record<string, unknown>;
  labels: Iterable<LabelInput>;
  reason?: string;
  /** Audit action, e.g. 'labels.import'. */
  action?: string;
}

const TRACKABLE_ATTRIBUTE_TYPES = new Set(['string', 'number', 'boolean']);

export class LabelService {
  readonly actor: string;
  private readonly now: () => Date;

  constructor(
    readonly db: Db,
    options: LabelServiceOptions = {},
  ) {
    this.actor = options.actor ?? defaultActor();
    this.now = options.now ?? (() => new Date());
    if (options.synchronous === 'full') db.pragma('synchronous = FULL');
  }

  // ---- label sets ----

  listSets(filter: { logId?: string } = {}): LabelSetRecord[] {
    return listLabelSets(this.db, filter);
  }

  getSet(id: number, options: { count?: boolean } = {}): LabelSetRecord {
    const set = getLabelSet(this.db, id, options);
    if (!set) throw new LabelError(`No label set with id ${id}`, 'NOT_FOUND', { labelSetId: id });
    return set;
  }

  /** A set by id ("12") or by name (unique per log; pass logId where a name is on several logs). */
  resolveSet(ref: string | number, logId?: string): LabelSetRecord {
    const asId = typeof ref === 'number' ? ref : /^\d+$/.test(ref) ? Number(ref) : undefined;
    if (asId !== undefined) {
      const set = getLabelSet(this.db, asId);
      if (set) return set;
    }
    const named = findLabelSetsByName(this.db, String(ref), logId);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) {
      throw new LabelError(`Label set name '${ref}' is on ${named.length} logs (${named.map((s) => `${s.id} on ${s.logId}`).join(', ')}); use its id`, 'BAD_INPUT');
    }
    const known = this.listSets().slice(0, 20).map((s) => `${s.id} '${s.name}'`);
    throw new LabelError(`No label set '${ref}'${known.length ? `; known sets: ${known.join(', ')}` : ' (the database has none)'}`, 'NOT_FOUND');
  }

  /** Imported ground truth or predictions: one bulk op of create events and one audit event. */
  createSet(input: BulkLabelSetInput): LabelSetRecord {
    return this.write(() => {
      const at = this.timestamp();
      this.assertNameFree(input.logId, input.name);
      const setId = insertLabelSet(this.db, {
        logId: input.logId, name: input.name, kind: input.kind, sourceRunId: input.sourceRunId, source: input.source, createdAt: at, createdBy: this.actor,
      });
      this.bulkCreate(setId, input.labels, at, input.action ?? 'labels.import', input.reason, { logId: input.logId, name: input.name, kind: input.kind, source: input.source ?? {} });
      return this.getSet(setId);
    });
  }

  /** A predictions set holding a run's detections (each label keeps its detection id). */
  createSetFromRun(input: { runId: number; name?: string; reason?: string }): LabelSetRecord {
    const run = this.db.prepare('SELECT id, log_id, name FROM runs WHERE id = ?').get(input.runId) as { id: number; log_id: string; name: string } | undefined;
    if (!run) throw new LabelError(`No run with id ${input.runId}`, 'NOT_FOUND', { runId: input.runId });
    const detections = listDetections(this.db, run.id);
    return this.createSet({
      logId: run.log_id,
      name: input.name ?? `run ${run.id}: ${run.name}`,
      kind: 'predictions',
      sourceRunId: run.id,
      source: { run: run.id },
      labels: detections.map(labelFromDetection),
      reason: input.reason,
      action: 'labels.from_run',
    });
  }

  /** A working set: a copy of another set (as create events) that is then edited. */
  createWorkingSet(input: { fromSetId: number; name: string; reason?: string }): LabelSetRecord {
    return this.write(() => {
      const parent = this.getSet(input.fromSetId);
      const at = this.timestamp();
      this.assertNameFree(parent.logId, input.name);
      const setId = insertLabelSet(this.db, {
        logId: parent.logId, name: input.name, kind: 'working', sourceRunId: parent.sourceRunId, parentSetId: parent.id,
        source: { parentSetId: parent.id, parentName: parent.name }, createdAt: at, createdBy: this.actor,
      });
      const labels = listLabelRecords(this.db, parent.id);
      this.bulkCreate(setId, labels.map((l) => valueOf(l)), at, 'label_set.create_working', input.reason, { logId: parent.logId, name: input.name, kind: 'working', parentSetId: parent.id }, labels.map((l) => ({ copiedFrom: l.id })));
      return this.getSet(setId);
    });
  }

  // ---- reading ----

  listLabels(setId: number, filter: LabelFilter = {}): LabelRecord[] {
    this.getSet(setId, { count: false });
    return listLabelRecords(this.db, setId, filter);
  }

  getLabel(labelId: number): LabelRecord {
    const label = getLabelRecord(this.db, labelId);
    if (!label) throw new LabelError(`No label with id ${labelId}`, 'NOT_FOUND', { labelId });
    return label;
  }

  history(filter: { setId: number; labelId?: number; frameId?: string; afterId?: number; limit?: number }): LabelEvent[] {
    return listLabelEvents(this.db, { labelSetId: filter.setId, labelId: filter.labelId, frameId: filter.frameId, afterId: filter.afterId, limit: filter.limit });
  }

  rejections(setId: number): number[] {
    return listRejections(this.db, setId);
  }

  // ---- editing (working sets only) ----

  createLabel(ctx: EditContext, value: LabelInput): EditResult {
    return this.applyEdits(ctx, [{ kind: 'create', value }]);
  }

  updateLabel(ctx: EditContext, labelId: number, expectedRevision: number, patch: LabelPatch): EditResult {
    return this.applyEdits(ctx, [{ kind: 'update', labelId, expectedRevision, patch }]);
  }

  deleteLabel(ctx: EditContext, labelId: number, expectedRevision: number): EditResult {
    return this.applyEdits(ctx, [{ kind: 'delete', labelId, expectedRevision }]);
  }

  /** Several edits as one transaction and one undo step (multi-select moves, deletes, class changes). */
  applyEdits(ctx: EditContext, edits: readonly LabelEdit[], description?: string): EditResult {
    if (edits.length === 0) throw new LabelError('No edits given', 'BAD_INPUT');
    return this.operation(ctx, description ?? describeEdits(edits), (op) => {
      for (const edit of edits) {
        if (edit.kind === 'create') op.create(normalizeValue(edit.value));
        else if (edit.kind === 'update') op.update(edit.labelId, edit.expectedRevision, (current) => applyPatch(current, edit.patch));
        else if (edit.kind === 'delete') op.remove(edit.labelId, edit.expectedRevision);
        else throw new LabelError(`Unknown edit kind '${(edit as { kind: string }).kind}'`, 'BAD_INPUT');
      }
    });
  }

  /** Copies a predicted detection into the working set (clearing an earlier rejection of it). */
  acceptDetection(ctx: EditContext, detectionId: number): EditResult {
    return this.operation(ctx, `accept detection ${detectionId}`, (op) => {
      const detection = this.detection(ctx.setId, detectionId);
      const existing = acceptedLabelOf(this.db, ctx.setId, detectionId);
      if (existing) throw new LabelError(`Detection ${detectionId} is already accepted as label ${existing.id}`, 'BAD_INPUT', { labelId: existing.id });
      if (isRejected(this.db, ctx.setId, detectionId)) op.decide('unreject', detection);
      op.create(labelFromDetection(detection), { kind: 'accept', detectionId });
    });
  }

  /** Records that a predicted detection is wrong (deleting the label it was accepted as, if any). */
  rejectDetection(ctx: EditContext, detectionId: number): EditResult {
    return this.operation(ctx, `reject detection ${detectionId}`, (op) => {
      const detection = this.detection(ctx.setId, detectionId);
      if (isRejected(this.db, ctx.setId, detectionId)) throw new LabelError(`Detection ${detectionId} is already rejected`, 'BAD_INPUT');
      const accepted = acceptedLabelOf(this.db, ctx.setId, detectionId);
      if (accepted) op.remove(accepted.id, accepted.revision);
      op.decide('reject', detection);
    });
  }

  /** Copies labels of one frame into another (all, or the selected ones); tracks already there are skipped. */
  copyFromFrame(ctx: EditContext, input: { fromFrameId: string; toFrameId: string; labelIds?: readonly number[] }): EditResult {
    return this.operation(ctx, `copy ${input.labelIds?.length ?? 'all'} labels from the previous frame`, (op) => {
      const source = listLabelRecords(this.db, ctx.setId, { frameId: input.fromFrameId });
      const chosen = input.labelIds ? input.labelIds.map((id) => source.find((l) => l.id === id) ?? this.missingInFrame(id, input.fromFrameId)) : source;
      const targetTracks = new Set(listLabelRecords(this.db, ctx.setId, { frameId: input.toFrameId }).map((l) => l.trackId).filter((t) => t !== null));
      for (const label of chosen) {
        if (label.trackId !== null && targetTracks.has(label.trackId)) {
          op.skip(`label ${label.id}: track ${label.trackId} already has a box in ${input.toFrameId}`);
          continue;
        }
        op.create({ ...valueOf(label), frameId: input.toFrameId, sourceDetectionId: null }, { meta: { copiedFrom: label.id } });
      }
    });
  }

  /** Clamps the selected 2D boxes to their image bounds (width × height per camera). */
  snapToImage(ctx: EditContext, input: { labels: readonly { id: number; expectedRevision: number }[]; bounds: Record<string, { width: number; height: number }> }): EditResult {
    return this.operation(ctx, `snap ${plural(input.labels.length, 'box', 'boxes')} to the image`, (op) => {
      for (const ref of input.labels) {
        op.update(ref.id, ref.expectedRevision, (current) => {
          if (!current.box2d) throw new LabelError(`Label ${ref.id} has no 2D box to snap`, 'BAD_INPUT', { labelId: ref.id });
          const size = input.bounds[current.box2d.sensorId];
          if (!size) throw new LabelError(`No image size given for camera '${current.box2d.sensorId}' (label ${ref.id})`, 'BAD_INPUT', { labelId: ref.id });
          const box2d = clampBox2D(current.box2d, size.width, size.height);
          if (!box2d) throw new LabelError(`Label ${ref.id} lies entirely outside its ${size.width}×${size.height} image; delete it instead`, 'BAD_INPUT', { labelId: ref.id });
          return { ...current, box2d };
        });
      }
    });
  }

  /**
   * Keyframe interpolation: the track's boxes at two frames define the boxes of every frame between
   * them (by frame time): linear in position and size, shortest arc in yaw, linear 2D boxes. Existing
   * boxes of the track in between are replaced; missing ones are created. Events are marked interpolated.
   */
  interpolateTrack(ctx: EditContext, input: { trackId: string; fromFrameId: string; toFrameId: string; frames: readonly FrameRef[] }): EditResult {
    return this.operation(ctx, `interpolate track ${input.trackId}`, (op) => {
      const key = (frameId: string): LabelRecord => {
        const boxes = listLabelRecords(this.db, ctx.setId, { frameId, trackId: input.trackId });
        if (boxes.length !== 1) {
          throw new LabelError(`Track ${input.trackId} has ${boxes.length} boxes in keyframe ${frameId}; interpolation needs exactly one`, 'BAD_INPUT');
        }
        return boxes[0]!;
      };
      let a = key(input.fromFrameId);
      let b = key(input.toFrameId);
      let ta = frameStamp(input.frames, a.frameId);
      let tb = frameStamp(input.frames, b.frameId);
      if (tb < ta) [a, b, ta, tb] = [b, a, tb, ta];
      if (tb === ta) throw new LabelError('The two keyframes are the same frame', 'BAD_INPUT');
      const span = Number(tb - ta);
      const between = input.frames.filter((f) => BigInt(f.stampNs) > ta && BigInt(f.stampNs) < tb);
      const box2dOk = a.box2d && b.box2d && a.box2d.sensorId === b.box2d.sensorId;
      if (!a.box3d !== !b.box3d) op.skip(`only one keyframe has a 3D box: the in-between boxes get none`);
      for (const frame of between) {
        const t = Number(BigInt(frame.stampNs) - ta) / span;
        const value: LabelValue = {
          ...valueOf(a),
          attributes: Object.fromEntries(Object.entries(a.attributes).filter(([k]) => !GEOMETRY_DERIVED_ATTRIBUTES.includes(k))),
          frameId: frame.id,
          box3d: a.box3d && b.box3d ? interpolateBox3D(a.box3d, b.box3d, t) : null,
          box2d: box2dOk ? interpolateBox2D(a.box2d!, b.box2d!, t) : null,
          score: null,
          sourceDetectionId: null,
        };
        const existing = listLabelRecords(this.db, ctx.setId, { frameId: frame.id, trackId: input.trackId });
        if (existing.length > 1) throw new LabelError(`Track ${input.trackId} has ${existing.length} boxes in frame ${frame.id}; fix that before interpolating`, 'BAD_INPUT');
        const meta = { keyframes: [a.id, b.id], t };
        if (existing[0]) op.update(existing[0].id, existing[0].revision, () => value, { interpolated: true, meta });
        else op.create(value, { interpolated: true, meta });
      }
    });
  }

  // ---- undo / redo ----

  /** Undoes the session's latest operation with compensating events; null when there is nothing to undo. */
  undo(sessionId: string, reason?: string): EditResult | null {
    return this.write(() => {
      const target = this.stackOps(sessionId).undo.at(-1);
      if (target === undefined) return null;
      return this.compensate(sessionId, target, 'undo', reason);
    });
  }

  redo(sessionId: string, reason?: string): EditResult | null {
    return this.write(() => {
      const target = this.stackOps(sessionId).redo.at(-1);
      if (target === undefined) return null;
      return this.compensate(sessionId, target, 'redo', reason);
    });
  }

  stacks(sessionId: string): UndoRedoStacks {
    const { undo, redo, original } = this.stackOps(sessionId);
    const summary = (opId: number): OpSummary => {
      const op = getOp(this.db, original.get(opId) ?? opId)!;
      const events = this.db.prepare('SELECT count(*) FROM label_events WHERE op_id = ?').pluck().get(opId) as number;
      return { opId, labelSetId: op.labelSetId, description: op.description, author: op.author, at: op.at, events };
    };
    return { undo: [...undo].reverse().map(summary), redo: [...redo].reverse().map(summary) };
  }

  // ---- checks ----

  /** Materialised state == replay of the events, and every event matches what the audit trail recorded. */
  verify(setId: number): LabelSetVerification {
    this.getSet(setId, { count: false });
    const materialisation = checkMaterialisation(this.db, setId);
    const audit = this.auditCoverage(setId);
    return { ok: materialisation.ok && audit.ok, labelSetId: setId, materialisation, audit };
  }

  // ---- internals ----

  private timestamp(): string {
    return this.now().toISOString();
  }

  /** BEGIN IMMEDIATE: the write lock is held from the first read, so revision checks cannot go stale. */
  private write<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    return this.db.transaction(work).immediate();
  }

  private assertNameFree(logId: string, name: string): void {
    if (!name.trim()) throw new LabelError('A label set needs a name', 'BAD_INPUT');
    const clash = findLabelSetsByName(this.db, name, logId)[0];
    if (clash) throw new LabelError(`Log ${logId} already has a label set named '${name}' (id ${clash.id}); choose another name`, 'BAD_INPUT', { labelSetId: clash.id });
  }

  private bulkCreate(
    setId: number,
    labels: Iterable<LabelInput>,
    at: string,
    action: string,
    reason: string | undefined,
    payload: Record<string, unknown>,
    metas?: Record<string, unknown>[],
  ): void {
    const op = insertOp(this.db, { labelSetId: setId, sessionId: 'bulk', kind: 'bulk', targetOpId: null, description: action, author: this.actor, at });
    const digests: string[] = [];
    let first: number | null = null;
    let last: number | null = null;
    let i = 0;
    let nextId = nextLabelEventId(this.db); // the write lock is held: nobody else takes ids meanwhile
    for (const input of labels) {
      const value = normalizeValue(input);
      const { event: e, digest } = appendLabelEvent(this.db, {
        opId: op.id, labelSetId: setId, detectionId: null, kind: 'create', frameId: value.frameId, baseRevision: 0, revision: 1,
        before: null, after: value, interpolated: false, author: this.actor, at, reason: reason ?? null, meta: metas?.[i] ?? {},
      }, { id: nextId++ });
      digests.push(digest);
      first ??= e.id;
      last = e.id;
      i++;
    }
    appendAudit(this.db, {
      actor: this.actor, action, entityType: 'label_set', entityId: String(setId), at,
      payload: { ...payload, setId, opId: op.id, count: digests.length, firstEventId: first, lastEventId: last, digest: batchDigest(digests), reason },
    });
  }

  private detection(setId: number, detectionId: number): DetectionRecord & { logId: string } {
    const set = this.getSet(setId, { count: false });
    const row = this.db.prepare('SELECT run_id, log_id, frame_id FROM detections WHERE id = ?').get(detectionId) as { run_id: number; log_id: string; frame_id: string } | undefined;
    if (!row) throw new LabelError(`No detection with id ${detectionId}`, 'NOT_FOUND', { detectionId });
    if (row.log_id !== set.logId) throw new LabelError(`Detection ${detectionId} is on log ${row.log_id}, label set ${setId} on ${set.logId}`, 'BAD_INPUT');
    const detection = listDetections(this.db, row.run_id, { frameId: row.frame_id }).find((d) => d.id === detectionId)!;
    return { ...detection, logId: row.log_id };
  }

  private missingInFrame(labelId: number, frameId: string): never {
    throw new LabelError(`Label ${labelId} is not a live label of frame ${frameId}`, 'NOT_FOUND', { labelId, frameId });
  }

  /** Runs one user operation: checks, events, materialisation and audit in one IMMEDIATE transaction. */
  private operation(ctx: EditContext, description: string, build: (op: OpWriter) => void, kind: LabelOpKind = 'do', targetOpId: number | null = null): EditResult {
    if (!ctx.sessionId) throw new LabelError('An edit needs a session id (undo/redo stacks are per session)', 'BAD_INPUT');
    return this.write(() => {
      const set = this.getSet(ctx.setId, { count: false });
      if (set.kind !== 'working') {
        throw new LabelError(`Label set ${set.id} ('${set.name}') is ${set.kind === 'ground_truth' ? 'imported ground truth' : "a run's predictions"} and read-only; create a working set from it to edit`, 'READ_ONLY', { labelSetId: set.id });
      }
      const writer = new OpWriter(this.db, ctx, description, kind, targetOpId, this.actor, this.timestamp());
      build(writer);
      return writer.result();
    });
  }

  /** Op ids on each stack (bottom first), derived from the session's ops so they survive a restart. */
  private stackOps(sessionId: string): { undo: number[]; redo: number[]; original: Map<number, number> } {
    const undo: number[] = [];
    let redo: number[] = [];
    // opId -> the user op it ultimately stands for (redo ops and undo ops point back to it).
    const original = new Map<number, number>();
    for (const op of listSessionOps(this.db, sessionId)) {
      if (op.kind === 'do') {
        undo.push(op.id);
        redo = [];
      } else if (op.kind === 'undo') {
        const i = undo.lastIndexOf(op.targetOpId!);
        if (i >= 0) undo.splice(i, 1);
        redo.push(op.id);
        original.set(op.id, original.get(op.targetOpId!) ?? op.targetOpId!);
      } else if (op.kind === 'redo') {
        const i = redo.lastIndexOf(op.targetOpId!);
        if (i >= 0) redo.splice(i, 1);
        undo.push(op.id);
        original.set(op.id, original.get(op.targetOpId!) ?? op.targetOpId!);
      }
    }
    return { undo, redo, original };
  }

  /** Writes the inverse of op `targetId`'s events, newest first, refusing where someone changed them since. */
  private compensate(sessionId: string, targetId: number, kind: 'undo' | 'redo', reason?: string): EditResult {
    const target = getOp(this.db, targetId)!;
    const events = listLabelEvents(this.db, { opId: targetId });
    const original = getOp(this.db, this.stackOps(sessionId).original.get(targetId) ?? targetId)!;
    // Nothing the op touched may differ from what the op left (later undos in this session put it back
    // exactly); otherwise someone else changed it and compensating would overwrite their change.
    const lastOnLabel = new Map<number, LabelEvent>();
    const lastOnDetection = new Map<number, LabelEvent>();
    for (const e of events) {
      if (e.labelId !== null) lastOnLabel.set(e.labelId, e);
      else if (e.detectionId !== null) lastOnDetection.set(e.detectionId, e);
    }
    for (const [labelId, mine] of lastOnLabel) {
      const current = getLabelRecord(this.db, labelId)!;
      const left = reduceLabel(mine);
      if (current.deleted !== left.deleted || !canonicalEqual(valueOf(current), left.value)) throw conflictAfter(kind, labelId, mine, lastLabelEvent(this.db, labelId)!);
    }
    for (const [detectionId, mine] of lastOnDetection) {
      if (isRejected(this.db, mine.labelSetId, detectionId) !== (mine.kind === 'reject')) {
        throw conflictAfter(kind, null, mine, lastDetectionEvent(this.db, mine.labelSetId, detectionId)!);
      }
    }
    const ctx: EditContext = { setId: target.labelSetId, sessionId, reason };
    return this.operation(ctx, `${kind} ${original.description}`, (op) => {
      for (const e of [...events].reverse()) {
        const restoreFlag = (): boolean => (e.labelId !== null ? (previousLabelEvent(this.db, e.labelId, e.id)?.interpolated ?? false) : false);
        switch (e.kind) {
          case 'create':
          case 'accept': {
            const current = getLabelRecord(this.db, e.labelId!)!;
            op.remove(e.labelId!, current.revision, { meta: { compensates: e.id } });
            break;
          }
          case 'update': {
            const current = getLabelRecord(this.db, e.labelId!)!;
            op.update(e.labelId!, current.revision, () => e.before!, { interpolated: restoreFlag(), meta: { compensates: e.id } });
            break;
          }
          case 'delete': {
            op.restore(e.labelId!, e.before!, { interpolated: restoreFlag(), meta: { compensates: e.id } });
            break;
          }
          case 'reject':
          case 'unreject':
            op.decideRaw(e.kind === 'reject' ? 'unreject' : 'reject', e.detectionId!, e.frameId, { compensates: e.id });
            break;
        }
      }
    }, kind, targetId);
  }

  private auditCoverage(setId: number): AuditCoverage {
    const rows = this.db
      .prepare(
        `SELECT entity_type, payload_json FROM audit_events
          WHERE entity_type IN ('label', 'detection', 'label_set') AND json_valid(payload_json) AND json_extract(payload_json, '$.setId') = ?`,
      )
      .all(setId) as { entity_type: string; payload_json: string }[];
    const perEvent = new Map<number, string>();
    const bulk = new Map<number, { digest: string; count: number }>();
    for (const row of rows) {
      const p = JSON.parse(row.payload_json) as { eventId?: number; digest?: string; opId?: number; count?: number };
      if (typeof p.eventId === 'number' && typeof p.digest === 'string') perEvent.set(p.eventId, p.digest);
      else if (typeof p.opId === 'number' && typeof p.digest === 'string') bulk.set(p.opId, { digest: p.digest, count: p.count ?? -1 });
    }
    const missing: number[] = [];
    const mismatched: number[] = [];
    const bulkEvents = new Map<number, { first: number; count: number; hash: Hash }>();
    for (const e of iterateEventDigests(this.db, setId)) {
      const recorded = perEvent.get(e.id);
      if (recorded !== undefined) {
        if (recorded !== e.digest) mismatched.push(e.id);
      } else if (bulk.has(e.opId)) {
        let acc = bulkEvents.get(e.opId);
        if (!acc) bulkEvents.set(e.opId, (acc = { first: e.id, count: 0, hash: createHash('sha256') }));
        acc.count++;
        acc.hash.update(e.digest);
      } else {
        missing.push(e.id);
      }
    }
    for (const [opId, acc] of bulkEvents) {
      const recorded = bulk.get(opId)!;
      // A bulk op is recorded as one digest over all its events: a change shows as its first event.
      if (recorded.count !== acc.count || recorded.digest !== acc.hash.digest('hex')) mismatched.push(acc.first);
    }
    return { ok: missing.length === 0 && mismatched.length === 0, missing, mismatched };
  }
}

/** Collects one operation's events; each append also materialises and audits in the open transaction. */
class OpWriter {
  private op: LabelOp | undefined;
  private readonly events: LabelEvent[] = [];
  private readonly touched = new Set<number>();
  private readonly skipped: string[] = [];

  constructor(
    private readonly db: Db,
    private readonly ctx: EditContext,
    private readonly description: string,
    private readonly kind: LabelOpKind,
    private readonly targetOpId: number | null,
    private readonly author: string,
    private readonly at: string,
  ) {}

  skip(why: string): void {
    this.skipped.push(why);
  }

  create(value: LabelValue, options: { kind?: 'create' | 'accept'; detectionId?: number; interpolated?: boolean; meta?: Record<string, unknown> } = {}): LabelEvent {
    return this.append({
      kind: options.kind ?? 'create', labelId: null, detectionId: options.detectionId ?? null, frameId: value.frameId, baseRevision: 0, revision: 1,
      before: null, after: value, interpolated: options.interpolated ?? false, meta: options.meta ?? {},
    });
  }

  /** Re-creates a deleted label under its old id (undo of a delete, redo of a create). */
  restore(labelId: number, value: LabelValue, options: { interpolated?: boolean; meta?: Record<string, unknown> } = {}): LabelEvent {
    const current = getLabelRecord(this.db, labelId);
    if (!current || !current.deleted) throw new LabelError(`Label ${labelId} is not deleted; nothing to restore`, 'BAD_INPUT', { labelId });
    return this.append({
      kind: 'create', labelId, detectionId: null, frameId: value.frameId, baseRevision: current.revision, revision: current.revision + 1,
      before: null, after: value, interpolated: options.interpolated ?? false, meta: options.meta ?? {},
    });
  }

  update(labelId: number, expectedRevision: number, change: (current: LabelValue) => LabelValue, options: { interpolated?: boolean; meta?: Record<string, unknown> } = {}): LabelEvent | undefined {
    const current = this.current(labelId, expectedRevision, 'update');
    const before = valueOf(current);
    const after = normalizeValue(change(before));
    if (canonicalEqual(before, after) && current.interpolated === (options.interpolated ?? false)) {
      this.skip(`label ${labelId}: unchanged`);
      return undefined;
    }
    return this.append({
      kind: 'update', labelId, detectionId: null, frameId: after.frameId, baseRevision: current.revision, revision: current.revision + 1,
      before, after, interpolated: options.interpolated ?? false, meta: options.meta ?? {},
    });
  }

  remove(labelId: number, expectedRevision: number, options: { meta?: Record<string, unknown> } = {}): LabelEvent {
    const current = this.current(labelId, expectedRevision, 'delete');
    return this.append({
      kind: 'delete', labelId, detectionId: null, frameId: current.frameId, baseRevision: current.revision, revision: current.revision + 1,
      before: valueOf(current), after: null, interpolated: false, meta: options.meta ?? {},
    });
  }

  decide(kind: 'reject' | 'unreject', detection: DetectionRecord): LabelEvent {
    return this.decideRaw(kind, detection.id, detection.frameId, {});
  }

  decideRaw(kind: 'reject' | 'unreject', detectionId: number, frameId: string, meta: Record<string, unknown>): LabelEvent {
    return this.append({ kind, labelId: null, detectionId, frameId, baseRevision: 0, revision: 0, before: null, after: null, interpolated: false, meta });
  }

  result(): EditResult {
    const labels = [...this.touched].map((id) => getLabelRecord(this.db, id)!);
    return { opId: this.op?.id ?? null, events: this.events, labels, skipped: this.skipped };
  }

  private current(labelId: number, expectedRevision: number, what: 'update' | 'delete'): LabelRecord {
    const current = getLabelRecord(this.db, labelId);
    if (!current) throw new LabelError(`No label with id ${labelId}`, 'NOT_FOUND', { labelId });
    if (current.labelSetId !== this.ctx.setId) throw new LabelError(`Label ${labelId} belongs to label set ${current.labelSetId}, not ${this.ctx.setId}`, 'BAD_INPUT', { labelId });
    if (current.revision !== expectedRevision || current.deleted) {
      const last = lastLabelEvent(this.db, labelId);
      const who = last ? `${last.author} ${describeKind(last.kind)} it${last.revision !== current.revision ? '' : ` (revision ${last.revision})`} at ${last.at}${last.reason ? ` ("${last.reason}")` : ''}` : 'someone changed it';
      const message = current.deleted
        ? `Cannot ${what} label ${labelId}: it was deleted — ${who}. Reload the frame.`
        : `Cannot ${what} label ${labelId}: it changed underneath you. Your edit starts from revision ${expectedRevision}, but it is at revision ${current.revision}: ${who}. Reload the label and apply your change again.`;
      throw new LabelConflictError(message, {
        labelId, expectedRevision, currentRevision: current.revision, changedBy: last?.author, changedAt: last?.at, eventId: last?.id,
      });
    }
    return current;
  }

  private append(e: Omit<LabelEvent, 'id' | 'opId' | 'labelSetId' | 'author' | 'at' | 'reason' | 'labelId'> & { labelId: number | null }): LabelEvent {
    this.op ??= insertOp(this.db, {
      labelSetId: this.ctx.setId, sessionId: this.ctx.sessionId, kind: this.kind, targetOpId: this.targetOpId, description: this.description, author: this.author, at: this.at,
    });
    const { event, digest } = appendLabelEvent(this.db, {
      ...e, opId: this.op.id, labelSetId: this.ctx.setId, author: this.author, at: this.at, reason: this.ctx.reason ?? null,
    });
    this.events.push(event);
    if (event.labelId !== null) this.touched.add(event.labelId);
    appendAudit(this.db, {
      actor: this.author,
      action: `label.${event.kind}`,
      entityType: event.labelId !== null ? 'label' : 'detection',
      entityId: String(event.labelId ?? event.detectionId),
      at: this.at,
      payload: {
        setId: event.labelSetId, frameId: event.frameId, eventId: event.id, opId: event.opId, opKind: this.kind, sessionId: this.ctx.sessionId,
        labelId: event.labelId, detectionId: event.detectionId, baseRevision: event.baseRevision, revision: event.revision,
        before: event.before, after: event.after, interpolated: event.interpolated, reason: event.reason, digest,
      },
    });
    return event;
  }
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

function describeEdits(edits: readonly LabelEdit[]): string {
  if (edits.length > 1) {
    const kinds = new Set(edits.map((e) => e.kind));
    return kinds.size === 1 ? `${[...kinds][0]} ${edits.length} labels` : `${edits.length} edits`;
  }
  const e = edits[0]!;
  return e.kind === 'create' ? `create ${e.value.class}` : e.kind === 'update' ? `edit label ${e.labelId}` : `delete label ${e.labelId}`;
}

const describeKind = (kind: LabelEventKind): string =>
  ({ create: 'created', update: 'updated', delete: 'deleted', accept: 'accepted', reject: 'rejected', unreject: 'un-rejected' })[kind];

function conflictAfter(kind: 'undo' | 'redo', labelId: number | null, mine: LabelEvent, now: LabelEvent): LabelConflictError {
  const what = labelId !== null ? `label ${labelId}` : `detection ${mine.detectionId}`;
  return new LabelConflictError(
    `Cannot ${kind}: ${what} changed after this edit — ${now.author} ${describeKind(now.kind)} it at ${now.at}. ${kind === 'undo' ? 'Undoing' : 'Redoing'} would overwrite that change.`,
    { labelId: labelId ?? undefined, detectionId: mine.detectionId ?? undefined, changedBy: now.author, changedAt: now.at, eventId: now.id, currentRevision: now.revision },
  );
}

function frameStamp(frames: readonly FrameRef[], frameId: string): bigint {
  const frame = frames.find((f) => f.id === frameId);
  if (frame) return BigInt(frame.stampNs);
  const stamp = stampOfFrameId(frameId);
  if (stamp === undefined) throw new LabelError(`Frame ${frameId} is not among the given frames`, 'BAD_INPUT', { frameId });
  return stamp;
}

const canonicalEqual = (a: LabelValue, b: LabelValue): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new LabelError(`${what} must be a finite number, got ${JSON.stringify(value)}`, 'BAD_INPUT');
  return value;
}

/** The current value with the patch's defined fields applied (undefined means "leave as is"). */
export function applyPatch(current: LabelValue, patch: LabelPatch): LabelValue {
  const next: LabelValue = { ...current };
  for (const [key, value] of Object.entries(patch) as [keyof LabelValue, unknown][]) {
    if (value === undefined || key === 'sourceDetectionId') continue;
    (next as unknown as Record<string, unknown>)[key] = value;
  }
  return normalizeValue(patch.attributes === undefined ? dropStaleDerived(current, next) : next);
}

/** `next` without geometry-derived attributes when its 3D box moved (see GEOMETRY_DERIVED_ATTRIBUTES). */
function dropStaleDerived(current: LabelValue, next: LabelValue): LabelValue {
  if (sameBox3D(current.box3d, next.box3d)) return next;
  const attributes = { ...next.attributes };
  for (const key of GEOMETRY_DERIVED_ATTRIBUTES) delete attributes[key];
  return { ...next, attributes };
}

/** Validates and fills a label value: clear errors for bad boxes instead of storing them. */
export function normalizeValue(input: LabelInput): LabelValue {
  if (typeof input.frameId !== 'string' || !input.frameId) throw new LabelError('A label needs a frameId', 'BAD_INPUT');
  if (typeof input.class !== 'string' || !input.class.trim()) throw new LabelError(`A label needs a class (frame ${input.frameId})`, 'BAD_INPUT');
  const where = `label '${input.class}' in ${input.frameId}`;
  let box2d = null;
  if (input.box2d) {
    const b = input.box2d;
    if (typeof b.sensorId !== 'string' || !b.sensorId) throw new LabelError(`${where}: a 2D box needs the camera's sensorId`, 'BAD_INPUT');
    box2d = { sensorId: b.sensorId, x1: finite(b.x1, `${where}: x1`), y1: finite(b.y1, `${where}: y1`), x2: finite(b.x2, `${where}: x2`), y2: finite(b.y2, `${where}: y2`) };
    if (box2d.x2 < box2d.x1 || box2d.y2 < box2d.y1) throw new LabelError(`${where}: 2D box has x2 < x1 or y2 < y1 (${box2d.x1}, ${box2d.y1}, ${box2d.x2}, ${box2d.y2})`, 'BAD_INPUT');
  }
  let box3d = null;
  if (input.box3d) {
    const b = input.box3d;
    if (!Array.isArray(b.center) || b.center.length !== 3 || !Array.isArray(b.size) || b.size.length !== 3) {
      throw new LabelError(`${where}: a 3D box needs center [x, y, z] and size [length, width, height]`, 'BAD_INPUT');
    }
    const center = b.center.map((v, i) => finite(v, `${where}: center[${i}]`)) as Vec3;
    const size = b.size.map((v, i) => finite(v, `${where}: size[${i}]`)) as Vec3;
    if (size.some((v) => v < 0)) throw new LabelError(`${where}: 3D box size must not be negative (${size.join(', ')})`, 'BAD_INPUT');
    box3d = { center, size, yaw: finite(b.yaw, `${where}: yaw`) };
  }
  const attributes: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(input.attributes ?? {})) {
    if (!TRACKABLE_ATTRIBUTE_TYPES.has(typeof v) || (typeof v === 'number' && !Number.isFinite(v))) {
      throw new LabelError(`${where}: attribute '${k}' must be a string, a finite number or a boolean`, 'BAD_INPUT');
    }
    attributes[k] = v;
  }
  const score = input.score === undefined || input.score === null ? null : finite(input.score, `${where}: score`);
  const trackId = input.trackId === undefined || input.trackId === null || input.trackId === '' ? null : String(input.trackId);
  return { frameId: input.frameId, class: input.class, box2d, box3d, trackId, score, attributes, sourceDetectionId: input.sourceDetectionId ?? null };
}

/** A run's detection as a label value (the label remembers which detection it came from). */
export function labelFromDetection(d: DetectionRecord): LabelValue {
  const attributes: Record<string, AttributeValue> = {};
  if (d.modelClass && d.modelClass !== d.class) attributes.modelClass = d.modelClass;
  return {
    frameId: d.frameId,
    class: d.class,
    box2d: d.box2d ? { sensorId: d.sensorId, x1: d.box2d[0], y1: d.box2d[1], x2: d.box2d[2], y2: d.box2d[3] } : null,
    box3d: d.box3d ? { center: [d.box3d.cx, d.box3d.cy, d.box3d.cz], size: [d.box3d.length, d.box3d.width, d.box3d.height], yaw: d.box3d.yaw } : null,
    trackId: d.trackId,
    score: d.score,
    attributes,
    sourceDetectionId: d.id,
  };
}

/** A fresh session id for a window or a CLI process. */
export const newSessionId = (): string => randomUUID();
