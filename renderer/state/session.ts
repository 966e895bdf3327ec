// The controller between the UI and the core: opening logs, the frame cursor, playback,
// events from the server. Components call these actions; state lives in `appStore`.
import { ApiError, type LogEntry, type ProgressEvent } from '../../src/api/contract.js';
import type { LogInfo } from '../../src/logs/model.js';
import type { Connection } from '../api/index.js';
import { appStore, setMarkers, SPEEDS, type LoadedFrame, type Selection } from './appState.js';
import { FrameSource } from './frameSource.js';
import { resetPainted } from './paint.js';
import { pathsFromFrame, withPlan, type PlannedFrameLike } from './plan.js';
import { nearestIndex, Player } from './player.js';
import { RunsController } from './runs.js';
import { SweepCache } from './sweeps.js';

let noticeId = 1;

export class Session {
  private source: FrameSource | null = null;
  private readonly player: Player;
  private readonly offs: Array<() => void> = [];
  private showing = 0; // generation counter: a newer open wins over an older one still loading
  private failedIndex = -1; // a frame that could not be loaded: playback moves past it
  readonly runs: RunsController;
  readonly sweeps: SweepCache;
  /** Planner results by frame id (bounded), applied whenever their frame is shown. */
  private readonly plans = new Map<string, PlannedFrameLike>();

  constructor(readonly connection: Connection) {
    this.sweeps = new SweepCache(connection.api);
    this.runs = new RunsController(
      connection.api,
      () => {
        const frame = appStore.get().frame;
        return frame ? { frameId: frame.data.id, index: frame.data.index } : null;
      },
      (error) => this.fail(error),
    );
    this.player = new Player({
      stubs: () => appStore.get().stubs,
      cursor: () => appStore.get().frameIndex,
      cursorReady: () => {
        const { frame, frameIndex } = appStore.get();
        return frame?.data.index === frameIndex || this.failedIndex === frameIndex;
      },
      isCached: (i) => this.source?.has(i) ?? false,
      speed: () => appStore.get().speed,
      loadMs: () => this.source?.meanLoadMs ?? 0,
      seek: (i) => this.seekInternal(i),
      prefetch: (indices) => this.source?.prefetch(indices),
      ended: () => appStore.set({ playing: false }),
      bounds: () => this.playBounds(),
    });
  }

  get api() {
    return this.connection.api;
  }

  /** Subscribes to server events and shows a log the server already has open. */
  start(): () => void {
    const { api } = this.connection;
    this.offs.push(
      api.on('progress', (event) => this.onProgress(event)),
      api.on('notice', (n) => this.notify(n.level, n.message)),
      api.on('runProgress', (event) => this.runs.onProgress(event)),
      api.on('logOpened', ({ logId }) => {
        void this.refreshLogs();
        const s = appStore.get();
        if (!s.log && !s.opening) void this.showLogById(logId);
      }),
      api.on('logClosed', ({ logId }) => {
        void this.refreshLogs();
        if (appStore.get().log?.id === logId) this.clearLog();
      }),
    );
    void this.bootstrap();
    return () => {
      this.offs.splice(0).forEach((off) => off());
      this.player.stop();
      this.source?.dispose();
      this.source = null;
      this.runs.dispose();
    };
  }

  private async bootstrap(): Promise<void> {
    try {
      appStore.set({ serverInfo: await this.api.getServerInfo({}) });
    } catch (error) {
      this.fail(error);
    }
    const logs = await this.refreshLogs();
    // Several open: show the one opened last.
    const open = logs.filter((l) => l.open).sort((a, b) => (b.lastOpenedAt ?? '').localeCompare(a.lastOpenedAt ?? ''))[0];
    if (open && !appStore.get().log && !appStore.get().opening) await this.showLogById(open.logId);
  }

  async refreshLogs(): Promise<LogEntry[]> {
    try {
      const logs = await this.api.listLogs({});
      appStore.set({ logs });
      return logs;
    } catch (error) {
      this.fail(error);
      return appStore.get().logs;
    }
  }

  // ---- opening -------------------------------------------------------------------------------

  async openPath(path: string): Promise<void> {
    const trimmed = path.trim();
    if (!trimmed) return;
    const generation = ++this.showing;
    appStore.set({ opening: trimmed, error: null });
    try {
      const info = await this.api.openLog({ path: trimmed });
      if (generation === this.showing) await this.showLog(info, generation);
    } catch (error) {
      if (generation === this.showing) this.fail(error);
    } finally {
      if (generation === this.showing) appStore.set({ opening: null });
      void this.refreshLogs();
    }
  }

  async openEntry(entry: LogEntry): Promise<void> {
    if (entry.open) {
      await this.showLogById(entry.logId);
      return;
    }
    await this.openPath(entry.path);
  }

