// The scene frozen at one instant, in the flat arrays the camera and lidar ray casters loop over:
// every box (agent parts and scenery) plus the terrain (carriageway, kerbs, raised sidewalks and
// grass) as an exact height field over road coordinates.
import { raySlab, slabFace } from './geometry.js';
import { KERB_HEIGHT as KERB_HEIGHT_, LEFT_KERB_D as LEFT_KERB_D_, LEFT_SIDEWALK_OUTER_D as LEFT_SIDEWALK_OUTER_D_, RIGHT_KERB_D as RIGHT_KERB_D_, RIGHT_SIDEWALK_OUTER_D as RIGHT_SIDEWALK_OUTER_D_, type Road, Surface as Surface_ } from './road.js';
import type { DemoAgentBox, DemoScene } from './scene.js';

// Imported bindings used per pixel or per ray, copied once into module constants: every read of
// an import is a live-binding lookup (a getter call under the test runner's module transform).
const KERB_HEIGHT = KERB_HEIGHT_;
const LEFT_KERB_D = LEFT_KERB_D_;
const LEFT_SIDEWALK_OUTER_D = LEFT_SIDEWALK_OUTER_D_;
const RIGHT_KERB_D = RIGHT_KERB_D_;
const RIGHT_SIDEWALK_OUTER_D = RIGHT_SIDEWALK_OUTER_D_;
const Surface = Surface_;
const GRASS = Surface.Grass;
const SIDEWALK = Surface.Sidewalk;
const ASPHALT = Surface.Asphalt;
const KERB = Surface.Kerb;

/** Object id of the terrain in id buffers; agents are 1..N, scenery 1000+, nothing (sky) -1. */
export const TERRAIN_ID = 0;
export const NO_HIT = -1;

export class PartSet {
  readonly cx: Float64Array;
  readonly cy: Float64Array;
  readonly cz: Float64Array;
  readonly hx: Float64Array;
  readonly hy: Float64Array;
  readonly hz: Float64Array;
  readonly yaw: Float64Array;
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly objectId: Int32Array;
  readonly material: Uint8Array;
  /** rgb per part */
  readonly color: Uint8Array;
  n = 0;

  constructor(capacity: number) {
    this.cx = new Float64Array(capacity);
    this.cy = new Float64Array(capacity);
    this.cz = new Float64Array(capacity);
    this.hx = new Float64Array(capacity);
    this.hy = new Float64Array(capacity);
    this.hz = new Float64Array(capacity);
    this.yaw = new Float64Array(capacity);
    this.cos = new Float64Array(capacity);
    this.sin = new Float64Array(capacity);
    this.objectId = new Int32Array(capacity);
    this.material = new Uint8Array(capacity);
    this.color = new Uint8Array(capacity * 3);
  }

  add(cx: number, cy: number, cz: number, l: number, w: number, h: number, yaw: number, objectId: number, material: number, color: readonly number[]): void {
    const i = this.n++;
    this.cx[i] = cx;
    this.cy[i] = cy;
    this.cz[i] = cz;
    this.hx[i] = l / 2;
    this.hy[i] = w / 2;
    this.hz[i] = h / 2;
    this.yaw[i] = yaw;
    this.cos[i] = Math.cos(yaw);
    this.sin[i] = Math.sin(yaw);
    this.objectId[i] = objectId;
    this.material[i] = material;
    this.color[i * 3] = color[0]!;
    this.color[i * 3 + 1] = color[1]!;
    this.color[i * 3 + 2] = color[2]!;
  }

  /** Entry distance of a world ray into part i (Infinity if missed); the face is left in slabFace. */
  intersect(i: number, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): number {
    const c = this.cos[i]!;
    const s = this.sin[i]!;
    const rx = ox - this.cx[i]!;
    const ry = oy - this.cy[i]!;
    return raySlab(c * rx + s * ry, -s * rx + c * ry, oz - this.cz[i]!, c * dx + s * dy, -s * dx + c * dy, dz, this.hx[i]!, this.hy[i]!, this.hz[i]!, 0);
  }
}

export interface WorldSnapshot {
  tS: number;
  agents: DemoAgentBox[];
  parts: PartSet;
}

