// Chunk decompression for ROS bags: LZ4 frames (roslz4) through @foxglove/wasm-lz4, bzip2 through
// @foxglove/wasm-bz2, both loaded on first use.
//
// LZ4 goes through the shared resettable decoder (see compression/lz4.ts).
import { loadLz4 } from '../compression/lz4.js';
import Bzip2 from '@foxglove/wasm-bz2';

/** Refuse chunks that claim more than this uncompressed (wasm memory never shrinks back). */
export const MAX_CHUNK_BYTES = 512 * 1024 * 1024;
/** LZ4 cannot expand data by more than about 255x; a larger claim is a corrupt size field. */
const LZ4_MAX_RATIO = 256;
const LZ4_FRAME_SLACK = 64 * 1024;

let bzip2: Promise<Bzip2> | undefined;

export const SUPPORTED_COMPRESSIONS = ['none', 'lz4', 'bz2'] as const;

/** Why a chunk's declared sizes cannot be right, or undefined when they are plausible. */
export function implausibleChunkSize(compression: string, compressedSize: number, uncompressedSize: number): string | undefined {
  if (!(SUPPORTED_COMPRESSIONS as readonly string[]).includes(compression)) return `unsupported compression '${compression}'`;
  if (uncompressedSize > MAX_CHUNK_BYTES) return `it claims ${uncompressedSize} bytes uncompressed (more than ${MAX_CHUNK_BYTES})`;
  if (compression === 'none' && uncompressedSize !== compressedSize) {
    return `an uncompressed chunk of ${compressedSize} bytes claims ${uncompressedSize}`;
  }
  if (compression === 'lz4' && uncompressedSize > compressedSize * LZ4_MAX_RATIO + LZ4_FRAME_SLACK) {
    return `${compressedSize} LZ4 bytes cannot hold ${uncompressedSize} bytes`;
  }
  return undefined;
}

/** The chunk's records, exactly `uncompressedSize` bytes, or an Error saying why not. */
export async function decompressChunk(compression: string, data: Uint8Array, uncompressedSize: number): Promise<Uint8Array> {
  const implausible = implausibleChunkSize(compression, data.byteLength, uncompressedSize);
  if (implausible) throw new Error(implausible);
  if (compression === 'none') return data;
  if (uncompressedSize === 0) return new Uint8Array();
  if (compression === 'lz4') return (await loadLz4())(data, uncompressedSize);
  bzip2 ??= Bzip2.init();
  const decoder = await bzip2;
  const out = decoder.decompress(data, uncompressedSize, { small: false });
  if (out.byteLength !== uncompressedSize) throw new Error(`bzip2 data holds ${out.byteLength} bytes, the chunk header says ${uncompressedSize}`);
  return out;
}
