// The one application store: log, frame cursor, playback, selection, view settings, UI status.
import type { LogEntry, ModelEntry, ProgressEvent, RunInfo, RunProgressEvent, ServerInfo } from '../../src/api/contract.js';
import type { FrameData, FrameStub, LogInfo } from '../../src/logs/model.js';
import type { RunFrameDetections } from './detections.js';
import { defaultLayers, parseLayers, type LayerId, type LayerSettings } from './layers.js';
import type { PathOverlay } from './plan.js';
import { createStore, useStore } from './store.js';

/** A frame with its camera images decoded (once, when it was fetched). */
export interface LoadedFrame {
  data: FrameData;
  /** sensorId -> decoded image; closed when the frame leaves the cache. */
  images: Map<string, ImageBitmap>;
}

/** What is selected, across panels: the same track is highlighted in 2D and 3D. */
export interface Selection {
  kind: 'box2d' | 'box3d';
  id: string;
  trackId?: string;
}

export interface Notice {
  id: number;
  level: 'info' | 'warning' | 'error';
  message: string;
}

/** 'height' (ego z), 'distance' (from the sensor), 'label' (a run's point labels) or a point field (intensity, ring, ...). */
export type ColorMode = 'height' | 'distance' | 'label' | (string & {});

export interface SceneSettings {
  colorMode: ColorMode;
  /** Camera attached behind the ego (display frame = ego); off: the world frame stays put (orbit). */
  follow: boolean;
  birdsEye: boolean;
  pointSize: number;
  /** Sweeps drawn: 1 = the current one; more accumulates past sweeps in the world frame (needs ego poses). */
  accumulate: number;
}

export interface ReviewSettings {
  /** Detections below this score are hidden everywhere (drawing, table, markers). */
  scoreThreshold: number;
  /** Lower-cased class names hidden everywhere (ground truth and detections). */
  hiddenClasses: string[];
  maskOpacity: number;
  /** Lidar points projected into the cameras: size in CSS pixels. */
  projectionPointSize: number;
  sortBy: 'score' | 'distance';
}

export interface RunStyle {
  visible: boolean;
  color: string;
}

/** Detections of the visible runs for the frame on screen. */
export interface FrameDetectionsState {
  frameIndex: number;
  runs: RunFrameDetections[];
}

/**
 * Why a frame is marked. Each kind has one owner that replaces its markers with `setMarkers`:
 * detection (runs), intrusion (planner), review/issue (label review), query (saved hard-case
 * queries), safety (safety-critical misses), eval (evaluation filters).
 */
export type MarkerKind = 'detection' | 'intrusion' | 'review' | 'issue' | 'query' | 'safety' | 'eval';

export interface TimelineMarker {
  index: number;
  kind: MarkerKind;
  /** Highest score on the frame (detections). */
  score?: number;
  /** Shown on hover: the issue title, query text, miss summary, ... */
  label?: string;
  /** Overrides the kind's colour (review status colours, say). */
  color?: string;
}

/** Inclusive frame range selected on the timeline (shift-drag). */
export interface FrameRange {
  start: number;
  end: number;
}

export interface AppState {
  serverInfo: ServerInfo | null;
  logs: LogEntry[];
  log: LogInfo | null;
  stubs: FrameStub[];
  /** The frame the user asked for (the cursor); `frame` catches up when it is loaded. */
  frameIndex: number;
  /** The latest loaded frame for the cursor: only the most recent request ever lands here. */
  frame: LoadedFrame | null;
  frameLoading: boolean;
  frameError: string | null;
  playing: boolean;
  speed: number;
  selection: Selection | null;
  /** A path (or file name) being opened, for the busy indicator. */
  opening: string | null;
  error: string | null;
  tasks: Record<string, ProgressEvent>;
  notices: Notice[];
  helpOpen: boolean;
  scene: SceneSettings;
  layers: LayerSettings;
  review: ReviewSettings;
  /** Bumped to ask 3D views to return to their default camera pose. */
  sceneViewReset: number;
  models: ModelEntry[];
  /** Runs on the open log, newest first. */
  runs: RunInfo[];
  /** By run id (as a string: persisted as JSON). */
  runStyles: Record<string, RunStyle>;
  runProgress: Record<number, RunProgressEvent>;
  detections: FrameDetectionsState | null;
  markers: TimelineMarker[];
  range: FrameRange | null;
  /** Paths drawn for the frame on screen: from the log, and (later) from the planner. */
  paths: { frameIndex: number; overlays: PathOverlay[] } | null;
  /** Bumped when a past sweep (accumulation) arrives. */
  sweepsVersion: number;
}

export const SPEEDS = [0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10] as const;

const SCENE_KEY = 'sightline.scene.v1';
const LAYERS_KEY = 'sightline.layers.v1';
const REVIEW_KEY = 'sightline.review.v1';
const RUN_STYLES_KEY = 'sightline.runStyles.v1';

function readJson(key: string): unknown {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function writeJson(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: settings just don't persist.
  }
}

const inRange = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;

