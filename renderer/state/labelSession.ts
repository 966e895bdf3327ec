// The label editing session of this window: the working label set for the open log, the labels of the
// frame on screen, the selected labels, local drag previews, and the actions that write corrections
// through the API (one undo step each). The camera edit layer, the Labels panel, the 3D editor and the
// keyboard shortcuts all drive this one controller; state lives in `labelSessionStore`.
//
// Edits send the revision they saw: a label changed elsewhere in between is refused by the server
// (CONFLICT); the refusal is shown and the frame reloaded. Updates send only the fields they change, so
// moving a 2D box keeps its 3D box (and the reverse) exactly as stored.
import { ApiError, type MethodOutput, type SightlineApi } from '../../src/api/contract.js';
import type { Vec3 } from '../../src/logs/model.js';
import { appStore, toggleLayer } from './appState.js';
import type { Session } from './session.js';
import { useSession } from '../app/sessionContext.js';
import { followApp, perSession } from './sessionFollower.js';
import { createStore, useStore } from './store.js';

export type LabelRecord = MethodOutput<'listLabels'>[number];
/** A 2D box in pixels of one camera. */
export type LabelBox2D = NonNullable<LabelRecord['box2d']>;
/** A 3D box in the ego frame: centre, size [length, width, height], yaw about +z. */
export type LabelBox3D = NonNullable<LabelRecord['box3d']>;
export type LabelValue = Pick<LabelRecord, 'frameId' | 'class' | 'box2d' | 'box3d' | 'trackId' | 'score' | 'attributes' | 'sourceDetectionId'>;
export type LabelSetRecord = MethodOutput<'listLabelSets'>[number];
export type EditResult = MethodOutput<'editLabels'>;
export type UndoStacks = MethodOutput<'getUndoStacks'>;
/** Fields an update changes (absent fields stay as stored; null clears a box or the track). */
export type LabelPatch = Partial<Pick<LabelValue, 'class' | 'box2d' | 'box3d' | 'trackId' | 'attributes'>>;

export type EditTool = 'select' | 'draw';

/** One turn of the selected 3D boxes (`,` / `.` and the 3D toolbar's buttons). */
export const ROTATE_STEP = (5 * Math.PI) / 180;

/** Where a new working set comes from. */
export type WorkingSetSource = { kind: 'groundTruth' } | { kind: 'set'; setId: number } | { kind: 'run'; runId: number };

export interface LabelSessionState {
  logId: string | null;
  /** Every label set of the open log (ground truth, predictions, working). */
  sets: LabelSetRecord[];
  /** The working set being edited; null until one is chosen or created. */
  setId: number | null;
  /** The frame `labels` belong to. */
  frameId: string | null;
  /** Live labels of the frame on screen, in the active set. */
  labels: LabelRecord[];
  /** Selected label ids (multi-select). */
  selected: number[];
  /** Local previews while dragging (camera or 3D), by label id; committed as one edit on release. */
  preview: ReadonlyMap<number, LabelPatch>;
  /** Detections of this frame rejected in the active set (detection ids). */
  rejected: number[];
  editMode: boolean;
  tool: EditTool;
  /** Class given to new boxes. */
  drawClass: string;
  /** Classes offered by the class picker: those seen in the log, its runs and the set. */
  knownClasses: string[];
  stacks: UndoStacks;
  busy: string | null;
  error: string | null;
  /** The server's refusal of a stale edit (the frame was reloaded). */
  conflict: string | null;
}

const EMPTY_STACKS: UndoStacks = { undo: [], redo: [] };

export const labelSessionStore = createStore<LabelSessionState>({
  logId: null,
  sets: [],
  setId: null,
  frameId: null,
  labels: [],
  selected: [],
  preview: new Map(),
  rejected: [],
  editMode: false,
  tool: 'select',
  drawClass: 'Car',
  knownClasses: [],
  stacks: EMPTY_STACKS,
  busy: null,
  error: null,
  conflict: null,
});

/** The undo/redo session of this window (kept across reloads of the same tab). */
export const labelSessionId: string = (() => {
  const key = 'sightline.labelSessionId';
  try {
    const stored = window.sessionStorage.getItem(key);
    if (stored) return stored;
    const id = newId();
    window.sessionStorage.setItem(key, id);
    return id;
  } catch {
    return newId();
  }
})();

