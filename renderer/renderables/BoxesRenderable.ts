// 3D boxes as ONE pooled LineSegments (12 edges + a cross on the front face per box), vertex
// coloured by class (ground truth) or in one colour (a run, dashed), plus ONE InstancedMesh of
// translucent fills; capacity doubles only when needed, nothing is allocated per frame.
import {
  BoxGeometry,
  BufferAttribute,
  BufferGeometry,
  DynamicDrawUsage,
  LineBasicMaterial,
  LineDashedMaterial,
  LineSegments,
  InstancedBufferAttribute,
  InstancedMesh,
  Matrix4,
  Mesh,
  MeshBasicMaterial,
  Group,
  Quaternion,
  Ray,
  Vector3,
} from 'three';
import type { Box3D } from '../../src/logs/model.js';
import { classColorRgb } from '../app/classColors.js';

const SEGMENTS_PER_BOX = 14;
const VERTS_PER_BOX = SEGMENTS_PER_BOX * 2;
// Corner order: 0-3 bottom (front-left, front-right, rear-right, rear-left), 4-7 the same on top.
const EDGES: Array<[number, number]> = [
  [0, 1], [1, 2], [2, 3], [3, 0],
  [4, 5], [5, 6], [6, 7], [7, 4],
  [0, 4], [1, 5], [2, 6], [3, 7],
  [0, 5], [1, 4], // front-face cross: shows the heading
];
const CORNERS: Array<[number, number, number]> = [
  [0.5, 0.5, -0.5], [0.5, -0.5, -0.5], [-0.5, -0.5, -0.5], [-0.5, 0.5, -0.5],
  [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [-0.5, -0.5, 0.5], [-0.5, 0.5, 0.5],
];

export interface BoxHighlight {
  selectedId?: string;
  selectedTrack?: string;
  hoveredId?: string;
  /** Boxes that intrude a path corridor. */
  intruding?: ReadonlySet<string>;
}

export interface BoxStyle {
  /** Translucent fills (ground truth); runs draw outlines only. */
  fill: boolean;
  /** Dashed outlines (runs). */
  dashed: boolean;
  /** One colour for every box (a run's colour); class colours when absent. */
  color?: [number, number, number];
}

const INTRUSION_RGB: [number, number, number] = [1, 0.23, 0.23];

export class BoxesRenderable {
  readonly object = new Group();
  private readonly geometry = new BufferGeometry();
  private readonly lines: LineSegments;
  private fills: InstancedMesh;
  private readonly fillGeometry = new BoxGeometry(1, 1, 1);
  private readonly fillMaterial = new MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.2, depthWrite: false });
  private readonly scratch = { m: new Matrix4(), p: new Vector3(), q: new Quaternion(), s: new Vector3(), z: new Vector3(0, 0, 1) };
  private readonly selectedFill: Mesh;
  /** The selected box in the current frame, if any. */
  selected: Box3D | undefined;
  private capacity = 0;
  private positions = new Float32Array(0);
  private colors = new Float32Array(0);
  private boxes: Box3D[] = [];
  private readonly corner = new Float32Array(24);
  private distances = new Float32Array(0);
  private style: BoxStyle;
  private lastHighlight: BoxHighlight = {};

  constructor(style: Partial<BoxStyle> = {}, initialCapacity = 64) {
    this.style = { fill: style.fill ?? true, dashed: style.dashed ?? false, color: style.color };
    this.fills = this.createFills(16);
    this.ensureCapacity(initialCapacity);
    const material = this.style.dashed
      ? new LineDashedMaterial({ vertexColors: true, transparent: true, opacity: 0.95, dashSize: 0.35, gapSize: 0.2 })
      : new LineBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.95 });
    this.lines = new LineSegments(this.geometry, material);
    this.lines.frustumCulled = false;
    this.fills.visible = this.style.fill;
    this.selectedFill = new Mesh(this.fillGeometry, new MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.28, depthWrite: false }));
    this.selectedFill.visible = false;
    this.selectedFill.renderOrder = 2;
    this.object.add(this.lines, this.selectedFill);
  }

  private createFills(capacity: number): InstancedMesh {
    const mesh = new InstancedMesh(this.fillGeometry, this.fillMaterial, capacity);
    mesh.instanceColor = new InstancedBufferAttribute(new Float32Array(capacity * 3), 3);
    mesh.frustumCulled = false;
    mesh.count = 0;
    mesh.renderOrder = 1; // after the opaque ego, with the other transparent things
    return mesh;
  }

  private ensureCapacity(count: number): void {
    if (count <= this.capacity) return;
    let capacity = Math.max(16, this.capacity);
    while (capacity < count) capacity *= 2;
    this.capacity = capacity;
    // The instanced fills grow with the lines (InstancedMesh buffers cannot be resized).
    this.object.remove(this.fills);
    this.fills.dispose();
    this.fills = this.createFills(capacity);
    this.fills.visible = this.style.fill;
    this.object.add(this.fills);
    this.positions = new Float32Array(capacity * VERTS_PER_BOX * 3);
    this.colors = new Float32Array(capacity * VERTS_PER_BOX * 3);
    this.distances = new Float32Array(capacity * VERTS_PER_BOX);
    this.geometry.dispose();
    this.geometry.setAttribute('position', new BufferAttribute(this.positions, 3).setUsage(DynamicDrawUsage));
    this.geometry.setAttribute('color', new BufferAttribute(this.colors, 3).setUsage(DynamicDrawUsage));
    // For dashed runs: distance along each segment (LineDashedMaterial's lineDistance).
    this.geometry.setAttribute('lineDistance', new BufferAttribute(this.distances, 1).setUsage(DynamicDrawUsage));
  }

  /** A run's colour changed. */
  setColor(color: [number, number, number] | undefined): void {
    this.style = { ...this.style, color };
    this.recolor(this.lastHighlight);
  }

  set visible(on: boolean) {
    this.object.visible = on;
  }

  get current(): Box3D[] {
    return this.boxes;
  }

  update(boxes: Box3D[], highlight: BoxHighlight): void {
    this.boxes = boxes;
    this.ensureCapacity(boxes.length);
    const p = this.positions;
    const c = this.corner;
    const { m, p: pos, q, s: scale, z } = this.scratch;
    let o = 0;
    boxes.forEach((box, i) => {
      const [cx, cy, cz] = box.center;
      const [l, w, h] = box.size;
      const cos = Math.cos(box.yaw);
      const sin = Math.sin(box.yaw);
      this.fills.setMatrixAt(i, m.compose(pos.set(cx, cy, cz), q.setFromAxisAngle(z, box.yaw), scale.set(Math.max(l, 1e-3), Math.max(w, 1e-3), Math.max(h, 1e-3))));
      for (let k = 0; k < 8; k++) {
        const [ux, uy, uz] = CORNERS[k]!;
        const x = ux * l;
        const y = uy * w;
        c[k * 3] = cx + cos * x - sin * y;
        c[k * 3 + 1] = cy + sin * x + cos * y;
        c[k * 3 + 2] = cz + uz * h;
      }
      for (const [a, b] of EDGES) {
        const v = o / 3;
        p[o++] = c[a * 3]!;
        p[o++] = c[a * 3 + 1]!;
        p[o++] = c[a * 3 + 2]!;
        p[o++] = c[b * 3]!;
        p[o++] = c[b * 3 + 1]!;
        p[o++] = c[b * 3 + 2]!;
        this.distances[v] = 0;
        this.distances[v + 1] = Math.hypot(c[b * 3]! - c[a * 3]!, c[b * 3 + 1]! - c[a * 3 + 1]!, c[b * 3 + 2]! - c[a * 3 + 2]!);
      }
    });
    if (this.style.dashed) {
      const distance = this.geometry.getAttribute('lineDistance') as BufferAttribute;
      distance.clearUpdateRanges();
      distance.addUpdateRange(0, o / 3);
      distance.needsUpdate = true;
    }
    this.fills.count = boxes.length;
    this.fills.instanceMatrix.clearUpdateRanges();
    this.fills.instanceMatrix.addUpdateRange(0, boxes.length * 16);
    this.fills.instanceMatrix.needsUpdate = true;
    const position = this.geometry.getAttribute('position') as BufferAttribute;
    position.clearUpdateRanges();
    position.addUpdateRange(0, o);
    position.needsUpdate = true;
    this.geometry.setDrawRange(0, boxes.length * VERTS_PER_BOX);
    this.recolor(highlight);
  }

  /** Colours only (hover and selection changes don't move geometry). */
  recolor(highlight: BoxHighlight): void {
    this.lastHighlight = highlight;
    const col = this.colors;
    const isSelected = (b: Box3D) => b.id === highlight.selectedId || (!!highlight.selectedTrack && b.trackId === highlight.selectedTrack);
    this.fillMaterial.opacity = this.boxes.some(isSelected) ? 0.12 : 0.2;
    const anySelected = this.boxes.some(isSelected);
    let o = 0;
    const fillColors = this.fills.instanceColor!.array as Float32Array;
    this.selected = undefined;
    this.boxes.forEach((box, i) => {
      let [r, g, b] = this.style.color ?? classColorRgb(box.label);
      if (highlight.intruding?.has(box.id)) [r, g, b] = INTRUSION_RGB;
      if (isSelected(box)) {
        this.selected = box;
        r = g = b = 1;
      } else if (box.id === highlight.hoveredId) {
        r = r + (1 - r) * 0.45;
        g = g + (1 - g) * 0.45;
        b = b + (1 - b) * 0.45;
      } else if (anySelected) {
        r *= 0.4;
        g *= 0.4;
        b *= 0.4;
      }
      for (let v = 0; v < VERTS_PER_BOX; v++) {
        col[o++] = r;
        col[o++] = g;
        col[o++] = b;
      }
      fillColors[i * 3] = r;
      fillColors[i * 3 + 1] = g;
      fillColors[i * 3 + 2] = b;
    });
    const color = this.geometry.getAttribute('color') as BufferAttribute;
    color.clearUpdateRanges();
    color.addUpdateRange(0, o);
    color.needsUpdate = true;
    const sel = this.selected as Box3D | undefined; // assigned in the loop above
    this.selectedFill.visible = !!sel;
    if (sel) {
      this.selectedFill.position.set(sel.center[0], sel.center[1], sel.center[2]);
      this.selectedFill.rotation.set(0, 0, sel.yaw);
      this.selectedFill.scale.set(sel.size[0] + 0.04, sel.size[1] + 0.04, sel.size[2] + 0.04);
    }
    const instanceColor = this.fills.instanceColor!;
    instanceColor.clearUpdateRanges();
    instanceColor.addUpdateRange(0, this.boxes.length * 3);
    instanceColor.needsUpdate = true;
  }

  /** The nearest box hit by a ray given in the ego frame. */
  pick(ray: Ray): { box: Box3D; distance: number } | null {
    let best: { box: Box3D; distance: number } | null = null;
    const o = new Vector3();
    const d = new Vector3();
    for (const box of this.boxes) {
      const cos = Math.cos(-box.yaw);
      const sin = Math.sin(-box.yaw);
      const ox = ray.origin.x - box.center[0];
      const oy = ray.origin.y - box.center[1];
      o.set(cos * ox - sin * oy, sin * ox + cos * oy, ray.origin.z - box.center[2]);
      d.set(cos * ray.direction.x - sin * ray.direction.y, sin * ray.direction.x + cos * ray.direction.y, ray.direction.z);
      const t = slab(o, d, box.size[0] / 2, box.size[1] / 2, box.size[2] / 2);
      if (t !== null && (!best || t < best.distance)) best = { box, distance: t };
    }
    return best;
  }

  dispose(): void {
    this.geometry.dispose();
    (this.lines.material as LineBasicMaterial).dispose();
    this.fills.dispose();
    (this.selectedFill.material as MeshBasicMaterial).dispose();
    this.fillGeometry.dispose();
    this.fillMaterial.dispose();
  }
}

function slab(o: Vector3, d: Vector3, hx: number, hy: number, hz: number): number | null {
  let tmin = -Infinity;
  let tmax = Infinity;
  const axes: Array<[number, number, number]> = [
    [o.x, d.x, hx],
    [o.y, d.y, hy],
    [o.z, d.z, hz],
  ];
  for (const [oi, di, h] of axes) {
    if (Math.abs(di) < 1e-12) {
      if (oi < -h || oi > h) return null;
      continue;
    }
    let t1 = (-h - oi) / di;
    let t2 = (h - oi) / di;
    if (t1 > t2) [t1, t2] = [t2, t1];
    tmin = Math.max(tmin, t1);
    tmax = Math.min(tmax, t2);
    if (tmin > tmax) return null;
  }
  if (tmax < 0) return null;
  return tmin >= 0 ? tmin : tmax;
}
