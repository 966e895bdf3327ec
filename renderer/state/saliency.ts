// Saliency (occlusion sensitivity) for the selected detection: which detection is selected, the
// request and its task, the map on screen (decoded heatmap) and the overlay settings. The camera
// overlay (panels/safety/saliencyOverlay.ts) draws `shown` over the image it explains.
import type { MethodOutput, SightlineApi } from '../../src/api/contract.js';
import { appStore } from './appState.js';
import { createStore, useStore } from './store.js';

export type SaliencyMap = NonNullable<MethodOutput<'getSaliency'>>;
export type SaliencySummary = MethodOutput<'listSaliency'>[number];

/** The selected run detection, resolved to its stored row. */
export interface SaliencyTarget {
  runId: number;
  detectionId: number;
  frameId: string;
  frameIndex: number;
  sensorId: string;
  label: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

export interface SaliencyRequestParams {
  patch: number;
  stride: number;
  region: 'target' | 'full';
  fill: 'mean' | 'blur' | 'gray';
}

export interface ShownSaliency {
  map: SaliencyMap;
  /** Where it is drawn: the frame and camera of the detection. */
  frameIndex: number;
  bitmap: ImageBitmap | null;
}

export interface SaliencyState {
  target: SaliencyTarget | null;
  /** Why the selection cannot be explained (not a run detection, no image box, ...). */
  targetProblem: string | null;
  params: SaliencyRequestParams;
  taskId: string | null;
  status: 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
  error: string | null;
  /** Maps of the target stored in the cache, newest first. */
  list: SaliencySummary[];
  shown: ShownSaliency | null;
  /** Whether the last answer came from the cache. */
  fromCache: boolean;
  opacity: number;
  visible: boolean;
}

const PARAMS_KEY = 'sightline.saliency.params.v1';
const VIEW_KEY = 'sightline.saliency.view.v1';

function loadJson<T>(key: string, fallback: T, valid: (v: Partial<T>) => boolean): T {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null') as Partial<T> | null;
    return v && valid(v) ? { ...fallback, ...v } : fallback;
  } catch {
    return fallback;
  }
}

const DEFAULT_PARAMS: SaliencyRequestParams = { patch: 64, stride: 32, region: 'target', fill: 'mean' };

export const saliencyStore = createStore<SaliencyState>({
  target: null,
  targetProblem: null,
  params: loadJson(PARAMS_KEY, DEFAULT_PARAMS, (v) => Number.isInteger(v.patch) && Number.isInteger(v.stride)),
  taskId: null,
  status: 'idle',
  error: null,
  list: [],
  shown: null,
  fromCache: false,
  ...loadJson(VIEW_KEY, { opacity: 0.7, visible: true }, (v) => typeof v.opacity === 'number' && typeof v.visible === 'boolean'),
});

saliencyStore.subscribe(() => {
  const s = saliencyStore.get();
  try {
    localStorage.setItem(PARAMS_KEY, JSON.stringify(s.params));
    localStorage.setItem(VIEW_KEY, JSON.stringify({ opacity: s.opacity, visible: s.visible }));
  } catch {
    // settings just don't persist
  }
});

export function useSaliency<U>(selector: (s: SaliencyState) => U): U {
  return useStore(saliencyStore, selector);
}

export function setSaliencyParams(patch: Partial<SaliencyRequestParams>): void {
  saliencyStore.set((s) => ({ params: { ...s.params, ...patch } }));
}

export function setSaliencyView(patch: Partial<Pick<SaliencyState, 'opacity' | 'visible'>>): void {
  saliencyStore.set(patch);
}

/** Detection box ids are `run<runId>:<frameId>:<index in the frame's detections>` (state/detections.ts). */
function parseDetectionBoxId(id: string): { runId: number; frameId: string; index: number } | null {
  const m = /^run(\d+):(.+):(\d+)$/.exec(id);
  return m ? { runId: Number(m[1]), frameId: m[2]!, index: Number(m[3]) } : null;
}

function replaceBitmap(next: ShownSaliency | null): void {
  const prev = saliencyStore.get().shown;
  if (prev?.bitmap && prev.bitmap !== next?.bitmap) prev.bitmap.close();
  saliencyStore.set({ shown: next });
}

/**
 * Follows the app selection and the server's progress events; returns its remover. One per session:
 * the map on screen outlives the Explain panel being hidden.
 */