  async openDropped(file: File): Promise<void> {
    const generation = ++this.showing;
    appStore.set({ opening: file.name, error: null });
    let path: string;
    try {
      path = await this.connection.resolveDroppedFile(file);
    } catch (error) {
      if (generation === this.showing) {
        this.fail(error);
        appStore.set({ opening: null });
      }
      return;
    }
    if (generation === this.showing) await this.openPath(path);
  }

  async openWithDialog(): Promise<void> {
    const dialog = this.connection.showOpenDialog;
    if (!dialog) return;
    try {
      const path = await dialog();
      if (path) await this.openPath(path);
    } catch (error) {
      this.fail(error);
    }
  }

  async showLogById(logId: string): Promise<void> {
    const generation = ++this.showing;
    try {
      const info = await this.api.getLogInfo({ logId });
      if (generation === this.showing) await this.showLog(info, generation);
    } catch (error) {
      if (generation === this.showing) this.fail(error);
    }
  }

  private async showLog(info: LogInfo, generation: number): Promise<void> {
    if (appStore.get().log?.id === info.id && this.source) {
      // Already on screen: keep the cursor and the cache.
      appStore.set({ log: info, error: null });
      return;
    }
    const stubs = await this.api.listFrames({ logId: info.id });
    if (generation !== this.showing) return;
    this.player.stop();
    this.source?.dispose();
    resetPainted();
    this.source = new FrameSource(this.api, info.id, stubs.length, {
      onFrame: (frame) => this.display(frame),
      onError: (index, message) => {
        this.failedIndex = index;
        appStore.set({ frameError: `Frame ${index}: ${message}` });
      },
      onLoadingChange: (frameLoading) => appStore.set({ frameLoading }),
      augment: (index) => {
        const stub = appStore.get().stubs[index];
        return stub ? this.runs.prefetch(stub.id) : Promise.resolve();
      },
    });
    appStore.set({ log: info, stubs, frameIndex: 0, frame: null, frameError: null, playing: false, selection: null, error: null, paths: null });
    void this.runs.setLog(info.id);
    this.sweeps.setLog(info.id);
    this.plans.clear();
    if (info.warnings.length) this.notify('warning', `${info.name}: ${info.warnings.join('; ')}`);
    if (stubs.length === 0) {
      appStore.set({ frameError: 'This log has no frames.' });
      return;
    }
    this.seek(0);
  }

  async closeLog(): Promise<void> {
    const log = appStore.get().log;
    if (!log) return;
    this.clearLog();
    try {
      await this.api.closeLog({ logId: log.id });
    } catch (error) {
      this.fail(error);
    }
    void this.refreshLogs();
  }

  private clearLog(): void {
    this.showing++;
    this.player.stop();
    this.source?.dispose();
    this.source = null;
    resetPainted();
    appStore.set({ log: null, stubs: [], frame: null, frameIndex: 0, playing: false, selection: null, frameError: null, frameLoading: false, paths: null });
    void this.runs.setLog(null);
    this.sweeps.setLog(null);
  }

  /** Puts a loaded frame on screen with everything drawn over it, in one store update (one paint). */
  private display(frame: LoadedFrame): void {
    this.source?.markDisplayed(frame.data.index);
    this.runs.markDisplayed(frame.data.id);
    this.sweeps.put(frame.data);
    const cached = this.runs.cached(frame.data.id);
    const detections = cached ? { frameIndex: frame.data.index, runs: cached } : appStore.get().detections;
    appStore.set({ frame, frameError: null, detections, paths: { frameIndex: frame.data.index, overlays: this.overlaysFor(frame) } });
    if (!cached) this.runs.refreshCurrent();
    if (!this.plans.has(frame.data.id)) this.requestPlan(frame.data.logId, frame.data.index, frame.data.id);
  }

  private readonly planRequests = new Set<string>();

  /** The core plans each frame (cached there too); a failure leaves the log's own paths on screen. */
  private requestPlan(logId: string, index: number, frameId: string): void {
    if (this.planRequests.has(frameId) || this.player.isRunning) return;
    this.planRequests.add(frameId);
    this.api
      .getPlan({ logId, index })
      .then((plan) => this.showPlan(plan))
      .catch(() => undefined)
      .finally(() => this.planRequests.delete(frameId));
  }

  private overlaysFor(frame: LoadedFrame) {
    const plan = this.plans.get(frame.data.id);
    const overlays = pathsFromFrame(frame.data);
    return plan ? withPlan(overlays, plan, frame.data.stampNs) : overlays;
  }

