// The occlusion layout: a grid of stride-sized cells over the whole image, and the patch positions
// that scan it. A patch starting at cell (kx, ky) covers `span` cells per axis, and each cell's
// value is the mean score drop of every patch that covered it (as Captum's Occlusion averages
// overlapping windows). Patches start on cell corners, so a windowed scan gives exactly the
// full scan's values inside its window.
import type { SaliencyParams, SaliencyTarget } from './params.js';

export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface OcclusionPlan {
  /** Grid size in cells (whole image). */
  cols: number;
  rows: number;
  cellSize: number;
  /** Cells one patch covers per axis: round(patch / stride), at least 1. */
  span: number;
  /** Patch start cells, x then y (patch i: kx = i % kxs.length, ky = floor(i / kxs.length)). */
  kxs: number[];
  kys: number[];
  /** Cells that every patch covering them was scanned for: x from ca to cb, y from ra to rb (inclusive). */
  cells: { ca: number; cb: number; ra: number; rb: number };
  /** Those cells in source pixels (clipped to the image): where the map holds values. */
  window: Rect;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let k = from; k <= to; k++) out.push(k);
  return out;
}

export function planOcclusion(params: SaliencyParams, width: number, height: number, target: SaliencyTarget): OcclusionPlan {
  const s = params.stride;
  const cols = Math.ceil(width / s);
  const rows = Math.ceil(height / s);
  const span = Math.max(1, Math.round(params.patch / s));
  const lastKx = Math.max(0, cols - span);
  const lastKy = Math.max(0, rows - span);
  let kxs: number[];
  let kys: number[];
  let cells = { ca: 0, cb: cols - 1, ra: 0, rb: rows - 1 };
  if (params.region === 'full') {
    kxs = range(0, lastKx);
    kys = range(0, lastKy);
  } else {
    // The box scaled about its centre, plus one patch of context on every side.
    const cx = (target.x1 + target.x2) / 2;
    const cy = (target.y1 + target.y2) / 2;
    const hw = ((target.x2 - target.x1) * params.windowScale) / 2 + params.patch;
    const hh = ((target.y2 - target.y1) * params.windowScale) / 2 + params.patch;
    const ca = clampInt(Math.floor((cx - hw) / s), 0, cols - 1);
    const cb = clampInt(Math.ceil((cx + hw) / s) - 1, 0, cols - 1);
    const ra = clampInt(Math.floor((cy - hh) / s), 0, rows - 1);
    const rb = clampInt(Math.ceil((cy + hh) / s) - 1, 0, rows - 1);
    // Every patch that touches a window cell, so window cells get all their patches.
    kxs = range(Math.max(0, Math.min(ca - span + 1, lastKx)), Math.min(cb, lastKx));
    kys = range(Math.max(0, Math.min(ra - span + 1, lastKy)), Math.min(rb, lastKy));
    cells = { ca, cb, ra, rb };
  }
  const window: Rect = { x1: cells.ca * s, y1: cells.ra * s, x2: Math.min(width, (cells.cb + 1) * s), y2: Math.min(height, (cells.rb + 1) * s) };
  return { cols, rows, cellSize: s, span, kxs, kys, cells, window };
}

/** Source-pixel rectangle of patch i (clipped to the image). */
export function patchRect(plan: OcclusionPlan, i: number, patch: number, width: number, height: number): Rect {
  const kx = plan.kxs[i % plan.kxs.length]!;
  const ky = plan.kys[Math.floor(i / plan.kxs.length)]!;
  const x1 = kx * plan.cellSize;
  const y1 = ky * plan.cellSize;
  return { x1, y1, x2: Math.min(width, x1 + patch), y2: Math.min(height, y1 + patch) };
}

/** Running mean of the score drop per cell. */
export class CellAccumulator {
  readonly sums: Float64Array;
  readonly counts: Uint32Array;

  constructor(private readonly plan: OcclusionPlan) {
    this.sums = new Float64Array(plan.cols * plan.rows);
    this.counts = new Uint32Array(plan.cols * plan.rows);
  }

  add(i: number, drop: number): void {
    const { kxs, kys, span, cols, rows } = this.plan;
    const kx = kxs[i % kxs.length]!;
    const ky = kys[Math.floor(i / kxs.length)]!;
    for (let y = ky; y < Math.min(rows, ky + span); y++) {
      for (let x = kx; x < Math.min(cols, kx + span); x++) {
        this.sums[y * cols + x]! += drop;
        this.counts[y * cols + x]!++;
      }
    }
  }

  /** Whether cell i lies in the window (it got all its patches). */
  inWindow(i: number): boolean {
    const { cols, cells } = this.plan;
    const x = i % cols;
    const y = Math.floor(i / cols);
    return x >= cells.ca && x <= cells.cb && y >= cells.ra && y <= cells.rb;
  }

  /** Mean per cell; 0 outside the window, where a cell got only some of its patches or none. */
  values(): Float32Array {
    const out = new Float32Array(this.sums.length);
    for (let i = 0; i < out.length; i++) out[i] = this.counts[i] && this.inWindow(i) ? this.sums[i]! / this.counts[i]! : 0;
    return out;
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