function newId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

const messageOf = (error: unknown): string => ApiError.from(error).message;

/** A detection's renderer id (renderer/state/detections.ts `detectionId`): run, frame and index. */
export function parseDetectionRef(id: string): { runId: number; frameId: string; index: number } | null {
  const m = /^run(\d+):(.+):(\d+)$/.exec(id);
  return m ? { runId: Number(m[1]), frameId: m[2]!, index: Number(m[3]) } : null;
}

/** A label with its local preview applied (what to draw while dragging). */
export function withPreview(label: LabelRecord, preview: ReadonlyMap<number, LabelPatch>): LabelRecord {
  const patch = preview.get(label.id);
  return patch ? { ...label, ...patch } : label;
}

/** Normalised 2D box: x1 ≤ x2, y1 ≤ y2. */
export function orderedBox(box: LabelBox2D): LabelBox2D {
  return { sensorId: box.sensorId, x1: Math.min(box.x1, box.x2), y1: Math.min(box.y1, box.y2), x2: Math.max(box.x1, box.x2), y2: Math.max(box.y1, box.y2) };
}

export interface LabelSessionHost {
  readonly api: SightlineApi;
  notify(level: 'info' | 'warning' | 'error', message: string): void;
}

export class LabelSessionController {
  /** Bumped per frame/set load so a slow answer for an older frame never lands. */
  private generation = 0;
  /** gt2d layer state before edit mode hid it (the working copy is drawn instead). */
  private gt2dBeforeEdit: boolean | null = null;

  constructor(private readonly host: LabelSessionHost) {}

  private get api(): SightlineApi {
    return this.host.api;
  }

  get state(): LabelSessionState {
    return labelSessionStore.get();
  }

  /** The frame on screen (the cursor). */
  currentFrameId(): string | null {
    const { stubs, frameIndex } = appStore.get();
    return stubs[frameIndex]?.id ?? null;
  }

