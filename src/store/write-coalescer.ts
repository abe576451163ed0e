/**
 * Group commit for independent writes (the journals of all live runs): a write waits at most for
 * the one in flight, and every write that arrived meanwhile goes in the next one, together, as one
 * statement. Under load the batches grow and the statements do not: one round trip for many runs
 * instead of one per run per flush. A combined write that is refused is tried again in halves
 * down to single items, so each caller gets its own item's outcome — a refused item fails only its
 * caller, as if it had been written alone.
 */
export class WriteCoalescer<T> {
  private queue: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];
  private busy = false;
  private scheduled = false;

  constructor(
    /** All of them, atomically (one statement). */
    private readonly writeMany: (items: readonly T[]) => Promise<void>,
    /** One alone (after a refused combined write). */
    private readonly writeOne: (item: T) => Promise<void>,
    /** At most this many items in one combined write. */
    private readonly maxItems = 1000,
  ) {}

  /** Resolves once `item` is written; rejects with the error its own write got. */
  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * The next write starts after the current turn of the event loop's timers and I/O (setImmediate),
   * so the flushes of many runs' timers due in the same turn go together even when nothing is in flight.
   */
  private schedule(): void {
    if (this.busy || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.next();
    });
  }

  private async next(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue.splice(0, this.maxItems);
    try {
      await this.write(batch);
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /**
   * A refused combined write does not tell which item was refused: it is halved and each half
   * written on its own, one after the other (one item in error among n costs about 2·log2(n)
   * statements; a database that is down fails each item quickly). One after the other, not all
   * queued at once: a write queued for a busy connection longer than the connect timeout would
   * fail an item that nothing is wrong with.
   */
  private async write(batch: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }>): Promise<void> {
    if (batch.length === 1) {
      const [b] = batch as [(typeof batch)[number]];
      try {
        await this.writeOne(b.item);
        b.resolve();
      } catch (err) {
        b.reject(err);
      }
      return;
    }
    try {
      await this.writeMany(batch.map((b) => b.item));
      for (const b of batch) b.resolve();
      return;
    } catch {
      // halve, below
    }
    const half = Math.ceil(batch.length / 2);
    await this.write(batch.slice(0, half));
    await this.write(batch.slice(half));
  }
}
