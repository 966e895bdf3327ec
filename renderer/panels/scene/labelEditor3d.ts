// 3D label editing in the scene view: in edit mode the working set's boxes of the frame on screen are
// drawn (the log's ground truth steps aside), and pointer gestures become edits. Click selects (shift
// adds or removes), dragging a box moves it on the ground, a corner handle resizes length and width
// (the opposite corner stays put), the handle ahead of the front face turns it, and in the perspective
// views the top and bottom handles set its height. A drag previews locally and commits one update on
// release: one undo step per gesture. The cluster tool turns the next click on the sweep into a new
// label around the lidar cluster there.
//
// Presses are caught in the capture phase on the canvas's parent, so a press on a box or a handle
// never reaches the orbit controls or the view's own click-to-select; other presses pass through.
import { BufferAttribute, BufferGeometry, LineBasicMaterial, LineSegments, Points, PointsMaterial, Vector3, type Ray } from 'three';
import type { Box3D } from '../../../src/logs/model.js';
import { registerTestHook } from '../../app/testHooks.js';
import { appStore } from '../../state/appState.js';
import { labelSessionStore, withPreview, type LabelBox3D, type LabelRecord, type LabelSessionController } from '../../state/labelSession.js';
import { BoxesRenderable } from '../../renderables/BoxesRenderable.js';
import type { SceneView } from './sceneView.js';

export type Handle3D = 'corner0' | 'corner1' | 'corner2' | 'corner3' | 'rotate' | 'top' | 'bottom';

/** Corner handles in the box's own frame (signs of half length, half width): front-left, rear-left, rear-right, front-right. */
const CORNER_SIGNS: ReadonlyArray<[number, number]> = [
  [1, 1],
  [-1, 1],
  [-1, -1],
  [1, -1],
];
const HANDLE_GRAB_CSS = 9;
const DRAG_THRESHOLD_CSS = 3;
const MIN_SIZE = 0.1;
/** How far the rotation handle stands ahead of the front face, metres (at least). */
const ROTATE_REACH = 1.2;
/** Point pick radius of the cluster tool, CSS pixels. */
const POINT_PICK_CSS = 12;

type Vec3 = [number, number, number];

/** Where each handle of a box is, in the ego frame. */
export function handlePositions(box: LabelBox3D): Record<Handle3D, Vec3> {
  const [cx, cy, cz] = box.center;
  const [l, w, h] = box.size;
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const top = cz + h / 2;
  const at = (u: number, v: number, z: number): Vec3 => [cx + c * u - s * v, cy + s * u + c * v, z];
  const corners = CORNER_SIGNS.map(([su, sv]) => at((su * l) / 2, (sv * w) / 2, top));
  return {
    corner0: corners[0]!,
    corner1: corners[1]!,
    corner2: corners[2]!,
    corner3: corners[3]!,
    rotate: at(l / 2 + Math.max(ROTATE_REACH, 0.3 * l), 0, top),
    top: [cx, cy, top],
    bottom: [cx, cy, cz - h / 2],
  };
}

/** The box with corner `index` dragged to the ego point (x, y): the opposite corner stays where it was. */
export function resizeFromCorner(box: LabelBox3D, index: number, x: number, y: number): LabelBox3D {
  const [su, sv] = CORNER_SIGNS[index]!;
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const fu = (-su * box.size[0]) / 2;
  const fv = (-sv * box.size[1]) / 2;
  const dx = x - box.center[0];
  const dy = y - box.center[1];
  const pu = c * dx + s * dy;
  const pv = -s * dx + c * dy;
  const length = Math.max(MIN_SIZE, Math.abs(pu - fu));
  const width = Math.max(MIN_SIZE, Math.abs(pv - fv));
  // The dragged corner stays on its side of the fixed one (a box never turns inside out).
  const mu = fu + (su * length) / 2;
  const mv = fv + (sv * width) / 2;
  return { center: [box.center[0] + c * mu - s * mv, box.center[1] + s * mu + c * mv, box.center[2]], size: [length, width, box.size[2]], yaw: box.yaw };
}

