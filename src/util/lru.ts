/** LRU cache bounded by a byte budget (entries report their own size). */
export class ByteLru<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private totalBytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert to mark as most recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const bytes = this.sizeOf(value);
    const existing = this.entries.get(key);
    if (existing) {
      this.totalBytes -= existing.bytes;
      this.entries.delete(key);
    }
    if (bytes > this.budgetBytes) return; // never cache something that would evict everything
    this.entries.set(key, { value, bytes });
    this.totalBytes += bytes;
    for (const [oldKey, old] of this.entries) {
      if (this.totalBytes <= this.budgetBytes) break;
      this.entries.delete(oldKey);
      this.totalBytes -= old.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
