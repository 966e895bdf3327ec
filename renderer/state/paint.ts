// Which frame each kind of panel last painted, for tests and benchmarks: `window.__sightline`
// reads it, and every paint leaves a `sightline:painted:<kind>:<index>` performance mark.
export type PaintKind = 'camera' | 'scene';

const painted: Record<PaintKind, number> = { camera: -1, scene: -1 };
const recentMarks: string[] = [];
const MAX_MARKS = 2000;

const waiters = new Set<() => void>();
/** Paint reports so far, per kind (to wait for a paint that happens after a request). */
const sequence: Record<PaintKind, number> = { camera: 0, scene: 0 };

export function reportPainted(kind: PaintKind, index: number): void {
  painted[kind] = index;
  sequence[kind]++;
  for (const wake of [...waiters]) wake();
  const name = `sightline:painted:${kind}:${index}`;
  try {
    performance.mark(name);
    recentMarks.push(name);
    // Bound the timeline buffer over long sessions: drop the oldest marks.
    if (recentMarks.length > MAX_MARKS) performance.clearMarks(recentMarks.shift());
  } catch {
    // performance.mark can throw for odd names in old engines; painting must not.
  }
}

export function paintedFrames(): { camera: number; scene: number } {
  return { camera: painted.camera, scene: painted.scene };
}

export function resetPainted(): void {
  painted.camera = -1;
  painted.scene = -1;
}

/**
 * Resolves true once every kind in `kinds` has painted frame `index` after this call (call it
 * right after asking for a different frame), or false after `timeoutMs`.
 */
export function whenPainted(index: number, kinds: PaintKind[] = ['camera', 'scene'], timeoutMs = 10_000): Promise<boolean> {
  const start = { ...sequence };
  const done = () => kinds.every((k) => painted[k] === index && sequence[k] > start[k]);
  if (done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiters.delete(wake);
      resolve(false);
    }, timeoutMs);
    const wake = () => {
      if (!done()) return;
      clearTimeout(timer);
      waiters.delete(wake);
      resolve(true);
    };
    waiters.add(wake);
  });
}