/** The box turned so that its front points at the ego point (x, y). */
export function rotateTowards(box: LabelBox3D, x: number, y: number): LabelBox3D {
  return { ...box, yaw: Math.atan2(y - box.center[1], x - box.center[0]) };
}

/** The box with its top (or bottom) face moved to height z; the other face stays. */
export function setFaceHeight(box: LabelBox3D, face: 'top' | 'bottom', z: number): LabelBox3D {
  let bottom = box.center[2] - box.size[2] / 2;
  let top = box.center[2] + box.size[2] / 2;
  if (face === 'top') top = Math.max(z, bottom + MIN_SIZE);
  else bottom = Math.min(z, top - MIN_SIZE);
  return { center: [box.center[0], box.center[1], (top + bottom) / 2], size: [box.size[0], box.size[1], top - bottom], yaw: box.yaw };
}

/** Where a ray meets the horizontal plane z = height (null when parallel or behind). */
function onPlane(ray: Ray, height: number): Vector3 | null {
  const dz = ray.direction.z;
  if (Math.abs(dz) < 1e-9) return null;
  const t = (height - ray.origin.z) / dz;
  return t >= 0 ? ray.origin.clone().addScaledVector(ray.direction, t) : null;
}

/** Height of the point on the vertical line through (x, y) closest to the ray. */
function heightOnVertical(ray: Ray, x: number, y: number): number | null {
  // Closest points of two lines: the ray o + t d and the line (x, y, 0) + s ẑ.
  const o = ray.origin;
  const d = ray.direction;
  const w = new Vector3(o.x - x, o.y - y, o.z);
  const b = d.z;
  const denom = 1 - b * b;
  if (denom < 1e-6) return null;
  return (w.z - b * d.dot(w)) / denom;
}

type Gesture =
  | { kind: 'move'; labelId: number; revision: number; start: LabelBox3D; grab: Vector3; x0: number; y0: number; moved: boolean }
  | { kind: 'handle'; handle: Handle3D; labelId: number; revision: number; start: LabelBox3D; x0: number; y0: number; moved: boolean }
  | { kind: 'cluster'; x0: number; y0: number; moved: boolean }
  /** A press that only changed the selection. */
  | { kind: 'none' };

export type SceneTool = 'select' | 'cluster';

export class LabelEditor3D {
  private readonly boxes = new BoxesRenderable({ fill: true });
  private readonly handleGeometry = new BufferGeometry();
  private readonly handles: Points;
  private readonly stemGeometry = new BufferGeometry();
  private readonly stem: LineSegments;
  private shown: LabelRecord[] = [];
  private gesture: Gesture | null = null;
  /** A plain press on empty canvas: a click (no drag) there drops the label selection. */
  private emptyPress: { x: number; y: number; moved: boolean } | null = null;
  private tool: SceneTool = 'select';
  private readonly cleanup: Array<() => void> = [];
  onToolChange: (tool: SceneTool) => void = () => undefined;

  constructor(
    private readonly view: SceneView,
    private readonly controller: LabelSessionController,
  ) {
    this.handleGeometry.setAttribute('position', new BufferAttribute(new Float32Array(7 * 3), 3));
    this.handles = new Points(this.handleGeometry, new PointsMaterial({ color: 0xffffff, size: 9, sizeAttenuation: false, depthTest: false, transparent: true }));
    this.handles.renderOrder = 5;
    this.handles.frustumCulled = false;
    this.stemGeometry.setAttribute('position', new BufferAttribute(new Float32Array(2 * 3), 3));
    this.stem = new LineSegments(this.stemGeometry, new LineBasicMaterial({ color: 0xffffff, depthTest: false, transparent: true }));
    this.stem.renderOrder = 5;
    this.stem.frustumCulled = false;
    view.addToEgoFrame(this.boxes.object);
    view.addToEgoFrame(this.handles);
    view.addToEgoFrame(this.stem);

    const host = view.canvas.parentElement ?? view.canvas;
    this.listen(host, 'pointerdown', (e) => this.onDown(e as PointerEvent), true);
    this.listen(window, 'pointermove', (e) => this.onMove(e as PointerEvent));
    this.listen(window, 'pointerup', (e) => this.onUp(e as PointerEvent));
    this.listen(view.canvas, 'pointermove', (e) => this.updateCursor(e as PointerEvent));
    this.cleanup.push(labelSessionStore.subscribe(() => this.refresh()));
    this.cleanup.push(appStore.subscribe(() => this.refresh()));
    registerTestHook('scene3dEdit', () => this.testState());
    registerTestHook('sceneEgoToPage', (p: Vec3) => this.view.egoToClient(p));
    this.refresh();
  }

