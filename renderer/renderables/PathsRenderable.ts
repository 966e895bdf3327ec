// Paths in 3D: centre lines (ONE pooled LineSegments) and their corridors as ribbons on the road
// (ONE pooled triangle Mesh), vertex coloured by path kind; a corridor with an intrusion turns
// red. Capacity doubles only when needed; nothing is allocated per frame.
import { BufferAttribute, BufferGeometry, DoubleSide, DynamicDrawUsage, Group, LineBasicMaterial, LineSegments, Mesh, MeshBasicMaterial } from 'three';
import { INTRUSION_COLOR, PATH_COLORS, type PathOverlay } from '../state/plan.js';

const LIFT = 0.04; // above the road, so the ribbon does not z-fight the grid

export class PathsRenderable {
  readonly object = new Group();
  private readonly lineGeometry = new BufferGeometry();
  private readonly ribbonGeometry = new BufferGeometry();
  private readonly lines: LineSegments;
  private readonly ribbon: Mesh;
  private lineCapacity = 0; // segments
  private ribbonCapacity = 0; // quads
  private linePositions = new Float32Array(0);
  private lineColors = new Float32Array(0);
  private ribbonPositions = new Float32Array(0);
  private ribbonColors = new Float32Array(0);
  segments = 0;
  quads = 0;

  constructor() {
    this.ensure(256, 256);
    this.lines = new LineSegments(this.lineGeometry, new LineBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.95, depthWrite: false }));
    this.ribbon = new Mesh(this.ribbonGeometry, new MeshBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.28, depthWrite: false, side: DoubleSide }));
    for (const o of [this.lines, this.ribbon]) {
      o.frustumCulled = false;
      o.renderOrder = 1;
    }
    this.object.add(this.ribbon, this.lines);
  }

  private ensure(segments: number, quads: number): void {
    if (segments > this.lineCapacity) {
      let c = Math.max(64, this.lineCapacity);
      while (c < segments) c *= 2;
      this.lineCapacity = c;
      this.linePositions = new Float32Array(c * 6);
      this.lineColors = new Float32Array(c * 6);
      this.lineGeometry.dispose();
      this.lineGeometry.setAttribute('position', new BufferAttribute(this.linePositions, 3).setUsage(DynamicDrawUsage));
      this.lineGeometry.setAttribute('color', new BufferAttribute(this.lineColors, 3).setUsage(DynamicDrawUsage));
    }
    if (quads > this.ribbonCapacity) {
      let c = Math.max(64, this.ribbonCapacity);
      while (c < quads) c *= 2;
      this.ribbonCapacity = c;
      this.ribbonPositions = new Float32Array(c * 18); // two triangles
      this.ribbonColors = new Float32Array(c * 18);
      this.ribbonGeometry.dispose();
      this.ribbonGeometry.setAttribute('position', new BufferAttribute(this.ribbonPositions, 3).setUsage(DynamicDrawUsage));
      this.ribbonGeometry.setAttribute('color', new BufferAttribute(this.ribbonColors, 3).setUsage(DynamicDrawUsage));
    }
  }

  /** Ego-frame paths; `groundZ` puts ego-origin traces on the road. */
  update(paths: readonly PathOverlay[], groundZ: number): void {
    let segments = 0;
    for (const p of paths) segments += Math.max(0, p.points.length - 1);
    this.ensure(segments, segments);
    const lp = this.linePositions;
    const lc = this.lineColors;
    const rp = this.ribbonPositions;
    const rc = this.ribbonColors;
    let l = 0;
    let r = 0;
    for (const path of paths) {
      const [cr, cg, cb] = rgb(PATH_COLORS[path.kind]);
      const [fr, fg, fb] = rgb(path.intrusions.length ? INTRUSION_COLOR : PATH_COLORS[path.kind]);
      const lift = (path.onGround ? 0 : groundZ) + LIFT;
      const hw = path.corridorHalfWidth;
      const pts = path.points;
      const n = pts.length;
      for (let i = 0; i + 1 < n; i++) {
        const a = pts[i]!;
        const b = pts[i + 1]!;
        lp.set([a[0], a[1], a[2] + lift, b[0], b[1], b[2] + lift], l);
        lc.set([cr, cg, cb, cr, cg, cb], l);
        l += 6;
        // Offsets from the local direction at each end, so consecutive quads share their edges.
        const [alx, aly, arx, ary] = sides(pts, i, hw);
        const [blx, bly, brx, bry] = sides(pts, i + 1, hw);
        const za = a[2] + lift;
        const zb = b[2] + lift;
        rp.set([alx, aly, za, blx, bly, zb, brx, bry, zb, alx, aly, za, brx, bry, zb, arx, ary, za], r);
        for (let k = 0; k < 6; k++) rc.set([fr, fg, fb], r + k * 3);
        r += 18;
      }
    }
    this.segments = l / 6;
    this.quads = r / 18;
    for (const [geometry, count, ...attributes] of [
      [this.lineGeometry, l / 3, 'position', 'color'],
      [this.ribbonGeometry, r / 3, 'position', 'color'],
    ] as const) {
      for (const name of attributes) {
        const attribute = geometry.getAttribute(name) as BufferAttribute;
        attribute.clearUpdateRanges();
        attribute.addUpdateRange(0, count * 3);
        attribute.needsUpdate = true;
      }
      geometry.setDrawRange(0, count);
    }
  }

  set visible(on: boolean) {
    this.object.visible = on;
  }

  dispose(): void {
    this.lineGeometry.dispose();
    this.ribbonGeometry.dispose();
    (this.lines.material as LineBasicMaterial).dispose();
    (this.ribbon.material as MeshBasicMaterial).dispose();
  }
}

function sides(pts: readonly (readonly number[])[], i: number, hw: number): [number, number, number, number] {
  const prev = pts[Math.max(0, i - 1)]!;
  const next = pts[Math.min(pts.length - 1, i + 1)]!;
  let tx = next[0]! - prev[0]!;
  let ty = next[1]! - prev[1]!;
  const len = Math.hypot(tx, ty) || 1;
  tx /= len;
  ty /= len;
  const p = pts[i]!;
  return [p[0]! - ty * hw, p[1]! + tx * hw, p[0]! + ty * hw, p[1]! - tx * hw];
}

const rgbCache = new Map<string, [number, number, number]>();
function rgb(hex: string): [number, number, number] {
  let v = rgbCache.get(hex);
  if (!v) {
    const n = parseInt(hex.slice(1), 16);
    v = [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
    rgbCache.set(hex, v);
  }
  return v;
}
