// Imperative canvas renderer for one camera: the decoded image fitted to the panel, then the
// layers over it (masks, projected lidar, path corridors, 3D wireframes, ground-truth boxes,
// detections), zoom around the cursor, pan, hover and click picking. No React in here.
// Projections are computed when the data changes, never per paint; paints only transform.
import type { CameraImage, PointCloud } from '../../../src/logs/model.js';
import { classColor, IGNORE_COLOR } from '../../app/classColors.js';
import type { Selection } from '../../state/appState.js';
import { reportPainted } from '../../state/paint.js';
import { INTRUSION_COLOR, PATH_COLORS, type PathOverlay } from '../../state/plan.js';
import { recordStat } from '../../state/stats.js';
import { turbo } from '../../renderables/colormap.js';
import { cameraPointerHandlers, type CameraPointerHandler, type CameraPointerInput } from './editLayerPointer.js';
import { cameraOverlays, onCameraRedrawRequest, type CameraOverlayContext } from './overlays.js';
import { CameraProjector, DEPTH_BUCKETS, ProjectedPoints, type Rect } from './projection.js';

export interface CameraBox2D {
  id: string;
  kind: 'gt' | 'detection';
  label: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  trackId?: string;
  score?: number;
  ignore?: boolean;
  runName?: string;
  /** Short run mark for the box tag ('#3'); the full name shows on hover. */
  runTag?: string;
  runColor?: string;
}

export interface CameraBox3D {
  id: string;
  kind: 'gt' | 'detection';
  label: string;
  center: [number, number, number];
  size: [number, number, number];
  yaw: number;
  trackId?: string;
  score?: number;
  runName?: string;
  runColor?: string;
}

export interface CameraMask {
  bitmap: ImageBitmap;
  width: number;
  height: number;
}

export interface CameraViewContent {
  index: number;
  bitmap: ImageBitmap | null;
  /** Image size in pixels (from the bitmap, else the intrinsics). */
  width: number;
  height: number;
  /** Calibration for projections; null draws the image and 2D boxes only. */
  camera: CameraImage | null;
  boxes2d: CameraBox2D[];
  boxes3d: CameraBox3D[];
  masks: CameraMask[];
  maskOpacity: number;
  /** Projected when non-null. */
  lidar: PointCloud | null;
  pointSize: number;
  paths: PathOverlay[];
  /** Road height under the ego origin (ego frame), for paths traced by the ego origin. */
  groundZ: number;
  /** Box ids that intrude a path corridor. */
  intrusions: ReadonlySet<string>;
}

export interface HoverItem {
  kind: 'gt2d' | 'detection' | 'box3d';
  id: string;
  label: string;
  rect: Rect;
  trackId?: string;
  score?: number;
  ignore?: boolean;
  runName?: string;
  runColor?: string;
  /** Range from the ego, metres (3D boxes). */
  distance?: number;
  size?: [number, number, number];
  intrudes?: boolean;
}

export interface HoverInfo {
  item: HoverItem;
  /** CSS pixels relative to the canvas. */
  x: number;
  y: number;
}

interface Transform {
  /** Device pixels per image pixel. */
  s: number;
  ox: number;
  oy: number;
}

interface Wireframe {
  box: CameraBox3D;
  start: number;
  end: number;
  rect: Rect;
}

interface ProjectedPath {
  overlay: PathOverlay;
  line: number[];
  quads: number[][];
}

/** What the view drew last, for tests and benchmarks. */
export interface CameraViewSnapshot {
  index: number;
  imageWidth: number;
  imageHeight: number;
  canvasWidth: number;
  canvasHeight: number;
  dpr: number;
  transform: Transform;
  boxes2d: Array<{ id: string; kind: string; label: string; ignore: boolean; score: number | null; intrudes: boolean; x1: number; y1: number; x2: number; y2: number }>;
  wireframes: Array<{ id: string; kind: string; label: string; segments: number; intrudes: boolean; x1: number; y1: number; x2: number; y2: number }>;
  lidar: { total: number; inFront: number; inImage: number; drawn: number; bounds: Rect; projectMs: number } | null;
  paths: Array<{ id: string; kind: string; segments: number; quads: number; bounds: Rect | null }>;
  masks: number;
  drawMs: number;
  /** Paints since the view started (on demand, not in a loop). */
  draws: number;
}