export class SaliencyController {
  private generation = 0;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly api: SightlineApi) {
    let lastSelection = appStore.get().selection;
    let lastDetections = appStore.get().detections;
    this.offs.push(
      appStore.subscribe(() => {
        const s = appStore.get();
        if (s.selection === lastSelection && s.detections === lastDetections) return;
        lastSelection = s.selection;
        lastDetections = s.detections;
        void this.resolveTarget();
      }),
      api.on('progress', (event) => {
        if (event.taskId !== saliencyStore.get().taskId) return;
        if (event.state === 'running') return;
        saliencyStore.set({ status: event.state, error: event.state === 'failed' ? (event.message ?? 'failed') : null, taskId: null });
        if (event.state === 'done') void this.showLatest();
      }),
    );
    void this.resolveTarget();
  }

  dispose(): void {
    this.offs.splice(0).forEach((off) => off());
  }

  /** The selected detection with its stored id; keeps the shown map when the selection is the same detection. */
  async resolveTarget(): Promise<void> {
    const generation = ++this.generation;
    const { selection, detections } = appStore.get();
    const parsed = selection ? parseDetectionBoxId(selection.id) : null;
    const box = parsed && detections?.runs.find((r) => r.runId === parsed.runId)?.boxes2d.find((b) => b.id === selection!.id);
    const current = saliencyStore.get().target;
    if (!parsed || !box || !detections) {
      // A selection elsewhere (ground truth, another frame) keeps the last target and its map.
      if (selection && !box) saliencyStore.set({ targetProblem: parsed ? 'The selected detection has no image box on this frame.' : 'Select a detection of a run (a box in a camera panel or a table row).' });
      return;
    }
    const run = appStore.get().runs.find((r) => r.runId === parsed.runId);
    if (run && (!run.modelId || run.modelTask !== 'detect2d')) {
      // Imported or lidar runs have no 2D detector to re-run: say so instead of offering a compute that fails.
      saliencyStore.set({ targetProblem: `No 2D detection model behind run '${run.name}' (${run.modelTask ?? 'imported'}): saliency re-runs the run's own detector.` });
      return;
    }
    if (current && current.runId === parsed.runId && current.frameId === parsed.frameId && current.box.x1 === box.x1 && current.box.y1 === box.y1 && current.sensorId === box.sensorId) {
      saliencyStore.set({ targetProblem: null });
      return;
    }
    try {
      const frame = await this.api.getDetections({ runId: parsed.runId, frameId: parsed.frameId });
      if (generation !== this.generation) return;
      const row = frame.detections[parsed.index];
      if (!row) return;
      const target: SaliencyTarget = {
        runId: parsed.runId,
        detectionId: row.detectionId,
        frameId: parsed.frameId,
        frameIndex: detections.frameIndex,
        sensorId: box.sensorId,
        label: box.label,
        score: box.score,
        box: { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 },
      };
      saliencyStore.set({ target, targetProblem: null, status: 'idle', error: null, taskId: null, list: [], fromCache: false });
      replaceBitmap(null);
      await this.refreshList();
      // Show the newest cached map of this detection, if any.
      const cached = await this.api.getSaliency({ runId: target.runId, detectionId: target.detectionId });
      if (generation === this.generation && cached) await this.show(cached, target);
    } catch (error) {
      if (generation === this.generation) saliencyStore.set({ error: (error as Error).message });
    }
  }

  async explain(): Promise<void> {
    const { target, params } = saliencyStore.get();
    if (!target) return;
    saliencyStore.set({ status: 'running', error: null, fromCache: false });
    try {
      const answer = await this.api.computeSaliency({ runId: target.runId, detectionId: target.detectionId, params });
      if (answer.cached) {
        saliencyStore.set({ status: 'done', taskId: null, fromCache: true });
        await this.show(answer.map, target);
        return;
      }
      saliencyStore.set({ taskId: answer.taskId });
    } catch (error) {
      saliencyStore.set({ status: 'failed', error: (error as Error).message, taskId: null });
    }
  }

  async cancel(): Promise<void> {
    const { taskId } = saliencyStore.get();
    if (taskId) await this.api.cancelSaliency({ taskId });
  }

  /** Shows a stored map of the target (from the result list). */
  async showStored(saliencyId: number): Promise<void> {
    const { target } = saliencyStore.get();
    if (!target) return;
    const map = await this.api.getSaliency({ runId: target.runId, detectionId: target.detectionId, saliencyId });
    if (map) await this.show(map, target);
  }

  private async showLatest(): Promise<void> {
    const { target, params } = saliencyStore.get();
    if (!target) return;
    const map = await this.api.getSaliency({ runId: target.runId, detectionId: target.detectionId, params });
    await this.refreshList();
    if (map) await this.show({ ...map, cached: false }, target);
  }

  private async refreshList(): Promise<void> {
    const { target } = saliencyStore.get();
    if (!target) return;
    const list = await this.api.listSaliency({ runId: target.runId, detectionId: target.detectionId });
    if (saliencyStore.get().target === target) saliencyStore.set({ list });
  }

  private async show(map: SaliencyMap, target: SaliencyTarget): Promise<void> {
    const bitmap = await createImageBitmap(new Blob([map.heatmapPng as Uint8Array<ArrayBuffer>], { type: 'image/png' })).catch(() => null);
    if (saliencyStore.get().target !== target) {
      bitmap?.close();
      return;
    }
    replaceBitmap({ map, frameIndex: target.frameIndex, bitmap });
    if (!saliencyStore.get().list.some((s) => s.saliencyId === map.saliencyId)) await this.refreshList();
  }
}
