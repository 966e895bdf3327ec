// A saliency grid as an RGBA PNG at the source resolution, for the camera panel to draw over the
// image: colour from a colormap, alpha proportional to the value, so unimportant areas stay clear.
// Only positive values (score drops) are drawn.
import sharp from 'sharp';
import { SaliencyError } from './params.js';
import { JET, TURBO_LIKE } from './colormaps.js';
import type { SaliencyResult } from './saliency.js';

export type Colormap = 'turbo' | 'jet';

export interface HeatmapOptions {
  /** Alpha at the top value, 0..1 (default 0.75). */
  maxAlpha?: number;
  /** 'max': the largest drop is full colour (default); 'baseline': a drop of the whole baseline score is. */
  normalize?: 'max' | 'baseline';
}

type Stops = readonly (readonly [number, number, number])[];

const COLORMAPS: Record<Colormap, Stops> = { turbo: TURBO_LIKE, jet: JET };

/** 256-entry RGB lookup table of a colormap. */
export function colormapTable(name: Colormap): Uint8Array {
  const stops = COLORMAPS[name];
  if (!stops) throw new SaliencyError(`unknown colormap ${JSON.stringify(name)} (known: ${Object.keys(COLORMAPS).join(', ')})`);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k]![c]! + (stops[k + 1]![c]! - stops[k]![c]!) * f);
  }
  return lut;
}

/** Grid values upsampled to the source size (bilinear between cell centres), clipped to >= 0 and scaled to 0..1. */
export function saliencyRaster(result: SaliencyResult, size: { width: number; height: number }, normalize: 'max' | 'baseline' = 'max'): Float32Array {
  const { width: W, height: H } = size;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W > 0 && H > 0)) throw new SaliencyError(`heatmap size ${W}x${H} is not a positive integer size`);
  const { width: gw, height: gh, values } = result;
  let top = normalize === 'baseline' ? result.baselineScore : 0;
  if (normalize === 'max') for (const v of values) top = Math.max(top, v);
  const out = new Float32Array(W * H);
  if (!(top > 0)) return out;
  // A heatmap for another resolution of the same image scales the grid with it.
  const cellX = (result.cellSize * W) / result.sourceWidth;
  const cellY = (result.cellSize * H) / result.sourceHeight;
  const at = (x: number, y: number) => Math.max(0, values[y * gw + x]!) / top;
  for (let y = 0; y < H; y++) {
    const gy = Math.min(gh - 1, Math.max(0, (y + 0.5) / cellY - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const fy = gy - y0;
    for (let x = 0; x < W; x++) {
      const gx = Math.min(gw - 1, Math.max(0, (x + 0.5) / cellX - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(gw - 1, x0 + 1);
      const fx = gx - x0;
      const top0 = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
      const bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
      out[y * W + x] = Math.min(1, top0 + (bottom - top0) * fy);
    }
  }
  return out;
}

/** RGBA PNG of the map at `size` (normally the source image's), ready to overlay. */
export async function saliencyToPng(result: SaliencyResult, size: { width: number; height: number }, colormap: Colormap = 'turbo', options: HeatmapOptions = {}): Promise<Buffer> {
  const lut = colormapTable(colormap);
  const maxAlpha = options.maxAlpha ?? 0.75;
  if (!(maxAlpha >= 0 && maxAlpha <= 1)) throw new SaliencyError(`heatmap maxAlpha must be from 0 to 1 (got ${maxAlpha})`);
  const level = saliencyRaster(result, size, options.normalize ?? 'max');
  const rgba = Buffer.alloc(level.length * 4);
  for (let i = 0; i < level.length; i++) {
    const v = level[i]!;
    const k = Math.round(v * 255) * 3;
    rgba[i * 4] = lut[k]!;
    rgba[i * 4 + 1] = lut[k + 1]!;
    rgba[i * 4 + 2] = lut[k + 2]!;
    rgba[i * 4 + 3] = Math.round(v * maxAlpha * 255);
  }
  return sharp(rgba, { raw: { width: size.width, height: size.height, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
}
