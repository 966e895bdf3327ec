// Image decoding shared by the decode worker and its main-thread fallback: camera images into
// ImageBitmaps (once per image), class-index masks into coloured bitmaps, small thumbnails.
// Uses only APIs that exist in workers (createImageBitmap, OffscreenCanvas).

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'raw-rgb8';

const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

export interface ImageTask {
  kind: 'image';
  format: ImageFormat;
  data: Uint8Array;
  /** Needed for raw-rgb8. */
  width: number;
  height: number;
  /** Scale down to this width (thumbnails); the aspect ratio is kept. */
  resizeWidth?: number;
}

export interface MaskTask {
  kind: 'mask';
  /** Greyscale PNG: pixel value = class index. */
  png: Uint8Array;
  /** 256 RGBA colours packed little-endian (0xAABBGGRR); alpha 0 leaves a class out. */
  palette: Uint32Array;
}

export type DecodeTask = ImageTask | MaskTask;

export interface DecodedImage {
  bitmap: ImageBitmap;
}

export interface DecodedMaskBitmap {
  bitmap: ImageBitmap;
  width: number;
  height: number;
  /** Class indices that occur in the mask. */
  present: number[];
}

export async function decodeImageTask(task: ImageTask): Promise<DecodedImage> {
  const resize = task.resizeWidth ? { resizeWidth: task.resizeWidth, resizeQuality: 'low' as const } : {};
  if (task.format === 'raw-rgb8') {
    const { width, height, data } = task;
    if (data.length < width * height * 3) throw new Error(`raw image has ${data.length} bytes, expected ${width * height * 3}`);
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0, j = 0, o = 0; i < width * height; i++, j += 3, o += 4) {
      rgba[o] = data[j]!;
      rgba[o + 1] = data[j + 1]!;
      rgba[o + 2] = data[j + 2]!;
      rgba[o + 3] = 255;
    }
    return { bitmap: await createImageBitmap(new ImageData(rgba, width, height), resize) };
  }
  const blob = new Blob([task.data as Uint8Array<ArrayBuffer>], { type: MIME[task.format] ?? 'application/octet-stream' });
  return { bitmap: await createImageBitmap(blob, resize) };
}

export async function decodeMaskTask(task: MaskTask): Promise<DecodedMaskBitmap> {
  // Raw values, not colour-managed or premultiplied: they are class indices.
  const source = await createImageBitmap(new Blob([task.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const { width, height } = source;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('2D canvas unavailable for mask decoding');
  g.drawImage(source, 0, 0);
  source.close();
  const image = g.getImageData(0, 0, width, height);
  const px = new Uint32Array(image.data.buffer);
  const seen = new Uint8Array(256);
  const palette = task.palette;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]! & 0xff; // red channel = the greyscale value
    seen[v] = 1;
    px[i] = palette[v]!;
  }
  const present: number[] = [];
  for (let v = 0; v < 256; v++) if (seen[v]) present.push(v);
  return { bitmap: await createImageBitmap(image), width, height, present };
}