  private listen(target: EventTarget, type: string, fn: (e: Event) => void, capture = false): void {
    target.addEventListener(type, fn, capture);
    this.cleanup.push(() => target.removeEventListener(type, fn, capture));
  }

  setTool(tool: SceneTool): void {
    if (tool === this.tool) return;
    this.tool = tool;
    this.view.canvas.style.cursor = tool === 'cluster' ? 'crosshair' : '';
    this.onToolChange(tool);
  }


  /** Whether the working set's labels of the frame on screen are editable here. */
  private editable(): boolean {
    const s = labelSessionStore.get();
    return s.editMode && s.setId !== null && s.frameId !== null && appStore.get().frame?.data.id === s.frameId;
  }

  /** The frame's labels with a 3D box, previews applied. */
  private labels(): LabelRecord[] {
    if (!this.editable()) return [];
    const s = labelSessionStore.get();
    return s.labels.map((l) => withPreview(l, s.preview)).filter((l) => l.box3d);
  }

  /** The one selected label with a 3D box (handles are for a single box). */
  private selectedBox(): LabelRecord | null {
    const { selected } = labelSessionStore.get();
    if (selected.length !== 1) return null;
    return this.shown.find((l) => l.id === selected[0]) ?? null;
  }

  /** What the last refresh drew from (store objects are replaced, never mutated). */
  private drawnFrom: unknown[] = [];

  refresh(): void {
    const s = labelSessionStore.get();
    const key = [s.labels, s.preview, s.selected, s.editMode, s.setId, s.frameId, appStore.get().frame?.data.id, this.view.birdsEye];
    if (key.every((v, i) => v === this.drawnFrom[i])) return;
    this.drawnFrom = key;
    const labels = this.labels();
    const { selected } = s;
    this.shown = labels;
    const boxes: Box3D[] = labels.map((l) => ({ id: `label:${l.id}`, label: l.class, center: l.box3d!.center, size: l.box3d!.size, yaw: l.box3d!.yaw, ...(l.trackId ? { trackId: l.trackId } : {}) }));
    this.boxes.update(boxes, { selectedId: selected.length ? `label:${selected[0]}` : undefined });
    const chosen = this.selectedBox();
    this.handles.visible = !!chosen;
    this.stem.visible = !!chosen;
    if (chosen) {
      const h = handlePositions(chosen.box3d!);
      const list = this.visibleHandles().map((name) => h[name]);
      const positions = this.handleGeometry.getAttribute('position') as BufferAttribute;
      list.forEach((p, i) => positions.setXYZ(i, p[0], p[1], p[2]));
      positions.needsUpdate = true;
      this.handleGeometry.setDrawRange(0, list.length);
      const b = chosen.box3d!;
      const front = [b.center[0] + (Math.cos(b.yaw) * b.size[0]) / 2, b.center[1] + (Math.sin(b.yaw) * b.size[0]) / 2, h.rotate[2]];
      const stem = this.stemGeometry.getAttribute('position') as BufferAttribute;
      stem.setXYZ(0, front[0], front[1], front[2]);
      stem.setXYZ(1, h.rotate[0], h.rotate[1], h.rotate[2]);
      stem.needsUpdate = true;
    }
    this.view.invalidate();
  }

  /** Top and bottom fall on the box centre seen from above: only the side views offer them. */
  private visibleHandles(): Handle3D[] {
    const base: Handle3D[] = ['corner0', 'corner1', 'corner2', 'corner3', 'rotate'];
    return this.view.birdsEye ? base : [...base, 'top', 'bottom'];
  }

