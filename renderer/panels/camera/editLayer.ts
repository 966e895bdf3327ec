// 2D label editing in every camera view: draws the working set's boxes of the frame on screen (eight
// handles on the selected ones) and turns pointer gestures into edits. Click selects (shift adds or
// removes), drag moves the selection, a handle resizes, the draw tool (N) drags out a new box. Drags
// preview locally and commit one edit on release: one undo step per gesture. A press on empty image
// is left to the view (pan, select a detection).
import { classColor } from '../../app/classColors.js';
import { appStore } from '../../state/appState.js';
import { labelSessionStore, orderedBox, withPreview, type LabelBox2D, type LabelRecord, type LabelSessionController } from '../../state/labelSession.js';
import { hexAlpha } from './cameraView.js';
import { registerCameraPointerHandler, type CameraPointerHandler, type CameraPointerInput } from './editLayerPointer.js';
import { registerCameraOverlay, requestCameraRedraw, type CameraOverlay, type CameraOverlayContext } from './overlays.js';

export type Handle = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';
export const HANDLES: readonly Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

/** Handle grab radius and drag threshold, in CSS pixels (the same on screen at any zoom). */
const HANDLE_GRAB_CSS = 7;
const DRAG_THRESHOLD_CSS = 3;
/** Smallest box the draw tool makes, in image pixels (a click is not a box). */
const MIN_BOX_PX = 2;

const CURSORS: Record<Handle, string> = { nw: 'nwse-resize', se: 'nwse-resize', ne: 'nesw-resize', sw: 'nesw-resize', n: 'ns-resize', s: 'ns-resize', e: 'ew-resize', w: 'ew-resize' };

/** A handle's position on the box (image pixels). */
export function handlePoint(box: LabelBox2D, handle: Handle): { x: number; y: number } {
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  const x = handle.includes('w') ? box.x1 : handle.includes('e') ? box.x2 : cx;
  const y = handle.startsWith('n') ? box.y1 : handle.startsWith('s') ? box.y2 : cy;
  return { x, y };
}

/** The handle within `tolerance` image pixels of (x, y), nearest first. */
export function hitHandle(box: LabelBox2D, x: number, y: number, tolerance: number): Handle | null {
  let best: Handle | null = null;
  let bestDistance = tolerance;
  for (const handle of HANDLES) {
    const p = handlePoint(box, handle);
    const d = Math.max(Math.abs(p.x - x), Math.abs(p.y - y));
    if (d <= bestDistance) {
      bestDistance = d;
      best = handle;
    }
  }
  return best;
}

/** The box after dragging `handle` by (dx, dy); edges that cross flip, so the result stays ordered. */
export function resizeBox(box: LabelBox2D, handle: Handle, dx: number, dy: number): LabelBox2D {
  const next = { ...box };
  if (handle.includes('w')) next.x1 += dx;
  if (handle.includes('e')) next.x2 += dx;
  if (handle.startsWith('n')) next.y1 += dy;
  if (handle.startsWith('s')) next.y2 += dy;
  return orderedBox(next);
}

export function moveBox(box: LabelBox2D, dx: number, dy: number): LabelBox2D {
  return { ...box, x1: box.x1 + dx, y1: box.y1 + dy, x2: box.x2 + dx, y2: box.y2 + dy };
}

/** The smallest label box of `sensorId` under (x, y), its edges widened by `tolerance` image pixels. */
export function pickLabel(labels: readonly LabelRecord[], sensorId: string, x: number, y: number, tolerance: number): LabelRecord | null {
  let best: LabelRecord | null = null;
  let bestArea = Infinity;
  for (const label of labels) {
    const b = label.box2d;
    if (!b || b.sensorId !== sensorId) continue;
    if (x < b.x1 - tolerance || x > b.x2 + tolerance || y < b.y1 - tolerance || y > b.y2 + tolerance) continue;
    const area = (b.x2 - b.x1) * (b.y2 - b.y1);
    if (area < bestArea) {
      bestArea = area;
      best = label;
    }
  }
  return best;
}

type Gesture =
  | { kind: 'move'; x0: number; y0: number; start: Map<number, { box: LabelBox2D; revision: number }>; moved: boolean }
  | { kind: 'resize'; labelId: number; revision: number; handle: Handle; x0: number; y0: number; start: LabelBox2D; moved: boolean }
  | { kind: 'draw'; sensorId: string; x0: number; y0: number; box: LabelBox2D | null }
  /** A press that only changed the selection: swallow it so it neither pans nor selects a detection. */
  | { kind: 'none' };

/** Labels drawn (and editable) in a view: the working set's boxes of the frame that view shows. */
function labelsInView(sensorId: string, frameIndex: number): LabelRecord[] {
  const s = labelSessionStore.get();
  if (!s.editMode || s.setId === null || s.frameId === null || appStore.get().stubs[frameIndex]?.id !== s.frameId) return [];
  return s.labels.map((l) => withPreview(l, s.preview)).filter((l) => l.box2d?.sensorId === sensorId);
}

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

