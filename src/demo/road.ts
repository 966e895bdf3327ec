// The demo road: a straight, a left-hand arc, and another straight, described in road
// coordinates (s = distance along the centre line, d = lateral offset, positive to the left).
// Everything on the ground (lanes, markings, kerbs, sidewalks, grass) is a function of (s, d), so
// the camera and the lidar query exactly the same surface.

/** End of the first straight (m); the road also extends straight behind s = 0. */
export const ARC_START_S = 100;
export const ARC_RADIUS = 80;
/** Total turn of the arc (rad, to the left). */
export const ARC_ANGLE = Math.PI / 3;
export const ARC_END_S = ARC_START_S + ARC_RADIUS * ARC_ANGLE;

export const LANE_WIDTH = 3.5;
/** Lane centres: the ego lane is right of the centre line (right-hand traffic). */
export const EGO_LANE_D = -LANE_WIDTH / 2;
export const ONCOMING_LANE_D = LANE_WIDTH / 2;
/** Parking lane between the ego lane's edge line and the right kerb. */
export const PARKING_LANE_D = -4.75;
/** Kerb lines: the carriageway (height 0) lies between them; outside is raised by KERB_HEIGHT. */
export const RIGHT_KERB_D = -6.0;
export const LEFT_KERB_D = 4.0;
export const KERB_HEIGHT = 0.15;
export const SIDEWALK_WIDTH = 2.5;
export const RIGHT_SIDEWALK_OUTER_D = RIGHT_KERB_D - SIDEWALK_WIDTH;
export const LEFT_SIDEWALK_OUTER_D = LEFT_KERB_D + SIDEWALK_WIDTH;

export const MARKING_WIDTH = 0.15;
export const DASH_LENGTH = 3;
export const DASH_PERIOD = 9;

/** Ground surface materials (object materials are numbered from 16 up, see materials.ts). */
export const Surface = { Asphalt: 1, Marking: 2, Kerb: 3, Sidewalk: 4, Grass: 5 } as const;
export type Surface = (typeof Surface)[keyof typeof Surface];

// Arc centre and the start of the final straight, in world coordinates.
const CX = ARC_START_S;
const CY = ARC_RADIUS;
const END_X = CX + ARC_RADIUS * Math.sin(ARC_ANGLE);
const END_Y = CY - ARC_RADIUS * Math.cos(ARC_ANGLE);
const END_COS = Math.cos(ARC_ANGLE);
const END_SIN = Math.sin(ARC_ANGLE);

export interface Crosswalk {
  s: number;
  /** Half length along s (m). */
  halfLength: number;
}

export class Road {
  constructor(readonly crosswalk: Crosswalk) {}

  /** World (x, y) of road coordinates (s, d). Writes into out[0..1]. */
  toWorld(s: number, d: number, out: Float64Array | number[] = [0, 0]): Float64Array | number[] {
    if (s <= ARC_START_S) {
      out[0] = s;
      out[1] = d;
    } else if (s <= ARC_END_S) {
      const phi = (s - ARC_START_S) / ARC_RADIUS;
      const r = ARC_RADIUS - d;
      out[0] = CX + r * Math.sin(phi);
      out[1] = CY - r * Math.cos(phi);
    } else {
      const u = s - ARC_END_S;
      out[0] = END_X + u * END_COS - d * END_SIN;
      out[1] = END_Y + u * END_SIN + d * END_COS;
    }
    return out;
  }

  /** Heading of the centre line at s (rad, world frame). */
  heading(s: number): number {
    if (s <= ARC_START_S) return 0;
    if (s <= ARC_END_S) return (s - ARC_START_S) / ARC_RADIUS;
    return ARC_ANGLE;
  }

  /**
   * Road coordinates of a world point: the segment (straight, arc, straight) whose normal through
   * the point is shortest. In: io[0] = x, io[1] = y. Out: io[0] = s, io[1] = d, io[2..3] = unit
   * tangent of the road there (cos, sin of its heading).
   *
   * Hot paths pass numbers through small Float64Array scratch buffers rather than arguments:
   * V8 boxes every double passed to (or returned from) a call it does not inline, and at a
   * million pixels a frame that garbage dominated the run time.
   */
  locate(io: Float64Array): void {
    const x = io[0]!;
    const y = io[1]!;
    let bestS = 0;
    let bestD = Infinity;
    let tc = 1;
    let ts = 0;
    if (x <= CX) {
      bestS = x;
      bestD = y;
    } else {
      const vx = x - CX;
      const vy = y - CY;
      const phi = Math.atan2(vx, -vy); // in (0, pi] for x > CX
      if (phi <= ARC_ANGLE) {
        const rho = Math.sqrt(vx * vx + vy * vy);
        bestS = ARC_START_S + ARC_RADIUS * phi;
        bestD = ARC_RADIUS - rho;
        tc = -vy / rho;
        ts = vx / rho;
      }
    }
    const ex = x - END_X;
    const ey = y - END_Y;
    const u = ex * END_COS + ey * END_SIN;
    if (u >= 0) {
      const d = -ex * END_SIN + ey * END_COS;
      if ((d < 0 ? -d : d) < (bestD < 0 ? -bestD : bestD)) {
        bestS = ARC_END_S + u;
        bestD = d;
        tc = END_COS;
        ts = END_SIN;
      }
    }
    io[0] = bestS;
    io[1] = bestD;
    io[2] = tc;
    io[3] = ts;
  }

