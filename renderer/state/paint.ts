// Which frame each kind of panel last painted, for tests and benchmarks: `window.__sightline`
// reads it, and every paint leaves a `sightline:painted:<kind>:<index>` performance mark.
export type PaintKind = 'camera' | 'scene';

const painted: Record<PaintKind, number> = { camera: -1, scene: -1 };
const recentMarks: string[] = [];
const MAX_MARKS = 2000;

export function reportPainted(kind: PaintKind, index: number): void {
  painted[kind] = index;
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