function loadSceneSettings(): SceneSettings {
  const defaults: SceneSettings = { colorMode: 'height', follow: true, birdsEye: false, pointSize: 2, accumulate: 1 };
  const parsed = (readJson(SCENE_KEY) ?? {}) as Partial<SceneSettings>;
  return {
    colorMode: typeof parsed.colorMode === 'string' ? parsed.colorMode : defaults.colorMode,
    follow: defaults.follow, // always start attached to the ego
    birdsEye: typeof parsed.birdsEye === 'boolean' ? parsed.birdsEye : defaults.birdsEye,
    pointSize: inRange(parsed.pointSize, 1, 8) ? parsed.pointSize : defaults.pointSize,
    accumulate: inRange(parsed.accumulate, 1, MAX_ACCUMULATE) ? Math.round(parsed.accumulate) : defaults.accumulate,
  };
}

export const MAX_ACCUMULATE = 10;

function loadReviewSettings(): ReviewSettings {
  const defaults: ReviewSettings = { scoreThreshold: 0.3, hiddenClasses: [], maskOpacity: 0.45, projectionPointSize: 2, sortBy: 'score' };
  const parsed = (readJson(REVIEW_KEY) ?? {}) as Partial<ReviewSettings>;
  return {
    scoreThreshold: inRange(parsed.scoreThreshold, 0, 1) ? parsed.scoreThreshold : defaults.scoreThreshold,
    hiddenClasses: Array.isArray(parsed.hiddenClasses) ? parsed.hiddenClasses.filter((c): c is string => typeof c === 'string') : defaults.hiddenClasses,
    maskOpacity: inRange(parsed.maskOpacity, 0, 1) ? parsed.maskOpacity : defaults.maskOpacity,
    projectionPointSize: inRange(parsed.projectionPointSize, 1, 8) ? parsed.projectionPointSize : defaults.projectionPointSize,
    sortBy: parsed.sortBy === 'distance' ? 'distance' : 'score',
  };
}

function loadRunStyles(): Record<string, RunStyle> {
  const parsed = readJson(RUN_STYLES_KEY);
  const out: Record<string, RunStyle> = {};
  if (typeof parsed !== 'object' || parsed === null) return out;
  for (const [id, style] of Object.entries(parsed as Record<string, Partial<RunStyle>>)) {
    if (typeof style?.visible === 'boolean' && typeof style.color === 'string' && /^#[0-9a-f]{6}$/i.test(style.color)) out[id] = { visible: style.visible, color: style.color };
  }
  return out;
}

export const appStore = createStore<AppState>({
  serverInfo: null,
  logs: [],
  log: null,
  stubs: [],
  frameIndex: 0,
  frame: null,
  frameLoading: false,
  frameError: null,
  playing: false,
  speed: 1,
  selection: null,
  opening: null,
  error: null,
  tasks: {},
  notices: [],
  helpOpen: false,
  scene: loadSceneSettings(),
  layers: parseLayers(readJson(LAYERS_KEY) ?? defaultLayers()),
  review: loadReviewSettings(),
  sceneViewReset: 0,
  models: [],
  runs: [],
  runStyles: loadRunStyles(),
  runProgress: {},
  detections: null,
  markers: [],
  range: null,
  paths: null,
  sweepsVersion: 0,
});

// Persist the user's settings whenever they change (identity comparison: the store is immutable).
const saved: Partial<Pick<AppState, 'scene' | 'layers' | 'review' | 'runStyles'>> = {};
appStore.subscribe(() => {
  const s = appStore.get();
  if (s.scene !== saved.scene) writeJson(SCENE_KEY, (saved.scene = s.scene));
  if (s.layers !== saved.layers) writeJson(LAYERS_KEY, (saved.layers = s.layers));
  if (s.review !== saved.review) writeJson(REVIEW_KEY, (saved.review = s.review));
  if (s.runStyles !== saved.runStyles) writeJson(RUN_STYLES_KEY, (saved.runStyles = s.runStyles));
});

export function useApp<U>(selector: (state: AppState) => U): U {
  return useStore(appStore, selector);
}

/** Replaces every marker of one kind (the others stay). */
export function setMarkers(kind: MarkerKind, markers: readonly Omit<TimelineMarker, 'kind'>[]): void {
  appStore.set((s) => ({ markers: [...s.markers.filter((m) => m.kind !== kind), ...markers.map((m) => ({ ...m, kind }))].sort((a, b) => a.index - b.index) }));
}

export function updateScene(patch: Partial<SceneSettings>): void {
  appStore.set((s) => ({ scene: { ...s.scene, ...patch } }));
}

export function updateReview(patch: Partial<ReviewSettings>): void {
  appStore.set((s) => ({ review: { ...s.review, ...patch } }));
}

export function toggleLayer(id: LayerId, on?: boolean): void {
  appStore.set((s) => ({ layers: { ...s.layers, [id]: on ?? !s.layers[id] } }));
}

export function toggleClass(name: string): void {
  const key = name.toLowerCase();
  appStore.set((s) => {
    const hidden = s.review.hiddenClasses;
    return { review: { ...s.review, hiddenClasses: hidden.includes(key) ? hidden.filter((c) => c !== key) : [...hidden, key] } };
  });
}

/** Whether a class (any case) passes the class filter. */
export function classVisible(review: ReviewSettings, label: string): boolean {
  return review.hiddenClasses.length === 0 || !review.hiddenClasses.includes(label.toLowerCase());
}
