// `window.__sightline`: read-only state for end-to-end tests and benchmarks, plus a few actions.
import { appStore } from '../state/appState.js';
import { paintedFrames } from '../state/paint.js';
import type { Session } from '../state/session.js';
import { stats, type StatName } from '../state/stats.js';

export interface SightlineTestState {
  logId: string | null;
  frameIndex: number;
  frameCount: number;
  stampNs: string | null;
  playing: boolean;
  paintedFrame: { camera: number; scene: number };
}

export interface SightlineTestHooks {
  state(): SightlineTestState;
  seek(index: number): void;
  play(): void;
  pause(): void;
  setSpeed(speed: number): void;
  /** Moving-average timings in ms (fetch, decode, cameraDraw, sceneUpload, sceneRender). */
  stats(): Record<StatName, number>;
}

declare global {
  interface Window {
    __sightline?: SightlineTestHooks;
  }
}

export function installTestHooks(session: Session): void {
  window.__sightline = {
    state() {
      const s = appStore.get();
      return {
        logId: s.log?.id ?? null,
        frameIndex: s.frameIndex,
        frameCount: s.stubs.length,
        stampNs: s.stubs[s.frameIndex]?.stampNs ?? null,
        playing: s.playing,
        paintedFrame: paintedFrames(),
      };
    },
    seek: (index) => session.seek(index),
    play: () => session.play(),
    pause: () => session.pause(),
    setSpeed: (speed) => session.setSpeed(speed),
    stats,
  };
}
