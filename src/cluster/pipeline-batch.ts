import type { ChainableCommander, Redis } from 'ioredis';

/** One command's reply as a pipeline gives it. */
export type Reply = [error: Error | null, result: unknown];

interface Part {
  count: number;
  resolve: (replies: Reply[]) => void;
  reject: (err: unknown) => void;
}

const batches = new WeakMap<Redis, PipelineBatch>();

/**
 * One pipeline per event-loop turn for everything the live runs write to Redis. Each run's
 * publisher writing its own pipeline cost, at 30 frames/s for hundreds of runs, thousands of
 * pipelines, socket writes and reply batches a second; together they are one of each per turn.
 * Commands of one caller stay in its order, one after the other on the one connection; each caller
 * gets its own commands' replies, and a pipeline that fails as a whole fails every caller in it.
 */
export class PipelineBatch {
  private pipeline: ChainableCommander | null = null;
  private parts: Part[] = [];
  private due: Array<() => void> = [];
  private scheduled = false;

  private constructor(private readonly redis: Redis) {}

  /** The batch of this client (publishers of one client share it). */
  static of(redis: Redis): PipelineBatch {
    let b = batches.get(redis);
    if (!b) batches.set(redis, (b = new PipelineBatch(redis)));
    return b;
  }

  /** Runs `fn` in this turn's check phase, just before the turn's pipeline goes out (`fn` may `send`). */
  later(fn: () => void): void {
    this.due.push(fn);
    this.schedule();
  }

  /** `add` appends commands to the turn's pipeline and says how many; resolves with their replies, in order. */
  send(add: (p: ChainableCommander) => number): Promise<Reply[]> {
    const p = (this.pipeline ??= this.redis.pipeline());
    const count = add(p);
    this.schedule();
    return new Promise((resolve, reject) => this.parts.push({ count, resolve, reject }));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const due = this.due;
    this.due = [];
    for (const fn of due) fn();
    const p = this.pipeline;
    const parts = this.parts;
    this.pipeline = null;
    this.parts = [];
    if (!p || parts.length === 0) return;
    p.exec().then(
      (replies) => {
        // Parse, don't trust: missing replies must not read as writes that succeeded.
        if (!replies || replies.length < parts.reduce((n, part) => n + part.count, 0)) {
          const err = new Error(`redis: a pipeline answered ${replies?.length ?? 'no'} replies for its commands`);
          for (const part of parts) part.reject(err);
          return;
        }
        let at = 0;
        for (const part of parts) {
          part.resolve(replies.slice(at, at + part.count) as Reply[]);
          at += part.count;
        }
      },
      (err: unknown) => {
        for (const part of parts) part.reject(err);
      },
    );
  }
}
