import type { Redis } from 'ioredis';
import type { LogEntry, RunEnd, RunLog, RunLogListener } from '../actors/run-log.js';
import type { RunTransition } from '../store/types.js';
import { PipelineBatch } from './pipeline-batch.js';
import { encode, runStreamKey } from './run-stream.js';

/** Letta keeps a run's stream for 3 hours after it ends. */
export const DEFAULT_RETENTION_SECONDS = 3 * 60 * 60;

export interface PublisherOptions {
  /** Key prefix, e.g. `letta-stream:` (one per deployment). */
  prefix: string;
  /** TTL of the stream, refreshed with every batch: after the end it is the retention. */
  retentionSeconds?: number;
  /** Write failures (they are retried; the run never sees them). */
  warn?: (message: string) => void;
  /** After failing this long, entries are dropped (the run has long moved on). */
  giveUpAfterMs?: number;
}

interface Pending {
  /** Given when first sent, kept for retries. */
  id: string | null;
  fields: string[];
}

const isDuplicate = (e: Error): boolean => /equal or smaller/i.test(e.message);

/**
 * Copies a live run's log into a Redis Stream, so any instance can serve it (see remote-run-logs.ts).
 *
 * Subscribe it to the run's log: `log.subscribe(new RunLogPublisher(redis, log, o))`. The run only
 * pushes into an array; the entries of one event-loop turn go out in the turn's pipeline shared by
 * all runs (pipeline-batch.ts; XADD each, then EXPIRE when due), one batch at a time so a retry
 * cannot reorder. Entry IDs are chosen here (not `*`)
 * when an entry is first sent, so a pipeline resent after a reconnect cannot write an entry twice:
 * Redis refuses an ID at or below the stream's top, and that refusal counts as written. They start
 * above the stream's top (read once), so another instance writing on (a recovered run) is not
 * refused for a clock behind the first writer's. The buffer holds the same strings the log holds,
 * so an outage costs little memory.
 */
export class RunLogPublisher implements RunLogListener {
  readonly key: string;
  private pending: Pending[] = [];
  private scheduled = false;
  private writing = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failingSince: number | null = null;
  private backoffMs = 100;
  private lastMs = 0;
  private lastSub = 0;
  private lastStateSeq = 0;
  private floorRead = false;
  private endPending: RunEnd | null = null;
  private drained: Array<() => void> = [];
  private readonly retention: number;
  private readonly batch: PipelineBatch;
  /** When the stream's TTL was last set (ms; 0: never). */
  private expiredAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: RunLog,
    private readonly o: PublisherOptions,
  ) {
    this.key = runStreamKey(o.prefix, log.runId);
    this.retention = o.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    this.batch = PipelineBatch.of(redis);
    this.enqueue(encode.agent(log.agentId));
  }

  frame(entry: LogEntry): void {
    this.enqueue(encode.frame(entry));
  }

  state(t: RunTransition): void {
    if (this.queueState(t)) this.schedule();
  }

  private queueState(t: RunTransition): boolean {
    if (t.seq <= this.lastStateSeq) return false;
    this.lastStateSeq = t.seq;
    this.pending.push({ id: null, fields: encode.state(t) });
    return true;
  }

  /** Written at the next batch, after the states entered as the log closed (the log no longer tells listeners). */
  end(end: RunEnd): void {
    this.endPending = end;
    this.schedule();
  }

  /** Resolves once everything so far is written, or after `timeoutMs` (with a warning) when Redis is down. */
  flush(timeoutMs = 5000): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.o.warn?.(`run ${this.log.runId}: ${this.pending.length} entries not yet written to Redis at shutdown`);
        resolve();
      }, timeoutMs);
      this.drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
      // Do not wait for a backoff timer at shutdown.
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        void this.write();
      }
    });
  }

  private idle(): boolean {
    return this.pending.length === 0 && this.endPending === null && !this.writing;
  }

  /** A stream ID after the previous one: the clock's ms, or the previous ms with the next sequence. */
  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSub = 0;
    } else this.lastSub++;
    return `${this.lastMs}-${this.lastSub}`;
  }

  /** IDs from here on go above the stream's top entry, if there is one. */
  private async readFloor(): Promise<void> {
    const [[err, reply]] = (await this.batch.send((p) => (p.xrevrange(this.key, '+', '-', 'COUNT', 1), 1))) as [[Error | null, unknown]];
    if (err) throw err;
    const [top] = (reply ?? []) as Array<[string, string[]]>;
    const [ms, sub] = (top?.[0] ?? '0-0').split('-').map(Number) as [number, number];
    if (ms > this.lastMs || (ms === this.lastMs && sub > this.lastSub)) {
      this.lastMs = ms;
      this.lastSub = sub;
    }
  }

  private enqueue(fields: string[]): void {
    this.pending.push({ id: null, fields });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.retryTimer) return;
    this.scheduled = true;
    this.batch.later(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private async write(): Promise<void> {
    if (this.writing) return;
    if (this.endPending) {
      for (const t of this.log.transitions) this.queueState(t);
      this.pending.push({ id: null, fields: encode.end(this.endPending) });
      this.endPending = null;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.settle();
    this.writing = true;
    let failedFrom = -1;
    let error = '';
    try {
      if (!this.floorRead) {
        await this.readFloor();
        this.floorRead = true;
      }
      // The TTL: set with the first batch and the end's, and refreshed well before it could lapse
      // (not with every batch: that doubled the commands).
      const now = Date.now();
      const expire = batch[batch.length - 1]!.fields[0] === 'end' || now - this.expiredAt >= Math.min(60_000, (this.retention * 1000) / 2);
      const results = await this.batch.send((p) => {
        for (const e of batch) p.xadd(this.key, (e.id ??= this.nextId()), ...e.fields);
        if (expire) p.expire(this.key, this.retention);
        return batch.length + (expire ? 1 : 0);
      });
      for (let i = 0; i < batch.length; i++) {
        const err = results[i]?.[0];
        if (err && !isDuplicate(err)) {
          failedFrom = i;
          error = err.message;
          break;
        }
      }
      const expireErr = expire ? results[batch.length]?.[0] : null;
      if (failedFrom < 0 && expireErr) this.o.warn?.(`run ${this.log.runId}: EXPIRE failed: ${expireErr.message}`);
      if (failedFrom < 0 && expire && !expireErr) this.expiredAt = now;
    } catch (e) {
      failedFrom = 0;
      error = e instanceof Error ? e.message : String(e);
    }
    this.writing = false;
    if (failedFrom < 0) {
      this.failingSince = null;
      this.backoffMs = 100;
      return this.settle();
    }
    this.retry(batch.slice(failedFrom), error);
  }

  private retry(failed: Pending[], error: string): void {
    const now = Date.now();
    this.failingSince ??= now;
    if (now - this.failingSince > (this.o.giveUpAfterMs ?? 10 * 60_000)) {
      this.o.warn?.(`run ${this.log.runId}: giving up on ${failed.length + this.pending.length} entries for Redis (${error})`);
      this.pending = [];
      this.failingSince = null;
      return this.settle();
    }
    this.o.warn?.(`run ${this.log.runId}: writing ${failed.length} entries to Redis failed (${error}); retrying in ${this.backoffMs} ms`);
    this.pending = failed.concat(this.pending);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.write();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
  }

  /** Goes on with what arrived meanwhile, or tells flush() that all is written. */
  private settle(): void {
    if (this.pending.length > 0 || this.endPending) return this.schedule();
    const waiters = this.drained;
    this.drained = [];
    for (const w of waiters) w();
  }
}