/** All boxes at time tS, in the world frame. */
export function snapshotAt(scene: DemoScene, tS: number): WorldSnapshot {
  const agents = scene.agentsAt(tS);
  let count = 0;
  for (const a of scene.agents) count += a.parts.length;
  for (const s of scene.statics) count += s.parts.length;
  const parts = new PartSet(count);
  for (let k = 0; k < agents.length; k++) {
    const box = agents[k]!;
    const def = scene.agents[k]!;
    const c = Math.cos(box.yaw);
    const s = Math.sin(box.yaw);
    const groundZ = box.center[2] - box.size[2] / 2;
    for (const p of def.parts) {
      parts.add(box.center[0] + c * p.x - s * p.y, box.center[1] + s * p.x + c * p.y, groundZ + p.z0 + p.h / 2, p.l, p.w, p.h, box.yaw, def.objectId, p.material, p.color);
    }
  }
  for (const st of scene.statics) {
    for (const p of st.parts) parts.add(p.center[0], p.center[1], p.center[2], p.size[0], p.size[1], p.size[2], p.yaw, st.objectId, p.material, p.color);
  }
  return { tS, agents, parts };
}

/**
 * Result of the last successful terrain hit, indexed by the H_* constants (a scratch buffer:
 * see Road.locate for why hot paths pass numbers this way).
 */
export const HIT = new Float64Array(9);
export const H_T = 0;
export const H_SURFACE = 1;
export const H_S = 2;
export const H_D = 3;
export const H_X = 4;
export const H_Y = 5;
export const H_Z = 6;
export const H_TANGENT_X = 7;
export const H_TANGENT_Y = 8;

/** The last terrain hit as an object (convenience for non-hot code and tests). */
export function terrainHitInfo(): { t: number; surface: number; s: number; d: number; x: number; y: number; z: number } {
  return { t: HIT[H_T]!, surface: HIT[H_SURFACE]!, s: HIT[H_S]!, d: HIT[H_D]!, x: HIT[H_X]!, y: HIT[H_Y]!, z: HIT[H_Z]! };
}

/**
 * Input of terrainRay: origin xyz, unit direction xyz, tMax, and RAY[7] = 1 to classify paint
 * exactly (the lidar needs it; the camera shades paint itself and leaves it 0).
 */
export const RAY = new Float64Array(8);

const io = new Float64Array(5);

function onCarriageway(d: number): boolean {
  return d >= RIGHT_KERB_D && d <= LEFT_KERB_D;
}

function raisedSurface(d: number): number {
  return d < RIGHT_SIDEWALK_OUTER_D || d > LEFT_SIDEWALK_OUTER_D ? GRASS : SIDEWALK;
}

/** The hit point being committed: t, x, y, z (with s, d, tangent in io). */
const at = new Float64Array(4);

function commitHit(surface: number): true {
  HIT[H_T] = at[0]!;
  HIT[H_SURFACE] = surface;
  HIT[H_S] = io[0]!;
  HIT[H_D] = io[1]!;
  HIT[H_TANGENT_X] = io[2]!;
  HIT[H_TANGENT_Y] = io[3]!;
  HIT[H_X] = at[1]!;
  HIT[H_Y] = at[2]!;
  HIT[H_Z] = at[3]!;
  return true;
}

/** intersectTerrain with its arguments in RAY (the allocation-free form for hot loops). */
export function terrainRay(road: Road): boolean {
  const ox = RAY[0]!;
  const oy = RAY[1]!;
  const oz = RAY[2]!;
  const dx = RAY[3]!;
  const dy = RAY[4]!;
  const dz = RAY[5]!;
  const tMax = RAY[6]!;
  if (dz >= 0 || oz <= KERB_HEIGHT) return false;
  const t1 = (oz - KERB_HEIGHT) / -dz; // reaches the raised level
  if (t1 > tMax) return false;
  const t0 = oz / -dz; // reaches the carriageway level
  // d is 1-Lipschitz in the horizontal position: when the carriageway-level point is further
  // from a kerb than the horizontal run between the two levels, both are on the same side of it.
  const run = (t0 - t1) * Math.sqrt(dx * dx + dy * dy);
  const x0 = ox + t0 * dx;
  const y0 = oy + t0 * dy;
  io[0] = x0;
  io[1] = y0;
  road.locate(io);
  const d0 = io[1]!;
  const margin = Math.min(d0 - RIGHT_KERB_D, LEFT_KERB_D - d0);
  if (margin <= run) {
    const x1 = ox + t1 * dx;
    const y1 = oy + t1 * dy;
    io[0] = x1;
    io[1] = y1;
    road.locate(io);
    if (!onCarriageway(io[1]!)) {
      at[0] = t1;
      at[1] = x1;
      at[2] = y1;
      at[3] = KERB_HEIGHT;
      return commitHit(raisedSurface(io[1]!));
    }
    if (margin < 0) return kerbFace(road, t1, t0, io[1]!, d0);
    io[0] = x0; // back to the carriageway-level point
    io[1] = y0;
    road.locate(io);
  }
  if (t0 > tMax) return false;
  let surface: number = ASPHALT;
  if (RAY[7] === 1) {
    const s = io[0]!; // surfaceOf clobbers io[2..4]: keep the tangent
    const tx = io[2]!;
    const ty = io[3]!;
    surface = road.surfaceOf(io);
    io[0] = s;
    io[2] = tx;
    io[3] = ty;
  }
  at[0] = t0;
  at[1] = x0;
  at[2] = y0;
  at[3] = 0;
  return commitHit(surface);
}