class EditLayer implements CameraPointerHandler, CameraOverlay {
  readonly id = 'label-edit';
  readonly stage = 'over-boxes' as const;
  private gesture: Gesture | null = null;

  constructor(private readonly controller: LabelSessionController) {}

  private editable(input: CameraPointerInput): boolean {
    const s = labelSessionStore.get();
    return s.editMode && s.setId !== null && s.frameId !== null && appStore.get().stubs[input.frameIndex]?.id === s.frameId;
  }

  down(input: CameraPointerInput): boolean {
    if (!this.editable(input)) return false;
    const { tool, selected } = labelSessionStore.get();
    const tolerance = HANDLE_GRAB_CSS / input.cssPerImagePixel;
    if (tool === 'draw') {
      const x = clamp(input.x, 0, input.imageWidth);
      const y = clamp(input.y, 0, input.imageHeight);
      this.gesture = { kind: 'draw', sensorId: input.sensorId, x0: x, y0: y, box: null };
      return true;
    }
    const labels = labelsInView(input.sensorId, input.frameIndex);
    for (const label of labels) {
      if (!selected.includes(label.id) || !label.box2d) continue;
      const handle = hitHandle(label.box2d, input.x, input.y, tolerance);
      if (handle) {
        this.gesture = { kind: 'resize', labelId: label.id, revision: label.revision, handle, x0: input.x, y0: input.y, start: label.box2d, moved: false };
        return true;
      }
    }
    const hit = pickLabel(labels, input.sensorId, input.x, input.y, tolerance / 2);
    if (!hit) {
      // Empty image: the view pans or selects a detection; a plain press drops the label selection.
      if (!input.shiftKey) this.controller.select([]);
      return false;
    }
    // A label press takes over from a detection selected in the views (accept/reject act on that).
    if (appStore.get().selection) appStore.set({ selection: null });
    const additive = input.shiftKey || input.ctrlKey || input.metaKey;
    if (additive && selected.includes(hit.id)) {
      this.controller.select([hit.id], 'toggle');
      this.gesture = { kind: 'none' };
      return true;
    }
    if (additive) this.controller.select([hit.id], 'add');
    else if (!selected.includes(hit.id)) this.controller.select([hit.id]);
    const now = labelSessionStore.get().selected;
    const start = new Map(labels.filter((l) => now.includes(l.id) && l.box2d).map((l) => [l.id, { box: l.box2d!, revision: l.revision }]));
    this.gesture = { kind: 'move', x0: input.x, y0: input.y, start, moved: false };
    return true;
  }

  move(input: CameraPointerInput): void {
    const g = this.gesture;
    if (!g || g.kind === 'none') return;
    if (g.kind === 'draw') {
      const x = clamp(input.x, 0, input.imageWidth);
      const y = clamp(input.y, 0, input.imageHeight);
      g.box = orderedBox({ sensorId: g.sensorId, x1: g.x0, y1: g.y0, x2: x, y2: y });
      requestCameraRedraw();
      return;
    }
    const dx = input.x - g.x0;
    const dy = input.y - g.y0;
    if (!g.moved && Math.hypot(dx, dy) * input.cssPerImagePixel < DRAG_THRESHOLD_CSS) return;
    g.moved = true;
    if (g.kind === 'resize') {
      this.controller.setPreview(g.labelId, { box2d: resizeBox(g.start, g.handle, dx, dy) });
      return;
    }
    for (const [id, { box }] of g.start) this.controller.setPreview(id, { box2d: moveBox(box, dx, dy) });
  }

  up(input: CameraPointerInput): void {
    const g = this.gesture;
    this.gesture = null;
    if (!g || g.kind === 'none') return;
    if (g.kind === 'draw') {
      const box = orderedBox({ sensorId: g.sensorId, x1: g.x0, y1: g.y0, x2: clamp(input.x, 0, input.imageWidth), y2: clamp(input.y, 0, input.imageHeight) });
      requestCameraRedraw();
      this.controller.setTool('select');
      if (box.x2 - box.x1 >= MIN_BOX_PX && box.y2 - box.y1 >= MIN_BOX_PX) void this.controller.createBox(box).finally(() => requestCameraRedraw());
      return;
    }
    if (!g.moved) return;
    const dx = input.x - g.x0;
    const dy = input.y - g.y0;
    // Each change names the revision its drag started from: a change made meanwhile elsewhere is refused, not overwritten.
    const changes =
      g.kind === 'resize'
        ? [{ labelId: g.labelId, revision: g.revision, patch: { box2d: resizeBox(g.start, g.handle, dx, dy) } }]
        : [...g.start].map(([labelId, { box, revision }]) => ({ labelId, revision, patch: { box2d: moveBox(box, dx, dy) } }));
    for (const c of changes) this.controller.setPreview(c.labelId, c.patch);
    const description = g.kind === 'resize' ? `resize label ${g.labelId}` : changes.length === 1 ? `move label ${changes[0]!.labelId}` : `move ${changes.length} labels`;
    void this.controller.updateLabels(changes, description).finally(() => {
      // Whatever the outcome, the stored boxes are what to show now.
      for (const c of changes) this.controller.setPreview(c.labelId, null);
    });
  }

