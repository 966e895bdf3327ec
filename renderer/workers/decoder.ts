// Client of the decode workers: a small pool, round robin, promises per task. Where workers cannot
// start (an odd CSP, file:// module workers), the same code runs on the UI thread instead.
import { decodeImageTask, decodeMaskTask, type DecodedImage, type DecodedMaskBitmap, type ImageTask, type MaskTask } from './decodeCore.js';

type Pending = { resolve(value: unknown): void; reject(error: Error): void; task: ImageTask | MaskTask };

class DecodePool {
  private workers: Worker[] = [];
  private next = 0;
  private seq = 1;
  private readonly pending = new Map<number, Pending>();
  private broken = false;

  constructor(size: number) {
    try {
      for (let i = 0; i < size; i++) {
        const worker = new Worker(new URL('./decode.worker.ts', import.meta.url), { type: 'module', name: `sightline-decode-${i}` });
        worker.onmessage = (e: MessageEvent<{ id: number; ok: boolean; result?: unknown; message?: string }>) => {
          const job = this.pending.get(e.data.id);
          if (!job) return;
          this.pending.delete(e.data.id);
          if (e.data.ok) job.resolve(e.data.result);
          else job.reject(new Error(e.data.message ?? 'decode failed'));
        };
        worker.onerror = (e) => {
          e.preventDefault();
          this.fallBack();
        };
        this.workers.push(worker);
      }
    } catch {
      this.fallBack();
    }
  }

  /** Workers failed: finish everything pending, and everything later, on this thread. */
  private fallBack(): void {
    if (this.broken) return;
    this.broken = true;
    this.workers.forEach((w) => w.terminate());
    this.workers = [];
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const job of jobs) runHere(job.task).then(job.resolve, job.reject);
  }

  run<T>(task: ImageTask | MaskTask): Promise<T> {
    if (this.broken || this.workers.length === 0) return runHere(task) as Promise<T>;
    const id = this.seq++;
    const worker = this.workers[this.next++ % this.workers.length]!;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, task });
      // Structured clone copies the bytes: the frame keeps its own (the UI shows their size).
      worker.postMessage({ id, task });
    });
  }

  get mode(): 'worker' | 'main' {
    return this.broken || this.workers.length === 0 ? 'main' : 'worker';
  }
}

function runHere(task: ImageTask | MaskTask): Promise<unknown> {
  return task.kind === 'image' ? decodeImageTask(task) : decodeMaskTask(task);
}

let pool: DecodePool | null = null;

function getPool(): DecodePool {
  pool ??= new DecodePool(typeof Worker === 'function' ? 2 : 0);
  return pool;
}

export function decodeImageOffThread(task: Omit<ImageTask, 'kind'>): Promise<DecodedImage> {
  return getPool().run<DecodedImage>({ kind: 'image', ...task });
}

export function decodeMaskOffThread(task: Omit<MaskTask, 'kind'>): Promise<DecodedMaskBitmap> {
  return getPool().run<DecodedMaskBitmap>({ kind: 'mask', ...task });
}

export function decoderMode(): 'worker' | 'main' {
  return getPool().mode;
}
