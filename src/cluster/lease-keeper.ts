import type { Store } from '../store/types.js';

export interface LeaseOptions {
  store: Store;
  instanceId: string;
  /** How often the lease is renewed and other owners' leases are checked (ms). */
  heartbeatMs: number;
  /** How long a lease lasts without renewal: an owner silent this long is taken for dead (ms). */
  leaseMs: number;
  /** Runs asked to cancel that this instance owns (the pushed cancel may have been missed). */
  onCancelRequested(runIds: string[]): void;
  /** An owner whose lease ran out: its runs are failed and their conversations released. */
  recoverOwner(ownerId: string): Promise<void>;
  warn(message: string): void;
}

export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_LEASE_MS = 5000;

/**
 * This instance's lease on its runs: renewed every heartbeat; at each beat the owners whose lease
 * ran out are recovered (the store's compare-and-set makes sure one sweeper fails each run), and
 * the cancel requests this instance may have missed are picked up.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: LeaseOptions) {
    if (!(o.leaseMs >= 2 * o.heartbeatMs)) throw new RangeError('the lease must last at least two heartbeats');
  }

  /** Takes the lease (first beat) and keeps it. */
  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = null;
        this.schedule();
      });
    }, this.o.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    try {
      const cancels = await this.o.store.renewLease(this.o.instanceId, new Date(now + this.o.leaseMs).toISOString());
      if (cancels.length) this.o.onCancelRequested(cancels);
    } catch (err) {
      this.o.warn(`renewing the lease of instance ${this.o.instanceId} failed: ${message(err)}`);
      return;
    }
    let dead: string[];
    try {
      dead = await this.o.store.expiredOwners(new Date(now).toISOString());
    } catch (err) {
      this.o.warn(`looking for lost instances failed: ${message(err)}`);
      return;
    }
    for (const owner of dead) {
      if (owner === this.o.instanceId) continue;
      try {
        await this.o.recoverOwner(owner);
      } catch (err) {
        this.o.warn(`recovering the runs of lost instance ${owner} failed: ${message(err)}`);
      }
    }
  }

  /** Stops beating; with `release`, drops the lease (a clean stop: nothing of ours is left running). Idempotent. */
  async stop(release: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    if (release) {
      try {
        await this.o.store.dropLease(this.o.instanceId);
      } catch (err) {
        this.o.warn(`dropping the lease of instance ${this.o.instanceId} failed: ${message(err)}`);
      }
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
