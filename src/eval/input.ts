// Input checks shared by the metrics: a bad box is dropped with a warning naming the frame and the
// box, so one malformed row never sinks a whole evaluation; a non-array input is an error.
import { EvalError, type EvalBox, type EvalFrame, type Rect, type EvalBox3D } from './types.js';

const MAX_WARNINGS = 200;

/** Collects warnings, keeping the first MAX_WARNINGS and counting the rest. */
export class Warnings {
  readonly list: string[] = [];
  private dropped = 0;

  add(message: string): void {
    if (this.list.length < MAX_WARNINGS) this.list.push(message);
    else this.dropped++;
  }

  result(): string[] {
    return this.dropped > 0 ? [...this.list, `... and ${this.dropped} more warnings`] : [...this.list];
  }
}

export interface CheckedFrame {
  frameId: string;
  gts: EvalBox[];
  dets: EvalBox[];
}

export type GeometryNeed = 'box2d' | 'box3d' | 'any';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function validRect(r: Rect | undefined): boolean {
  return !!r && finite(r.x1) && finite(r.y1) && finite(r.x2) && finite(r.y2) && r.x2 >= r.x1 && r.y2 >= r.y1;
}

function validBox3d(b: EvalBox3D | undefined): boolean {
  return (
    !!b &&
    Array.isArray(b.center) &&
    Array.isArray(b.size) &&
    b.center.length === 3 &&
    b.size.length === 3 &&
    b.center.every(finite) &&
    b.size.every((s) => finite(s) && s > 0) &&
    finite(b.yaw)
  );
}

/**
 * Returns the frames with only usable boxes, and (labels) the labels of the kept detections and of
 * the kept ground truth that is not an ignore region. A box whose 2D or 3D geometry is malformed loses that
 * geometry; a box then lacking the geometry the metric needs, a label, or (detections) a finite
 * score is dropped. Each drop is a warning.
 */
export function checkFrames(frames: readonly EvalFrame[], need: GeometryNeed, warnings: Warnings): CheckedFrame[] & { labels: Set<string> } {
  if (!Array.isArray(frames)) throw new EvalError('expected an array of frames', 'evaluation input');
  const seen = new Set<string>();
  const labels = new Set<string>();
  const out = Object.assign([] as CheckedFrame[], { labels });
  frames.forEach((frame, index) => {
    if (!frame || typeof frame !== 'object') throw new EvalError('not a frame object', `frame #${index}`);
    const frameId = typeof frame.frameId === 'string' ? frame.frameId : String(frame.frameId ?? `#${index}`);
    if (seen.has(frameId)) warnings.add(`frame ${frameId}: frame id repeated (frame #${index}); evaluated as a separate frame`);
    seen.add(frameId);
    const check = (side: 'gt' | 'det', boxes: readonly EvalBox[] | undefined): EvalBox[] => {
      if (boxes === undefined) return [];
      if (!Array.isArray(boxes)) throw new EvalError(`${side === 'gt' ? 'gts' : 'dets'} is not an array`, `frame ${frameId}`);
      const kept: EvalBox[] = [];
      const ids = new Set<string>();
      boxes.forEach((box, i) => {
        // The name is built only when there is something to say (this loop sees every box).
        const warn = (message: string) => warnings.add(`frame ${frameId} ${side} ${box && typeof box.id === 'string' ? box.id : `#${i}`}: ${message}`);
        if (!box || typeof box !== 'object') return warn('not a box; skipped');
        if (typeof box.label !== 'string' || box.label === '') return warn('no label; skipped');
        if (side === 'det' && !finite(box.score)) return warn('detection without a finite score; skipped');
        let fixed = box;
        if (box.box2d !== undefined && !validRect(box.box2d)) {
          warn('malformed 2D box (non-finite or x2 < x1 / y2 < y1); 2D box dropped');
          fixed = { ...fixed, box2d: undefined };
        }
        if (box.box3d !== undefined && !validBox3d(box.box3d)) {
          warn('malformed 3D box (non-finite, or size not positive); 3D box dropped');
          fixed = { ...fixed, box3d: undefined };
        }
        if (typeof box.id !== 'string') fixed = { ...fixed, id: `#${i}` };
        // Records and run comparison key on (frame, id): a repeat is renamed, not merged.
        if (ids.has(fixed.id)) {
          warn(`id repeated; evaluated as '${fixed.id}#${i}'`);
          fixed = { ...fixed, id: `${fixed.id}#${i}` };
        }
        ids.add(fixed.id);
        const has2d = fixed.box2d !== undefined;
        const has3d = fixed.box3d !== undefined;
        if (need === 'box2d' && !has2d) return warn('no 2D box; skipped');
        if (need === 'box3d' && !has3d) return warn('no 3D box; skipped');
        if (need === 'any' && !has2d && !has3d) return warn('neither a 2D nor a 3D box; skipped');
        if (side === 'det' || !fixed.ignore) labels.add(fixed.label);
        kept.push(fixed);
      });
      return kept;
    };
    out.push({ frameId, gts: check('gt', frame.gts), dets: check('det', frame.dets) });
  });
  return out;
}
