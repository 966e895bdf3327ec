// Small bird's-eye geometry kernels on flat number arrays (no allocation in the hot paths).

/** Corners of an oriented rectangle, counter-clockwise, as [x0, y0, x1, y1, ...]. */
export function footprintCorners(cx: number, cy: number, length: number, width: number, yaw: number, out = new Float64Array(8)): Float64Array {
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  const hl = length / 2;
  const hw = width / 2;
  const local = [hl, -hw, hl, hw, -hl, hw, -hl, -hw];
  for (let k = 0; k < 4; k++) {
    const dx = local[2 * k]!;
    const dy = local[2 * k + 1]!;
    out[2 * k] = cx + c * dx - s * dy;
    out[2 * k + 1] = cy + s * dx + c * dy;
  }
  return out;
}

/** Squared distance from point p to segment ab, and the segment parameter of the closest point. */
export function pointSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): { d2: number; t: number } {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return { d2: ex * ex + ey * ey, t };
}

/** Whether a point lies inside a convex counter-clockwise polygon (boundary included). */
export function pointInConvex(px: number, py: number, poly: ArrayLike<number>): boolean {
  const n = poly.length / 2;
  for (let k = 0; k < n; k++) {
    const ax = poly[2 * k]!;
    const ay = poly[2 * k + 1]!;
    const bx = poly[(2 * k + 2) % (2 * n)]!;
    const by = poly[(2 * k + 3) % (2 * n)]!;
    if ((bx - ax) * (py - ay) - (by - ay) * (px - ax) < 0) return false;
  }
  return true;
}

/** Signed area (positive when counter-clockwise). */
export function polygonArea(poly: ArrayLike<number>): number {
  const n = poly.length / 2;
  let twice = 0;
  for (let k = 0; k < n; k++) {
    const j = (k + 1) % n;
    twice += poly[2 * k]! * poly[2 * j + 1]! - poly[2 * j]! * poly[2 * k + 1]!;
  }
  return twice / 2;
}

/** Distance from a point to a convex counter-clockwise polygon: 0 inside. */
export function pointConvexDistance(px: number, py: number, poly: ArrayLike<number>): number {
  const n = poly.length / 2;
  // A degenerate polygon (a clipped sliver: a point or a segment) has no inside.
  if (n >= 3 && polygonArea(poly) > 1e-9 && pointInConvex(px, py, poly)) return 0;
  let best = Infinity;
  for (let k = 0; k < n; k++) {
    const { d2 } = pointSegment(px, py, poly[2 * k]!, poly[2 * k + 1]!, poly[(2 * k + 2) % (2 * n)]!, poly[(2 * k + 3) % (2 * n)]!);
    if (d2 < best) best = d2;
  }
  return Math.sqrt(best);
}

/**
 * Closest approach of segment ab to a convex counter-clockwise polygon: the distance and the
 * segment parameter t where it is reached (where the segment enters the polygon when they cross).
 */
export function segmentConvexClosest(ax: number, ay: number, bx: number, by: number, poly: ArrayLike<number>): { distance: number; t: number } {
  const n = poly.length / 2;
  const dx = bx - ax;
  const dy = by - ay;
  // Cyrus-Beck clipping: the parameter interval of the segment inside the polygon.
  let tIn = 0;
  let tOut = 1;
  for (let k = 0; k < n && tIn <= tOut; k++) {
    const ex = poly[(2 * k + 2) % (2 * n)]! - poly[2 * k]!;
    const ey = poly[(2 * k + 3) % (2 * n)]! - poly[2 * k + 1]!;
    // Inside is left of each edge: cross(e, p - v) >= 0.
    const num = ex * (ay - poly[2 * k + 1]!) - ey * (ax - poly[2 * k]!);
    const den = ex * dy - ey * dx;
    if (den === 0) {
      if (num < 0) tIn = 2; // parallel and outside this edge
    } else {
      const t = -num / den;
      if (den > 0) tIn = Math.max(tIn, t);
      else tOut = Math.min(tOut, t);
    }
  }
  if (tIn <= tOut) return { distance: 0, t: tIn };
  let best = Infinity;
  let bestT = 0;
  for (const t of [0, 1]) {
    const d = pointConvexDistance(ax + t * dx, ay + t * dy, poly);
    if (d < best) {
      best = d;
      bestT = t;
    }
  }
  for (let k = 0; k < n; k++) {
    const r = pointSegment(poly[2 * k]!, poly[2 * k + 1]!, ax, ay, bx, by);
    const d = Math.sqrt(r.d2);
    if (d < best) {
      best = d;
      bestT = r.t;
    }
  }
  return { distance: best, t: bestT };
}
