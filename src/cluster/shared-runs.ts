import type { Redis } from 'ioredis';
import { RunLog, type LogEntry, type RunEnd } from '../actors/run-log.js';
import type { RunTransition } from '../store/types.js';
import { CancelBus } from './cancel-bus.js';
import { RemoteRunLogs } from './remote-run-logs.js';
import { RunLogPublisher } from './run-log-publisher.js';

/**
 * What instances share about runs besides the database: run logs any instance can serve, and
 * cancels pushed to a run's owner. The service uses only this interface; Redis implements it.
 */
export interface SharedRuns {
  /** Copies a live run's log where every instance can read it (from its first entry). */
  publish(log: RunLog): void;
  /** A local mirror of a run another instance serves or served, or null when none is kept. */
  follow(runId: string): Promise<RunLog | null>;
  /** Tells the run's owner, wherever it runs, to cancel it. */
  cancel(runId: string): Promise<void>;
  onCancel(handler: (runId: string) => void): void;
  /**
   * Ends a lost owner's run in its shared log: `tail` (stamped, following the shared entries)
   * and `end`, so every instance's subscribers get the end.
   */
  finish(runId: string, agentId: string, tail: readonly LogEntry[], last: RunTransition | null, end: RunEnd): Promise<void>;
  /** Writes what is buffered (bounded wait), then lets go of Redis. Idempotent. */
  close(): Promise<void>;
}

export interface RedisSharedRunsOptions {
  prefix: string;
  /** How long a run's stream stays after its end (s); Letta keeps 3 h. */
  retentionSeconds?: number;
  warn(message: string): void;
}

export class RedisSharedRuns implements SharedRuns {
  private readonly remote: RemoteRunLogs;
  private readonly bus: CancelBus;
  private readonly publishers = new Set<RunLogPublisher>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly o: RedisSharedRunsOptions,
  ) {
    this.remote = new RemoteRunLogs(redis, { prefix: o.prefix, warn: o.warn, name: 'letta-stream-reader' });
    this.bus = new CancelBus(redis, { prefix: o.prefix, warn: o.warn, name: 'letta-stream-cancels' });
  }

  /** Resolves once cancels reach this instance. */
  ready(): Promise<void> {
    return this.bus.ready();
  }

  publish(log: RunLog): void {
    const publisher = new RunLogPublisher(this.redis, log, this.publisherOptions());
    this.publishers.add(publisher);
    log.subscribe({
      frame: (e) => publisher.frame(e),
      state: (t) => publisher.state(t),
      end: (end) => {
        publisher.end(end);
        void publisher.flush(60_000).then(() => this.publishers.delete(publisher));
      },
    });
  }

  follow(runId: string): Promise<RunLog | null> {
    return this.remote.follow(runId);
  }

  async cancel(runId: string): Promise<void> {
    await this.bus.publish(runId);
  }

  onCancel(handler: (runId: string) => void): void {
    this.bus.onCancel(handler);
  }

  async finish(runId: string, agentId: string, tail: readonly LogEntry[], last: RunTransition | null, end: RunEnd): Promise<void> {
    // A log holding what the stream holds, so the publisher writes only what follows it.
    const shared = await this.remote.follow(runId);
    const log = new RunLog(runId, agentId);
    for (let seq = 1; shared && seq <= shared.lastSeq; seq++) log.appendEntry(shared.entry(seq) as LogEntry);
    const publisher = new RunLogPublisher(this.redis, log, this.publisherOptions());
    log.subscribe({ frame: (e) => publisher.frame(e), state: (t) => publisher.state(t), end: (e) => publisher.end(e) }, log.lastSeq);
    for (const e of tail) log.appendEntry(e);
    if (last) log.applyTransition(last);
    log.close(end);
    await publisher.flush(5000);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.publishers].map((p) => p.flush(3000)));
    await this.bus.close();
    await this.remote.close();
    this.redis.disconnect();
  }

  private publisherOptions() {
    return { prefix: this.o.prefix, warn: this.o.warn, ...(this.o.retentionSeconds !== undefined ? { retentionSeconds: this.o.retentionSeconds } : {}) };
  }
}
