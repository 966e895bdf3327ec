// Image -> model input: decode (sharp), resize (letterbox or stretch), normalize into a float32
// tensor in the manifest's layout and colour order. The default resize is bilinear with half-pixel
// centres and no antialiasing, as OpenCV's INTER_LINEAR that these detectors were trained with
// (libvips' antialiased reduce shifts YOLOX scores by up to ~0.1 on KITTI frames).
// Pure per call, so each worker thread can own one.
import sharp from 'sharp';
import type { ModelManifest } from './manifest.js';
import type { InputTransform, PreparedInput } from './types.js';

/** An encoded image (PNG, JPEG, ...) or raw interleaved 8-bit pixels (1 to 4 channels; RGB order). */
export type ImageSource = { data: Uint8Array } | { raw: Uint8Array; width: number; height: number; channels: number };

export type Preprocessor = (image: ImageSource) => Promise<PreparedInput>;

interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Where the resized image lands inside the model canvas. */
export function planResize(
  input: Pick<ModelManifest['input'], 'width' | 'height' | 'resize' | 'letterboxAlign'>,
  srcWidth: number,
  srcHeight: number,
): InputTransform & { width: number; height: number } {
  if (input.resize === 'stretch') {
    return { srcWidth, srcHeight, width: input.width, height: input.height, scaleX: input.width / srcWidth, scaleY: input.height / srcHeight, padX: 0, padY: 0 };
  }
  const r = Math.min(input.width / srcWidth, input.height / srcHeight);
  const width = Math.min(input.width, Math.max(1, Math.round(srcWidth * r)));
  const height = Math.min(input.height, Math.max(1, Math.round(srcHeight * r)));
  const center = input.letterboxAlign !== 'top-left';
  const padX = center ? Math.floor((input.width - width) / 2) : 0;
  const padY = center ? Math.floor((input.height - height) / 2) : 0;
  // The exact per-axis scale of the rounded size keeps boxes mapped back to the right pixels.
  return { srcWidth, srcHeight, width, height, scaleX: width / srcWidth, scaleY: height / srcHeight, padX, padY };
}

async function decode(image: ImageSource): Promise<Pixels> {
  if ('raw' in image) {
    const { raw, width, height, channels } = image;
    if (!(channels >= 1 && channels <= 4) || raw.length < width * height * channels) {
      throw new Error(`raw image of ${raw.length} bytes does not hold ${width}x${height}x${channels} pixels`);
    }
    return { data: raw, width, height, channels };
  }
  const { data, info } = await sharp(image.data, { failOn: 'error' }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The antialiased alternative: sharp's lanczos3 resize to the planned size. */
async function sharpResize(px: Pixels, width: number, height: number): Promise<Pixels> {
  const { data, info } = await sharp(px.data, { raw: { width: px.width, height: px.height, channels: px.channels as 1 | 2 | 3 | 4 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Source sample positions of each destination index: half-pixel centres, clamped at the borders. */
function taps(dst: number, src: number, nearest: boolean): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const f = new Float32Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    if (nearest) {
      i0[d] = i1[d] = Math.min(src - 1, Math.floor((d + 0.5) * scale));
      continue;
    }
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const lo = Math.min(src - 1, Math.floor(s));
    i0[d] = lo;
    i1[d] = Math.min(src - 1, lo + 1);
    f[d] = s - lo;
  }
  return { i0, i1, f };
}

export function createPreprocessor(manifest: ModelManifest): Preprocessor {
  const spec = manifest.input;
  const W = spec.width;
  const H = spec.height;
  // value = (pixel - mean) / std = pixel * gain + offset, per model channel.
  const gain = spec.std.map((s) => 1 / s);
  const offset = spec.mean.map((m, c) => -m / spec.std[c]!);
  // Model channel c reads source RGB channel order[c].
  const order = spec.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const nchw = spec.layout === 'NCHW';
  const plane = W * H;

  return async (image) => {
    let px = await decode(image);
    const plan = planResize(spec, px.width, px.height);
    const { width: _w, height: _h, ...transform } = plan;
    if (spec.resizeKernel === 'lanczos3') px = await sharpResize(px, plan.width, plan.height);
    const nearest = spec.resizeKernel === 'nearest';
    const xs = taps(plan.width, px.width, nearest);
    const ys = taps(plan.height, px.height, nearest);
    const ch = px.channels;
    // Grey (+alpha) repeats its one channel; alpha is ignored.
    const src = ch >= 3 ? order : [0, 0, 0];
    const tensor = new Float32Array(3 * plane);
    // Letterbox border first, in normalized units.
    if (plan.width !== W || plan.height !== H) {
      for (let c = 0; c < 3; c++) {
        const v = spec.padValue * gain[c]! + offset[c]!;
        if (nchw) tensor.fill(v, c * plane, (c + 1) * plane);
        else for (let i = c; i < tensor.length; i += 3) tensor[i] = v;
      }
    }
    const d = px.data;
    const rowStride = px.width * ch;
    for (let y = 0; y < plan.height; y++) {
      const r0 = ys.i0[y]! * rowStride;
      const r1 = ys.i1[y]! * rowStride;
      const fy = ys.f[y]!;
      const outRow = (y + plan.padY) * W + plan.padX;
      for (let x = 0; x < plan.width; x++) {
        const c0 = xs.i0[x]! * ch;
        const c1 = xs.i1[x]! * ch;
        const fx = xs.f[x]!;
        const pixel = outRow + x;
        for (let c = 0; c < 3; c++) {
          const k = src[c]!;
          const top = d[r0 + c0 + k]! + (d[r0 + c1 + k]! - d[r0 + c0 + k]!) * fx;
          const bottom = d[r1 + c0 + k]! + (d[r1 + c1 + k]! - d[r1 + c0 + k]!) * fx;
          const v = (top + (bottom - top) * fy) * gain[c]! + offset[c]!;
          if (nchw) tensor[c * plane + pixel] = v;
          else tensor[pixel * 3 + c] = v;
        }
      }
    }
    return { tensor, dims: nchw ? [1, 3, H, W] : [1, H, W, 3], transform };
  };
}