  private async guard<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
    labelSessionStore.set({ busy: what, error: null });
    try {
      return await work();
    } catch (error) {
      const api = ApiError.from(error);
      if (api.code === 'CONFLICT') {
        labelSessionStore.set({ conflict: api.message, preview: new Map() });
        this.host.notify('warning', api.message);
        await this.loadFrame();
      } else {
        labelSessionStore.set({ error: api.message });
      }
      return undefined;
    } finally {
      labelSessionStore.set({ busy: null });
    }
  }

  // ---- sets ----------------------------------------------------------------------------------

  /** Label sets of the log; keeps the active working set when it still exists, else the newest working set. */
  async loadSets(logId: string | null): Promise<void> {
    if (logId !== labelSessionStore.get().logId) {
      this.generation++;
      labelSessionStore.set({ logId, sets: [], setId: null, frameId: null, labels: [], selected: [], preview: new Map(), rejected: [], error: null, conflict: null });
    }
    if (!logId) return;
    const sets = await this.guard('Loading label sets', () => this.api.listLabelSets({ logId }));
    if (!sets || labelSessionStore.get().logId !== logId) return;
    const working = sets.filter((s) => s.kind === 'working');
    const current = labelSessionStore.get().setId;
    const keep = working.some((s) => s.id === current) ? current : (working[working.length - 1]?.id ?? null);
    labelSessionStore.set({ sets });
    await this.chooseSet(keep);
  }

  async chooseSet(setId: number | null): Promise<void> {
    if (setId !== labelSessionStore.get().setId) labelSessionStore.set({ setId, labels: [], selected: [], preview: new Map(), rejected: [], conflict: null });
    await Promise.all([this.loadFrame(), this.refreshStacks()]);
  }

  /** Creates a working set (from the log's ground truth, another set or a run) and makes it active. */
  async createWorkingSet(source: WorkingSetSource, name?: string): Promise<LabelSetRecord | undefined> {
    const logId = labelSessionStore.get().logId;
    if (!logId) return undefined;
    const created = await this.guard('Creating working set', async () => {
      const parentId = await this.parentSet(logId, source);
      const sets = await this.api.listLabelSets({ logId });
      const parent = sets.find((s) => s.id === parentId);
      return this.api.createWorkingSet({ fromSetId: parentId, name: name?.trim() || uniqueName(sets, `${parent?.name ?? 'labels'} (working)`) });
    });
    if (!created) return undefined;
    labelSessionStore.set({ setId: created.id });
    await this.loadSets(logId);
    return created;
  }

  /** The set a working copy starts from; ground truth and run sets are made once and reused. */
  private async parentSet(logId: string, source: WorkingSetSource): Promise<number> {
    if (source.kind === 'set') return source.setId;
    const sets = await this.api.listLabelSets({ logId });
    if (source.kind === 'run') {
      const existing = sets.find((s) => s.kind === 'predictions' && s.sourceRunId === source.runId);
      return existing?.id ?? (await this.api.createLabelSetFromRun({ runId: source.runId })).id;
    }
    const existing = sets.find((s) => s.kind === 'ground_truth' && typeof s.source.format === 'string' && s.source.format.startsWith('log:'));
    return existing?.id ?? (await this.api.importLogGroundTruth({ logId })).id;
  }

  // ---- the frame -----------------------------------------------------------------------------

  /** Labels of the frame on screen and its rejected detections; clears the selection on a new frame. */
  async loadFrame(): Promise<void> {
    const { setId } = labelSessionStore.get();
    const frameId = this.currentFrameId();
    const generation = ++this.generation;
    if (setId === null || !frameId) {
      labelSessionStore.set({ frameId, labels: [], rejected: [] });
      return;
    }
    try {
      const [labels, history] = await Promise.all([this.api.listLabels({ setId, frameId }), this.api.getLabelHistory({ setId, frameId, limit: 10_000 })]);
      if (generation !== this.generation) return;
      const rejected = new Set<number>();
      for (const e of history) {
        if (e.detectionId === null) continue;
        if (e.kind === 'reject') rejected.add(e.detectionId);
        else if (e.kind === 'unreject' || e.kind === 'accept') rejected.delete(e.detectionId);
      }
      labelSessionStore.set((s) => {
        const live = new Set(labels.map((l) => l.id));
        const sameFrame = s.frameId === frameId;
        return {
          frameId,
          labels,
          rejected: [...rejected],
          selected: sameFrame ? s.selected.filter((id) => live.has(id)) : [],
          preview: sameFrame ? s.preview : new Map(),
          knownClasses: mergeClasses(s.knownClasses, labels.map((l) => l.class)),
        };
      });
    } catch (error) {
      if (generation === this.generation) labelSessionStore.set({ error: messageOf(error) });
    }
  }

  async refreshStacks(): Promise<void> {
    try {
      labelSessionStore.set({ stacks: await this.api.getUndoStacks({ sessionId: labelSessionId }) });
    } catch (error) {
      labelSessionStore.set({ error: messageOf(error) });
    }
  }

  /** Another window (or this one) changed labels: reload what is on screen. */
  onLabelsChanged(event: { setId: number; frameIds: string[] }): void {
    const s = labelSessionStore.get();
    if (!s.sets.some((set) => set.id === event.setId)) {
      void this.loadSets(s.logId);
      return;
    }
    if (event.setId === s.setId && (s.frameId === null || event.frameIds.includes(s.frameId))) void this.loadFrame();
    void this.refreshStacks();
  }

  // ---- selection, mode, preview ----------------------------------------------------------------

  select(ids: readonly number[], mode: 'replace' | 'add' | 'toggle' = 'replace'): void {
    labelSessionStore.set((s) => {
      if (mode === 'replace') return { selected: [...new Set(ids)] };
      const next = new Set(s.selected);
      for (const id of ids) {
        if (mode === 'toggle' && next.has(id)) next.delete(id);
        else next.add(id);
      }
      return { selected: [...next] };
    });
  }

  selectedLabels(): LabelRecord[] {
    const { labels, selected } = labelSessionStore.get();
    return labels.filter((l) => selected.includes(l.id));
  }

  setEditMode(on: boolean): void {
    if (on === labelSessionStore.get().editMode) return;
    // Edit mode draws the working copy; the log's own 2D ground truth would double every box.
    const gt2d = appStore.get().layers.gt2d;
    if (on) {
      this.gt2dBeforeEdit = gt2d;
      if (gt2d) toggleLayer('gt2d', false);
    } else if (this.gt2dBeforeEdit !== null) {
      if (this.gt2dBeforeEdit !== gt2d) toggleLayer('gt2d', this.gt2dBeforeEdit);
      this.gt2dBeforeEdit = null;
    }
    labelSessionStore.set({ editMode: on, tool: 'select', preview: new Map() });
  }

  toggleEditMode(): void {
    this.setEditMode(!labelSessionStore.get().editMode);
  }

  setTool(tool: EditTool): void {
    labelSessionStore.set({ tool });
  }

  setDrawClass(name: string): void {
    const trimmed = name.trim();
    if (trimmed) labelSessionStore.set((s) => ({ drawClass: trimmed, knownClasses: mergeClasses(s.knownClasses, [trimmed]) }));
  }

  /** Adds classes to the picker (the log's labels, detections on screen). */
  learnClasses(names: Iterable<string>): void {
    labelSessionStore.set((s) => {
      const merged = mergeClasses(s.knownClasses, names);
      return merged.length === s.knownClasses.length ? {} : { knownClasses: merged };
    });
  }

  /** Shows a label with `patch` applied until the drag ends (null drops the preview). */
  setPreview(labelId: number, patch: LabelPatch | null): void {
    labelSessionStore.set((s) => {
      const preview = new Map(s.preview);
      if (patch) preview.set(labelId, patch);
      else preview.delete(labelId);
      return { preview };
    });
  }


  dismissConflict(): void {
    labelSessionStore.set({ conflict: null, error: null });
  }

  // ---- edits ---------------------------------------------------------------------------------

  /** Runs one edit operation on the active set; merges the touched labels, then refreshes stacks. */
  private async edit(what: string, call: (ctx: { setId: number; sessionId: string }) => Promise<EditResult | null>): Promise<EditResult | undefined> {
    const { setId } = labelSessionStore.get();
    if (setId === null) {
      labelSessionStore.set({ error: 'Choose or create a working label set first' });
      return undefined;
    }
    labelSessionStore.set({ conflict: null });
    const result = await this.guard(what, () => call({ setId, sessionId: labelSessionId }));
    if (result) {
      this.merge(result);
      if (result.skipped.length) this.host.notify('info', `${what}: ${result.skipped.join('; ')}`);
    }
    await this.refreshStacks();
    return result ?? undefined;
  }

  /** Puts an edit's touched labels into the frame's list at once (the labelsChanged reload confirms it). */
  private merge(result: EditResult): void {
    const { frameId, setId } = labelSessionStore.get();
    labelSessionStore.set((s) => {
      const byId = new Map(s.labels.map((l) => [l.id, l]));
      for (const label of result.labels) {
        if (label.labelSetId !== setId || label.frameId !== frameId || label.deleted) byId.delete(label.id);
        else byId.set(label.id, label);
      }
      const labels = [...byId.values()].sort((a, b) => a.id - b.id);
      const preview = new Map(s.preview);
      for (const label of result.labels) preview.delete(label.id);
      return { labels, preview, selected: s.selected.filter((id) => byId.has(id)) };
    });
  }

  /** A new box on the frame on screen; selects it. */
  async createBox(box2d: LabelBox2D, options: { class?: string; box3d?: LabelBox3D | null; trackId?: string | null } = {}): Promise<LabelRecord | undefined> {
    const frameId = this.currentFrameId();
    if (!frameId) return undefined;
    const cls = options.class ?? labelSessionStore.get().drawClass;
    return this.createLabel({ frameId, class: cls, box2d: orderedBox(box2d), box3d: options.box3d ?? null, trackId: options.trackId ?? null });
  }

  /** A new label of any shape (the 3D editor creates box3d-only labels); selects it. */
  async createLabel(value: { frameId: string; class: string; box2d?: LabelBox2D | null; box3d?: LabelBox3D | null; trackId?: string | null; attributes?: LabelValue['attributes'] }): Promise<LabelRecord | undefined> {
    const result = await this.edit('Creating label', (ctx) => this.api.editLabels({ ...ctx, description: `create ${value.class}`, edits: [{ kind: 'create', value }] }));
    const created = result?.labels.find((l) => !l.deleted);
    if (created) this.select([created.id]);
    return created;
  }


  /** Moves or resizes a 3D box; the label's 2D box and other fields stay as stored. */
  async updateBox3d(labelId: number, box3d: LabelBox3D): Promise<EditResult | undefined> {
    return this.updateLabels([{ labelId, patch: { box3d } }], 'move 3D box');
  }

  /**
   * Any field changes, as one operation and one undo step. Each update names the revision the change
   * started from (`revision`, e.g. when a drag began; else the one this window shows now): a label
   * changed since is refused and the frame reloaded.
   */
  async updateLabels(changes: ReadonlyArray<{ labelId: number; patch: LabelPatch; revision?: number }>, description?: string): Promise<EditResult | undefined> {
    const { labels } = labelSessionStore.get();
    const edits = changes.flatMap(({ labelId, patch, revision }) => {
      const seen = labels.find((l) => l.id === labelId);
      return seen ? [{ kind: 'update' as const, labelId, expectedRevision: revision ?? seen.revision, patch }] : [];
    });
    if (edits.length === 0) {
      for (const c of changes) this.setPreview(c.labelId, null);
      return undefined;
    }
    return this.edit('Saving edit', (ctx) => this.api.editLabels({ ...ctx, ...(description ? { description } : {}), edits }));
  }

  async deleteSelected(): Promise<void> {
    const chosen = this.selectedLabels();
    if (chosen.length === 0) return;
    await this.edit('Deleting', (ctx) =>
      this.api.editLabels({ ...ctx, edits: chosen.map((l) => ({ kind: 'delete' as const, labelId: l.id, expectedRevision: l.revision })) }),
    );
  }

  /** Sets the class of the selected labels (and of new boxes). */
  async setClass(name: string, ids: readonly number[] = labelSessionStore.get().selected): Promise<void> {
    const cls = name.trim();
    if (!cls) return;
    this.setDrawClass(cls);
    const targets = labelSessionStore.get().labels.filter((l) => ids.includes(l.id) && l.class !== cls);
    if (targets.length === 0) return;
    await this.updateLabels(targets.map((l) => ({ labelId: l.id, patch: { class: cls } })), `class → ${cls}`);
  }

  async setTrack(labelId: number, trackId: string | null): Promise<void> {
    await this.updateLabels([{ labelId, patch: { trackId: trackId?.trim() || null } }], 'set track');
  }

  async acceptDetection(detectionId: number): Promise<EditResult | undefined> {
    const result = await this.edit('Accepting detection', (ctx) => this.api.acceptDetection({ ...ctx, detectionId }));
    const created = result?.labels.find((l) => !l.deleted);
    if (created) this.select([created.id]);
    if (result) await this.loadFrame();
    return result;
  }

  async rejectDetection(detectionId: number): Promise<EditResult | undefined> {
    const result = await this.edit('Rejecting detection', (ctx) => this.api.rejectDetection({ ...ctx, detectionId }));
    if (result) await this.loadFrame();
    return result;
  }

  /** The stored detection id of the detection selected in the views (appStore selection), if any. */
  async selectedDetectionId(): Promise<number | null> {
    const selection = appStore.get().selection;
    const ref = selection ? parseDetectionRef(selection.id) : null;
    if (!ref) return null;
    try {
      const frame = await this.api.getDetections({ runId: ref.runId, frameId: ref.frameId });
      return frame.detections[ref.index]?.detectionId ?? null;
    } catch (error) {
      labelSessionStore.set({ error: messageOf(error) });
      return null;
    }
  }

  async acceptSelectedDetection(): Promise<void> {
    const id = await this.selectedDetectionId();
    if (id === null) this.host.notify('info', 'Select a detection (click it in a camera or the 3D view) to accept it');
    else await this.acceptDetection(id);
  }

  async rejectSelectedDetection(): Promise<void> {
    const id = await this.selectedDetectionId();
    if (id === null) this.host.notify('info', 'Select a detection (click it in a camera or the 3D view) to reject it');
    else await this.rejectDetection(id);
  }

  /** Copies the previous frame's labels (the selected ones, when they come from there, else all). */
  async copyFromPreviousFrame(): Promise<void> {
    const { stubs, frameIndex } = appStore.get();
    const from = stubs[frameIndex - 1]?.id;
    const to = stubs[frameIndex]?.id;
    if (!from || !to) {
      this.host.notify('info', 'No previous frame to copy from');
      return;
    }
    await this.edit('Copying labels', (ctx) => this.api.copyLabelsFromFrame({ ...ctx, fromFrameId: from, toFrameId: to }));
  }

  /** Clamps the selected 2D boxes (all of the frame's when none is selected) to their images. */
  async snapToImage(): Promise<void> {
    const { labels, selected } = labelSessionStore.get();
    const chosen = (selected.length ? labels.filter((l) => selected.includes(l.id)) : labels).filter((l) => l.box2d);
    if (chosen.length === 0) return;
    await this.edit('Snapping to image', (ctx) => this.api.snapLabelsToImage({ ...ctx, labels: chosen.map((l) => ({ id: l.id, expectedRevision: l.revision })) }));
  }

  /**
   * Fills a track between two keyframes: the track's box in each frame between them is replaced by the
   * linear (shortest-arc yaw) blend of the two, as one undo step.
   */
  async interpolateTrack(trackId: string, fromFrameId: string, toFrameId: string): Promise<EditResult | undefined> {
    const result = await this.edit(`Interpolating track ${trackId}`, (ctx) => this.api.interpolateTrack({ ...ctx, trackId, fromFrameId, toFrameId }));
    if (result) this.host.notify('info', `Track ${trackId}: ${result.labels.length} boxes interpolated`);
    return result;
  }

  // ---- 3D boxes and the lidar ------------------------------------------------------------------

  /** Turns the selected labels' 3D boxes by `delta` radians about +z, as one undo step. */
  async rotateSelected3d(delta: number): Promise<EditResult | undefined> {
    const chosen = this.selectedLabels().filter((l) => l.box3d);
    if (chosen.length === 0) return undefined;
    const degrees = Math.round((delta * 180) / Math.PI);
    return this.updateLabels(
      chosen.map((l) => ({ labelId: l.id, patch: { box3d: { ...l.box3d!, yaw: wrapYaw(l.box3d!.yaw + delta) } } })),
      `rotate 3D box ${degrees > 0 ? '+' : ''}${degrees}°`,
    );
  }

  /** A box fitted by the core to the frame's lidar points; null (and a notice) when none fits. */
  private async fitBox3d(what: string, from: Parameters<SightlineApi['fitLabelBox3d']>[0]['from']): Promise<LabelBox3D | null> {
    const frameId = labelSessionStore.get().frameId ?? this.currentFrameId();
    if (!frameId) return null;
    const fit = await this.guard(what, () => this.api.fitLabelBox3d({ frameId, from }));
    if (!fit) return null;
    if (!fit.box3d) this.host.notify('info', `${what}: ${fit.reason ?? 'no box'}`);
    return fit.box3d;
  }

  /** Refits the selected label's 3D box to the non-ground lidar points inside it, grown by `margin` metres (one undo step). */
  async fitSelectedToPoints(margin = 0.3): Promise<EditResult | undefined> {
    const label = this.selectedLabels().find((l) => l.box3d);
    if (!label) {
      this.host.notify('info', 'Select a label with a 3D box to fit it to the lidar points');
      return undefined;
    }
    const revision = label.revision;
    const box3d = await this.fitBox3d('Fitting to points', { kind: 'region', box3d: label.box3d!, margin });
    if (!box3d) return undefined;
    return this.updateLabels([{ labelId: label.id, revision, patch: { box3d } }], 'fit 3D box to points');
  }

  /**
   * A 3D box from a 2D box's frustum (the largest lidar cluster inside it): for the selected label with a
   * 2D box, else for the detection selected in the views, which is accepted into the set first.
   */
  async box3dFromDetection(): Promise<LabelRecord | undefined> {
    const label = this.selectedLabels().find((l) => l.box2d);
    if (label) {
      const revision = label.revision;
      const box3d = await this.fitBox3d('3D box from the 2D box', { kind: 'detection', box2d: label.box2d! });
      if (!box3d) return undefined;
      const result = await this.updateLabels([{ labelId: label.id, revision, patch: { box3d } }], '3D box from 2D box');
      return result?.labels.find((l) => l.id === label.id);
    }
    const detection = selectedDetectionBox();
    if (!detection) {
      this.host.notify('info', 'Select a label with a 2D box, or a 2D detection, to give it a 3D box from the lidar');
      return undefined;
    }
    const box3d = await this.fitBox3d('3D box from the detection', { kind: 'detection', box2d: detection.box2d });
    if (!box3d) return undefined;
    const detectionId = await this.selectedDetectionId();
    if (detectionId === null) return undefined;
    const accepted = await this.acceptDetection(detectionId);
    const created = accepted?.labels.find((l) => !l.deleted);
    if (!created) return undefined;
    const result = await this.updateBox3d(created.id, box3d);
    return result?.labels.find((l) => l.id === created.id);
  }

  /** A new label of the draw class around the lidar cluster nearest (bird's-eye) to an ego-frame point. */
  async createFromCluster(point: Vec3): Promise<LabelRecord | undefined> {
    const frameId = this.currentFrameId();
    if (!frameId || labelSessionStore.get().setId === null) {
      labelSessionStore.set({ error: 'Choose or create a working label set first' });
      return undefined;
    }
    const box3d = await this.fitBox3d('Box from cluster', { kind: 'cluster', point });
    if (!box3d) return undefined;
    return this.createLabel({ frameId, class: labelSessionStore.get().drawClass, box2d: null, box3d });
  }

  async undo(): Promise<void> {
    const result = await this.guard('Undoing', () => this.api.undoLabels({ sessionId: labelSessionId }));
    if (result === null) this.host.notify('info', 'Nothing to undo');
    await Promise.all([this.loadFrame(), this.refreshStacks()]);
  }

  async redo(): Promise<void> {
    const result = await this.guard('Redoing', () => this.api.redoLabels({ sessionId: labelSessionId }));
    if (result === null) this.host.notify('info', 'Nothing to redo');
    await Promise.all([this.loadFrame(), this.refreshStacks()]);
  }
}

