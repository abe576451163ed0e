import type { Redis } from 'ioredis';

export interface CancelBusOptions {
  /** Key prefix; the channel is `${prefix}cancel`. */
  prefix: string;
  warn?: (message: string) => void;
  /** CLIENT SETNAME of the subscriber connection (to find it in CLIENT LIST). */
  name?: string;
}

export type CancelHandler = (runId: string) => void;

/**
 * Cancel requests across instances, pushed over Redis pub/sub: the instance that gets a cancel for
 * a run it does not own publishes it, and the owner's handler cancels the run. Every instance
 * gets every cancel (also its own) and ignores runs it does not hold. Pub/sub keeps nothing: a
 * cancel for a run whose owner is down is lost, which is what the run's recovery handles anyway.
 *
 * Subscribing needs a connection of its own (a subscribed connection takes no other command);
 * ioredis reconnects it and subscribes again by itself.
 */
export class CancelBus {
  readonly channel: string;
  private readonly sub: Redis;
  private readonly handlers = new Set<CancelHandler>();
  private readonly subscribed: Promise<void>;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly o: CancelBusOptions,
  ) {
    this.channel = `${o.prefix}cancel`;
    this.sub = redis.duplicate(o.name ? { connectionName: o.name } : {});
    this.sub.on('error', (e: Error) => o.warn?.(`redis (cancel bus): ${e.message}`));
    this.sub.on('message', (channel: string, runId: string) => {
      if (channel !== this.channel) return;
      for (const h of this.handlers) {
        try {
          h(runId);
        } catch (e) {
          o.warn?.(`cancel handler for run ${runId} threw: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    });
    this.subscribed = this.sub.subscribe(this.channel).then(
      () => undefined,
      (e: unknown) => o.warn?.(`redis SUBSCRIBE ${this.channel}: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  /** Resolves once this instance receives cancels (the first SUBSCRIBE answered). */
  ready(): Promise<void> {
    return this.subscribed;
  }

  /** Tells every instance to cancel the run; resolves with how many instances got it (rejects when Redis does not answer). */
  publish(runId: string): Promise<number> {
    if (this.closed) return Promise.reject(new Error('cancel bus is closed'));
    return this.redis.publish(this.channel, runId);
  }

  /** Returns an unsubscribe. */
  onCancel(handler: CancelHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    try {
      await this.sub.quit();
    } catch {
      this.sub.disconnect();
    }
  }
}