  /** The handle of the selected box under the pointer (client pixels). */
  private hitHandle(clientX: number, clientY: number): { label: LabelRecord; handle: Handle3D } | null {
    const label = this.selectedBox();
    if (!label) return null;
    const positions = handlePositions(label.box3d!);
    let best: Handle3D | null = null;
    let bestDistance = HANDLE_GRAB_CSS;
    for (const handle of this.visibleHandles()) {
      const p = this.view.egoToClient(positions[handle]);
      if (!p) continue;
      const d = Math.max(Math.abs(p.x - clientX), Math.abs(p.y - clientY));
      if (d <= bestDistance) {
        bestDistance = d;
        best = handle;
      }
    }
    return best ? { label, handle: best } : null;
  }

  private hitBox(ray: Ray): LabelRecord | null {
    const hit = this.boxes.pick(ray);
    return hit ? (this.shown.find((l) => `label:${l.id}` === hit.box.id) ?? null) : null;
  }

  private onDown(e: PointerEvent): void {
    this.emptyPress = null;
    if (e.button !== 0 || e.target !== this.view.canvas || !this.editable()) return;
    if (this.tool === 'cluster') {
      this.gesture = { kind: 'cluster', x0: e.clientX, y0: e.clientY, moved: false };
      this.consume(e);
      return;
    }
    const handle = this.hitHandle(e.clientX, e.clientY);
    if (handle) {
      this.gesture = { kind: 'handle', handle: handle.handle, labelId: handle.label.id, revision: handle.label.revision, start: handle.label.box3d!, x0: e.clientX, y0: e.clientY, moved: false };
      this.consume(e);
      return;
    }
    const ray = this.view.egoRay(e.clientX, e.clientY);
    const hit = ray ? this.hitBox(ray) : null;
    if (!hit) {
      if (!e.shiftKey) this.emptyPress = { x: e.clientX, y: e.clientY, moved: false };
      return;
    }
    this.consume(e);
    // A label press takes over from a detection selected in the views.
    if (appStore.get().selection) appStore.set({ selection: null });
    const { selected } = labelSessionStore.get();
    const additive = e.shiftKey || e.ctrlKey || e.metaKey;
    if (additive) {
      this.controller.select([hit.id], 'toggle');
      this.gesture = { kind: 'none' };
      return;
    }
    if (!selected.includes(hit.id) || selected.length !== 1) this.controller.select([hit.id]);
    const box = hit.box3d!;
    const grab = onPlane(ray!, box.center[2]);
    this.gesture = grab ? { kind: 'move', labelId: hit.id, revision: hit.revision, start: box, grab, x0: e.clientX, y0: e.clientY, moved: false } : { kind: 'none' };
  }

  private consume(e: PointerEvent): void {
    e.stopPropagation();
    e.preventDefault();
  }

  /** The box a gesture leads to with the pointer at (clientX, clientY); null where the pointer says nothing. */
  private dragged(g: Extract<Gesture, { kind: 'move' | 'handle' }>, clientX: number, clientY: number): LabelBox3D | null {
    const ray = this.view.egoRay(clientX, clientY);
    if (!ray) return null;
    const start = g.start;
    if (g.kind === 'move') {
      const p = onPlane(ray, start.center[2]);
      return p ? { ...start, center: [start.center[0] + p.x - g.grab.x, start.center[1] + p.y - g.grab.y, start.center[2]] } : null;
    }
    if (g.handle === 'top' || g.handle === 'bottom') {
      const z = heightOnVertical(ray, start.center[0], start.center[1]);
      return z === null ? null : setFaceHeight(start, g.handle, z);
    }
    const p = onPlane(ray, start.center[2] + start.size[2] / 2);
    if (!p) return null;
    if (g.handle === 'rotate') return rotateTowards(start, p.x, p.y);
    return resizeFromCorner(start, Number(g.handle.slice(-1)), p.x, p.y);
  }