/** An angle wrapped into (−π, π]. */
function wrapYaw(a: number): number {
  let r = a % (2 * Math.PI);
  if (r <= -Math.PI) r += 2 * Math.PI;
  else if (r > Math.PI) r -= 2 * Math.PI;
  return r;
}

/** The 2D box of the detection selected in the views, from the frame's loaded detections. */
function selectedDetectionBox(): { box2d: LabelBox2D; label: string } | null {
  const { selection, detections } = appStore.get();
  if (!selection || !detections) return null;
  for (const run of detections.runs) {
    const box = run.boxes2d.find((b) => b.id === selection.id);
    if (box) return { box2d: { sensorId: box.sensorId, x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 }, label: box.label };
  }
  return null;
}

function mergeClasses(known: readonly string[], more: Iterable<string>): string[] {
  const out = new Set(known);
  for (const name of more) if (name && !/^dontcare$/i.test(name)) out.add(name);
  return out.size === known.length ? (known as string[]) : [...out].sort((a, b) => a.localeCompare(b));
}

function uniqueName(sets: readonly LabelSetRecord[], base: string): string {
  const taken = new Set(sets.map((s) => s.name));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base} ${n}`)) return `${base} ${n}`;
}

/** Follows the app: the open log's sets, the frame on screen (once the cursor rests), label changes. */
function attach(session: Session): LabelSessionController {
  const controller = new LabelSessionController(session);
  let frame = appStore.get().frame;
  followApp(
    {
      log: (logId) => void controller.loadSets(logId),
      frameRested: () => void controller.loadFrame(),
      changed: (s) => {
        if (s.frame === frame) return;
        frame = s.frame;
        if (frame) controller.learnClasses([...frame.data.labels2d.filter((b) => !b.ignore).map((b) => b.label), ...frame.data.labels3d.map((b) => b.label)]);
      },
    },
    60,
  );
  session.api.on('labelsChanged', (event) => controller.onLabelsChanged(event));
  return controller;
}

/** The session's label editing controller (created and wired on first use). */
export const labelSessionFor = perSession(attach);

export function useLabelSession(): LabelSessionController {
  return labelSessionFor(useSession());
}

/** A slice of the label session state (selectors must return stable values). */
export function useLabelState<U>(selector: (state: LabelSessionState) => U): U {
  return useStore(labelSessionStore, selector);
}
