// Past lidar sweeps for accumulation in the 3D view: the sweep of every displayed frame is kept
// (a bounded LRU), and the ones missing behind the cursor are fetched without camera images.
import type { SightlineApi } from '../../src/api/contract.js';
import type { FrameData } from '../../src/logs/model.js';
import type { PastSweep } from '../renderables/SweepHistoryRenderable.js';
import { appStore, MAX_ACCUMULATE } from './appState.js';

const CAPACITY = MAX_ACCUMULATE * 2 + 4;

export class SweepCache {
  private readonly sweeps = new Map<number, PastSweep>(); // insertion order = LRU order
  private readonly inFlight = new Set<number>();
  private logId: string | null = null;
  private generation = 0;

  constructor(private readonly api: SightlineApi) {}

  setLog(logId: string | null): void {
    this.logId = logId;
    this.generation++;
    this.sweeps.clear();
    this.inFlight.clear();
  }

  /** Remembers a displayed frame's sweep (no request needed when stepping forward). */
  put(frame: FrameData): void {
    if (!frame.lidar || !frame.egoPose) return;
    this.store({ index: frame.index, cloud: frame.lidar, egoPose: frame.egoPose });
  }

  private store(sweep: PastSweep): void {
    this.sweeps.delete(sweep.index);
    this.sweeps.set(sweep.index, sweep);
    while (this.sweeps.size > CAPACITY) this.sweeps.delete(this.sweeps.keys().next().value!);
  }

  /** The `count` sweeps before `index`, newest first, as far as they are here; fetches the rest. */
  before(index: number, count: number): PastSweep[] {
    const out: PastSweep[] = [];
    for (let i = index - 1; i >= Math.max(0, index - count); i--) {
      const hit = this.sweeps.get(i);
      if (hit) out.push(hit);
      else this.fetch(i);
    }
    return out;
  }

  private fetch(index: number): void {
    const logId = this.logId;
    if (!logId || this.inFlight.has(index) || this.inFlight.size >= 3) return;
    this.inFlight.add(index);
    const generation = this.generation;
    void this.api
      .getFrame({ logId, index, include: { cameras: false, lidar: true } })
      .then((frame) => {
        if (generation !== this.generation || !frame.lidar || !frame.egoPose) return;
        this.store({ index, cloud: frame.lidar, egoPose: frame.egoPose });
        appStore.set((s) => ({ sweepsVersion: s.sweepsVersion + 1 }));
      })
      .catch(() => undefined)
      .finally(() => {
        if (generation === this.generation) this.inFlight.delete(index);
      });
  }
}