  private onMove(e: PointerEvent): void {
    if (this.emptyPress && Math.hypot(e.clientX - this.emptyPress.x, e.clientY - this.emptyPress.y) > DRAG_THRESHOLD_CSS) this.emptyPress.moved = true;
    const g = this.gesture;
    if (!g || g.kind === 'none') return;
    if (!g.moved && Math.hypot(e.clientX - g.x0, e.clientY - g.y0) < DRAG_THRESHOLD_CSS) return;
    g.moved = true;
    if (g.kind === 'cluster') return;
    const box = this.dragged(g, e.clientX, e.clientY);
    if (box) this.controller.setPreview(g.labelId, { box3d: box });
  }

  private onUp(e: PointerEvent): void {
    const empty = this.emptyPress;
    this.emptyPress = null;
    if (empty && !empty.moved && e.target === this.view.canvas) this.controller.select([]);
    const g = this.gesture;
    this.gesture = null;
    if (!g || g.kind === 'none') return;
    if (g.kind === 'cluster') {
      if (g.moved) return;
      const point = this.view.pickLidarPoint(e.clientX, e.clientY, POINT_PICK_CSS) ?? this.groundPoint(e.clientX, e.clientY);
      this.setTool('select');
      if (point) void this.controller.createFromCluster(point);
      return;
    }
    if (!g.moved) return;
    const box = this.dragged(g, e.clientX, e.clientY);
    if (!box) {
      this.controller.setPreview(g.labelId, null);
      return;
    }
    this.controller.setPreview(g.labelId, { box3d: box });
    const what = g.kind === 'move' ? 'move' : g.handle === 'rotate' ? 'rotate' : g.handle === 'top' || g.handle === 'bottom' ? 'height of' : 'resize';
    void this.controller
      .updateLabels([{ labelId: g.labelId, revision: g.revision, patch: { box3d: box } }], `${what} 3D box ${g.labelId}`)
      .finally(() => this.controller.setPreview(g.labelId, null));
  }

  /** Where the pointer's ray meets the ground under the ego (the cluster tool's fallback). */
  private groundPoint(clientX: number, clientY: number): Vec3 | null {
    const ray = this.view.egoRay(clientX, clientY);
    const groundZ = -(appStore.get().frame?.data.lidar?.extrinsic.translation[2] ?? 0);
    const p = ray ? onPlane(ray, groundZ) : null;
    return p ? [p.x, p.y, p.z] : null;
  }

  private updateCursor(e: PointerEvent): void {
    if (this.gesture || !this.editable() || this.tool === 'cluster') return;
    const handle = this.hitHandle(e.clientX, e.clientY);
    let cursor = '';
    if (handle) cursor = handle.handle === 'rotate' ? 'grab' : handle.handle === 'top' || handle.handle === 'bottom' ? 'ns-resize' : 'nwse-resize';
    else {
      const ray = this.view.egoRay(e.clientX, e.clientY);
      if (ray && this.hitBox(ray)) cursor = 'move';
    }
    this.view.canvas.style.cursor = cursor;
  }

  /** What the editor draws, in page pixels (for end-to-end tests). */
  testState() {
    const chosen = this.selectedBox();
    const handles = chosen
      ? Object.fromEntries(this.visibleHandles().map((name) => [name, this.view.egoToClient(handlePositions(chosen.box3d!)[name])]))
      : null;
    return {
      tool: this.tool,
      birdsEye: this.view.birdsEye,
      boxes: this.shown.map((l) => ({ id: l.id, class: l.class, box3d: l.box3d, center: this.view.egoToClient(l.box3d!.center) })),
      selected: chosen?.id ?? null,
      handles,
      gesture: this.gesture?.kind ?? null,
    };
  }

  dispose(): void {
    this.cleanup.forEach((fn) => fn());
    this.view.removeFromEgoFrame(this.boxes.object);
    this.view.removeFromEgoFrame(this.handles);
    this.view.removeFromEgoFrame(this.stem);
    this.boxes.dispose();
    this.handleGeometry.dispose();
    (this.handles.material as PointsMaterial).dispose();
    this.stemGeometry.dispose();
    (this.stem.material as LineBasicMaterial).dispose();
  }
}
