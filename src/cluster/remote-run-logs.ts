import type { Redis } from 'ioredis';
import { type RunEnd, RunLog } from '../actors/run-log.js';
import { type RawEntry, decode, parseXRead, runStreamKey } from './run-stream.js';

export interface RemoteRunLogsOptions {
  /** Key prefix, the publishers' (see run-log-publisher.ts). */
  prefix: string;
  /** How long an ended mirror stays for late readers before it is read again from Redis (ms). */
  graceMs?: number;
  /** XREAD BLOCK timeout (ms): a safety net only, a newly followed run unblocks the read at once. */
  blockMs?: number;
  /** Entries per stream per XRANGE page / XREAD. */
  count?: number;
  warn?: (message: string) => void;
  /** CLIENT SETNAME of the reading connection (to find it in CLIENT LIST). */
  name?: string;
}

interface Followed {
  runId: string;
  log: RunLog;
  lastId: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Local mirrors of runs that other instances serve, built from their Redis Streams; readers use
 * the mirror's `subscribe(listener, afterSeq)` as they would a live run's log.
 *
 * One per instance. The backlog is read with XRANGE on the shared connection; live entries of
 * every followed run come through ONE dedicated connection doing one
 * `XREAD BLOCK … STREAMS k1 k2 … id1 id2 …`. When a run is added, that read is interrupted with
 * CLIENT UNBLOCK (from the shared connection) and re-issued with the new set, so the new run does
 * not wait for the block timeout. A run leaves the set at its end entry; its mirror is dropped
 * `graceMs` later (after the end a RunLog holds no listener, so nobody is cut off: readers
 * holding it page through it as before).
 */
export class RemoteRunLogs {
  private readonly mirrors = new Map<string, Promise<RunLog | null>>();
  /** The runs being read live, by stream key. */
  private readonly followed = new Map<string, Followed>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private blocking: Redis | null = null;
  private blockingId: number | null = null;
  /** Counts the XREADs issued, so an unblock knows whether the read it targets is still the one in flight. */
  private readGen = 0;
  private reading = false;
  private wakeIdle: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly o: RemoteRunLogsOptions,
  ) {}

  /** A mirror of the run's log (shared by every caller), or null when Redis holds no such run. */
  follow(runId: string): Promise<RunLog | null> {
    if (this.closed) return Promise.reject(new Error('remote run logs are closed'));
    const known = this.mirrors.get(runId);
    if (known) return known;
    const p = this.load(runId).then(
      (log) => {
        if (!log) this.mirrors.delete(runId);
        return log;
      },
      (e: unknown) => {
        this.mirrors.delete(runId);
        throw e;
      },
    );
    this.mirrors.set(runId, p);
    return p;
  }

  /**
   * Stops reading a run and ends its mirror with `end`: for the caller that learns the run's owner
   * died (its stream would only stop growing, never end). Returns false for a run not read live.
   */
  abandon(runId: string, end: RunEnd): boolean {
    const key = runStreamKey(this.o.prefix, runId);
    const f = this.followed.get(key);
    if (!f) return false;
    this.followed.delete(key);
    f.log.close(end);
    this.release(runId);
    return true;
  }

  /** How many runs are read live now (for tests and metrics). */
  get following(): number {
    return this.followed.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wakeIdle?.();
    // disconnect, not QUIT: QUIT would queue behind the blocked XREAD.
    this.blocking?.disconnect();
    await this.loop;
  }

  private get count(): number {
    return this.o.count ?? 1000;
  }

  private async load(runId: string): Promise<RunLog | null> {
    const key = runStreamKey(this.o.prefix, runId);
    let log: RunLog | null = null;
    let lastId = '';
    for (;;) {
      const page = await this.redis.xrange(key, lastId ? `(${lastId}` : '-', '+', 'COUNT', this.count);
      for (const [id, fields] of page) {
        // The publisher's first entry names the agent.
        log ??= new RunLog(runId, decodeAgent(fields));
        lastId = id;
        this.apply(log, fields);
      }
      if (page.length < this.count) break;
    }
    if (!log) return null;
    if (log.end) this.release(runId);
    else {
      this.followed.set(key, { runId, log, lastId });
      this.wake();
    }
    return log;
  }

  private apply(log: RunLog, fields: string[]): void {
    try {
      const item = decode(fields);
      if (item?.kind === 'frame') log.appendEntry(item.entry);
      else if (item?.kind === 'state') log.applyTransition(item.transition);
      else if (item?.kind === 'end') log.close(item.end);
    } catch (e) {
      // A bad entry or a subscriber that threw: the other runs and subscribers go on.
      this.o.warn?.(`run ${log.runId}: mirroring an entry failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private release(runId: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.mirrors.delete(runId);
    }, this.o.graceMs ?? 30_000);
    t.unref();
    this.timers.add(t);
  }

  /** The followed set changed: start the reader, or re-issue its XREAD with the new set. */
  private wake(): void {
    if (this.closed) return;
    this.loop ??= this.read();
    this.wakeIdle?.();
    if (this.reading) void this.unblock(this.readGen);
  }

  private async unblock(gen: number): Promise<void> {
    // The XREAD may not have reached Redis yet (then UNBLOCK answers 0): try again briefly.
    for (let i = 0; i < 50 && !this.closed && this.reading && this.readGen === gen; i++) {
      try {
        if (this.blockingId !== null && (await this.redis.client('UNBLOCK', this.blockingId)) === 1) return;
      } catch (e) {
        this.o.warn?.(`redis CLIENT UNBLOCK: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      await sleep(2);
    }
  }

  private async read(): Promise<void> {
    const blocking = this.redis.duplicate(this.o.name ? { connectionName: this.o.name } : {});
    this.blocking = blocking;
    blocking.on('error', (e: Error) => this.o.warn?.(`redis (run log reader): ${e.message}`));
    // A reconnected connection has a new client id.
    blocking.on('ready', () => (this.blockingId = null));
    let backoff = 100;
    while (!this.closed) {
      if (this.followed.size === 0) {
        await new Promise<void>((r) => (this.wakeIdle = r));
        this.wakeIdle = null;
        continue;
      }
      const keys = [...this.followed.keys()];
      const ids = keys.map((k) => (this.followed.get(k) as Followed).lastId);
      try {
        this.blockingId ??= Number(await blocking.client('ID'));
        this.readGen++;
        this.reading = true;
        const reply = await blocking.call('XREAD', 'COUNT', this.count, 'BLOCK', this.o.blockMs ?? 1000, 'STREAMS', ...keys, ...ids);
        this.reading = false;
        for (const [key, entries] of parseXRead(reply)) this.received(key, entries);
        backoff = 100;
      } catch (e) {
        this.reading = false;
        if (this.closed) break;
        this.o.warn?.(`redis XREAD: ${e instanceof Error ? e.message : String(e)}; retrying in ${backoff} ms`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private received(key: string, entries: RawEntry[]): void {
    const f = this.followed.get(key);
    if (!f) return;
    for (const [id, fields] of entries) {
      f.lastId = id;
      this.apply(f.log, fields);
    }
    if (f.log.end) {
      this.followed.delete(key);
      this.release(f.runId);
    }
  }
}

function decodeAgent(fields: readonly string[]): string {
  return fields[0] === 'agent' ? (fields[1] ?? '') : '';
}
