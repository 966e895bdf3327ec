// Chunk decompression for ROS bags: LZ4 frames (roslz4) through @foxglove/wasm-lz4, bzip2 through
// @foxglove/wasm-bz2, both loaded on first use.
//
// The package-level wasm-lz4 function keeps one decompression context for the whole process and
// never resets it: after one corrupt frame every later call fails, including the MCAP reader's
// (it shares that module). So we run our own instance of the package's wasm module and replace it
// after any failure; a fresh instance costs about a millisecond.
import { createRequire } from 'node:module';
import Bzip2 from '@foxglove/wasm-bz2';

/** Refuse chunks that claim more than this uncompressed (wasm memory never shrinks back). */
export const MAX_CHUNK_BYTES = 512 * 1024 * 1024;
/** LZ4 cannot expand data by more than about 255x; a larger claim is a corrupt size field. */
const LZ4_MAX_RATIO = 256;
const LZ4_FRAME_SLACK = 64 * 1024;

interface Lz4Module {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _createDecompressionContext(): number;
  _decompressFrame(context: number, dest: number, destSize: number, src: number, srcSize: number): number;
}

const require = createRequire(import.meta.url);

interface Lz4Instance {
  module: Lz4Module;
  context: number;
  broken: boolean;
}

class Lz4Decoder {
  private instance?: Promise<Lz4Instance>;

  private load(): Promise<Lz4Instance> {
    this.instance ??= (async () => {
      const createModule = require('@foxglove/wasm-lz4/dist/wasm-lz4.js') as () => Promise<Lz4Module>;
      const module = await createModule();
      return { module, context: module._createDecompressionContext(), broken: false };
    })();
    return this.instance;
  }

  async decompress(src: Uint8Array, size: number): Promise<Uint8Array> {
    let instance = await this.load();
    // Another read may have broken this instance while we waited for it.
    while (instance.broken) instance = await this.load();
    const { module, context } = instance;
    const srcPointer = module._malloc(Math.max(1, src.byteLength));
    const destPointer = module._malloc(Math.max(1, size));
    try {
      if (srcPointer === 0 || destPointer === 0) throw new Error(`out of memory for ${size} bytes`);
      module.HEAPU8.set(src, srcPointer);
      const written = module._decompressFrame(context, destPointer, size, srcPointer, src.byteLength);
      if (written !== size) {
        throw new Error(written < 0 ? 'corrupt LZ4 frame' : `LZ4 frame holds ${written} bytes, the chunk header says ${size}`);
      }
      return module.HEAPU8.slice(destPointer, destPointer + size);
    } catch (error) {
      // The context may be left mid-frame (and the heap is suspect): start over with a new instance.
      instance.broken = true;
      this.instance = undefined;
      throw error;
    } finally {
      if (srcPointer !== 0) module._free(srcPointer);
      if (destPointer !== 0) module._free(destPointer);
    }
  }
}

const lz4 = new Lz4Decoder();
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
  if (compression === 'lz4') return lz4.decompress(data, uncompressedSize);
  bzip2 ??= Bzip2.init();
  const decoder = await bzip2;
  const out = decoder.decompress(data, uncompressedSize, { small: false });
  if (out.byteLength !== uncompressedSize) throw new Error(`bzip2 data holds ${out.byteLength} bytes, the chunk header says ${uncompressedSize}`);
  return out;
}
