function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** How much CPU time one turn of the event loop may spend from its first store call before the next caller waits for the next turn (ms). */
export const SLICE_MS = 20;

/**
 * An async lock whose waiters take their turns first come, first served, each woken alone when
 * the one before lets go. (Waiting with `while (open) await open` instead wakes every waiter on
 * every release: with W calls queued behind a burst of transactions that is W²/2 wake-ups.)
 *
 * Time-sliced: better-sqlite3's statements are synchronous, and a hand-off is a microtask, so a
 * burst of store calls (hundreds of runs starting or ending in one poll phase) would otherwise run
 * back to back in one turn of the event loop, blocking it for seconds. Once the calls of one turn
 * have taken `sliceMs`, the next caller waits for a `setImmediate` (timers and I/O run between);
 * the order stays first come, first served.
 */
export class FifoLock {
  private held = false;
  /** Waiters in order; `head` is the next one (a queue without Array#shift's copying). */
  private waiters: Array<() => void> = [];
  private head = 0;
  /** When this turn's first call began (`now()`), or -1 before any call this turn. */
  private turnStart = -1;
  /** The turn's start on the wall clock. */
  private turnWall = 0;
  /** Which turn's clock runs (its callbacks end it, once). */
  private turn = 0;
  /** The lock is held only until the next turn hands it to the next waiter. */
  private deferred = false;

  constructor(
    private readonly sliceMs: number = SLICE_MS,
    /** The process's CPU time (ms): on a loaded machine wall time would count the time other processes ran. */
    private readonly now: () => number = cpuMs,
    private readonly wall: () => number = () => performance.now(),
  ) {}

  /**
   * True when a synchronous call may go ahead now without taking the lock: it is free and this
   * turn has time left (the call counts against it).
   */
  tryNow(): boolean {
    if (this.held || !this.timeLeft()) return false;
    this.startTurn();
    return true;
  }

  /** Resolves once the caller holds the lock: at once when it is free and this turn has time left. */
  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      if (this.timeLeft()) {
        this.startTurn();
        return Promise.resolve();
      }
      this.deferred = true; // held for the next waiter (this one), handed over next turn
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the lock to the next waiter (this turn, or the next one when this turn's time is up), or frees it. */
  release(): void {
    if (this.head === this.waiters.length) {
      this.held = false;
      return;
    }
    if (this.timeLeft()) this.handOff();
    else this.deferred = true;
  }

  private timeLeft(): boolean {
    if (this.turnStart < 0) return true;
    // This thread cannot have used more CPU than the wall time that passed: the cheap clock first.
    if (this.wall() - this.turnWall < this.sliceMs) return true;
    return this.now() - this.turnStart < this.sliceMs;
  }

  /**
   * Starts this turn's clock. It stops when the loop next runs our callbacks: a `setImmediate`
   * (this turn's check phase, after its I/O) or a timer (the next turn's timers, before its I/O),
   * whichever comes first; so store calls made from I/O and those handed over in the check phase
   * each get a fresh slice, and neither starves behind the other's work. The first also hands a
   * deferred lock over.
   */
  private startTurn(): void {
    if (this.turnStart >= 0) return;
    this.turnStart = this.now();
    this.turnWall = this.wall();
    const turn = ++this.turn;
    setImmediate(() => this.endTurn(turn));
    setTimeout(() => this.endTurn(turn), 0).unref();
  }

  private endTurn(turn: number): void {
    if (turn !== this.turn || this.turnStart < 0) return;
    this.turnStart = -1;
    if (!this.deferred) return;
    this.deferred = false;
    this.startTurn();
    this.handOff();
  }

  /** The next waiter holds the lock now (it runs in a microtask). */
  private handOff(): void {
    const next = this.waiters[this.head++]!;
    if (this.head === this.waiters.length) {
      this.waiters = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    next();
  }
}
