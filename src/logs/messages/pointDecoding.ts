// Large point clouds (a 128-beam sweep is several MB) are decoded on worker threads so that the
// API server's event loop stays responsive; small ones decode in place. Falls back to in-process
// decoding when the compiled worker script is absent (running from TypeScript sources).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LogError } from '../errors.js';
import { adapterFor } from './adapters.js';
import { createDecoder, type MessageDecoder } from './decoders.js';
import type { DecodedPoints } from './foxglove.js';
import type { SourceChannel } from './source.js';

export interface PointJob {
  id: number;
  channel: SourceChannel;
  data: Uint8Array;
  path: string;
}

export type PointResult = { id: number; ok: true; points: DecodedPoints } | { id: number; ok: false; message: string };

const decoderCache = new Map<string, MessageDecoder | undefined>();

/** Decodes one point message in the current thread. */
export function decodePointsInPlace(channel: SourceChannel, data: Uint8Array, path: string): DecodedPoints {
  const key = `${path}\0${channel.id}\0${channel.schemaName}`;
  if (!decoderCache.has(key)) decoderCache.set(key, createDecoder(channel, path));
  const decoder = decoderCache.get(key);
  const adapter = adapterFor(channel.schemaName);
  if (!decoder || !adapter?.points) throw new LogError(`${path}: ${channel.topic} is not a point cloud Sightline can decode`, { path });
  try {
    return adapter.points(decoder(data));
  } catch (error) {
    throw new LogError(`${path}: cannot decode ${channel.topic} point cloud (${(error as Error).message})`, { path });
  }
}

function workerScript(): URL | undefined {
  const url = new URL('./pointWorker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

class PointWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (p: DecodedPoints) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private turn = 0;

  constructor(
    private readonly script: URL,
    private readonly size: number,
  ) {}

  private worker(): Worker {
    if (this.workers.length < this.size) {
      const worker = new Worker(this.script);
      worker.on('message', (result: PointResult) => {
        const entry = this.waiting.get(result.id);
        this.waiting.delete(result.id);
        if (this.waiting.size === 0) for (const w of this.workers) w.unref();
        if (!entry) return;
        if (result.ok) entry.resolve(result.points);
        else entry.reject(new LogError(result.message));
      });
      worker.on('error', (error) => {
        for (const entry of this.waiting.values()) entry.reject(error);
        this.waiting.clear();
        this.workers.splice(this.workers.indexOf(worker), 1);
      });
      this.workers.push(worker);
      return worker;
    }
    return this.workers[this.turn++ % this.workers.length]!;
  }

  decode(channel: SourceChannel, data: Uint8Array, path: string): Promise<DecodedPoints> {
    const id = this.nextId++;
    // Copy out of the (cached) chunk: only the copy is transferred. Not `data.slice()`: on a Node
    // Buffer that is a view, and transferring its buffer would detach the whole cached chunk.
    const copy = new Uint8Array(data.byteLength);
    copy.set(data);
    return new Promise<DecodedPoints>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const job: PointJob = { id, channel, data: copy, path };
      const worker = this.worker();
      // Referenced only while jobs are pending: an idle pool must not keep the process alive.
      worker.ref();
      worker.postMessage(job, [copy.buffer]);
    });
  }
}

let pool: PointWorkerPool | undefined | null;

export function decodePointsOffThread(channel: SourceChannel, data: Uint8Array, path: string): Promise<DecodedPoints> {
  if (pool === undefined) {
    const script = workerScript();
    pool = script ? new PointWorkerPool(script, Math.max(1, Math.min(4, availableParallelism() - 1))) : null;
  }
  if (!pool) return Promise.resolve().then(() => decodePointsInPlace(channel, data, path));
  return pool.decode(channel, data, path);
}
