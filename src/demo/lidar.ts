// The roof lidar: 64 beams (HDL-64E-like elevations) x azimuthSteps columns, ray-cast against the
// same world as the camera. Each box is binned into the azimuth columns it can cover (and tagged
// with the elevation band it spans), so a ray only tests a handful of boxes.
//
// Output, in the lidar_top frame (x forward, y left, z up):
// - points ordered column by column (azimuth from -180 deg, i.e. straight behind, increasing
//   counter-clockwise), top beam first within a column; rays without a return are dropped;
// - intensity: float in [0, 1] = surface reflectivity x (0.6 + 0.4 |cos(incidence)|); lane paint
//   and number plates are bright (0.5-0.9), asphalt dark (about 0.06-0.15);
// - ring: beam index, 0 = the top beam (+2.0 deg) .. 63 = the bottom beam (-24.8 deg);
// - no noise: every point lies on a surface, up to the output quantisation (coordinates on a
//   1/512 m grid, i.e. within 1 mm; intensity in 1/255 steps). Returns nearer than minRange or
//   further than maxRange are dropped. The ego body is not modelled as an occluder (think of a
//   sensor on a mast); any return inside the ego's own box would be dropped.
import { FACE_NORMALS as FACE_NORMALS_, objectTexture as objectTexture_, surfaceReflectivity as surfaceReflectivity_ } from './materials.js';
import { Surface } from './road.js';
import type { DemoScene } from './scene.js';
import { HIT as HIT_, H_SURFACE as H_SURFACE_, H_T as H_T_, H_X as H_X_, H_Y as H_Y_, RAY as RAY_, TERRAIN_ID as TERRAIN_ID_, snapshotAt, terrainRay as terrainRay_, type WorldSnapshot } from './world.js';

// Imported bindings used per pixel or per ray, copied once into module constants: every read of
// an import is a live-binding lookup (a getter call under the test runner's module transform).
const FACE_NORMALS = FACE_NORMALS_;
const objectTexture = objectTexture_;
const surfaceReflectivity = surfaceReflectivity_;
const HIT = HIT_;
const H_SURFACE = H_SURFACE_;
const H_T = H_T_;
const H_X = H_X_;
const H_Y = H_Y_;
const RAY = RAY_;
const TERRAIN_ID = TERRAIN_ID_;
const terrainRay = terrainRay_;
const KERB_SURFACE = Surface.Kerb;

export interface LidarSweep {
  count: number;
  /** xyz interleaved in the lidar frame, length 3 * count. */
  positions: Float32Array;
  intensity: Float32Array;
  ring: Uint16Array;
  /** What each point hit: TERRAIN_ID (0), an agent's objectId (1..N) or scenery (1000+). */
  objectIds: Int32Array;
  /** Surface/material code of each hit (road.Surface for terrain, materials.Material for boxes). */
  material: Uint8Array;
}

interface BeamTable {
  azimuthSteps: number;
  cosAz: Float64Array;
  sinAz: Float64Array;
  elev: Float64Array;
  cosEl: Float64Array;
  sinEl: Float64Array;
}

const beamCache = new WeakMap<DemoScene, BeamTable>();

function beams(scene: DemoScene): BeamTable {
  const cached = beamCache.get(scene);
  if (cached) return cached;
  const N = scene.lidar.azimuthSteps;
  const table: BeamTable = {
    azimuthSteps: N,
    cosAz: new Float64Array(N),
    sinAz: new Float64Array(N),
    elev: new Float64Array(scene.lidar.elevationsDeg.map((e) => (e * Math.PI) / 180)),
    cosEl: new Float64Array(scene.lidar.elevationsDeg.length),
    sinEl: new Float64Array(scene.lidar.elevationsDeg.length),
  };
  for (let j = 0; j < N; j++) {
    const az = columnAzimuth(j, N);
    table.cosAz[j] = Math.cos(az);
    table.sinAz[j] = Math.sin(az);
  }
  table.elev.forEach((e, b) => {
    table.cosEl[b] = Math.cos(e);
    table.sinEl[b] = Math.sin(e);
  });
  beamCache.set(scene, table);
  return table;
}

