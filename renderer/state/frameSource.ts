// Fetches frames for one open log: a small LRU of decoded frames, a bounded number of requests in
// flight, the latest request first, then prefetch. Only a response for the most recently
// requested index is delivered (`onFrame`); older ones are cached, never painted out of order.
import type { SightlineApi } from '../../src/api/contract.js';
import { ApiError } from '../../src/api/contract.js';
import type { CameraImage, FrameData } from '../../src/logs/model.js';
import type { LoadedFrame } from './appState.js';
import { recordStat } from './stats.js';
import { decodeImageOffThread } from '../workers/decoder.js';

/** Decodes a camera image into an ImageBitmap once, on a decode worker. */
export async function decodeImage(image: CameraImage, resizeWidth?: number): Promise<ImageBitmap> {
  const { bitmap } = await decodeImageOffThread({
    format: image.format,
    data: image.data,
    width: image.intrinsics.width,
    height: image.intrinsics.height,
    ...(resizeWidth ? { resizeWidth } : {}),
  });
  return bitmap;
}

export interface FrameSourceOptions {
  capacity?: number;
  maxInFlight?: number;
  onFrame(frame: LoadedFrame): void;
  onError(index: number, message: string): void;
  onLoadingChange?(loading: boolean): void;
  /** More data to load with each frame (detections of the visible runs), in parallel with it. */
  augment?(index: number): Promise<void>;
}

export class FrameSource {
  private readonly cache = new Map<number, LoadedFrame>(); // insertion order = LRU order
  private readonly inFlight = new Set<number>();
  private wanted = -1;
  private prefetchQueue: number[] = [];
  private displayed = -1;
  private disposed = false;
  private readonly capacity: number;
  private readonly maxInFlight: number;
  /** Mean fetch+decode time, ms (exponential moving average), for playback heuristics. */
  meanLoadMs = 0;

  constructor(
    private readonly api: SightlineApi,
    readonly logId: string,
    readonly frameCount: number,
    private readonly options: FrameSourceOptions,
  ) {
    this.capacity = Math.max(4, options.capacity ?? 12);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 3);
  }

  has(index: number): boolean {
    return this.cache.has(index);
  }

  isLoading(index: number): boolean {
    return this.inFlight.has(index);
  }

  get wantedIndex(): number {
    return this.wanted;
  }

  /** Makes `index` the one frame that may be delivered; delivers at once when cached. */
  request(index: number): void {
    if (this.disposed || index < 0 || index >= this.frameCount) return;
    this.wanted = index;
    const hit = this.cache.get(index);
    if (hit) {
      this.touch(index, hit);
      this.options.onLoadingChange?.(false);
      this.options.onFrame(hit);
    } else {
      this.options.onLoadingChange?.(true);
    }
    this.pump();
  }

  /** Frames to fetch when the wanted one is not pending; replaces the previous list. */
  prefetch(indices: number[]): void {
    if (this.disposed) return;
    this.prefetchQueue = indices.filter((i) => i >= 0 && i < this.frameCount);
    this.pump();
  }

  /** The frame on screen: never evicted (its bitmaps may be redrawn at any time). */
  markDisplayed(index: number): void {
    this.displayed = index;
  }

  dispose(): void {
    this.disposed = true;
    for (const frame of this.cache.values()) closeFrame(frame);
    this.cache.clear();
    this.prefetchQueue = [];
  }

  private touch(index: number, frame: LoadedFrame): void {
    this.cache.delete(index);
    this.cache.set(index, frame);
  }

  private next(): number | undefined {
    const candidates = [this.wanted, ...this.prefetchQueue];
    for (const index of candidates) {
      if (index >= 0 && !this.cache.has(index) && !this.inFlight.has(index)) return index;
    }
    return undefined;
  }

  private pump(): void {
    while (!this.disposed && this.inFlight.size < this.maxInFlight) {
      const index = this.next();
      if (index === undefined) return;
      // Keep one slot for the wanted frame: prefetch never fills the last slot.
      if (index !== this.wanted && this.inFlight.size >= this.maxInFlight - 1) return;
      void this.load(index);
    }
  }

  private async load(index: number): Promise<void> {
    this.inFlight.add(index);
    const started = performance.now();
    let frame: LoadedFrame | undefined;
    let failure: string | undefined;
    try {
      const extra = this.options.augment?.(index).catch(() => undefined);
      const data: FrameData = await this.api.getFrame({ logId: this.logId, index });
      const fetched = performance.now();
      recordStat('fetch', fetched - started);
      const images = new Map<string, ImageBitmap>();
      await Promise.all(
        data.cameras.map(async (camera) => {
          try {
            images.set(camera.sensorId, await decodeImage(camera));
          } catch {
            data.warnings = [...data.warnings, `Image from ${camera.sensorId} could not be decoded (${camera.format})`];
          }
        }),
      );
      recordStat('decode', performance.now() - fetched);
      await extra;
      frame = { data, images };
    } catch (error) {
      failure = ApiError.from(error).message;
    } finally {
      this.inFlight.delete(index);
    }
    const elapsed = performance.now() - started;
    this.meanLoadMs = this.meanLoadMs === 0 ? elapsed : this.meanLoadMs * 0.8 + elapsed * 0.2;
    if (this.disposed) {
      if (frame) closeFrame(frame);
      return;
    }
    if (frame) {
      this.cache.set(index, frame);
      this.evict();
      if (index === this.wanted) {
        this.options.onLoadingChange?.(false);
        this.options.onFrame(frame);
      }
    } else if (index === this.wanted) {
      this.options.onLoadingChange?.(false);
      this.options.onError(index, failure ?? 'Frame could not be loaded');
    }
    this.pump();
  }

  private evict(): void {
    if (this.cache.size <= this.capacity) return;
    for (const [index, frame] of this.cache) {
      if (this.cache.size <= this.capacity) break;
      if (index === this.displayed || index === this.wanted) continue;
      this.cache.delete(index);
      closeFrame(frame);
    }
  }
}

function closeFrame(frame: LoadedFrame): void {
  for (const bitmap of frame.images.values()) bitmap.close();
  frame.images.clear();
}
