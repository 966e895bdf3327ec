// `window.__sightline`: read-only state for end-to-end tests and benchmarks, plus a few actions.
import type { Selection } from '../state/appState.js';
import { appStore, type ReviewSettings, type SceneSettings } from '../state/appState.js';
import type { LayerId } from '../state/layers.js';
import { paintedFrames, whenPainted, type PaintKind } from '../state/paint.js';
import type { Session } from '../state/session.js';
import { stats, type StatName } from '../state/stats.js';
import { decoderMode } from '../workers/decoder.js';
import { cameraSensors, cameraSnapshot, sceneSnapshot } from './viewRegistry.js';

export interface SightlineTestState {
  logId: string | null;
  frameIndex: number;
  frameCount: number;
  stampNs: string | null;
  playing: boolean;
  speed: number;
  paintedFrame: { camera: number; scene: number };
  helpOpen: boolean;
  selection: Selection | null;
  layers: Record<LayerId, boolean>;
  scene: SceneSettings;
  review: ReviewSettings;
  runs: Array<{ runId: number; status: string; visible: boolean; framesDone: number; framesTotal: number | null }>;
  /** Detections of the visible runs on the frame on screen, per run (after no filtering). */
  detections: Array<{ runId: number; boxes2d: number; boxes3d: number; masks: number; pointLabels: number }> | null;
  markers: number;
  range: { start: number; end: number } | null;
}

export interface MemoryReport {
  geometries: number;
  textures: number;
  programs: number;
  /** performance.memory (Chromium), bytes; null elsewhere. */
  jsHeapUsed: number | null;
  jsHeapTotal: number | null;
}

export interface SightlineTestHooks {
  state(): SightlineTestState;
  seek(index: number): void;
  step(delta: number): void;
  play(): void;
  pause(): void;
  setSpeed(speed: number): void;
  select(selection: Selection | null): void;
  /** Resolves true once the given panels painted `index` (false after the timeout). */
  waitPainted(index: number, kinds?: PaintKind[], timeoutMs?: number): Promise<boolean>;
  /** Moving-average timings in ms (fetch, decode, cameraDraw, sceneUpload, sceneRender). */
  stats(): Record<StatName, number>;
  /** What a camera panel drew: image transform, boxes, wireframe rectangles, projected lidar. */
  camera(sensorId?: string): unknown;
  cameras(): string[];
  /** What the 3D panel drew, with three.js renderer.info. */
  scene(): unknown;
  memory(): MemoryReport;
  /** Runs a major GC where the page was started with --js-flags=--expose-gc. */
  gc(): boolean;
  decoder(): 'worker' | 'main';
  /** Hooks contributed by feature modules (`registerTestHook`): labels, evaluation, audit. */
  ext: Record<string, (...args: never[]) => unknown>;
}

const extensions: Record<string, (...args: never[]) => unknown> = {};

/** Lets a feature module expose state or actions to end-to-end tests without editing this file. */
export function registerTestHook(name: string, fn: (...args: never[]) => unknown): void {
  extensions[name] = fn;
}

declare global {
  interface Window {
    __sightline?: SightlineTestHooks;
    gc?: () => void;
  }
}

export function installTestHooks(session: Session): void {
  window.__sightline = {
    state() {
      const s = appStore.get();
      const detections = s.detections && s.frame && s.detections.frameIndex === s.frame.data.index ? s.detections.runs : null;
      return {
        logId: s.log?.id ?? null,
        frameIndex: s.frameIndex,
        frameCount: s.stubs.length,
        stampNs: s.stubs[s.frameIndex]?.stampNs ?? null,
        playing: s.playing,
        speed: s.speed,
        paintedFrame: paintedFrames(),
        helpOpen: s.helpOpen,
        selection: s.selection,
        layers: { ...s.layers },
        scene: { ...s.scene },
        review: { ...s.review, hiddenClasses: [...s.review.hiddenClasses] },
        runs: s.runs.map((r) => ({ runId: r.runId, status: r.status, visible: !!s.runStyles[r.runId]?.visible, framesDone: r.framesDone, framesTotal: r.framesTotal })),
        detections: detections?.map((d) => ({ runId: d.runId, boxes2d: d.boxes2d.length, boxes3d: d.boxes3d.length, masks: d.masks.length, pointLabels: d.pointLabels.length })) ?? null,
        markers: s.markers.length,
        range: s.range,
      };
    },
    seek: (index) => session.seek(index),
    step: (delta) => session.step(delta),
    play: () => session.play(),
    pause: () => session.pause(),
    setSpeed: (speed) => session.setSpeed(speed),
    select: (selection) => session.select(selection),
    waitPainted: (index, kinds, timeoutMs) => whenPainted(index, kinds, timeoutMs),
    stats,
    camera: (sensorId) => cameraSnapshot(sensorId ?? cameraSensors()[0] ?? ''),
    cameras: cameraSensors,
    scene: sceneSnapshot,
    memory() {
      const scene = sceneSnapshot() as { memory?: { geometries: number; textures: number; programs: number } } | null;
      const heap = (performance as Performance & { memory?: { usedJSHeapSize: number; totalJSHeapSize: number } }).memory;
      return {
        geometries: scene?.memory?.geometries ?? 0,
        textures: scene?.memory?.textures ?? 0,
        programs: scene?.memory?.programs ?? 0,
        jsHeapUsed: heap?.usedJSHeapSize ?? null,
        jsHeapTotal: heap?.totalJSHeapSize ?? null,
      };
    },
    gc() {
      if (typeof window.gc !== 'function') return false;
      window.gc();
      return true;
    },
    decoder: decoderMode,
    ext: extensions,
  };
}
