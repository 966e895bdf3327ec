// The front camera: a pinhole ray caster over the same world the lidar sees. Boxes are drawn
// part by part within their projected screen rectangle (so each pixel only tests the boxes that
// can cover it), the terrain is intersected analytically, and an object-id buffer records which
// object every pixel shows, for exact 2D ground truth checks.
import type { Pose } from '../logs/model.js';
import { projectedBoxRect } from './geometry.js';
import { AMBIENT, FACE_NORMALS, HAZE_DISTANCE, SKY_HORIZON, SKY_ZENITH, SUN, noiseAt as noiseAt_, noiseTile, objectTexture as objectTexture_ } from './materials.js';
import { EGO_LANE_D, KERB_HEIGHT, LEFT_KERB_D, ONCOMING_LANE_D, RIGHT_KERB_D, type Road, Surface } from './road.js';
import type { DemoScene, EgoState } from './scene.js';
import { HIT, NO_HIT, RAY, TERRAIN_ID, snapshotAt, terrainRay as terrainRay_, type WorldSnapshot } from './world.js';

// Imported bindings used per pixel or per ray, copied once into module constants: every read of
// an import is a live-binding lookup (a getter call under the test runner's module transform).
const noiseAt = noiseAt_;
const objectTexture = objectTexture_;
const terrainRay = terrainRay_;

export interface CameraRender {
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes per pixel. */
  rgb: Uint8Array;
  /** Per pixel: NO_HIT (-1, sky), TERRAIN_ID (0), an agent's objectId (1..N) or scenery (1000+). */
  objectIds: Int32Array;
  /** Per pixel: distance along the ray (m), Infinity for sky. */
  depth: Float64Array;
}

/** A rigid transform as a 3x3 row-major matrix plus translation, for fast point mapping. */
export interface Rigid {
  r: number[];
  t: [number, number, number];
}

export function rigidFromPose(p: Pose): Rigid {
  const [x, y, z, w] = p.rotation;
  return {
    r: [
      1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
      2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
      2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ],
    t: [...p.translation],
  };
}

/** World -> camera optical frame at ego state e. */
export function worldToCameraFn(scene: DemoScene, e: EgoState): (x: number, y: number, z: number) => [number, number, number] {
  const ext = rigidFromPose(scene.camera.extrinsic); // base <- camera
  const c = Math.cos(e.yaw);
  const s = Math.sin(e.yaw);
  const r = ext.r;
  return (x, y, z) => {
    // world -> base_link
    const dx = x - e.x;
    const dy = y - e.y;
    const bx = c * dx + s * dy - ext.t[0];
    const by = -s * dx + c * dy - ext.t[1];
    const bz = z - ext.t[2];
    // base_link -> camera: R^T (p - t)
    return [r[0]! * bx + r[3]! * by + r[6]! * bz, r[1]! * bx + r[4]! * by + r[7]! * bz, r[2]! * bx + r[5]! * by + r[8]! * bz];
  };
}

interface PixelRays {
  /** Unit ray directions in base_link, per pixel. */
  x: Float64Array;
  y: Float64Array;
  z: Float64Array;
  /** Sky gradient position (0 at the horizon, 1 at the zenith); rays never pitch with the ego. */
  sky: Float32Array;
}

const rayCache = new WeakMap<DemoScene, PixelRays>();

