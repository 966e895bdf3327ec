// Producing the heavy part of each frame (camera JPEG, packed lidar sweep), in process or on
// worker threads. A frame depends only on (options, index), so the output is identical whichever
// thread renders it; frames are always delivered in index order.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { renderCamera } from './camera.js';
import { castLidar } from './lidar.js';
import type { DemoOptions, DemoScene } from './scene.js';
import { snapshotAt } from './world.js';

export const JPEG_QUALITY = 85;
export const POINT_STRIDE = 18;

export interface RenderedFrame {
  index: number;
  jpeg: Uint8Array;
  /** x, y, z, intensity (float32) and ring (uint16), little-endian, POINT_STRIDE bytes a point. */
  points: Uint8Array;
  pointCount: number;
}

/** Sweep k's stamp and the camera's (k / rate and k / rate + skew), in seconds since the start. */
export function frameTimes(scene: DemoScene, index: number): { sweepNs: bigint; imageNs: bigint; tSweep: number; tImage: number } {
  const sweepNs = BigInt(Math.round((index * 1e9) / scene.options.rateHz));
  const imageNs = sweepNs + BigInt(Math.round(scene.camera.skewS * 1e9));
  return { sweepNs, imageNs, tSweep: Number(sweepNs) / 1e9, tImage: Number(imageNs) / 1e9 };
}

/** Packs a sweep as x, y, z, intensity (float32) and ring (uint16), little-endian. */
export function packPoints(sweep: { count: number; positions: Float32Array; intensity: Float32Array; ring: Uint16Array }): Uint8Array {
  const data = new Uint8Array(sweep.count * POINT_STRIDE);
  const view = new DataView(data.buffer);
  for (let i = 0; i < sweep.count; i++) {
    const o = i * POINT_STRIDE;
    view.setFloat32(o, sweep.positions[i * 3]!, true);
    view.setFloat32(o + 4, sweep.positions[i * 3 + 1]!, true);
    view.setFloat32(o + 8, sweep.positions[i * 3 + 2]!, true);
    view.setFloat32(o + 12, sweep.intensity[i]!, true);
    view.setUint16(o + 16, sweep.ring[i]!, true);
  }
  return data;
}

export async function renderFrame(scene: DemoScene, index: number): Promise<RenderedFrame> {
  const { tSweep, tImage } = frameTimes(scene, index);
  // The camera first, so the JPEG encodes on libuv's pool while the lidar is cast here.
  const image = renderCamera(scene, tImage, { reuseBuffers: true });
  const jpeg = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:2:0' })
    .toBuffer();
  const sweep = castLidar(scene, tSweep, { world: snapshotAt(scene, tSweep), reuseBuffers: true });
  const points = packPoints(sweep);
  const bytes = await jpeg;
  // An exact, unshared ArrayBuffer, so that it can be transferred from a worker.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
  return { index, jpeg: own, points, pointCount: sweep.count };
}

/** Worker count: SIGHTLINE_DEMO_WORKERS if set (0 = render in process), else one per core, at most 4. */
export function defaultWorkerCount(): number {
  const env = process.env.SIGHTLINE_DEMO_WORKERS;
  if (env !== undefined && env !== '' && Number.isInteger(Number(env))) return Math.max(0, Number(env));
  return Math.min(4, availableParallelism());
}

/** The compiled worker script; absent when running from TypeScript sources (tests), then frames render in process. */
function workerScript(): URL | undefined {
  const url = new URL('./frameWorker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * Yields frames 0..count-1 in order, rendered on worker threads when the compiled worker script is
 * there. Should the workers fail (a worker cannot start in some packaged environments, say), the
 * remaining frames render in process: a genuine rendering error then surfaces from there.
 */
export async function* renderFrames(scene: DemoScene, options: DemoOptions, workers = defaultWorkerCount()): AsyncGenerator<RenderedFrame> {
  const count = scene.frameCount;
  // Workers take a second or two to warm up: not worth it for short drives.
  const script = workers > 0 && count >= 50 ? workerScript() : undefined;
  let next = 0;
  if (script) {
    try {
      for await (const frame of workerFrames(script, options, count, Math.min(workers, count))) {
        next++;
        yield frame;
      }
    } catch {
      // fall through: render what is left in process
    }
  }
  for (let k = next; k < count; k++) yield await renderFrame(scene, k);
}

/** Frames from a pool of workers, in order; up to 2 per worker in flight so memory stays bounded. */
async function* workerFrames(script: URL, options: DemoOptions, count: number, n: number): AsyncGenerator<RenderedFrame> {
  const pool: Worker[] = [];
  const waiting = new Map<number, { resolve: (f: RenderedFrame) => void; reject: (e: unknown) => void }>();
  const results = new Map<number, Promise<RenderedFrame>>();
  let failure: unknown;
  let finished = false;
  const fail = (error: unknown): void => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  let next = 0;
  let delivered = 0;
  const dispatch = (): void => {
    while (next < count && next < delivered + 2 * n && failure === undefined) {
      const index = next++;
      const result = new Promise<RenderedFrame>((resolve, reject) => {
        waiting.set(index, { resolve, reject });
        pool[index % n]!.postMessage(index);
      });
      result.catch(() => undefined); // observed below; never an unhandled rejection
      results.set(index, result);
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      const worker = new Worker(script, { workerData: { options } });
      worker.on('message', (f: RenderedFrame) => {
        waiting.get(f.index)?.resolve(f);
        waiting.delete(f.index);
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!finished) fail(new Error(`demo frame worker exited early (code ${code})`));
      });
      pool.push(worker);
    }
    dispatch();
    while (delivered < count) {
      if (failure !== undefined) throw failure;
      const frame = await results.get(delivered)!;
      results.delete(delivered);
      delivered++;
      dispatch();
      yield frame;
    }
  } finally {
    finished = true;
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
