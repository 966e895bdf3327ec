// A bounded async queue between two pipeline stages: `put` waits while the queue is full, which is
// what pushes back on the stage upstream; `take` waits while it is empty. Closing lets readers
// drain what is left; failing wakes everyone with the error.

export class QueueClosedError extends Error {
  constructor(readonly queue: string) {
    super(`queue '${queue}' is closed`);
    this.name = 'QueueClosedError';
  }
}

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly putters: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private readonly takers: { max: number; resolve: (items: T[] | undefined) => void; reject: (e: unknown) => void }[] = [];
  private closed = false;
  private failure: unknown;
  /** Highest occupancy seen (for tuning and the run's timings). */
  highWater = 0;

  constructor(
    readonly name: string,
    readonly capacity: number,
  ) {
    if (!(capacity >= 1)) throw new Error(`queue '${name}' needs a capacity of at least 1`);
  }

  get length(): number {
    return this.items.length;
  }

  /** Resolves once the item is in the queue (at once when there is room). */
  put(item: T): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new QueueClosedError(this.name));
    if (this.items.length < this.capacity) {
      this.items.push(item);
      this.highWater = Math.max(this.highWater, this.items.length);
      this.wakeTakers();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.putters.push({ item, resolve, reject }));
  }

  /** Up to `max` items, at least one; undefined once the queue is closed and drained. */
  take(max = 1): Promise<T[] | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.items.length) return Promise.resolve(this.drain(max));
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.takers.push({ max, resolve, reject }));
  }

  /** No more puts; takers get what is left, then undefined. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.putters.splice(0)) p.reject(new QueueClosedError(this.name));
    if (!this.items.length) for (const t of this.takers.splice(0)) t.resolve(undefined);
  }

  /** Wakes every waiter with the error and drops the items. */
  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.closed = true;
    this.items.length = 0;
    for (const p of this.putters.splice(0)) p.reject(error);
    for (const t of this.takers.splice(0)) t.reject(error);
  }

  private drain(max: number): T[] {
    const out = this.items.splice(0, Math.max(1, max));
    // Room freed: admit waiting putters in order.
    while (this.putters.length && this.items.length < this.capacity) {
      const p = this.putters.shift()!;
      this.items.push(p.item);
      p.resolve();
    }
    this.highWater = Math.max(this.highWater, this.items.length);
    return out;
  }

  private wakeTakers(): void {
    while (this.takers.length && this.items.length) {
      const t = this.takers.shift()!;
      t.resolve(this.drain(t.max));
    }
    if (this.closed && !this.items.length) for (const t of this.takers.splice(0)) t.resolve(undefined);
  }
}
