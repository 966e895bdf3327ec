// Image size from a JPEG's SOF header, without decoding: walk the marker segments by their lengths.
import { open } from 'node:fs/promises';

export interface ImageSize {
  width: number;
  height: number;
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** The size from the bytes given, or undefined when the SOF lies beyond them or this is not a JPEG. */
export function jpegSize(bytes: Uint8Array): ImageSize | undefined {
  const result = scan(bytes);
  return typeof result === 'object' ? result : undefined;
}

/** 'more' when the header continues past the bytes given. */
function scan(bytes: Uint8Array): ImageSize | 'more' | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes.length < 4 ? 'more' : undefined;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / start of scan before any SOF
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (isStartOfFrame(marker)) {
      if (i + 9 > bytes.length) return 'more';
      const height = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const width = (bytes[i + 7]! << 8) | bytes[i + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    i += 2 + length;
  }
  return 'more';
}

/** Reads only the file's head (growing it while EXIF or other segments come first). */
export async function readJpegSize(path: string): Promise<ImageSize | undefined> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    for (let span = 8192; ; span *= 4) {
      const head = Buffer.alloc(Math.min(span, size));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const result = scan(head.subarray(0, bytesRead));
      if (result !== 'more') return result;
      if (bytesRead >= size || span >= 4 << 20) return undefined;
    }
  } finally {
    await handle.close();
  }
}
