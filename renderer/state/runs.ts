// Inference runs of the open log: the list, their progress (runProgress events), the detections of
// the visible runs per frame (fetched with the frame, cached, masks decoded off the UI thread), and
// the timeline markers (frames with a detection above the score threshold).
import { ApiError, type FrameDetections, type MethodInput, type RunInfo, type RunProgressEvent, type SightlineApi } from '../../src/api/contract.js';
import type { FrameStub } from '../../src/logs/model.js';
import { decodeMaskOffThread } from '../workers/decoder.js';
import { appStore, classVisible, setMarkers, type RunStyle } from './appState.js';
import { closeDetections, maskPalette, toRunFrameDetections, type DecodedMask, type RunFrameDetections } from './detections.js';

export const RUN_COLORS = ['#ff8a3d', '#c77dff', '#2ee6a6', '#ffd23f', '#ff5c8a', '#48c6ff', '#a3e635', '#f472b6'];

const CACHE_CAPACITY = 96;
const MARKER_SCAN_LIMIT = 5000;
const LIVE_REFRESH_MS = 1000;

/** Per run: frame index -> the best score per lower-cased class on that frame. */
type RunSummary = Map<number, Map<string, number>>;

export class RunsController {
  private readonly cache = new Map<string, RunFrameDetections>(); // insertion order = LRU order
  private readonly inFlight = new Map<string, Promise<RunFrameDetections | null>>();
  private readonly summaries = new Map<number, RunSummary>();
  /** Current scan per run: a newer scan (the run finished meanwhile) supersedes an older one. */
  private readonly scans = new Map<number, number>();
  private scanSeq = 0;
  private logId: string | null = null;
  private generation = 0;
  private displayedFrameId: string | null = null;
  private lastLiveRefresh = 0;
  private liveTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly api: SightlineApi,
    /** The frame on screen: its id and index. */
    private readonly current: () => { frameId: string; index: number } | null,
    private readonly fail: (error: unknown) => void,
  ) {}

  // ---- log lifecycle -------------------------------------------------------------------------

  async setLog(logId: string | null): Promise<void> {
    this.generation++;
    this.logId = logId;
    this.clearCache();
    this.summaries.clear();
    this.scans.clear();
    appStore.set({ runs: [], runProgress: {}, detections: null, markers: [], range: null });
    if (!logId) return;
    const generation = this.generation;
    try {
      const [runs, models] = await Promise.all([this.api.listRuns({ logId }), appStore.get().models.length ? Promise.resolve(appStore.get().models) : this.api.listModels({})]);
      if (generation !== this.generation) return;
      appStore.set({ runs: sortRuns(runs), models });
      this.ensureStyles(runs);
      for (const run of runs) if (run.status === 'done' || run.status === 'running') void this.scan(run.runId);
      this.refreshCurrent();
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    }
  }

  private clearCache(): void {
    for (const d of this.cache.values()) closeDetections(d);
    this.cache.clear();
    this.inFlight.clear();
  }

  private ensureStyles(runs: RunInfo[]): void {
    const styles = { ...appStore.get().runStyles };
    let changed = false;
    for (const run of runs) {
      if (styles[run.runId]) continue;
      styles[run.runId] = { visible: run.status !== 'failed' && run.status !== 'cancelled', color: RUN_COLORS[(run.runId - 1) % RUN_COLORS.length]! };
      changed = true;
    }
    if (changed) appStore.set({ runStyles: styles });
  }

  visibleRuns(): RunInfo[] {
    const { runs, runStyles } = appStore.get();
    return runs.filter((r) => runStyles[r.runId]?.visible);
  }

  // ---- detections per frame ------------------------------------------------------------------

  private key(runId: number, frameId: string): string {
    return `${runId}|${frameId}`;
  }

  /** Loads the visible runs' detections of a frame into the cache (called with every frame fetch). */
  async prefetch(frameId: string): Promise<void> {
    const runs = this.visibleRuns();
    if (runs.length === 0) return;
    await Promise.all(runs.map((run) => this.load(run.runId, frameId)));
  }

  /** The visible runs' detections of a frame when all are cached; null otherwise. */
  cached(frameId: string): RunFrameDetections[] | null {
    const out: RunFrameDetections[] = [];
    for (const run of this.visibleRuns()) {
      const hit = this.cache.get(this.key(run.runId, frameId));
      if (!hit) return null;
      out.push(hit);
    }
    return out;
  }

  markDisplayed(frameId: string): void {
    this.displayedFrameId = frameId;
  }

  private load(runId: number, frameId: string): Promise<RunFrameDetections | null> {
    const key = this.key(runId, frameId);
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return Promise.resolve(hit);
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const promise = (async () => {
      try {
        const raw = await this.api.getDetections({ runId, frameId });
        const masks = await Promise.all(raw.masks.map((m) => decodeMask(m)));
        const detections = toRunFrameDetections(raw, masks);
        if (generation !== this.generation) {
          closeDetections(detections);
          return null;
        }
        this.cache.set(key, detections);
        this.evict();
        return detections;
      } catch (error) {
        // A run deleted meanwhile, or a frame it never reached: draw nothing for it.
        if (!(error instanceof ApiError && error.code === 'NOT_FOUND')) console.warn('[sightline] detections', runId, frameId, error);
        return null;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, promise);
    return promise;
  }

  private evict(): void {
    for (const [key, d] of this.cache) {
      if (this.cache.size <= CACHE_CAPACITY) break;
      if (d.frameId === this.displayedFrameId) continue;
      this.cache.delete(key);
      closeDetections(d);
    }
  }

  private invalidate(runId: number, frameId?: string): void {
    for (const [key, d] of this.cache) {
      if (d.runId !== runId || (frameId && d.frameId !== frameId)) continue;
      // The displayed detections stay valid until their replacement lands (no flicker).
      this.cache.delete(key);
      if (d.frameId !== this.displayedFrameId) closeDetections(d);
    }
  }

  /** Re-reads the visible runs' detections for the frame on screen and publishes them. */
  refreshCurrent(): void {
    const current = this.current();
    if (!current) return;
    const generation = this.generation;
    void this.prefetch(current.frameId).then(() => {
      if (generation !== this.generation) return;
      const now = this.current();
      if (!now || now.frameId !== current.frameId) return;
      const runs = this.cached(current.frameId) ?? [];
      const previous = appStore.get().detections;
      appStore.set({ detections: { frameIndex: current.index, runs } });
      // Bitmaps of detections replaced on screen (and already out of the cache) can go.
      for (const d of previous?.runs ?? []) if (!runs.includes(d) && ![...this.cache.values()].includes(d)) closeDetections(d);
    });
  }

  // ---- runs ----------------------------------------------------------------------------------

  async startRun(input: MethodInput<'startRun'>): Promise<RunInfo | null> {
    try {
      const run = await this.api.startRun(input);
      this.upsert(run);
      this.setStyle(run.runId, { visible: true });
      return run;
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  async cancelRun(runId: number): Promise<void> {
    try {
      const { run } = await this.api.cancelRun({ runId });
      this.upsert(run);
    } catch (error) {
      this.fail(error);
    }
  }

  setStyle(runId: number, patch: Partial<RunStyle>): void {
    const styles = appStore.get().runStyles;
    const base = styles[runId] ?? { visible: true, color: RUN_COLORS[(runId - 1) % RUN_COLORS.length]! };
    const next = { ...base, ...patch };
    appStore.set({ runStyles: { ...styles, [runId]: next } });
    if (patch.visible !== undefined) {
      this.refreshCurrent();
      if (next.visible) void this.scan(runId);
      this.recomputeMarkers();
    }
  }

  private upsert(run: RunInfo): void {
    if (run.logId !== this.logId) return;
    const runs = appStore.get().runs.filter((r) => r.runId !== run.runId);
    appStore.set({ runs: sortRuns([...runs, run]) });
    this.ensureStyles([run]);
  }

  onProgress(event: RunProgressEvent): void {
    const known = appStore.get().runs.find((r) => r.runId === event.runId);
    appStore.set((s) => ({ runProgress: { ...s.runProgress, [event.runId]: event } }));
    if (!known) {
      // A run started elsewhere (CLI, another window) on this log: pick it up.
      if (this.logId) void this.api.getRun({ runId: event.runId }).then((run) => this.upsert(run), () => undefined);
      return;
    }
    const finished = event.status !== 'running' && event.status !== 'pending';
    this.upsert({ ...known, status: event.status, framesDone: event.framesDone, framesTotal: event.framesTotal, framesPerS: event.framesPerS, active: !finished });
    if (!appStore.get().runStyles[event.runId]?.visible) return;
    if (finished) {
      void this.api.getRun({ runId: event.runId }).then((run) => this.upsert(run), () => undefined);
      this.invalidate(event.runId);
      this.summaries.delete(event.runId);
      this.scans.delete(event.runId);
      this.refreshCurrent();
      void this.scan(event.runId);
      return;
    }
    // While it runs, the frame on screen may just have been processed: refresh now and then.
    const now = performance.now();
    const due = this.lastLiveRefresh + LIVE_REFRESH_MS - now;
    if (due > 0) {
      this.liveTimer ??= setTimeout(() => {
        this.liveTimer = null;
        this.onProgress(appStore.get().runProgress[event.runId] ?? event);
      }, due);
      return;
    }
    this.lastLiveRefresh = now;
    const current = this.current();
    if (current) this.invalidate(event.runId, current.frameId);
    this.refreshCurrent();
  }

  // ---- timeline markers ----------------------------------------------------------------------

  /** Reads every frame's detections of a run once (bounded, two at a time) to place markers. */
  private async scan(runId: number): Promise<void> {
    if (this.scans.has(runId) || this.summaries.has(runId)) return;
    const stubs: FrameStub[] = appStore.get().stubs.slice(0, MARKER_SCAN_LIMIT);
    if (stubs.length === 0) return;
    const token = ++this.scanSeq;
    this.scans.set(runId, token);
    const current = () => this.scans.get(runId) === token;
    const summary: RunSummary = new Map();
    let next = 0;
    const worker = async () => {
      while (next < stubs.length && current()) {
        const stub = stubs[next++]!;
        let d: FrameDetections;
        try {
          d = await this.api.getDetections({ runId, frameId: stub.id });
        } catch {
          continue;
        }
        const best = new Map<string, number>();
        for (const det of d.detections) {
          const key = det.class.toLowerCase();
          if (det.score > (best.get(key) ?? -1)) best.set(key, det.score);
        }
        if (best.size) summary.set(stub.index, best);
      }
    };
    await Promise.all([worker(), worker()]);
    if (!current()) return;
    this.scans.delete(runId);
    this.summaries.set(runId, summary);
    this.recomputeMarkers();
  }

  recomputeMarkers(): void {
    const { review, runStyles } = appStore.get();
    const best = new Map<number, number>();
    for (const [runId, summary] of this.summaries) {
      if (!runStyles[runId]?.visible) continue;
      for (const [index, classes] of summary) {
        for (const [cls, score] of classes) {
          if (score < review.scoreThreshold || !classVisible(review, cls)) continue;
          if (score > (best.get(index) ?? -1)) best.set(index, score);
        }
      }
    }
    setMarkers('detection', [...best].map(([index, score]) => ({ index, score })));
  }

  dispose(): void {
    this.generation++;
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.clearCache();
  }
}

function sortRuns(runs: RunInfo[]): RunInfo[] {
  return [...runs].sort((a, b) => b.runId - a.runId);
}

async function decodeMask(m: FrameDetections['masks'][number]): Promise<DecodedMask> {
  try {
    const decoded = await decodeMaskOffThread({ png: m.png, palette: maskPalette(m.classes) });
    return { sensorId: m.sensorId, head: m.head, classes: m.classes, width: decoded.width, height: decoded.height, bitmap: decoded.bitmap, present: decoded.present };
  } catch {
    return { sensorId: m.sensorId, head: m.head, classes: m.classes, width: m.width, height: m.height, bitmap: null, present: [] };
  }
}
