// Materials: one texture function per material gives both the camera colour and the lidar
// reflectivity of a surface point, so the two sensors agree on what is painted where.
import { Surface } from './road.js';

// Copied once (see the note in world.ts): read per lidar return.
const S_MARKING = Surface.Marking;
const S_ASPHALT = Surface.Asphalt;
const S_KERB = Surface.Kerb;
const S_SIDEWALK = Surface.Sidewalk;
const S_GRASS = Surface.Grass;

export const Material = {
  CarBody: 16,
  ObstacleCar: 17,
  TruckBody: 18,
  PedestrianBody: 19,
  Head: 20,
  Bike: 21,
  RiderBody: 22,
  Pole: 32,
  Lamp: 33,
  Building: 34,
  Wall: 35,
  Trunk: 36,
  Crown: 37,
} as const;
export type Material = (typeof Material)[keyof typeof Material];

export type Rgb = readonly [number, number, number];

/** Face indices as left by raySlab: 0:+x 1:-x 2:+y 3:-y 4:+z (top) 5:-z (bottom). */
export const FACE_NORMALS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1],
];

/** Unit vector towards the sun (world frame): high, behind-right of a car driving along +x. */
export const SUN: readonly [number, number, number] = (() => {
  const v = [-0.45, -0.45, 0.77];
  const n = Math.hypot(v[0]!, v[1]!, v[2]!);
  return [v[0]! / n, v[1]! / n, v[2]! / n] as const;
})();
export const AMBIENT = 0.45;

export const SKY_HORIZON: Rgb = [205, 215, 228];
export const SKY_ZENITH: Rgb = [82, 132, 204];
/** Distance (m) at which the ground and objects are half-way faded into the haze colour. */
export const HAZE_DISTANCE = 450;