  /** Road coordinates of (x, y): { s, d } (convenience wrapper of locate). */
  toRoad(x: number, y: number): { s: number; d: number } {
    const io = new Float64Array(4);
    io[0] = x;
    io[1] = y;
    this.locate(io);
    return { s: io[0]!, d: io[1]! };
  }

  /** Ground height at lateral offset d: the carriageway is at 0, everything beyond the kerbs raised. */
  heightAtD(d: number): number {
    return d < RIGHT_KERB_D || d > LEFT_KERB_D ? KERB_HEIGHT : 0;
  }

  heightAt(x: number, y: number): number {
    return this.heightAtD(this.toRoad(x, y).d);
  }

  /**
   * Fraction of a ground footprint centred at (s, d), fd wide across and fs long along the road,
   * covered by paint. fd = fs = 0 gives the exact (0 or 1) answer the lidar uses; the camera
   * passes its pixel footprint so thin distant lines are anti-aliased instead of breaking up.
   * In: io[0..3] = s, d, fd, fs. Out: io[4].
   */
  paint(io: Float64Array): void {
    const s = io[0]!;
    const d = io[1]!;
    const fd = io[2]!;
    const fs = io[3]!;
    const hw = MARKING_WIDTH / 2;
    const reach = hw + fd / 2;
    const ad = d < 0 ? -d : d;
    const cw0 = this.crosswalk.s - this.crosswalk.halfLength;
    const cw1 = this.crosswalk.s + this.crosswalk.halfLength;
    // Fast exit away from every line and the crosswalk (most of the road surface).
    if (ad > reach && (ad > LANE_WIDTH + reach || ad < LANE_WIDTH - reach) && (s + fs / 2 < cw0 || s - fs / 2 > cw1)) {
      io[4] = 0;
      return;
    }
    let cover = intervalCoverage(d, fd, -LANE_WIDTH - hw, -LANE_WIDTH + hw) + intervalCoverage(d, fd, LANE_WIDTH - hw, LANE_WIDTH + hw);
    // Dashed centre line.
    const centre = intervalCoverage(d, fd, -hw, hw);
    if (centre > 0) cover += centre * periodicCoverage(s, fs, DASH_PERIOD, DASH_LENGTH);
    const along = intervalCoverage(s, fs, cw0, cw1);
    if (along > 0 && d > -LANE_WIDTH + 0.25 && d < LANE_WIDTH - 0.25) {
      // Zebra bars run along the road: 0.5 m paint, 0.5 m gap across it.
      const bars = along * periodicCoverage(d + 0.25, fd, 1.0, 0.5);
      if (bars > cover) cover = bars;
    }
    io[4] = cover > 1 ? 1 : cover;
  }

  /** Convenience wrapper of paint(). */
  markingCoverage(s: number, d: number, fd: number, fs: number): number {
    const io = new Float64Array(5);
    io[0] = s;
    io[1] = d;
    io[2] = fd;
    io[3] = fs;
    this.paint(io);
    return io[4]!;
  }

  /** Exact surface material at road coordinates io[0] = s, io[1] = d (io[2..4] are clobbered). */
  surfaceOf(io: Float64Array): Surface {
    const d = io[1]!;
    if (d < RIGHT_SIDEWALK_OUTER_D || d > LEFT_SIDEWALK_OUTER_D) return Surface.Grass;
    if (d < RIGHT_KERB_D || d > LEFT_KERB_D) return Surface.Sidewalk;
    io[2] = 0;
    io[3] = 0;
    this.paint(io);
    return io[4]! >= 0.5 ? Surface.Marking : Surface.Asphalt;
  }

  surfaceAt(s: number, d: number): Surface {
    const io = new Float64Array(5);
    io[0] = s;
    io[1] = d;
    return this.surfaceOf(io);
  }
}

/** Fraction of [x - f/2, x + f/2] inside [a, b]; f = 0 tests x itself. */
function intervalCoverage(x: number, f: number, a: number, b: number): number {
  if (f <= 1e-9) return x >= a && x < b ? 1 : 0;
  const lo = Math.max(x - f / 2, a);
  const hi = Math.min(x + f / 2, b);
  return hi > lo ? (hi - lo) / f : 0;
}

/** Integral of a periodic on/off pattern (on for [0, on) of each period) from -inf to x, without the constant. */
function periodicIntegral(x: number, period: number, on: number): number {
  const k = Math.floor(x / period);
  const r = x - k * period;
  return k * on + Math.min(r, on);
}

/** Fraction of [x - f/2, x + f/2] covered by the periodic pattern. */
function periodicCoverage(x: number, f: number, period: number, on: number): number {
  if (f <= 1e-9) {
    const r = x - Math.floor(x / period) * period;
    return r < on ? 1 : 0;
  }
  return (periodicIntegral(x + f / 2, period, on) - periodicIntegral(x - f / 2, period, on)) / f;
}
