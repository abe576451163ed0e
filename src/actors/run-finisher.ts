import type { StopReasonType } from '../letta/frames.js';
import type { AgentRecord, PendingToolCall, Store, UsageTotals } from '../store/types.js';

/** A run's end as the store keeps it: the run's terminal status and what its agent becomes. */
export interface RunEnding {
  runId: string;
  agentId: string;
  status: 'completed' | 'failed' | 'cancelled';
  stopReason: StopReasonType;
  usage: UsageTotals;
  error: string | null;
  /** The agent awaits approval of these calls (held by this run); null: the agent is idle. */
  pending: PendingToolCall[] | null;
}

/** The run's `error` text for a write the store refused (full disk, locked database, …). */
export function storeFailure(what: string, err: unknown): string {
  return `the store write failed (${what}): ${err instanceof Error ? err.message : String(err)}`;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

/**
 * Writes runs' ends, and keeps the ones the store refused until they are written: retried on a
 * timer (backing off) and before every agent change, so an agent is never held by a run that has
 * ended. Until then `view` shows the agent as the unwritten end leaves it.
 */
export class RunFinisher {
  private readonly unwritten = new Map<string, RunEnding>();
  private timer: NodeJS.Timeout | null = null;
  private delay = RETRY_FIRST_MS;
  /** The retry under way: callers share it rather than writing the same ends twice at once. */
  private retrying: Promise<boolean> | null = null;

  constructor(
    private readonly store: Store,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /**
   * Writes `end`; when the store refuses, the run has failed (its end is not stored, and what the
   * client is told must match what will be): that failed end is kept and retried. Returns the
   * end that stands.
   */
  async settle(end: RunEnding): Promise<RunEnding> {
    try {
      await this.write(end);
      return end;
    } catch (err) {
      const failed: RunEnding = {
        ...end,
        status: 'failed',
        stopReason: 'error',
        error: end.status === 'failed' && end.error?.startsWith('the store write failed') ? end.error : storeFailure("writing the run's end", err),
        pending: null,
      };
      this.unwritten.set(end.runId, failed);
      this.warn(`run ${end.runId}: ${failed.error}; retrying`);
      this.schedule();
      return failed;
    }
  }

  /** Tries every unwritten end once more; true when none is left. Never rejects. */
  retry(): Promise<boolean> {
    this.retrying ??= this.retryOnce().finally(() => {
      this.retrying = null;
    });
    return this.retrying;
  }

  private async retryOnce(): Promise<boolean> {
    for (const [runId, end] of [...this.unwritten]) {
      try {
        await this.write(end);
        this.unwritten.delete(runId);
      } catch {
        break; // the store still refuses: leave the rest for the timer
      }
    }
    if (this.unwritten.size === 0) {
      this.delay = RETRY_FIRST_MS;
      return true;
    }
    return false;
  }

  /**
   * An agent (or one of its conversations) as its runs' ends leave it, written or not: a run whose
   * end is unwritten does not hold it.
   */
  view<T extends Pick<AgentRecord, 'state' | 'activeRunId' | 'pendingToolCalls'>>(holder: T): T {
    const end = holder.state === 'running' && holder.activeRunId ? this.unwritten.get(holder.activeRunId) : undefined;
    if (!end) return holder;
    return { ...holder, state: end.pending ? 'awaitingApproval' : 'idle', activeRunId: end.pending ? end.runId : null, pendingToolCalls: end.pending ?? [] };
  }

  get pendingCount(): number {
    return this.unwritten.size;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Compare-and-set both: a run already ended, or an agent that moved on, is left as it is. */
  private async write(end: RunEnding): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.finishRun(end.runId, end.status, end.stopReason, end.usage, end.error);
      await tx.releaseAgent(end.agentId, end.runId, end.pending);
    });
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retry()
        .then((done) => {
          if (done) return;
          this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
          this.schedule();
        })
        .catch((err: unknown) => this.warn(`retrying runs' ends failed: ${err instanceof Error ? err.message : String(err)}`));
    }, this.delay);
    this.timer.unref();
  }
}
