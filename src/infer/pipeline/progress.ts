// Frames per second and ETA over a sliding window, so a slow start (engine warm-up) or a change of
// pace does not stick to the estimate for the rest of the run.
export interface RunProgress {
  runId: number;
  /** Frames with committed results, including those of earlier sessions of a resumed run. */
  framesDone: number;
  framesTotal: number;
  framesPerS: number;
  etaS: number | null;
  /** Engine and execution provider, e.g. 'onnxruntime/cpu', once known. */
  backend: string | null;
  status: 'pending' | 'running' | 'done' | 'failed' | 'cancelled';
}

export class RateMeter {
  private readonly samples: { t: number; n: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records the running count of frames done in this session. */
  add(count: number, now = performance.now()): void {
    this.samples.push({ t: now, n: count });
    while (this.samples.length > 2 && now - this.samples[1]!.t > this.windowMs) this.samples.shift();
  }

  /** Frames per second over the window; 0 until two samples exist. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? (last.n - first.n) / dt : 0;
  }
}
