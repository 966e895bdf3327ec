// Imperative canvas renderer for one camera: the decoded image fitted to the panel, the 2D
// ground-truth boxes, zoom around the cursor, pan, hover and click picking. No React in here.
import type { Box2D } from '../../../src/logs/model.js';
import { classColor, IGNORE_COLOR } from '../../app/classColors.js';
import type { Selection } from '../../state/appState.js';
import { reportPainted } from '../../state/paint.js';
import { recordStat } from '../../state/stats.js';

export interface CameraViewContent {
  index: number;
  bitmap: ImageBitmap | null;
  /** Image size in pixels (from the bitmap, else the intrinsics). */
  width: number;
  height: number;
  boxes: Box2D[];
}

export interface HoverInfo {
  box: Box2D;
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

export class CameraView {
  private readonly ctx: CanvasRenderingContext2D;
  private content: CameraViewContent | null = null;
  private selection: Selection | null = null;
  private user: Transform | null = null; // null: fit to the panel
  private dpr = 1;
  private raf = 0;
  private hovered: Box2D | null = null;
  private drag: { x: number; y: number; moved: boolean; id: number } | null = null;
  private lastPainted = -1;
  private hatch: CanvasPattern | null = null;
  private readonly resizeObserver: ResizeObserver;
  private readonly cleanup: Array<() => void> = [];

  onHover: (info: HoverInfo | null) => void = () => undefined;
  onSelect: (box: Box2D | null) => void = () => undefined;
  onZoomChange: (zoomed: boolean, percent: number) => void = () => undefined;

  constructor(readonly canvas: HTMLCanvasElement) {
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
  }

  private listen(target: EventTarget, type: string, fn: (e: Event) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, fn, options);
    this.cleanup.push(() => target.removeEventListener(type, fn, options));
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.resizeObserver.disconnect();
    this.cleanup.forEach((fn) => fn());
    this.content = null;
  }

  setContent(content: CameraViewContent | null): void {
    const sizeChanged = !this.content || !content || this.content.width !== content.width || this.content.height !== content.height;
    this.content = content;
    if (sizeChanged) this.user = null;
    if (this.hovered && content && !content.boxes.some((b) => b.id === this.hovered!.id)) this.setHovered(null, 0, 0);
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
    this.drawBoxes(c.boxes, t, dpr);
    recordStat('cameraDraw', performance.now() - started);
    if (c.index !== this.lastPainted && c.bitmap) {
      this.lastPainted = c.index;
      reportPainted('camera', c.index);
    }
  }

  private isSelected(box: Box2D): boolean {
    const sel = this.selection;
    if (!sel) return false;
    if (sel.kind === 'box2d' && sel.id === box.id) return true;
    return !!sel.trackId && sel.trackId === box.trackId;
  }

  private hatchPattern(): CanvasPattern | null {
    if (this.hatch) return this.hatch;
    const tile = document.createElement('canvas');
    tile.width = tile.height = 8;
    const g = tile.getContext('2d');
    if (!g) return null;
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

  private drawBoxes(boxes: Box2D[], t: Transform, dpr: number): void {
    const { ctx } = this;
    const anySelected = boxes.some((b) => this.isSelected(b));
    // Ignore regions underneath, then boxes, the selected and hovered ones last (on top).
    const rank = (b: Box2D): number => (b.ignore ? 0 : this.isSelected(b) ? 3 : this.hovered?.id === b.id ? 2 : 1);
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
      const color = classColor(box.label);
      if (selected) {
        ctx.strokeStyle = 'rgba(0,0,0,0.7)';
        ctx.lineWidth = 5 * dpr;
        ctx.strokeRect(x, y, w, h);
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 3 * dpr;
        ctx.strokeRect(x, y, w, h);
      } else {
        ctx.fillStyle = hovered ? hexAlpha(color, 0.18) : hexAlpha(color, 0.06);
        ctx.fillRect(x, y, w, h);
        ctx.strokeStyle = color;
        ctx.lineWidth = (hovered ? 2.5 : 1.75) * dpr;
        ctx.strokeRect(x, y, w, h);
      }
      if (w > 14 * dpr || hovered || selected) {
        this.drawTag(box.trackId ? `${box.label} ${box.trackId}` : box.label, x, y, selected ? '#ffffff' : color, dpr);
      }
    }
    ctx.globalAlpha = 1;
  }

  private drawTag(text: string, x: number, y: number, color: string, dpr: number): void {
    const { ctx } = this;
    const padX = 4 * dpr;
    const h = 15 * dpr;
    const w = ctx.measureText(text).width + padX * 2;
    const ty = y - h >= 0 ? y - h : y;
    ctx.fillStyle = color;
    ctx.fillRect(x - 0.5 * dpr, ty, w, h);
    ctx.fillStyle = '#0b0d10';
    ctx.fillText(text, x + padX - 0.5 * dpr, ty + h / 2 + 0.5 * dpr);
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

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
  }

  private onPointerMove(e: PointerEvent): void {
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
  }

  private onPointerUp(e: PointerEvent): void {
    const drag = this.drag;
    this.drag = null;
    this.canvas.classList.remove('grabbing');
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    if (drag && !drag.moved) {
      const p = this.toImage(e.clientX, e.clientY);
      const box = this.pick(p.x, p.y);
      this.onSelect(box && !box.ignore ? box : null);
    }
  }

  private pick(x: number, y: number): Box2D | null {
    const boxes = this.content?.boxes ?? [];
    let best: Box2D | null = null;
    let bestScore = Infinity;
    for (const b of boxes) {
      if (x < b.x1 || x > b.x2 || y < b.y1 || y > b.y2) continue;
      // The smallest box wins; ignore regions only when nothing else is under the cursor.
      const score = (b.x2 - b.x1) * (b.y2 - b.y1) + (b.ignore ? 1e12 : 0);
      if (score < bestScore) {
        bestScore = score;
        best = b;
      }
    }
    return best;
  }

  private setHovered(box: Box2D | null, x: number, y: number): void {
    const changed = box?.id !== this.hovered?.id;
    this.hovered = box;
    this.canvas.classList.toggle('pointing', !!box && !box.ignore);
    this.onHover(box ? { box, x, y } : null);
    if (changed) this.requestDraw();
  }
}

function hexAlpha(color: string, alpha: number): string {
  if (!color.startsWith('#')) return color.replace(')', ` / ${alpha})`);
  const n = parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