/**
 * Above the carriageway at kerb height (t1), beyond the kerb at road level (t0): the ray meets the
 * kerb face. Finds the root of d(t) = kerb line by the Illinois variant of regula falsi (d is
 * smooth along the ray, linear on the straights, so a few steps do). Reads the ray from RAY.
 */
function kerbFace(road: Road, t1: number, t0: number, d1: number, d0: number): boolean {
  const ox = RAY[0]!;
  const oy = RAY[1]!;
  const oz = RAY[2]!;
  const dx = RAY[3]!;
  const dy = RAY[4]!;
  const dz = RAY[5]!;
  const kerb = d0 < RIGHT_KERB_D ? RIGHT_KERB_D : LEFT_KERB_D;
  let lo = t1;
  let hi = t0;
  let flo = d1 - kerb;
  let fhi = d0 - kerb;
  let side = 0;
  for (let i = 0; i < 60 && hi - lo > 1e-7; i++) {
    const mid = (lo * fhi - hi * flo) / (fhi - flo);
    const m = mid > lo && mid < hi ? mid : (lo + hi) / 2;
    io[0] = ox + m * dx;
    io[1] = oy + m * dy;
    road.locate(io);
    const fm = io[1]! - kerb;
    if (fm === 0) {
      hi = m;
      break;
    }
    if (onCarriageway(io[1]!)) {
      lo = m;
      flo = fm;
      if (side === -1) fhi /= 2;
      side = -1;
    } else {
      hi = m;
      fhi = fm;
      if (side === 1) flo /= 2;
      side = 1;
    }
  }
  if (hi > RAY[6]!) return false;
  io[0] = ox + hi * dx;
  io[1] = oy + hi * dy;
  road.locate(io);
  at[0] = hi;
  at[1] = ox + hi * dx;
  at[2] = oy + hi * dy;
  at[3] = oz + hi * dz;
  return commitHit(KERB);
}

/**
 * First hit of a ray (origin above the kerb height, unit direction) with the terrain: the
 * carriageway at z = 0 and everything beyond the kerbs at z = KERB_HEIGHT, joined by vertical kerb
 * faces. Returns false when the ray does not come down to the ground within tMax; the hit is left
 * in terrainHit. (Exact, except that a ray crossing the inner side of the curve's kerb twice
 * between the two levels - a sagitta of millimetres - is treated as staying on the carriageway.)
 */
export function intersectTerrain(road: Road, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, tMax: number): boolean {
  RAY[7] = 1;
  RAY[0] = ox;
  RAY[1] = oy;
  RAY[2] = oz;
  RAY[3] = dx;
  RAY[4] = dy;
  RAY[5] = dz;
  RAY[6] = tMax;
  return terrainRay(road);
}

export interface RayHit {
  t: number;
  /** NO_HIT, TERRAIN_ID, an agent's objectId or a scenery objectId. */
  objectId: number;
  part: number;
  face: number;
  surface: number;
}

/** Brute-force ray cast against everything (no culling): the reference the fast paths are tested against. */
export function raycast(scene: DemoScene, world: WorldSnapshot, o: readonly number[], d: readonly number[], tMax = Infinity): RayHit {
  const n = Math.hypot(d[0]!, d[1]!, d[2]!);
  const dx = d[0]! / n;
  const dy = d[1]! / n;
  const dz = d[2]! / n;
  let best: RayHit = { t: tMax, objectId: NO_HIT, part: -1, face: -1, surface: 0 };
  if (intersectTerrain(scene.road, o[0]!, o[1]!, o[2]!, dx, dy, dz, tMax)) {
    best = { t: HIT[H_T]!, objectId: TERRAIN_ID, part: -1, face: -1, surface: HIT[H_SURFACE]! };
  }
  const parts = world.parts;
  for (let i = 0; i < parts.n; i++) {
    const t = parts.intersect(i, o[0]!, o[1]!, o[2]!, dx, dy, dz);
    if (t < best.t) best = { t, objectId: parts.objectId[i]!, part: i, face: slabFace, surface: parts.material[i]! };
  }
  return best;
}
