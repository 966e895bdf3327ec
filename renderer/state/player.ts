// Playback on the log's clock: wall time since play, scaled by speed, maps to log time, and the
// frame shown is the last one stamped at or before it. When fetching lags, the cursor waits for
// the pending frame and then jumps to wherever the clock is (frames are skipped, time is not).
import type { FrameStub } from '../../src/logs/model.js';

export interface PlayerHost {
  stubs(): FrameStub[];
  cursor(): number;
  /** Whether the cursor's frame is loaded (on screen or ready to be). */
  cursorReady(): boolean;
  isCached(index: number): boolean;
  speed(): number;
  /** Mean time to fetch and decode one frame, ms. */
  loadMs(): number;
  seek(index: number, fromPlayer: boolean): void;
  /** First and last frame to play (a selected range, else the whole log). */
  bounds(): [number, number];
  prefetch(indices: number[]): void;
  ended(): void;
}

/** Index of the last stub with timeS <= t (0 when t is before the first). */
export function indexAtTime(stubs: FrameStub[], t: number): number {
  let lo = 0;
  let hi = stubs.length - 1;
  if (hi < 0) return 0;
  if (t <= stubs[0]!.timeS) return 0;
  if (t >= stubs[hi]!.timeS) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (stubs[mid]!.timeS <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Index of the stub closest in time to t. */
export function nearestIndex(stubs: FrameStub[], t: number): number {
  const i = indexAtTime(stubs, t);
  const next = stubs[i + 1];
  if (next && Math.abs(next.timeS - t) < Math.abs(stubs[i]!.timeS - t)) return i + 1;
  return i;
}

export class Player {
  private raf = 0;
  private anchorWall = 0;
  private anchorLog = 0;
  private running = false;

  constructor(private readonly host: PlayerHost) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.reanchor();
    this.raf = requestAnimationFrame(this.tick);
  }

  stop(): void {
    this.running = false;
    cancelAnimationFrame(this.raf);
  }

  /** Restart the clock from the cursor (after a seek or a speed change). */
  reanchor(): void {
    const stub = this.host.stubs()[this.host.cursor()];
    this.anchorWall = performance.now();
    this.anchorLog = stub?.timeS ?? 0;
  }

  private readonly tick = (now: number): void => {
    if (!this.running) return;
    const stubs = this.host.stubs();
    if (stubs.length === 0) return this.host.ended();
    const logTime = this.anchorLog + ((now - this.anchorWall) / 1000) * this.host.speed();
    const [, last] = this.host.bounds();
    const target = Math.min(last, indexAtTime(stubs, logTime));
    const cursor = this.host.cursor();
    if (target !== cursor && (this.host.cursorReady() || this.host.isCached(target))) {
      this.host.seek(target, true);
    }
    // Prefetch where the clock will be when each fetch lands (the next frames when fetching keeps up).
    const current = this.host.cursor();
    const ahead = (this.host.loadMs() / 1000) * this.host.speed();
    const wanted: number[] = [];
    for (let k = 1; k <= 3; k++) {
      const index = Math.max(current + k, indexAtTime(stubs, logTime + k * ahead));
      if (index <= last && !wanted.includes(index)) wanted.push(index);
    }
    this.host.prefetch(wanted);
    if (current >= last && this.host.cursorReady() && logTime >= stubs[last]!.timeS) {
      this.running = false;
      this.host.ended();
      return;
    }
    this.raf = requestAnimationFrame(this.tick);
  };
}
