// LZ4 frame decompression shared by the MCAP and ROS bag readers. The package-level
// @foxglove/wasm-lz4 function keeps one decompression context for the whole process and never
// resets it: after one corrupt frame every later call fails, in every open log. We run our own
// instance of the package's wasm module and give it a fresh context after any failure.
import { createRequire } from 'node:module';

interface Lz4Module {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _createDecompressionContext(): number;
  _decompressFrame(context: number, dest: number, destSize: number, src: number, srcSize: number): number;
}

export type Lz4Decompress = (src: Uint8Array, size: number) => Uint8Array;

const require = createRequire(import.meta.url);
let loaded: Promise<Lz4Decompress> | undefined;

/** Loads the wasm module once; the returned function is synchronous (MCAP handlers must be). */
export function loadLz4(): Promise<Lz4Decompress> {
  loaded ??= (async () => {
    const createModule = require('@foxglove/wasm-lz4/dist/wasm-lz4.js') as () => Promise<Lz4Module>;
    const module = await createModule();
    let context = module._createDecompressionContext();
    return (src: Uint8Array, size: number): Uint8Array => {
      const srcPointer = module._malloc(Math.max(1, src.byteLength));
      const destPointer = module._malloc(Math.max(1, size));
      try {
        if (srcPointer === 0 || destPointer === 0) throw new Error(`out of memory for ${size} bytes`);
        module.HEAPU8.set(src, srcPointer);
        const written = module._decompressFrame(context, destPointer, size, srcPointer, src.byteLength);
        if (written !== size) {
          throw new Error(written < 0 ? 'corrupt LZ4 frame' : `LZ4 frame holds ${written} bytes, the header says ${size}`);
        }
        return module.HEAPU8.slice(destPointer, destPointer + size);
      } catch (error) {
        // The context may be left mid-frame: the next call starts from a clean one.
        context = module._createDecompressionContext();
        throw error;
      } finally {
        if (srcPointer !== 0) module._free(srcPointer);
        if (destPointer !== 0) module._free(destPointer);
      }
    };
  })();
  return loaded;
}