const DEPTH_COLORS: string[] = Array.from({ length: DEPTH_BUCKETS }, (_, b) => {
  const [r, g, bl] = turbo(1 - b / (DEPTH_BUCKETS - 1)); // near = red, far = blue
  return `rgb(${Math.round(r * 255)} ${Math.round(g * 255)} ${Math.round(bl * 255)})`;
});

export class CameraView {
  private readonly ctx: CanvasRenderingContext2D;
  private content: CameraViewContent | null = null;
  private selection: Selection | null = null;
  private user: Transform | null = null; // null: fit to the panel
  private dpr = 1;
  private raf = 0;
  private hovered: HoverItem | null = null;
  private drag: { x: number; y: number; moved: boolean; id: number } | null = null;
  /** A gesture an edit layer took on pointer-down (editLayerPointer.ts). */
  private captured: { handler: CameraPointerHandler } | null = null;
  private lastPainted: ImageBitmap | null = null;
  private hatch: CanvasPattern | null = null;
  private readonly resizeObserver: ResizeObserver;
  private readonly cleanup: Array<() => void> = [];
  private readonly projector = new CameraProjector();
  private readonly points = new ProjectedPoints();
  private projectedCloud: PointCloud | null = null;
  private projectedCamera: CameraImage | null = null;
  private segments = new Float32Array(1024);
  private wireframes: Wireframe[] = [];
  private wireSource: { boxes: CameraBox3D[]; camera: CameraImage | null } | null = null;
  private paths: ProjectedPath[] = [];
  private pathSource: { paths: PathOverlay[]; camera: CameraImage | null; groundZ: number } | null = null;
  private pointsDrawn = 0;
  private lastDrawMs = 0;
  private drawCount = 0;

