// sensor_msgs/Image and foxglove.RawImage carry unencoded pixels; the panels and the inference
// stage take encoded images, so raw frames become lossless PNGs (fast zlib level).
import sharp from 'sharp';
import type { RawImage } from './ros.js';

const CHANNELS: Record<string, { channels: 1 | 3 | 4; bgr?: boolean; bytesPerChannel?: 2 }> = {
  rgb8: { channels: 3 },
  bgr8: { channels: 3, bgr: true },
  rgba8: { channels: 4 },
  bgra8: { channels: 4, bgr: true },
  mono8: { channels: 1 },
  '8uc1': { channels: 1 },
  '8uc3': { channels: 3, bgr: true },
  mono16: { channels: 1, bytesPerChannel: 2 },
  '16uc1': { channels: 1, bytesPerChannel: 2 },
};

export async function rawImageToPng(image: RawImage): Promise<Uint8Array> {
  const layout = CHANNELS[image.encoding.toLowerCase()];
  if (!layout) throw new Error(`raw image encoding '${image.encoding}' is not supported (rgb8, bgr8, rgba8, bgra8, mono8, mono16)`);
  const { width, height } = image;
  const bpp = layout.channels * (layout.bytesPerChannel ?? 1);
  const step = image.step || width * bpp;
  if (width <= 0 || height <= 0 || image.data.byteLength < step * (height - 1) + width * bpp) {
    throw new Error(`raw image ${width}x${height} (${image.encoding}, step ${step}) needs more than its ${image.data.byteLength} bytes`);
  }
  // Pack rows (drop step padding), swap BGR, and scale 16-bit depth to 8 bits for display.
  const out = Buffer.alloc(width * height * layout.channels);
  for (let y = 0; y < height; y++) {
    const row = y * step;
    for (let x = 0; x < width; x++) {
      const src = row + x * bpp;
      const dst = (y * width + x) * layout.channels;
      if (layout.bytesPerChannel === 2) {
        out[dst] = image.data[src + 1]!; // little-endian high byte
        continue;
      }
      for (let c = 0; c < layout.channels; c++) out[dst + c] = image.data[src + c]!;
      if (layout.bgr && layout.channels >= 3) {
        out[dst] = image.data[src + 2]!;
        out[dst + 2] = image.data[src]!;
      }
    }
  }
  const png = await sharp(out, { raw: { width, height, channels: layout.channels } }).png({ compressionLevel: 1 }).toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