/** Integer hash -> [0, 1): cheap deterministic texture noise. */
export function hash2(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix | 0, 0x27d4eb2d) ^ Math.imul(iy | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

const NOISE_SIZE = 256;
const noiseTiles = new Map<number, Float32Array>();

/** A seeded 256 x 256 tile of uniform noise in [-0.5, 0.5), for cheap texture lookups. */
export function noiseTile(seed: number): Float32Array {
  let tile = noiseTiles.get(seed);
  if (!tile) {
    tile = new Float32Array(NOISE_SIZE * NOISE_SIZE);
    for (let i = 0; i < tile.length; i++) tile[i] = hash2(i & (NOISE_SIZE - 1), i >> 8, seed) - 0.5;
    noiseTiles.set(seed, tile);
  }
  return tile;
}

/** Noise of integer cell (iu, iv), tiled every 256 cells (pass Math.floor(u) | 0: small ints are never boxed). */
export function noiseAt(tile: Float32Array, iu: number, iv: number): number {
  return tile[((iu & (NOISE_SIZE - 1)) << 8) | (iv & (NOISE_SIZE - 1))]!;
}

/**
 * Texture output: out[0..2] = albedo colour (0..255, lit by the caller), out[3] = lidar
 * reflectivity (0..1).
 */
export type TextureOut = Float64Array;

const GLASS: Rgb = [46, 56, 70];
const TYRE: Rgb = [28, 28, 30];
const PLATE: Rgb = [236, 236, 232];

/** The part's own colour (inp[6..8]); refl < 0 means painted metal (darker paint returns less). */
function setBase(out: TextureOut, inp: Float64Array, refl: number): void {
  const r = inp[6]!;
  const g = inp[7]!;
  const b = inp[8]!;
  out[0] = r;
  out[1] = g;
  out[2] = b;
  out[3] = refl >= 0 ? refl : 0.18 + 0.3 * ((r + g + b) / 765);
}

/** Colour arguments are small integers (no boxing when this is not inlined). */
function set3(out: TextureOut, r: number, g: number, b: number, refl: number): void {
  out[0] = r;
  out[1] = g;
  out[2] = b;
  out[3] = refl;
}


/**
 * Surface texture of an object part at a local hit point, on face `face`. In: inp[0..2] = the
 * point relative to the part's centre in the part frame (m), inp[3..5] = the part's half sizes,
 * inp[6..8] = its base colour. (Numbers travel in a scratch array, see Road.locate.)
 */
export function objectTexture(material: number, face: number, seed: number, inp: Float64Array, out: TextureOut): void {
  const lx = inp[0]!;
  const ly = inp[1]!;
  const lz = inp[2]!;
  const hx = inp[3]!;
  const hy = inp[4]!;
  const hz = inp[5]!;
  const zb = lz + hz; // height above the part's bottom
  const H = 2 * hz;
  switch (material) {
    case Material.CarBody:
    case Material.ObstacleCar: {
      if (face === 5) return set3(out, TYRE[0], TYRE[1], TYRE[2], 0.1);
      if (face === 2 || face === 3) {
        // Wheels: discs 0.34 m in radius, 0.85 m in from either end.
        const wx = Math.abs(lx) - (hx - 0.85);
        const r2 = wx * wx + (zb - 0.34) * (zb - 0.34);
        if (r2 < 0.34 * 0.34) return r2 < 0.15 * 0.15 ? set3(out, 150, 150, 155, 0.35) : set3(out, TYRE[0], TYRE[1], TYRE[2], 0.1);
        if (zb > 0.6 * H && zb < 0.9 * H && lx > -hx + 0.55 && lx < hx - 1.1 && Math.abs(lx + 0.25) > 0.06) return set3(out, GLASS[0], GLASS[1], GLASS[2], 0.05);
        if (material === Material.ObstacleCar && zb > 0.5 * H && zb < 0.58 * H && lx > hx - 0.35) return set3(out, 255, 160, 30, 0.8);
        return setBase(out, inp, -1);
      }
      if (face === 0 || face === 1) {
        const front = face === 0;
        const ay = Math.abs(ly);
        if (zb > (front ? 0.6 : 0.62) * H && zb < (front ? 0.92 : 0.9) * H && ay < hy - 0.13) return set3(out, GLASS[0], GLASS[1], GLASS[2], 0.05);
        if (ay < 0.26 && zb > 0.22 && zb < 0.34) return set3(out, PLATE[0], PLATE[1], PLATE[2], 0.95);
        if (front) {
          if (zb > 0.42 * H && zb < 0.54 * H && ay > hy - 0.42 && ay < hy - 0.08) return set3(out, 238, 238, 220, 0.7);
          if (zb > 0.3 * H && zb < 0.42 * H && ay < hy - 0.5) return set3(out, 40, 40, 42, 0.15);
        } else if (zb > 0.48 * H && zb < 0.6 * H && ay > hy - 0.4 && ay < hy - 0.06) {
          // A stalled car shows its hazard lights.
          return material === Material.ObstacleCar ? set3(out, 255, 165, 30, 0.85) : set3(out, 165, 22, 22, 0.7);
        }
      }
      return setBase(out, inp, -1);
    }
    case Material.TruckBody: {
      const cab = lx > hx - 2.1;
      const cabColor: Rgb = [232, 232, 226];
      if (face === 5) return set3(out, TYRE[0], TYRE[1], TYRE[2], 0.1);
      if (face === 2 || face === 3) {
        for (let w = 0; w < 3; w++) {
          const cx = w === 0 ? hx - 1.25 : w === 1 ? -hx + 1.5 : -hx + 2.6;
          const r2 = (lx - cx) * (lx - cx) + (zb - 0.5) * (zb - 0.5);
          if (r2 < 0.25) return r2 < 0.04 ? set3(out, 150, 150, 155, 0.35) : set3(out, TYRE[0], TYRE[1], TYRE[2], 0.1);
        }
        if (cab && zb > 0.55 * H && zb < 0.78 * H && lx > hx - 1.7 && lx < hx - 0.3) return set3(out, GLASS[0], GLASS[1], GLASS[2], 0.05);
        if (!cab && zb < 1.1) return set3(out, 60, 60, 64, 0.2);
        return cab ? set3(out, cabColor[0], cabColor[1], cabColor[2], 0.4) : setBase(out, inp, -1);
      }
      if (face === 0) {
        if (zb > 0.52 * H && zb < 0.8 * H && Math.abs(ly) < hy - 0.15) return set3(out, GLASS[0], GLASS[1], GLASS[2], 0.05);
        if (zb > 0.2 * H && zb < 0.28 * H && Math.abs(ly) > hy - 0.45 && Math.abs(ly) < hy - 0.1) return set3(out, 238, 238, 220, 0.7);
        return set3(out, cabColor[0], cabColor[1], cabColor[2], 0.4);
      }
      if (face === 1) {
        if (zb > 0.25 * H && zb < 0.31 * H && Math.abs(ly) > hy - 0.35) return set3(out, 165, 22, 22, 0.7);
        if (Math.abs(ly) < 0.03 && zb > 1.1) return set3(out, 70, 70, 72, 0.3); // door seam
        return zb < 1.1 ? set3(out, 60, 60, 64, 0.2) : setBase(out, inp, -1);
      }
      return cab ? set3(out, cabColor[0], cabColor[1], cabColor[2], 0.4) : setBase(out, inp, -1);
    }
    case Material.PedestrianBody: {
      // Trousers below the hips, the base colour (shirt/coat) above.
      if (zb < 0.52 * H) return set3(out, 48, 52, 68, 0.2);
      return setBase(out, inp, 0.3);
    }
    case Material.Head: {
      if (face === 4 || face === 1 || (zb > 0.72 * H && face !== 0)) return set3(out, 62, 44, 32, 0.15);
      return set3(out, 222, 184, 152, 0.35);
    }
    case Material.Bike: {
      if (face === 2 || face === 3) {
        const wx = Math.abs(lx) - (hx - 0.36);
        const r2 = wx * wx + (zb - 0.35) * (zb - 0.35);
        if (r2 < 0.35 * 0.35 && r2 > 0.29 * 0.29) return set3(out, 18, 18, 20, 0.1);
      }
      return setBase(out, inp, 0.3);
    }
    case Material.RiderBody:
      return setBase(out, inp, 0.4);
    case Material.Pole:
      return setBase(out, inp, 0.5);
    case Material.Lamp:
      return face === 5 ? set3(out, 250, 248, 225, 0.6) : setBase(out, inp, 0.45);
    case Material.Building: {
      if (face === 4) return set3(out, 92, 92, 98, 0.2);
      if (face === 5) return setBase(out, inp, 0.3);
      const along = face < 2 ? ly + hy : lx + hx; // horizontal coordinate on the facade
      // (x - floor(x / p) * p rather than %, which V8 runs as a slow fmod call.)
      const floor = zb - Math.floor(zb / 3.2) * 3.2;
      const bay = along - Math.floor(along / 3.0) * 3.0;
      if (zb > 0.6 && floor > 0.9 && floor < 2.4 && bay > 0.75 && bay < 2.25) return set3(out, 58, 72, 92, 0.06);
      return setBase(out, inp, 0.32);
    }
    case Material.Wall:
      return face === 4 ? set3(out, 132, 130, 124, 0.35) : setBase(out, inp, 0.35);
    case Material.Trunk:
      return setBase(out, inp, 0.3);
    case Material.Crown: {
      const br = inp[6]!;
      const bg = inp[7]!;
      const bb = inp[8]!;
      const n = hash2(Math.floor(lx * 3 + lz * 7) | 0, Math.floor(ly * 3 - lz * 5) | 0, seed) - 0.5;
      out[0] = br + 30 * n;
      out[1] = bg + 36 * n;
      out[2] = bb + 20 * n;
      out[3] = 0.42;
      return;
    }
    default:
      return setBase(out, inp, 0.3);
  }
}

/** Reflectivity of the ground surfaces (lidar), with a little deterministic texture on asphalt. */
export function surfaceReflectivity(surface: number, x: number, y: number, seed: number): number {
  // (Called once per lidar return; cheap enough to take numbers directly.)
  switch (surface) {
    case S_MARKING:
      return 0.9;
    case S_ASPHALT:
      return 0.1 + 0.05 * hash2(Math.floor(x * 4) | 0, Math.floor(y * 4) | 0, seed);
    case S_KERB:
      return 0.38;
    case S_SIDEWALK:
      return 0.3;
    case S_GRASS:
      return 0.22 + 0.08 * hash2(Math.floor(x * 2) | 0, Math.floor(y * 2) | 0, seed + 1);
    default:
      return 0.2;
  }
}
