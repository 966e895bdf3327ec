// A pool of stage workers. Callers lease a slot (each worker accepts a few jobs in flight, so it
// never idles waiting for the next message) and release it only once they have handed the result
// downstream: a full downstream queue therefore holds the slots, which holds back this stage.
import { Worker } from 'node:worker_threads';
import type { FromWorker, SerializedError, StageReady, StageSpec, ToWorker } from './protocol.js';

export class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
    stack?: string,
    /** The worker is fine; this one job failed (bad input data, say). */
    readonly jobFailed = false,
  ) {
    super(`${stage}: ${message}`);
    this.name = 'StageError';
    if (stack) this.stack = `${this.name}: ${this.message}\n${stack.split('\n').slice(1).join('\n')}`;
  }
}

export interface Lease {
  readonly worker: number;
  call<R>(job: unknown, transfer?: ArrayBuffer[]): Promise<R>;
  release(): void;
}

interface Member {
  worker: Worker;
  exited: boolean;
  inFlight: number;
  pending: Map<number, { resolve: (r: unknown) => void; reject: (e: unknown) => void }>;
}

export interface PoolStats {
  jobs: number;
  /** Sum over jobs of the time the worker spent on them, ms. */
  busyMs: number;
}

export class WorkerPool {
  readonly stats: PoolStats = { jobs: 0, busyMs: 0 };
  readonly ready: StageReady[] = [];
  private readonly members: Member[] = [];
  private readonly waiters: { resolve: (l: Lease) => void; reject: (e: unknown) => void }[] = [];
  private nextId = 1;
  private failure: unknown;
  private closing = false;

  private readonly perWorker: number;
  private readonly onLog: (message: string) => void;

  private constructor(
    readonly name: string,
    script: URL,
    spec: StageSpec,
    options: { size: number; perWorker: number; onLog?: (message: string) => void },
  ) {
    this.perWorker = options.perWorker;
    this.onLog = options.onLog ?? (() => undefined);
    const readies: Promise<void>[] = [];
    for (let i = 0; i < options.size; i++) readies.push(this.spawn(script, spec, i));
    this.started = Promise.all(readies).then(() => this.ready);
    this.started.catch(() => undefined); // observed by whoever awaits it; never unhandled
  }

  /** Workers that have built their stage (one entry per worker, in order), once all have. */
  readonly started: Promise<StageReady[]>;

  /** Starts `size` workers at once; `started` settles when each has built its stage (or one failed to). */
  static launch(
    name: string,
    script: URL,
    spec: StageSpec,
    options: { size: number; perWorker: number; onLog?: (message: string) => void },
  ): WorkerPool {
    return new WorkerPool(name, script, spec, options);
  }

  get size(): number {
    return this.members.length;
  }

  private spawn(script: URL, spec: StageSpec, index: number): Promise<void> {
    return new Promise((resolveReady, rejectReady) => {
      const worker = new Worker(script, { workerData: { spec }, name: `sightline-${this.name}-${index}` });
      const member: Member = { worker, exited: false, inFlight: 0, pending: new Map() };
      this.members.push(member);
      let isReady = false;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            isReady = true;
            this.ready[index] = message.info;
            resolveReady();
            break;
          case 'result': {
            this.stats.jobs++;
            this.stats.busyMs += message.busyMs;
            const p = member.pending.get(message.id);
            member.pending.delete(message.id);
            p?.resolve(message.result);
            break;
          }
          case 'error': {
            const p = member.pending.get(message.id);
            member.pending.delete(message.id);
            p?.reject(new StageError(this.name, message.error.message, message.error.stack, true));
            break;
          }
          case 'fatal': {
            const error = toStageError(this.name, message.error);
            if (!isReady) rejectReady(error);
            this.fail(error);
            break;
          }
          case 'log':
            this.onLog(message.message);
            break;
        }
      });
      worker.on('error', (error) => {
        const e = new StageError(this.name, error.message, error.stack);
        if (!isReady) rejectReady(e);
        this.fail(e);
      });
      worker.on('exit', (code) => {
        member.exited = true;
        if (!isReady) rejectReady(new StageError(this.name, this.closing ? 'stopped before it was ready' : `worker exited (code ${code}) before it was ready`));
        if (this.closing) return;
        this.fail(new StageError(this.name, `worker exited unexpectedly (code ${code})`));
      });
    });
  }

  /** A slot on the least busy worker; waits while every worker has `perWorker` jobs in flight. */
  acquire(): Promise<Lease> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const lease = this.tryLease();
    if (lease) return Promise.resolve(lease);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private tryLease(): Lease | undefined {
    let best: Member | undefined;
    let bestIndex = -1;
    this.members.forEach((m, i) => {
      if (m.inFlight < this.perWorker && (!best || m.inFlight < best.inFlight)) {
        best = m;
        bestIndex = i;
      }
    });
    if (!best) return undefined;
    const member: Member = best;
    member.inFlight++;
    let released = false;
    return {
      worker: bestIndex,
      call: <R>(job: unknown, transfer: ArrayBuffer[] = []) => {
        if (this.failure !== undefined) return Promise.reject(this.failure);
        const id = this.nextId++;
        return new Promise<R>((resolve, reject) => {
          member.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
          member.worker.postMessage({ type: 'job', id, job } satisfies ToWorker, transfer);
        });
      },
      release: () => {
        if (released) return;
        released = true;
        member.inFlight--;
        const waiter = this.waiters.length ? this.tryLease() : undefined;
        if (waiter) this.waiters.shift()!.resolve(waiter);
      },
    };
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined || this.closing) return;
    this.failure = error;
    for (const m of this.members) {
      for (const p of m.pending.values()) p.reject(error);
      m.pending.clear();
    }
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  /** Stops the workers now; jobs in flight are abandoned. */
  async terminate(): Promise<void> {
    this.closing = true;
    this.abandonPending();
    await Promise.all(this.members.map((m) => m.worker.terminate().catch(() => undefined)));
  }

  /**
   * Drops the jobs in flight and asks each worker to finish the call it is in, dispose its stage
   * (engine session, open log) and exit; stops a worker the hard way only after `timeoutMs`.
   * Preferred over terminate(): terminating a thread inside a native call (ONNX Runtime, sharp)
   * can abort the whole process.
   */
  async close(timeoutMs = 60_000): Promise<void> {
    if (this.closed) return this.closed;
    this.closed = this.shutDown(timeoutMs);
    return this.closed;
  }

  private closed: Promise<void> | undefined;

  private async shutDown(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.abandonPending();
    await Promise.all(
      this.members.map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.exited) return resolve();
            const timer = setTimeout(resolve, timeoutMs);
            m.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            m.worker.postMessage({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
    await this.terminate();
  }

  private abandonPending(): void {
    const stopped = new StageError(this.name, 'pool stopped');
    this.failure ??= stopped;
    for (const m of this.members) {
      for (const p of m.pending.values()) p.reject(stopped);
      m.pending.clear();
    }
    for (const w of this.waiters.splice(0)) w.reject(stopped);
  }
}

function toStageError(stage: string, error: SerializedError): StageError {
  return new StageError(stage, error.message, error.stack);
}