/** Azimuth of column j in the lidar frame (rad). */
export function columnAzimuth(j: number, azimuthSteps: number): number {
  return -Math.PI + (2 * Math.PI * j) / azimuthSteps;
}

interface SweepBuffers {
  positions: Float32Array;
  intensity: Float32Array;
  ring: Uint16Array;
  objectIds: Int32Array;
  material: Uint8Array;
}
const bufferCache = new WeakMap<DemoScene, SweepBuffers>();

export interface CastOptions {
  /** The scene frozen at tS, when the caller already has it (the camera shares it). */
  world?: WorldSnapshot;
  /** Return views into buffers owned by the scene, overwritten by the next sweep (see renderCamera). */
  reuseBuffers?: boolean;
}

/** Ray-casts one full sweep at tS (instantaneous: no motion skew within the sweep). */
export function castLidar(scene: DemoScene, tS: number, options: CastOptions = {}): LidarSweep {
  const world = options.world ?? snapshotAt(scene, tS);
  const tb = beams(scene);
  const N = tb.azimuthSteps;
  const B = tb.elev.length;
  const { maxRange, minRange } = scene.lidar;
  const ego = scene.egoStateAt(tS);
  const ce = Math.cos(ego.yaw);
  const se = Math.sin(ego.yaw);
  const ext = scene.lidar.extrinsic.translation; // identity rotation: lidar axes = base_link axes
  const ox = ego.x + ce * ext[0] - se * ext[1];
  const oy = ego.y + se * ext[0] + ce * ext[1];
  const oz = ext[2];
  const parts = world.parts;

  // Bin boxes into columns. Azimuths are relative to the lidar's x axis.
  const columnParts: number[][] = Array.from({ length: N }, () => []);
  const elevLo = new Float64Array(parts.n);
  const elevHi = new Float64Array(parts.n);
  for (let p = 0; p < parts.n; p++) {
    const c = parts.cos[p]!;
    const s = parts.sin[p]!;
    const hx = parts.hx[p]!;
    const hy = parts.hy[p]!;
    // Footprint corners in the lidar frame.
    let rMax = 0;
    const angles: number[] = [];
    const wx = parts.cx[p]! - ox;
    const wy = parts.cy[p]! - oy;
    const centreAngle = Math.atan2(-se * wx + ce * wy, ce * wx + se * wy);
    for (const [ax, ay] of CORNER_SIGNS) {
      const px = wx + c * ax * hx - s * ay * hy;
      const py = wy + s * ax * hx + c * ay * hy;
      const lx = ce * px + se * py;
      const ly = -se * px + ce * py;
      rMax = Math.max(rMax, Math.sqrt(lx * lx + ly * ly));
      let a = Math.atan2(ly, lx) - centreAngle;
      if (a > Math.PI) a -= 2 * Math.PI;
      if (a < -Math.PI) a += 2 * Math.PI;
      angles.push(a);
    }
    const rMin = distanceToRect(-wx, -wy, c, s, hx, hy);
    if (rMin > maxRange) continue;
    const zLo = parts.cz[p]! - parts.hz[p]! - oz;
    const zHi = parts.cz[p]! + parts.hz[p]! - oz;
    if (rMin <= 1e-9) {
      // The sensor stands above/below the footprint: every column, every beam.
      elevLo[p] = -Math.PI;
      elevHi[p] = Math.PI;
      for (const list of columnParts) list.push(p);
      continue;
    }
    elevLo[p] = Math.atan2(zLo, zLo < 0 ? rMin : rMax) - 1e-9;
    elevHi[p] = Math.atan2(zHi, zHi > 0 ? rMin : rMax) + 1e-9;
    const a0 = centreAngle + Math.min(...angles);
    const a1 = centreAngle + Math.max(...angles);
    const j0 = Math.floor(((a0 + Math.PI) * N) / (2 * Math.PI)) - 1;
    const j1 = Math.ceil(((a1 + Math.PI) * N) / (2 * Math.PI)) + 1;
    for (let j = j0; j <= j1 && j - j0 < N; j++) columnParts[((j % N) + N) % N]!.push(p);
  }

  const cap = N * B;
  let buffers = bufferCache.get(scene);
  if (!buffers) {
    buffers = { positions: new Float32Array(cap * 3), intensity: new Float32Array(cap), ring: new Uint16Array(cap), objectIds: new Int32Array(cap), material: new Uint8Array(cap) };
    bufferCache.set(scene, buffers);
  }
  const { positions, intensity, ring, objectIds, material } = buffers;
  const tex = new Float64Array(4);
  const texIn = new Float64Array(9);
  const seed = scene.options.seed;
  const road = scene.road;
  const body = scene.egoBody;
  const pcx = parts.cx;
  const pcy = parts.cy;
  const pcz = parts.cz;
  const phx = parts.hx;
  const phy = parts.hy;
  const phz = parts.hz;
  const pcos = parts.cos;
  const psin = parts.sin;
  RAY[0] = ox;
  RAY[1] = oy;
  RAY[2] = oz;
  RAY[7] = 1; // classify paint exactly
  let count = 0;
  for (let j = 0; j < N; j++) {
    const ca = tb.cosAz[j]!;
    const sa = tb.sinAz[j]!;
    // Column direction in the world (horizontal part).
    const wxa = ce * ca - se * sa;
    const wya = se * ca + ce * sa;
    const list = columnParts[j]!;
    for (let b = 0; b < B; b++) {
      const cel = tb.cosEl[b]!;
      const dz = tb.sinEl[b]!;
      const dx = wxa * cel;
      const dy = wya * cel;
      const el = tb.elev[b]!;
      let t = maxRange;
      let hitPart = -1;
      for (let q = 0; q < list.length; q++) {
        const p = list[q]!;
        if (el < elevLo[p]! || el > elevHi[p]!) continue;
        // Slab test in the part frame, inlined by hand (hot).
        const c = pcos[p]!;
        const s = psin[p]!;
        const rx = ox - pcx[p]!;
        const ry = oy - pcy[p]!;
        const lox = c * rx + s * ry;
        const loy = -s * rx + c * ry;
        const loz = oz - pcz[p]!;
        const hx = phx[p]!;
        const hy = phy[p]!;
        const hz = phz[p]!;
        let t0 = 0;
        let t1 = t;
        let ia = 1 / (c * dx + s * dy);
        let ta = (-hx - lox) * ia;
        let tb2 = (hx - lox) * ia;
        if (ta > tb2) {
          const tmp = ta;
          ta = tb2;
          tb2 = tmp;
        }
        if (ta > t0) t0 = ta;
        if (tb2 < t1) t1 = tb2;
        ia = 1 / (-s * dx + c * dy);
        ta = (-hy - loy) * ia;
        tb2 = (hy - loy) * ia;
        if (ta > tb2) {
          const tmp = ta;
          ta = tb2;
          tb2 = tmp;
        }
        if (ta > t0) t0 = ta;
        if (tb2 < t1) t1 = tb2;
        ia = 1 / dz;
        ta = (-hz - loz) * ia;
        tb2 = (hz - loz) * ia;
        if (ta > tb2) {
          const tmp = ta;
          ta = tb2;
          tb2 = tmp;
        }
        if (ta > t0) t0 = ta;
        if (tb2 < t1) t1 = tb2;
        if (t0 <= t1 && t0 > 0 && t0 < t) {
          t = t0;
          hitPart = p;
        }
      }
      let id: number;
      let mat: number;
      let refl: number;
      let cosInc: number;
      RAY[3] = dx;
      RAY[4] = dy;
      RAY[5] = dz;
      RAY[6] = t;
      if (terrainRay(road) && (hitPart < 0 || HIT[H_T]! < t)) {
        t = HIT[H_T]!;
        id = TERRAIN_ID;
        mat = HIT[H_SURFACE]!;
        refl = surfaceReflectivity(mat, HIT[H_X]!, HIT[H_Y]!, seed);
        cosInc = mat === KERB_SURFACE ? cel : -dz;
      } else if (hitPart >= 0) {
        const p = hitPart;
        const c = pcos[p]!;
        const s = psin[p]!;
        const hxw = ox + t * dx - pcx[p]!;
        const hyw = oy + t * dy - pcy[p]!;
        const lx = c * hxw + s * hyw;
        const ly = -s * hxw + c * hyw;
        const lz = oz + t * dz - pcz[p]!;
        const hx = phx[p]!;
        const hy = phy[p]!;
        const hz = phz[p]!;
        const ex = Math.abs(Math.abs(lx) - hx) / hx;
        const ey = Math.abs(Math.abs(ly) - hy) / hy;
        const ez = Math.abs(Math.abs(lz) - hz) / hz;
        const face = ex <= ey && ex <= ez ? (lx > 0 ? 0 : 1) : ey <= ez ? (ly > 0 ? 2 : 3) : lz > 0 ? 4 : 5;
        const c3 = p * 3;
        texIn[0] = lx;
        texIn[1] = ly;
        texIn[2] = lz;
        texIn[3] = hx;
        texIn[4] = hy;
        texIn[5] = hz;
        texIn[6] = parts.color[c3]!;
        texIn[7] = parts.color[c3 + 1]!;
        texIn[8] = parts.color[c3 + 2]!;
        objectTexture(parts.material[p]!, face, seed, texIn, tex);
        id = parts.objectId[p]!;
        mat = parts.material[p]!;
        refl = tex[3]!;
        const nl = FACE_NORMALS[face]!;
        cosInc = Math.abs((c * nl[0] - s * nl[1]) * dx + (s * nl[0] + c * nl[1]) * dy + nl[2] * dz);
      } else {
        continue;
      }
      if (t < minRange || t > maxRange) continue;
      // Lidar-frame point: the ray direction in the lidar frame times the range.
      const px = t * cel * ca;
      const py = t * cel * sa;
      const pz = t * dz;
      // Never report the ego itself (base_link = lidar + extrinsic translation).
      const bx = px + ext[0];
      if (bx > body.rearX && bx < body.frontX && Math.abs(py + ext[1]) < body.width / 2 && pz + ext[2] < body.height) continue;
      // Quantised like a real sensor's output (and so that it compresses): coordinates on a
      // 1/512 m grid (error <= 1 mm, exact in float32), intensity in 1/255 steps.
      positions[count * 3] = Math.round(px * 512) / 512;
      positions[count * 3 + 1] = Math.round(py * 512) / 512;
      positions[count * 3 + 2] = Math.round(pz * 512) / 512;
      const v = refl * (0.6 + 0.4 * cosInc);
      intensity[count] = Math.round((v > 1 ? 1 : v) * 255) / 255;
      ring[count] = b;
      objectIds[count] = id;
      material[count] = mat;
      count++;
    }
  }
  const view = options.reuseBuffers ? 'subarray' : 'slice';
  return {
    count,
    positions: positions[view](0, count * 3),
    intensity: intensity[view](0, count),
    ring: ring[view](0, count),
    objectIds: objectIds[view](0, count),
    material: material[view](0, count),
  };
}

const CORNER_SIGNS: ReadonlyArray<readonly [number, number]> = [
  [1, 1],
  [-1, 1],
  [-1, -1],
  [1, -1],
];

/** Horizontal distance from a point (relative to the rectangle centre, world axes) to a rotated rectangle. */
function distanceToRect(px: number, py: number, c: number, s: number, hx: number, hy: number): number {
  const lx = Math.abs(c * px + s * py);
  const ly = Math.abs(-s * px + c * py);
  const ex = Math.max(0, lx - hx);
  const ey = Math.max(0, ly - hy);
  return Math.hypot(ex, ey);
}
