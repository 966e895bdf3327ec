// Small cached images for the timeline's hover preview: the frame is fetched without lidar, its
// first (front) camera decoded off the UI thread straight to thumbnail size, and kept in an LRU.
// One request at a time; the latest hovered frame wins.
import type { SightlineApi } from '../../src/api/contract.js';
import type { CameraImage } from '../../src/logs/model.js';
import { decodeImage } from './frameSource.js';

const CAPACITY = 64;
export const THUMBNAIL_WIDTH = 200;

export class ThumbnailCache {
  private readonly images = new Map<number, ImageBitmap>(); // insertion order = LRU order
  private readonly failed = new Set<number>();
  private wanted: number | null = null;
  private busy = false;
  private disposed = false;

  constructor(
    private readonly api: SightlineApi,
    private readonly logId: string,
    private readonly onReady: (index: number) => void,
  ) {}

  /** The thumbnail when cached; otherwise asks for it and returns undefined. */
  get(index: number): ImageBitmap | undefined {
    const hit = this.images.get(index);
    if (hit) {
      this.images.delete(index);
      this.images.set(index, hit);
      return hit;
    }
    if (!this.failed.has(index)) {
      this.wanted = index;
      void this.pump();
    }
    return undefined;
  }

  get size(): number {
    return this.images.size;
  }

  private async pump(): Promise<void> {
    if (this.busy || this.wanted === null || this.disposed) return;
    const index = this.wanted;
    this.wanted = null;
    this.busy = true;
    try {
      const frame = await this.api.getFrame({ logId: this.logId, index, include: { cameras: true, lidar: false } });
      const camera = pickCamera(frame.cameras);
      if (!camera) {
        this.failed.add(index);
        return;
      }
      const bitmap = await decodeImage(camera, THUMBNAIL_WIDTH);
      if (this.disposed) {
        bitmap.close();
        return;
      }
      this.images.set(index, bitmap);
      while (this.images.size > CAPACITY) {
        const [oldest, image] = this.images.entries().next().value!;
        this.images.delete(oldest);
        image.close();
      }
      this.onReady(index);
    } catch {
      this.failed.add(index);
    } finally {
      this.busy = false;
      void this.pump();
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const image of this.images.values()) image.close();
    this.images.clear();
  }
}

function pickCamera(cameras: CameraImage[]): CameraImage | undefined {
  return cameras.find((c) => /front(?!_?(left|right))|image_?0?2|left/i.test(c.sensorId)) ?? cameras[0];
}
