// The planner on a worker thread: a plan takes tens of milliseconds, and on the server's event loop
// it would hold back every frame request behind it. Falls back to planning in-process where the
// compiled worker script is absent (running from TypeScript sources).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FrameData } from '../logs/model.js';
import { planFrame, type PlanFrameOptions, type PlannedFrame } from './frame.js';

export interface PlanJob {
  id: number;
  frame: FrameData;
  options: PlanFrameOptions;
}

export type PlanReply = { id: number; ok: true; plan: PlannedFrame } | { id: number; ok: false; message: string };

function workerScript(): URL | undefined {
  const url = new URL('./planWorker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

class PlanWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve: (plan: PlannedFrame) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor(private readonly script: URL) {}

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.script);
    worker.on('message', (reply: PlanReply) => {
      const entry = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      // Referenced only while plans are pending: an idle worker must not keep the process alive.
      if (this.waiting.size === 0) worker.unref();
      if (!entry) return;
      if (reply.ok) entry.resolve(reply.plan);
      else entry.reject(new Error(reply.message));
    });
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`planner worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const entry of this.waiting.values()) entry.reject(error);
    this.waiting.clear();
  }

  plan(frame: FrameData, options: PlanFrameOptions): Promise<PlannedFrame> {
    const worker = this.ensure();
    const id = this.nextId++;
    // Only what the planner reads travels: positions, boxes and paths (the clone copies them; the
    // frame's cached arrays stay put).
    const lidar = frame.lidar && { ...frame.lidar, fields: {} };
    const job: PlanJob = { id, frame: { ...frame, cameras: [], labels2d: [], lidar }, options };
    return new Promise<PlannedFrame>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage(job);
    });
  }
}

let planner: PlanWorker | null | undefined;

export function planFrameOffThread(frame: FrameData, options: PlanFrameOptions = {}): Promise<PlannedFrame> {
  if (planner === undefined) {
    const script = workerScript();
    planner = script ? new PlanWorker(script) : null;
  }
  if (!planner) return Promise.resolve().then(() => planFrame(frame, options));
  return planner.plan(frame, options);
}
