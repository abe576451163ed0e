/**
 * An async lock whose waiters take their turns first come, first served, each woken alone when
 * the one before lets go. (Waiting with `while (open) await open` instead wakes every waiter on
 * every release: with W calls queued behind a burst of transactions that is W²/2 wake-ups, seconds
 * of blocked event loop when hundreds of runs end together.)
 */
export class FifoLock {
  private held = false;
  /** Waiters in order; `head` is the next one (a queue without Array#shift's copying). */
  private waiters: Array<() => void> = [];
  private head = 0;

  get locked(): boolean {
    return this.held;
  }

  /** Resolves once the caller holds the lock; taken at once (synchronously) when it is free. */
  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head++]!;
      if (this.head === this.waiters.length) {
        this.waiters = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters = this.waiters.slice(this.head);
        this.head = 0;
      }
      next(); // still held: it is the next waiter's now
      return;
    }
    this.held = false;
  }
}