  cancel(): void {
    const g = this.gesture;
    this.gesture = null;
    if (g?.kind === 'move') for (const id of g.start.keys()) this.controller.setPreview(id, null);
    if (g?.kind === 'resize') this.controller.setPreview(g.labelId, null);
    requestCameraRedraw();
  }

  cursor(input: CameraPointerInput): string | null {
    if (!this.editable(input)) return null;
    const { tool, selected } = labelSessionStore.get();
    if (tool === 'draw') return 'crosshair';
    const tolerance = HANDLE_GRAB_CSS / input.cssPerImagePixel;
    const labels = labelsInView(input.sensorId, input.frameIndex);
    for (const label of labels) {
      if (!selected.includes(label.id) || !label.box2d) continue;
      const handle = hitHandle(label.box2d, input.x, input.y, tolerance);
      if (handle) return CURSORS[handle];
    }
    return pickLabel(labels, input.sensorId, input.x, input.y, tolerance / 2) ? 'move' : null;
  }

  draw(view: CameraOverlayContext): void {
    const labels = labelsInView(view.sensorId, view.frameIndex);
    const draft = this.gesture?.kind === 'draw' && this.gesture.sensorId === view.sensorId ? this.gesture.box : null;
    if (labels.length === 0 && !draft) return;
    const { ctx, transform: t, dpr } = view;
    const { selected } = labelSessionStore.get();
    const toCanvas = (b: LabelBox2D) => ({ x: t.ox + b.x1 * t.s, y: t.oy + b.y1 * t.s, w: (b.x2 - b.x1) * t.s, h: (b.y2 - b.y1) * t.s });
    // Selected last, so their handles are on top.
    const ordered = [...labels].sort((a, b) => Number(selected.includes(a.id)) - Number(selected.includes(b.id)));
    ctx.font = `600 ${Math.round(11 * dpr)}px ui-sans-serif, system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    for (const label of ordered) {
      const r = toCanvas(label.box2d!);
      const color = classColor(label.class);
      const isSelected = selected.includes(label.id);
      ctx.fillStyle = hexAlpha(color, isSelected ? 0.14 : 0.06);
      ctx.fillRect(r.x, r.y, r.w, r.h);
      ctx.strokeStyle = 'rgba(0,0,0,0.75)';
      ctx.lineWidth = (isSelected ? 4.5 : 3.5) * dpr;
      ctx.strokeRect(r.x, r.y, r.w, r.h);
      ctx.strokeStyle = isSelected ? '#ffffff' : color;
      ctx.lineWidth = (isSelected ? 2.25 : 1.75) * dpr;
      ctx.strokeRect(r.x, r.y, r.w, r.h);
      const tag = `${label.class}${label.trackId ? ` ${label.trackId}` : ''}${label.sourceDetectionId !== null ? ' ✓' : ''}`;
      const tw = ctx.measureText(tag).width + 8 * dpr;
      const th = 15 * dpr;
      const ty = r.y - th >= 0 ? r.y - th : r.y;
      ctx.fillStyle = isSelected ? '#ffffff' : color;
      ctx.fillRect(r.x - 0.5 * dpr, ty, tw, th);
      ctx.fillStyle = '#0b0d10';
      ctx.fillText(tag, r.x + 3.5 * dpr, ty + th / 2 + 0.5 * dpr);
      if (isSelected) drawHandles(ctx, label.box2d!, t, dpr);
    }
    if (draft) {
      const r = toCanvas(draft);
      ctx.setLineDash([6 * dpr, 4 * dpr]);
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeRect(r.x, r.y, r.w, r.h);
      ctx.setLineDash([]);
    }
  }
}

function drawHandles(ctx: CanvasRenderingContext2D, box: LabelBox2D, t: CameraOverlayContext['transform'], dpr: number): void {
  const size = 7 * dpr;
  for (const handle of HANDLES) {
    const p = handlePoint(box, handle);
    const x = t.ox + p.x * t.s - size / 2;
    const y = t.oy + p.y * t.s - size / 2;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(x, y, size, size);
    ctx.strokeStyle = '#0b0d10';
    ctx.lineWidth = 1.25 * dpr;
    ctx.strokeRect(x, y, size, size);
  }
}

let installed: { controller: LabelSessionController; users: number; remove: () => void } | null = null;

/** Installs the edit layer for a session's controller (reference-counted: one per camera panel). */
export function installLabelEditLayer(controller: LabelSessionController): () => void {
  if (installed && installed.controller !== controller) {
    installed.remove();
    installed = null;
  }
  if (!installed) {
    const layer = new EditLayer(controller);
    const offs = [registerCameraOverlay(layer), registerCameraPointerHandler(layer), labelSessionStore.subscribe(() => requestCameraRedraw())];
    installed = { controller, users: 0, remove: () => offs.forEach((off) => off()) };
  }
  const entry = installed;
  entry.users++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--entry.users === 0 && installed === entry) {
      entry.remove();
      installed = null;
    }
  };
}
