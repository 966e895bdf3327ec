// The one application store: log, frame cursor, playback, selection, view settings, UI status.
import type { LogEntry, ProgressEvent, ServerInfo } from '../../src/api/contract.js';
import type { FrameData, FrameStub, LogInfo } from '../../src/logs/model.js';
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

export type ColorMode = 'height' | (string & {});

export interface SceneSettings {
  /** 'height' (ego z) or the name of a point field (intensity, ring, ...). */
  colorMode: ColorMode;
  /** Camera attached behind the ego (display frame = ego); off: the world frame stays put. */
  follow: boolean;
  birdsEye: boolean;
  pointSize: number;
  showBoxes: boolean;
  showFrustum: boolean;
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
  /** Bumped to ask 3D views to return to their default camera pose. */
  sceneViewReset: number;
}

export const SPEEDS = [0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10] as const;

const SCENE_KEY = 'sightline.scene.v1';

function loadSceneSettings(): SceneSettings {
  const defaults: SceneSettings = { colorMode: 'height', follow: true, birdsEye: false, pointSize: 2, showBoxes: true, showFrustum: true };
  try {
    const raw = localStorage.getItem(SCENE_KEY);
    if (!raw) return defaults;
    const parsed = JSON.parse(raw) as Partial<SceneSettings>;
    return {
      colorMode: typeof parsed.colorMode === 'string' ? parsed.colorMode : defaults.colorMode,
      follow: defaults.follow, // always start attached to the ego
      birdsEye: typeof parsed.birdsEye === 'boolean' ? parsed.birdsEye : defaults.birdsEye,
      pointSize: typeof parsed.pointSize === 'number' && parsed.pointSize >= 1 && parsed.pointSize <= 8 ? parsed.pointSize : defaults.pointSize,
      showBoxes: typeof parsed.showBoxes === 'boolean' ? parsed.showBoxes : defaults.showBoxes,
      showFrustum: typeof parsed.showFrustum === 'boolean' ? parsed.showFrustum : defaults.showFrustum,
    };
  } catch {
    return defaults;
  }
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
  sceneViewReset: 0,
});

let lastSavedScene: SceneSettings | null = null;
appStore.subscribe(() => {
  const scene = appStore.get().scene;
  if (scene === lastSavedScene) return;
  lastSavedScene = scene;
  try {
    localStorage.setItem(SCENE_KEY, JSON.stringify(scene));
  } catch {
    // Storage full or disabled: settings just don't persist.
  }
});

export function useApp<U>(selector: (state: AppState) => U): U {
  return useStore(appStore, selector);
}

export function updateScene(patch: Partial<SceneSettings>): void {
  appStore.set((s) => ({ scene: { ...s.scene, ...patch } }));
}