  onHover: (info: HoverInfo | null) => void = () => undefined;
  onSelect: (item: HoverItem | null) => void = () => undefined;
  onZoomChange: (zoomed: boolean, percent: number) => void = () => undefined;

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly sensorId = '',
  ) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();
    this.listen(canvas, 'wheel', (e) => this.onWheel(e as WheelEvent), { passive: false });
    this.listen(canvas, 'pointerdown', (e) => this.onPointerDown(e as PointerEvent));
    this.listen(canvas, 'pointermove', (e) => this.onPointerMove(e as PointerEvent));
    this.listen(canvas, 'pointerup', (e) => this.onPointerUp(e as PointerEvent));
    this.listen(canvas, 'pointerleave', () => this.setHovered(null, 0, 0));
    this.listen(canvas, 'dblclick', () => this.resetView());
    this.cleanup.push(onCameraRedrawRequest(() => this.requestDraw()));
  }

  private listen(target: EventTarget, type: string, fn: (e: Event) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, fn, options);
    this.cleanup.push(() => target.removeEventListener(type, fn, options));
  }

  dispose(): void {
    this.captured?.handler.cancel();
    this.captured = null;
    cancelAnimationFrame(this.raf);
    this.resizeObserver.disconnect();
    this.cleanup.forEach((fn) => fn());
    this.content = null;
    this.projectedCloud = null;
    this.projectedCamera = null;
  }

  setContent(content: CameraViewContent | null): void {
    const sizeChanged = !this.content || !content || this.content.width !== content.width || this.content.height !== content.height;
    this.content = content;
    if (sizeChanged) this.user = null;
    this.project();
    if (this.hovered && content && !this.stillThere(this.hovered.id)) this.setHovered(null, 0, 0);
    this.requestDraw();
  }

  setSelection(selection: Selection | null): void {
    this.selection = selection;
    this.requestDraw();
  }

  resetView(): void {
    this.user = null;
    this.emitZoom();
    this.requestDraw();
  }

  private stillThere(id: string): boolean {
    const c = this.content;
    return !!c && (c.boxes2d.some((b) => b.id === id) || c.boxes3d.some((b) => b.id === id));
  }

  // ---- projections (on data change only) ----------------------------------------------------

  private project(): void {
    const c = this.content;
    const camera = c?.camera ?? null;
    if (camera && camera !== this.projectedCamera) this.projector.setCamera(camera);
    const cameraChanged = camera !== this.projectedCamera;
    this.projectedCamera = camera;
    // Lidar: once per sweep and camera.
    const cloud = camera && c?.lidar ? c.lidar : null;
    if (cloud !== this.projectedCloud || (cloud && cameraChanged)) {
      this.projectedCloud = cloud;
      if (cloud) this.projector.projectCloud(cloud, this.points);
      else this.points.count = 0;
    }
    // Wireframes: when the boxes or the camera change.
    const boxes = camera ? (c?.boxes3d ?? []) : [];
    if (!this.wireSource || this.wireSource.boxes !== boxes || this.wireSource.camera !== camera) {
      this.wireSource = { boxes, camera };
      this.wireframes = [];
      let o = 0;
      for (const box of boxes) {
        if (this.segments.length < o + 14 * 4) {
          const grown = new Float32Array(Math.max(this.segments.length * 2, o + 14 * 4));
          grown.set(this.segments.subarray(0, o));
          this.segments = grown;
        }
        const rect: Rect = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
        const end = this.projector.projectBox(box, this.segments, o, rect, true);
        if (end > o && rect.x2 >= 0 && rect.y2 >= 0 && rect.x1 <= this.projector.width && rect.y1 <= this.projector.height) {
          this.wireframes.push({ box, start: o, end, rect });
          o = end;
        }
      }
    }
    const paths = camera ? (c?.paths ?? []) : [];
    const groundZ = c?.groundZ ?? 0;
    if (!this.pathSource || this.pathSource.paths !== paths || this.pathSource.camera !== camera || this.pathSource.groundZ !== groundZ) {
      this.pathSource = { paths, camera, groundZ };
      this.paths = paths.map((overlay) => ({ overlay, ...this.projector.projectPath(overlay.points, overlay.corridorHalfWidth, groundZ, overlay.onGround) }));
    }
  }

  // ---- painting -----------------------------------------------------------------------------

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width === w && this.canvas.height === h && dpr === this.dpr) return;
    this.dpr = dpr;
    this.canvas.width = w;
    this.canvas.height = h;
    this.draw(); // synchronously: a resized canvas is blank until drawn
  }

  private fit(): Transform {
    const c = this.content;
    const cw = this.canvas.width;
    const ch = this.canvas.height;
    if (!c || c.width <= 0 || c.height <= 0) return { s: 1, ox: 0, oy: 0 };
    const s = Math.min(cw / c.width, ch / c.height);
    return { s, ox: (cw - c.width * s) / 2, oy: (ch - c.height * s) / 2 };
  }

  private transform(): Transform {
    return this.user ?? this.fit();
  }

  private emitZoom(): void {
    const fit = this.fit();
    this.onZoomChange(this.user !== null, Math.round((this.transform().s / fit.s) * 100));
  }

  private requestDraw(): void {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.draw();
    });
  }

  private draw(): void {
    const { ctx, canvas } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = '#0a0c0f';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const c = this.content;
    if (!c) return;
    const started = performance.now();
    const t = this.transform();
    const dpr = this.dpr;
    if (c.bitmap && c.bitmap.width > 0) {
      ctx.imageSmoothingEnabled = t.s < 2.5;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(c.bitmap, t.ox, t.oy, c.width * t.s, c.height * t.s);
    } else {
      ctx.fillStyle = '#15181d';
      ctx.fillRect(t.ox, t.oy, c.width * t.s, c.height * t.s);
    }
    // Everything over the image stays inside it.
    ctx.save();
    ctx.beginPath();
    ctx.rect(t.ox, t.oy, c.width * t.s, c.height * t.s);
    ctx.clip();
    this.drawMasks(c, t);
    this.drawPoints(c, t, dpr);
    this.drawPaths(t, dpr);
    this.drawWireframes(c, t, dpr);
    this.drawOverlays('under-boxes', c, t, dpr);
    ctx.restore();
    this.drawBoxes(c.boxes2d, c.intrusions, t, dpr);
    this.drawOverlays('over-boxes', c, t, dpr);
    this.lastDrawMs = performance.now() - started;
    this.drawCount++;
    recordStat('cameraDraw', this.lastDrawMs);
    // Every newly shown image counts (also a frame seen before: stepping loops over short logs).
    if (c.bitmap && c.bitmap !== this.lastPainted) {
      this.lastPainted = c.bitmap;
      reportPainted('camera', c.index);
    }
  }

  private drawOverlays(stage: 'under-boxes' | 'over-boxes', c: CameraViewContent, t: Transform, dpr: number): void {
    const list = cameraOverlays(stage);
    if (list.length === 0) return;
    const context: CameraOverlayContext = { ctx: this.ctx, sensorId: this.sensorId, frameIndex: c.index, transform: t, dpr, imageWidth: c.width, imageHeight: c.height };
    for (const overlay of list) {
      this.ctx.save();
      overlay.draw(context);
      this.ctx.restore();
    }
  }

  private drawMasks(c: CameraViewContent, t: Transform): void {
    if (c.masks.length === 0 || c.maskOpacity <= 0) return;
    const { ctx } = this;
    ctx.globalAlpha = c.maskOpacity;
    ctx.imageSmoothingEnabled = false; // class boundaries stay crisp
    for (const mask of c.masks) ctx.drawImage(mask.bitmap, t.ox, t.oy, c.width * t.s, c.height * t.s);
    ctx.globalAlpha = 1;
  }

  private drawPoints(c: CameraViewContent, t: Transform, dpr: number): void {
    const pts = this.points;
    this.pointsDrawn = 0;
    if (!this.projectedCloud || pts.count === 0) return;
    const { ctx } = this;
    const size = Math.max(1, c.pointSize * dpr);
    const half = size / 2;
    // Image pixel -> canvas pixel scales with the zoom, but a point keeps its screen size.
    const { sx, sy } = this.imageScale(t);
    const uv = pts.uv;
    const order = pts.order;
    const starts = pts.bucketStart;
    const cw = this.canvas.width;
    const ch = this.canvas.height;
    let drawn = 0;
    for (let k = 0; k < DEPTH_BUCKETS; k++) {
      const from = starts[k]!;
      const to = starts[k + 1]!;
      if (to <= from) continue;
      ctx.beginPath();
      for (let j = from; j < to; j++) {
        const i = order[j]!;
        const x = t.ox + uv[i * 2]! * sx - half;
        const y = t.oy + uv[i * 2 + 1]! * sy - half;
        if (x < -size || y < -size || x > cw || y > ch) continue;
        ctx.rect(x, y, size, size);
        drawn++;
      }
      ctx.fillStyle = DEPTH_COLORS[DEPTH_BUCKETS - 1 - k]!;
      ctx.fill();
    }
    this.pointsDrawn = drawn;
  }

  private drawPaths(t: Transform, dpr: number): void {
    if (this.paths.length === 0) return;
    const { ctx } = this;
    const { sx, sy } = this.imageScale(t);
    for (const path of this.paths) {
      const color = PATH_COLORS[path.overlay.kind];
      const intruded = path.overlay.intrusions.length > 0;
      if (path.quads.length) {
        ctx.beginPath();
        for (const q of path.quads) {
          ctx.moveTo(t.ox + q[0]! * sx, t.oy + q[1]! * sy);
          for (let i = 2; i < q.length; i += 2) ctx.lineTo(t.ox + q[i]! * sx, t.oy + q[i + 1]! * sy);
          ctx.closePath();
        }
        ctx.fillStyle = hexAlpha(intruded ? INTRUSION_COLOR : color, 0.22);
        ctx.fill('nonzero');
      }
      if (path.line.length) {
        ctx.beginPath();
        for (let i = 0; i < path.line.length; i += 4) {
          ctx.moveTo(t.ox + path.line[i]! * sx, t.oy + path.line[i + 1]! * sy);
          ctx.lineTo(t.ox + path.line[i + 2]! * sx, t.oy + path.line[i + 3]! * sy);
        }
        ctx.strokeStyle = color;
        ctx.lineWidth = 2.5 * dpr;
        ctx.lineCap = 'round';
        ctx.stroke();
      }
    }
  }

  /** Canvas pixels per calibrated image pixel (the bitmap may differ from the calibration's size). */
  private imageScale(t: Transform): { sx: number; sy: number } {
    const c = this.content;
    if (!c) return { sx: t.s, sy: t.s };
    return { sx: (c.width / Math.max(1, this.projector.width || c.width)) * t.s, sy: (c.height / Math.max(1, this.projector.height || c.height)) * t.s };
  }

  private isSelected(item: { id: string; trackId?: string }): boolean {
    const sel = this.selection;
    if (!sel) return false;
    if (sel.id === item.id) return true;
    return !!sel.trackId && sel.trackId === item.trackId;
  }

  private drawWireframes(c: CameraViewContent, t: Transform, dpr: number): void {
    if (this.wireframes.length === 0) return;
    const { ctx } = this;
    const { sx, sy } = this.imageScale(t);
    const seg = this.segments;
    for (const wire of this.wireframes) {
      const { box } = wire;
      const selected = this.isSelected(box);
      const hovered = this.hovered?.id === box.id;
      const intrudes = c.intrusions.has(box.id);
      const color = intrudes ? INTRUSION_COLOR : box.kind === 'gt' ? classColor(box.label) : (box.runColor ?? classColor(box.label));
      ctx.beginPath();
      for (let o = wire.start; o < wire.end; o += 4) {
        ctx.moveTo(t.ox + seg[o]! * sx, t.oy + seg[o + 1]! * sy);
        ctx.lineTo(t.ox + seg[o + 2]! * sx, t.oy + seg[o + 3]! * sy);
      }
      if (selected) {
        ctx.strokeStyle = 'rgba(0,0,0,0.7)';
        ctx.lineWidth = 4 * dpr;
        ctx.stroke();
      }
      ctx.strokeStyle = selected ? '#ffffff' : color;
      ctx.globalAlpha = selected || hovered || intrudes ? 1 : 0.85;
      ctx.lineWidth = (selected ? 2.5 : hovered || intrudes ? 2.25 : box.kind === 'gt' ? 1.5 : 1.25) * dpr;
      ctx.setLineDash(box.kind === 'gt' ? [] : [5 * dpr, 3 * dpr]);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
    }
  }

  private hatchPattern(): CanvasPattern | null {
    if (this.hatch) return this.hatch;
    const tile = document.createElement('canvas');
    tile.width = tile.height = 8;
    const g = tile.getContext('2d');
    if (!g) return null;
    g.fillStyle = 'rgba(120, 126, 136, 0.18)';
    g.fillRect(0, 0, 8, 8);
    g.strokeStyle = 'rgba(170, 178, 190, 0.55)';
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(-2, 10);
    g.lineTo(10, -2);
    g.moveTo(-2, 2);
    g.lineTo(2, -2);
    g.moveTo(6, 10);
    g.lineTo(10, 6);
    g.stroke();
    this.hatch = this.ctx.createPattern(tile, 'repeat');
    return this.hatch;
  }

  private drawBoxes(boxes: CameraBox2D[], intrusions: ReadonlySet<string>, t: Transform, dpr: number): void {
    const { ctx } = this;
    const anySelected = boxes.some((b) => this.isSelected(b));
    // Ignore regions underneath, then ground truth, detections, the hovered and selected last.
    const rank = (b: CameraBox2D): number => (b.ignore ? 0 : this.isSelected(b) ? 4 : this.hovered?.id === b.id ? 3 : b.kind === 'detection' ? 2 : 1);
    const order = [...boxes].sort((a, b) => rank(a) - rank(b));
    ctx.font = `600 ${Math.round(11 * dpr)}px ui-sans-serif, system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    for (const box of order) {
      const x = t.ox + box.x1 * t.s;
      const y = t.oy + box.y1 * t.s;
      const w = (box.x2 - box.x1) * t.s;
      const h = (box.y2 - box.y1) * t.s;
      const selected = this.isSelected(box);
      const hovered = this.hovered?.id === box.id;
      ctx.globalAlpha = anySelected && !selected && !hovered ? 0.45 : 1;
      if (box.ignore) {
        const pattern = this.hatchPattern();
        if (pattern) {
          ctx.fillStyle = pattern;
          ctx.fillRect(x, y, w, h);
        }
        ctx.setLineDash([4 * dpr, 3 * dpr]);
        ctx.strokeStyle = IGNORE_COLOR;
        ctx.lineWidth = (hovered ? 2 : 1.25) * dpr;
        ctx.strokeRect(x, y, w, h);
        ctx.setLineDash([]);
        if (hovered) this.drawTag('ignore', x, y, IGNORE_COLOR, dpr);
        continue;
      }
      const intrudes = intrusions.has(box.id);
      const color = intrudes ? INTRUSION_COLOR : classColor(box.label);
      const isGt = box.kind === 'gt';
      if (selected) {
        ctx.setLineDash(isGt ? [7 * dpr, 4 * dpr] : []);
        ctx.strokeStyle = 'rgba(0,0,0,0.7)';
        ctx.lineWidth = 5 * dpr;
        ctx.strokeRect(x, y, w, h);
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 3 * dpr;
        ctx.strokeRect(x, y, w, h);
      } else {
        if (!isGt || hovered) {
          ctx.fillStyle = hexAlpha(color, hovered ? 0.2 : 0.08);
          ctx.fillRect(x, y, w, h);
        }
        // Ground truth dashed, detections solid: both in the class colour.
        ctx.setLineDash(isGt ? [7 * dpr, 4 * dpr] : []);
        ctx.strokeStyle = color;
        ctx.lineWidth = (hovered || intrudes ? 2.5 : isGt ? 1.75 : 2) * dpr;
        ctx.strokeRect(x, y, w, h);
      }
      ctx.setLineDash([]);
      // Small detections keep their tag for hover: crowded scenes stay readable.
      if (w > (isGt ? 14 : 36) * dpr || hovered || selected) {
        const text = isGt
          ? box.trackId
            ? `${box.label} ${box.trackId}`
            : box.label
          : `${box.label} ${(box.score ?? 0).toFixed(2)}${box.runTag ? ` ${box.runTag}` : ''}`;
        // Detections hang their tag under the box, ground truth above it: both stay readable.
        this.drawTag(text, x, isGt ? y : y + h, selected ? '#ffffff' : color, dpr, isGt ? 'above' : 'below', isGt ? undefined : box.runColor);
      }
    }
    ctx.globalAlpha = 1;
  }

  private drawTag(text: string, x: number, y: number, color: string, dpr: number, where: 'above' | 'below' = 'above', stripe?: string): void {
    const { ctx } = this;
    const padX = 4 * dpr;
    const stripeW = stripe ? 4 * dpr : 0;
    const h = 15 * dpr;
    const w = ctx.measureText(text).width + padX * 2 + stripeW;
    const ty = where === 'above' ? (y - h >= 0 ? y - h : y) : y + h <= this.canvas.height ? y : y - h;
    ctx.fillStyle = color;
    ctx.fillRect(x - 0.5 * dpr, ty, w, h);
    if (stripe) {
      ctx.fillStyle = stripe;
      ctx.fillRect(x - 0.5 * dpr, ty, stripeW, h);
    }
    ctx.fillStyle = '#0b0d10';
    ctx.fillText(text, x + padX + stripeW - 0.5 * dpr, ty + h / 2 + 0.5 * dpr);
  }

  // ---- interaction -------------------------------------------------------------------------

  private toImage(clientX: number, clientY: number): { x: number; y: number; cssX: number; cssY: number } {
    const rect = this.canvas.getBoundingClientRect();
    const cssX = clientX - rect.left;
    const cssY = clientY - rect.top;
    const t = this.transform();
    return { x: (cssX * this.dpr - t.ox) / t.s, y: (cssY * this.dpr - t.oy) / t.s, cssX, cssY };
  }

  private onWheel(e: WheelEvent): void {
    if (!this.content) return;
    e.preventDefault();
    const rect = this.canvas.getBoundingClientRect();
    const px = (e.clientX - rect.left) * this.dpr;
    const py = (e.clientY - rect.top) * this.dpr;
    const t = this.transform();
    const fit = this.fit();
    const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
    const s = Math.max(fit.s * 0.5, Math.min(fit.s * 50, t.s * Math.exp(-delta * 0.0015)));
    // Keep the image point under the cursor fixed.
    const ix = (px - t.ox) / t.s;
    const iy = (py - t.oy) / t.s;
    this.user = { s, ox: px - ix * s, oy: py - iy * s };
    this.emitZoom();
    const p = this.toImage(e.clientX, e.clientY);
    this.setHovered(this.pick(p.x, p.y), p.cssX, p.cssY);
    this.requestDraw();
  }

  private pointerInput(e: PointerEvent): CameraPointerInput | null {
    const c = this.content;
    if (!c) return null;
    const p = this.toImage(e.clientX, e.clientY);
    const { shiftKey, ctrlKey, metaKey, altKey } = e;
    return { sensorId: this.sensorId, frameIndex: c.index, x: p.x, y: p.y, cssPerImagePixel: this.transform().s / this.dpr, imageWidth: c.width, imageHeight: c.height, shiftKey, ctrlKey, metaKey, altKey };
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    const input = this.pointerInput(e);
    const handler = input && cameraPointerHandlers().find((h) => h.down(input));
    if (handler) {
      this.captured = { handler };
      return;
    }
    this.drag = { x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
  }

  private onPointerMove(e: PointerEvent): void {
    if (this.captured) {
      const input = this.pointerInput(e);
      if (input) this.captured.handler.move(input);
      return;
    }
    if (this.drag) {
      const dx = e.clientX - this.drag.x;
      const dy = e.clientY - this.drag.y;
      if (!this.drag.moved && Math.hypot(dx, dy) < 3) return;
      this.drag.moved = true;
      this.drag.x = e.clientX;
      this.drag.y = e.clientY;
      const t = this.transform();
      this.user = { s: t.s, ox: t.ox + dx * this.dpr, oy: t.oy + dy * this.dpr };
      this.canvas.classList.add('grabbing');
      this.emitZoom();
      this.requestDraw();
      return;
    }
    const p = this.toImage(e.clientX, e.clientY);
    this.setHovered(this.pick(p.x, p.y), p.cssX, p.cssY);
    const input = this.pointerInput(e);
    const cursor = input ? cameraPointerHandlers().map((h) => h.cursor?.(input) ?? null).find((c) => c !== null) : null;
    this.canvas.style.cursor = cursor ?? '';
  }

  private onPointerUp(e: PointerEvent): void {
    if (this.captured) {
      const { handler } = this.captured;
      this.captured = null;
      if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
      const input = this.pointerInput(e);
      if (input) handler.up(input);
      else handler.cancel();
      return;
    }
    const drag = this.drag;
    this.drag = null;
    this.canvas.classList.remove('grabbing');
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    if (drag && !drag.moved) {
      const p = this.toImage(e.clientX, e.clientY);
      const item = this.pick(p.x, p.y);
      this.onSelect(item && !item.ignore ? item : null);
    }
  }

  /** The smallest box under the cursor: 2D boxes first, then projected 3D boxes, ignore regions last. */
  private pick(x: number, y: number): HoverItem | null {
    const c = this.content;
    if (!c) return null;
    let best: HoverItem | null = null;
    let bestScore = Infinity;
    const consider = (item: HoverItem, penalty: number) => {
      const r = item.rect;
      if (x < r.x1 || x > r.x2 || y < r.y1 || y > r.y2) return;
      const score = (r.x2 - r.x1) * (r.y2 - r.y1) + penalty;
      if (score < bestScore) {
        bestScore = score;
        best = item;
      }
    };
    for (const b of c.boxes2d) {
      consider(
        {
          kind: b.kind === 'gt' ? 'gt2d' : 'detection',
          id: b.id,
          label: b.label,
          rect: { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 },
          trackId: b.trackId,
          score: b.score,
          ignore: b.ignore,
          runName: b.runName,
          runColor: b.runColor,
          intrudes: c.intrusions.has(b.id),
        },
        b.ignore ? 1e12 : 0,
      );
    }
    const kx = c.width / Math.max(1, this.projector.width || c.width);
    const ky = c.height / Math.max(1, this.projector.height || c.height);
    for (const w of this.wireframes) {
      const b = w.box;
      consider(
        {
          kind: 'box3d',
          id: b.id,
          label: b.label,
          rect: { x1: w.rect.x1 * kx, y1: w.rect.y1 * ky, x2: w.rect.x2 * kx, y2: w.rect.y2 * ky },
          trackId: b.trackId,
          score: b.score,
          runName: b.runName,
          runColor: b.runColor,
          distance: Math.hypot(b.center[0], b.center[1]),
          size: b.size,
          intrudes: c.intrusions.has(b.id),
        },
        1e9, // a 2D box under the cursor wins over a wireframe
      );
    }
    return best;
  }

  private setHovered(item: HoverItem | null, x: number, y: number): void {
    const changed = item?.id !== this.hovered?.id;
    this.hovered = item;
    this.canvas.classList.toggle('pointing', !!item && !item.ignore);
    this.onHover(item ? { item, x, y } : null);
    if (changed) this.requestDraw();
  }

  // ---- test and benchmark state --------------------------------------------------------------

  snapshot(): CameraViewSnapshot | null {
    const c = this.content;
    if (!c) return null;
    const kx = c.width / Math.max(1, this.projector.width || c.width);
    const ky = c.height / Math.max(1, this.projector.height || c.height);
    return {
      index: c.index,
      imageWidth: c.width,
      imageHeight: c.height,
      canvasWidth: this.canvas.width,
      canvasHeight: this.canvas.height,
      dpr: this.dpr,
      transform: { ...this.transform() },
      boxes2d: c.boxes2d.map((b) => ({ id: b.id, kind: b.kind, label: b.label, ignore: !!b.ignore, score: b.score ?? null, intrudes: c.intrusions.has(b.id), x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 })),
      wireframes: this.wireframes.map((w) => ({
        id: w.box.id,
        kind: w.box.kind,
        label: w.box.label,
        segments: (w.end - w.start) / 4,
        intrudes: c.intrusions.has(w.box.id),
        x1: Math.max(0, w.rect.x1 * kx),
        y1: Math.max(0, w.rect.y1 * ky),
        x2: Math.min(c.width, w.rect.x2 * kx),
        y2: Math.min(c.height, w.rect.y2 * ky),
      })),
      lidar: this.projectedCloud
        ? { total: this.points.total, inFront: this.points.inFront, inImage: this.points.count, drawn: this.pointsDrawn, bounds: { ...this.points.bounds }, projectMs: this.points.projectMs }
        : null,
      paths: this.paths.map((p) => ({ id: p.overlay.id, kind: p.overlay.kind, segments: p.line.length / 4, quads: p.quads.length, bounds: lineBounds(p.line) })),
      masks: c.masks.length,
      drawMs: this.lastDrawMs,
      draws: this.drawCount,
    };
  }
}

function lineBounds(line: number[]): Rect | null {
  if (line.length === 0) return null;
  const r: Rect = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
  for (let i = 0; i < line.length; i += 2) {
    r.x1 = Math.min(r.x1, line[i]!);
    r.x2 = Math.max(r.x2, line[i]!);
    r.y1 = Math.min(r.y1, line[i + 1]!);
    r.y2 = Math.max(r.y2, line[i + 1]!);
  }
  return r;
}

export function hexAlpha(color: string, alpha: number): string {
  if (!color.startsWith('#')) return color.replace(')', ` / ${alpha})`);
  const n = parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