/** Per-pixel unit rays through the pixel centres (OpenCV convention), in base_link. */
function pixelRays(scene: DemoScene): PixelRays {
  const cached = rayCache.get(scene);
  if (cached) return cached;
  const { width, height, fx, fy, cx, cy } = scene.camera.pinhole;
  const r = rigidFromPose(scene.camera.extrinsic).r;
  const n = width * height;
  const rays: PixelRays = { x: new Float64Array(n), y: new Float64Array(n), z: new Float64Array(n), sky: new Float32Array(n) };
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const ox = (i - cx) / fx;
      const oy = (j - cy) / fy;
      const inv = 1 / Math.sqrt(ox * ox + oy * oy + 1);
      const k = j * width + i;
      rays.x[k] = (r[0]! * ox + r[1]! * oy + r[2]!) * inv;
      rays.y[k] = (r[3]! * ox + r[4]! * oy + r[5]!) * inv;
      rays.z[k] = (r[6]! * ox + r[7]! * oy + r[8]!) * inv;
      rays.sky[k] = rays.z[k]! > 0 ? Math.pow(rays.z[k]!, 0.7) : 0;
    }
  }
  rayCache.set(scene, rays);
  return rays;
}

/** Reused per-scene work buffers (renders are synchronous, so one set per scene suffices). */
interface Work {
  depth: Float64Array;
  part: Int32Array;
  out?: CameraRender;
}
const workCache = new WeakMap<DemoScene, Work>();

export interface RenderOptions {
  /** The scene frozen at tS, when the caller already has it (the lidar shares it). */
  world?: WorldSnapshot;
  /**
   * Render into buffers owned by the scene and overwritten by the next render: fresh multi-MB
   * arrays cost a page fault per 4 KiB on first touch, which is most of a frame's time on a VM.
   */
  reuseBuffers?: boolean;
}