  /**
   * Shows a planner result (reference path, corridor, intrusions) with its frame, and marks the
   * frame on the timeline when something intrudes. Fed by the API's getPlan for each frame shown.
   */
  showPlan(plan: PlannedFrameLike): void {
    this.plans.delete(plan.frameId);
    this.plans.set(plan.frameId, plan);
    while (this.plans.size > 512) this.plans.delete(this.plans.keys().next().value!);
    const { frame, stubs, markers } = appStore.get();
    const index = stubs.findIndex((s) => s.id === plan.frameId);
    const intrudes = plan.intrusions.some((i) => i.intrudes) || !!plan.drivenIntrusions?.some((i) => i.intrudes);
    const others = markers.filter((m) => m.kind === 'intrusion' && m.index !== index);
    setMarkers('intrusion', intrudes && index >= 0 ? [...others, { index }] : others);
    if (frame?.data.id === plan.frameId) appStore.set({ paths: { frameIndex: frame.data.index, overlays: this.overlaysFor(frame) } });
  }

  // ---- cursor and playback -------------------------------------------------------------------

  seek(index: number): void {
    this.seekInternal(index);
    if (this.player.isRunning) this.player.reanchor();
  }

  private seekInternal(index: number): void {
    const { stubs } = appStore.get();
    if (!this.source || stubs.length === 0) return;
    const clamped = Math.max(0, Math.min(stubs.length - 1, Math.round(index)));
    appStore.set({ frameIndex: clamped });
    this.source.request(clamped);
    // Paused: keep the neighbours warm so stepping is instant.
    if (!this.player.isRunning) this.source.prefetch([clamped + 1, clamped - 1, clamped + 2]);
  }

  step(delta: number): void {
    this.pause();
    this.seek(appStore.get().frameIndex + delta);
  }

  stepSeconds(seconds: number): void {
    const { stubs, frameIndex } = appStore.get();
    const stub = stubs[frameIndex];
    if (!stub) return;
    this.pause();
    let target = nearestIndex(stubs, stub.timeS + seconds);
    if (target === frameIndex) target += Math.sign(seconds);
    this.seek(target);
  }

  /** The selected range, else the whole log. */
  playBounds(): [number, number] {
    const { stubs, range } = appStore.get();
    const last = Math.max(0, stubs.length - 1);
    return range ? [Math.max(0, Math.min(range.start, last)), Math.max(0, Math.min(range.end, last))] : [0, last];
  }

  play(): void {
    const { stubs, frameIndex, log } = appStore.get();
    if (!log || stubs.length < 2) return;
    const [first, last] = this.playBounds();
    if (frameIndex >= last || frameIndex < first) this.seekInternal(first);
    appStore.set({ playing: true });
    this.player.start();
  }

  pause(): void {
    this.player.stop();
    appStore.set({ playing: false });
  }

  togglePlay(): void {
    if (appStore.get().playing) this.pause();
    else this.play();
  }

  setSpeed(speed: number): void {
    const clamped = Math.max(0.1, Math.min(10, speed));
    appStore.set({ speed: clamped });
    if (this.player.isRunning) this.player.reanchor();
  }

  changeSpeed(direction: 1 | -1): void {
    const speed = appStore.get().speed;
    const list = SPEEDS as readonly number[];
    const next =
      direction > 0 ? (list.find((s) => s > speed + 1e-9) ?? list[list.length - 1]!) : ([...list].reverse().find((s) => s < speed - 1e-9) ?? list[0]!);
    this.setSpeed(next);
  }

  select(selection: Selection | null): void {
    appStore.set({ selection });
  }

  /** Timeline range selection (shift-drag); null clears it. */
  setRange(range: { start: number; end: number } | null): void {
    if (range && range.end < range.start) range = { start: range.end, end: range.start };
    appStore.set({ range: range && range.end > range.start ? range : null });
  }

  // ---- status --------------------------------------------------------------------------------

  notify(level: 'info' | 'warning' | 'error', message: string): void {
    appStore.set((s) => (s.notices.some((n) => n.message === message) ? {} : { notices: [...s.notices.slice(-4), { id: noticeId++, level, message }] }));
  }

  dismissNotice(id: number): void {
    appStore.set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  }

  fail(error: unknown): void {
    appStore.set({ error: ApiError.from(error).message });
  }

  clearError(): void {
    appStore.set({ error: null });
  }

  private onProgress(event: ProgressEvent): void {
    appStore.set((s) => ({ tasks: { ...s.tasks, [event.taskId]: event } }));
    if (event.state !== 'running') {
      if (event.state === 'failed') this.notify('error', `${event.label}: ${event.message ?? 'failed'}`);
      setTimeout(() => {
        appStore.set((s) => {
          if (s.tasks[event.taskId]?.state === 'running') return {};
          const tasks = { ...s.tasks };
          delete tasks[event.taskId];
          return { tasks };
        });
      }, 1200);
    }
  }
}