/** Renders the front camera at tS (seconds since the log start): ego and agents as of tS. */
export function renderCamera(scene: DemoScene, tS: number, options: RenderOptions = {}): CameraRender {
  const world = options.world ?? snapshotAt(scene, tS);
  const { width, height, fx } = scene.camera.pinhole;
  const n = width * height;
  const rays = pixelRays(scene);
  const ego = scene.egoStateAt(tS);
  const ce = Math.cos(ego.yaw);
  const se = Math.sin(ego.yaw);
  const ext = scene.camera.extrinsic.translation;
  const ox = ego.x + ce * ext[0] - se * ext[1];
  const oy = ego.y + se * ext[0] + ce * ext[1];
  const oz = ext[2];
  const toCam = worldToCameraFn(scene, ego);

  let work = workCache.get(scene);
  if (!work) {
    work = { depth: new Float64Array(n), part: new Int32Array(n) };
    workCache.set(scene, work);
  }
  const depth = work.depth.fill(Infinity);
  const partBuf = work.part.fill(-1);
  const parts = world.parts;
  const rx = rays.x;
  const ry = rays.y;
  const rz = rays.z;

  // 1. Boxes: z-buffered, each over its projected rectangle only.
  for (let p = 0; p < parts.n; p++) {
    const corners = boxCornersOf(parts, p).map(([x, y, z]) => toCam(x, y, z));
    const rect = projectedBoxRect(corners, scene.camera.pinhole);
    if (!rect) continue;
    const i0 = Math.max(0, Math.ceil(rect.x1) - 1);
    const i1 = Math.min(width - 1, Math.floor(rect.x2) + 1);
    const j0 = Math.max(0, Math.ceil(rect.y1) - 1);
    const j1 = Math.min(height - 1, Math.floor(rect.y2) + 1);
    if (i0 > i1 || j0 > j1) continue;
    // Part frame: rotate by -(part yaw); base_link rays rotate into it by (ego yaw - part yaw).
    const a = ego.yaw - parts.yaw[p]!;
    const ca = Math.cos(a);
    const sa = Math.sin(a);
    const cp = parts.cos[p]!;
    const sp = parts.sin[p]!;
    const dx0 = ox - parts.cx[p]!;
    const dy0 = oy - parts.cy[p]!;
    const lox = cp * dx0 + sp * dy0;
    const loy = -sp * dx0 + cp * dy0;
    const loz = oz - parts.cz[p]!;
    const hx = parts.hx[p]!;
    const hy = parts.hy[p]!;
    const hz = parts.hz[p]!;
    for (let j = j0; j <= j1; j++) {
      let k = j * width + i0;
      for (let i = i0; i <= i1; i++, k++) {
        const bx = rx[k]!;
        const by = ry[k]!;
        // Slab test, inlined by hand (hot). Division by zero gives +-Infinity, which the
        // comparisons handle; NaN (origin exactly on a slab plane, ray parallel) is a miss.
        const ldx = ca * bx - sa * by;
        const ldy = sa * bx + ca * by;
        const ldz = rz[k]!;
        let t0 = 0;
        let t1 = Infinity;
        let ia = 1 / ldx;
        let ta = (-hx - lox) * ia;
        let tb = (hx - lox) * ia;
        if (ta > tb) {
          const tmp = ta;
          ta = tb;
          tb = tmp;
        }
        if (ta > t0) t0 = ta;
        if (tb < t1) t1 = tb;
        ia = 1 / ldy;
        ta = (-hy - loy) * ia;
        tb = (hy - loy) * ia;
        if (ta > tb) {
          const tmp = ta;
          ta = tb;
          tb = tmp;
        }
        if (ta > t0) t0 = ta;
        if (tb < t1) t1 = tb;
        ia = 1 / ldz;
        ta = (-hz - loz) * ia;
        tb = (hz - loz) * ia;
        if (ta > tb) {
          const tmp = ta;
          ta = tb;
          tb = tmp;
        }
        if (ta > t0) t0 = ta;
        if (tb < t1) t1 = tb;
        if (t0 <= t1 && t0 > 0 && t0 < depth[k]!) {
          depth[k] = t0;
          partBuf[k] = p;
        }
      }
    }
  }

  // 2. Terrain and sky, then shading.
  let out: CameraRender;
  if (options.reuseBuffers) {
    work.out ??= { width, height, rgb: new Uint8Array(n * 3), objectIds: new Int32Array(n), depth: new Float64Array(n) };
    out = work.out;
  } else {
    out = { width, height, rgb: new Uint8Array(n * 3), objectIds: new Int32Array(n), depth: new Float64Array(n) };
  }
  const rgb = out.rgb;
  const ids = out.objectIds;
  const outDepth = out.depth;
  const tex = new Float64Array(4);
  const texIn = new Float64Array(9);
  const shadeIn = new Float64Array(5);
  shadeIn[4] = 1 / fx;
  const seed = scene.options.seed;
  const road = scene.road;
  // Module bindings (imports are live bindings, each read checked) copied to locals for the loop.
  const ray = RAY;
  const hit = HIT;
  const noHit = NO_HIT;
  const terrainId = TERRAIN_ID;
  const kerbTop = oz - KERB_HEIGHT;
  const [hr, hg, hb] = SKY_HORIZON;
  const zr = SKY_ZENITH[0] - hr;
  const zg = SKY_ZENITH[1] - hg;
  const zb = SKY_ZENITH[2] - hb;
  const haze = HAZE_DISTANCE;
  const [sunX, sunY, sunZ] = SUN;
  const ambient = AMBIENT;
  const faceNormals = FACE_NORMALS;
  const sky = rays.sky;
  const shade = shadeContext(seed);
  ray[0] = ox;
  ray[1] = oy;
  ray[2] = oz;
  ray[7] = 0; // paint is shaded (anti-aliased) below, no need to classify it exactly
  for (let k = 0; k < n; k++) {
    const bx = rx[k]!;
    const by = ry[k]!;
    const dz = rz[k]!;
    const dx = ce * bx - se * by;
    const dy = se * bx + ce * by;
    const p = partBuf[k]!;
    let t = depth[k]!;
    let r: number;
    let g: number;
    let b: number;
    let id = noHit;
    // The terrain is never above KERB_HEIGHT, so a box hit before that level needs no terrain test.
    let terrainFirst = false;
    if (dz < 0 && !(p >= 0 && t * -dz < kerbTop)) {
      ray[3] = dx;
      ray[4] = dy;
      ray[5] = dz;
      ray[6] = t;
      terrainFirst = terrainRay(road);
    }
    if (terrainFirst) {
      t = hit[0]!; // H_T
      id = terrainId;
      shadeIn[0] = t;
      shadeIn[1] = dx;
      shadeIn[2] = dy;
      shadeIn[3] = dz;
      shadeTerrain(tex, road, shadeIn, shade);
      r = tex[0]!;
      g = tex[1]!;
      b = tex[2]!;
    } else if (p >= 0) {
      id = parts.objectId[p]!;
      // Local hit point and the face entered, for texturing and lighting.
      const cp = parts.cos[p]!;
      const sp = parts.sin[p]!;
      const hxw = ox + t * dx - parts.cx[p]!;
      const hyw = oy + t * dy - parts.cy[p]!;
      const lx = cp * hxw + sp * hyw;
      const ly = -sp * hxw + cp * hyw;
      const lz = oz + t * dz - parts.cz[p]!;
      const hx = parts.hx[p]!;
      const hy = parts.hy[p]!;
      const hz = parts.hz[p]!;
      // The face is the one whose plane the hit point lies on (relative distance to each).
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
      const nl = faceNormals[face]!;
      const nx = cp * nl[0] - sp * nl[1];
      const ny = sp * nl[0] + cp * nl[1];
      const lambert = Math.max(0, nx * sunX + ny * sunY + nl[2] * sunZ);
      const light = ambient + (1 - ambient) * lambert;
      r = tex[0]! * light;
      g = tex[1]! * light;
      b = tex[2]! * light;
    } else {
      t = Infinity;
      const e = sky[k]!;
      r = hr + zr * e;
      g = hg + zg * e;
      b = hb + zb * e;
    }
    if (id !== noHit) {
      // Aerial perspective: distant things fade towards the horizon colour (t/(t+D) is a cheap
      // stand-in for 1 - exp(-t/D)).
      const f = t / (t + haze);
      r += (hr - r) * f;
      g += (hg - g) * f;
      b += (hb - b) * f;
    }
    outDepth[k] = t;
    ids[k] = id;
    const o = k * 3;
    rgb[o] = r < 0 ? 0 : r > 255 ? 255 : r + 0.5;
    rgb[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g + 0.5;
    rgb[o + 2] = b < 0 ? 0 : b > 255 ? 255 : b + 0.5;
  }
  return out;
}

function boxCornersOf(parts: WorldSnapshot['parts'], p: number): Array<[number, number, number]> {
  const c = parts.cos[p]!;
  const s = parts.sin[p]!;
  const out: Array<[number, number, number]> = [];
  for (const dz of [-parts.hz[p]!, parts.hz[p]!]) {
    for (const [ax, ay] of [
      [1, 1],
      [-1, 1],
      [-1, -1],
      [1, -1],
    ] as const) {
      const lx = ax * parts.hx[p]!;
      const ly = ay * parts.hy[p]!;
      out.push([parts.cx[p]! + c * lx - s * ly, parts.cy[p]! + s * lx + c * ly, parts.cz[p]! + dz]);
    }
  }
  return out;
}

/** Everything shadeTerrain needs besides the hit, gathered once per render (see renderCamera). */
interface ShadeContext {
  hit: Float64Array;
  paint: Float64Array;
  noise: Float32Array;
  asphalt: number;
  marking: number;
  sidewalk: number;
  kerb: number;
  egoLaneD: number;
  oncomingLaneD: number;
  kerbStoneLo: number;
  kerbStoneHi: number;
}

function shadeContext(seed: number): ShadeContext {
  return {
    hit: HIT,
    paint: new Float64Array(5),
    noise: noiseTile(seed),
    asphalt: Surface.Asphalt,
    marking: Surface.Marking,
    sidewalk: Surface.Sidewalk,
    kerb: Surface.Kerb,
    egoLaneD: EGO_LANE_D,
    oncomingLaneD: ONCOMING_LANE_D,
    kerbStoneLo: RIGHT_KERB_D - 0.18,
    kerbStoneHi: LEFT_KERB_D + 0.18,
  };
}

/**
 * Terrain colour at the last terrain HIT; inp = [t, dx, dy, dz, 1/fx]. The pixel's ground
 * footprint (for anti-aliasing the paint) is about t/fx across the view direction and
 * t/(fx |dz|) along it.
 */
function shadeTerrain(out: Float64Array, road: Road, inp: Float64Array, c: ShadeContext): void {
  const t = inp[0]!;
  const dx = inp[1]!;
  const dy = inp[2]!;
  const dz = inp[3]!;
  const invFx = inp[4]!;
  const hit = c.hit;
  const noise = c.noise;
  // HIT layout: see world.ts (H_T = 0, H_SURFACE = 1, H_S = 2, H_D = 3, H_X = 4, H_Y = 5, tangent 7-8).
  const surface = hit[1]!;
  const s = hit[2]!;
  const d = hit[3]!;
  const x = hit[4]!;
  const y = hit[5]!;
  const near = t < 30 ? 1 - t / 30 : 0; // fine texture fades out with distance (it would only alias)
  if (surface === c.asphalt || surface === c.marking) {
    // (The camera leaves RAY[7] = 0, so the whole carriageway comes back as asphalt.)
    const nse = noiseAt(noise, Math.floor(x * 12) | 0, Math.floor(y * 12) | 0) * 6 * near + noiseAt(noise, Math.floor(x * 0.5 + 97) | 0, Math.floor(y * 0.5 + 31) | 0) * 6;
    let r = 86 + nse;
    let g = 88 + nse;
    let b = 92 + nse;
    // Anti-aliased paint: footprint across and along the road from the view direction.
    const across = t * invFx;
    const along = across / Math.max(-dz, 0.004);
    const h = Math.sqrt(dx * dx + dy * dy) || 1;
    const cosA = Math.abs((dx * hit[7]! + dy * hit[8]!) / h);
    const sinA = Math.sqrt(Math.max(0, 1 - cosA * cosA));
    const paint = c.paint;
    paint[0] = s;
    paint[1] = d;
    paint[2] = Math.min(across * cosA + along * sinA, 4);
    paint[3] = Math.min(across * sinA + along * cosA, 20);
    road.paint(paint);
    const cover = paint[4]!;
    // Worn, darker tyre tracks in both lanes.
    const lane = Math.abs(d - (d < 0 ? c.egoLaneD : c.oncomingLaneD));
    if (lane > 0.45 && lane < 1.1) {
      r -= 5;
      g -= 5;
      b -= 4;
    }
    out[0] = r + (226 - r) * cover;
    out[1] = g + (226 - g) * cover;
    out[2] = b + (218 - b) * cover;
  } else if (surface === c.sidewalk) {
    const joint = s - Math.floor(s / 1.6) * 1.6 < 0.05 ? -22 * near : 0;
    const kerbStone = d > c.kerbStoneLo && d < c.kerbStoneHi ? 18 : 0;
    const nse = noiseAt(noise, Math.floor(x * 3 + 13) | 0, Math.floor(y * 3 + 57) | 0) * 8 * near;
    out[0] = 166 + joint + kerbStone + nse;
    out[1] = 162 + joint + kerbStone + nse;
    out[2] = 154 + joint + kerbStone + nse;
  } else if (surface === c.kerb) {
    out[0] = 150;
    out[1] = 150;
    out[2] = 146;
  } else {
    const nse = noiseAt(noise, Math.floor(x * 2 + 71) | 0, Math.floor(y * 2 + 5) | 0) * 22 * near + noiseAt(noise, Math.floor(x / 3 + 191) | 0, Math.floor(y / 3 + 143) | 0) * 14;
    out[0] = 80 + nse * 0.8;
    out[1] = 118 + nse;
    out[2] = 54 + nse * 0.5;
  }
}
