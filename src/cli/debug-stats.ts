import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Store } from '../store/types.js';

/**
 * Opt-in instrumentation for the benchmark (`LETTA_STREAM_DEBUG_STATS=1`): event-loop delay,
 * memory and store round trips, served on `GET /debug/stats` (`?reset=1` starts a new window).
 * Without the variable none of this exists: no histogram, no store wrapper, no route.
 */
export const DEBUG_STATS_ENV = 'LETTA_STREAM_DEBUG_STATS';

export function debugStatsEnabled(env: NodeJS.ProcessEnv): boolean {
  return env[DEBUG_STATS_ENV] === '1';
}

/** Counters the store wrapper and the PostgreSQL pool add to. */
export interface StoreCounters {
  /** Calls of `Store` methods (a transaction's inner calls included; `transaction` itself not). */
  calls: number;
  /** SQL statements sent to PostgreSQL (each one a network round trip; BEGIN/COMMIT included). */
  queries: number;
  /** Time from sending each SQL statement to its answer (ms; no pool wait). */
  queryMs: number;
  /** Per `Store` method (and `transaction`): calls, and the time until each call settled (ms, pool waits included). */
  methods: Record<string, { calls: number; ms: number }>;
}

/**
 * A 10 ms timer's gaps, each in wall time and in this process's CPU time: a gap much longer in wall
 * time than in CPU time is time the process waited for a core (other processes ran), not a turn of
 * its own work. Both include the 10 ms interval, like the lag histogram.
 */
class TurnProbe {
  private wall: number[] = [];
  private cpu: number[] = [];
  private lastWall = performance.now();
  private lastCpu = cpuMs();
  private readonly timer = setInterval(() => this.tick(), 10).unref();

  private tick(): void {
    const w = performance.now();
    const c = cpuMs();
    this.wall.push(w - this.lastWall);
    this.cpu.push(c - this.lastCpu);
    this.lastWall = w;
    this.lastCpu = c;
  }

  /** p99 and max of the gaps in wall and CPU time; of the gaps over 50 ms (wall), the share the process was on a core. */
  summary(): { wall_p99: number; cpu_p99: number; cpu_max: number; long_gaps: number; long_gap_cpu_share: number } {
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
    let longWall = 0;
    let longCpu = 0;
    let long = 0;
    this.wall.forEach((w, i) => {
      if (w <= 50) return;
      long++;
      longWall += w;
      longCpu += this.cpu[i]!;
    });
    const r = (n: number) => Math.round(n * 100) / 100;
    return { wall_p99: r(p(this.wall, 0.99)), cpu_p99: r(p(this.cpu, 0.99)), cpu_max: r(Math.max(0, ...this.cpu)), long_gaps: long, long_gap_cpu_share: long ? r(longCpu / longWall) : 0 };
  }

  reset(): void {
    this.wall = [];
    this.cpu = [];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export class DebugStats {
  readonly counters: StoreCounters = { calls: 0, queries: 0, queryMs: 0, methods: {} };
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private since = Date.now();
  private cpuSince = process.cpuUsage();
  private readonly probe = new TurnProbe();

  constructor(private readonly liveRuns: () => number) {
    this.lag.enable();
  }

  /** The current window; `reset` starts a new one (lag histogram and counters). */
  snapshot(reset: boolean): Record<string, unknown> {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage(this.cpuSince);
    const out = {
      window_ms: Date.now() - this.since,
      live_runs: this.liveRuns(),
      /** This process's CPU time in the window (user + system): what its share of the machine was. */
      cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      /** The 10 ms probe's gaps (wall and CPU time of this process; see TurnProbe). */
      gaps_ms: this.probe.summary(),
      lag_ms: { p50: ms(this.lag.percentile(50)), p99: ms(this.lag.percentile(99)), max: ms(this.lag.max), mean: ms(this.lag.mean) },
      memory: { rss: mem.rss, heap_used: mem.heapUsed, external: mem.external, array_buffers: mem.arrayBuffers },
      store: { calls: this.counters.calls, queries: this.counters.queries, query_ms: Math.round(this.counters.queryMs), methods: this.counters.methods },
    };
    if (reset) {
      this.lag.reset();
      this.probe.reset();
      this.counters.calls = 0;
      this.counters.queries = 0;
      this.counters.queryMs = 0;
      this.counters.methods = {};
      this.since = Date.now();
      this.cpuSince = process.cpuUsage();
    }
    return out;
  }

  stop(): void {
    this.lag.disable();
    this.probe.stop();
  }
}

/** `store` with every method call counted (also the calls made on a transaction's view). */
export function countingStore(store: Store, counters: StoreCounters): Store {
  const wrap = (target: Store): Store =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver) as unknown;
        if (typeof value !== 'function' || key === 'constructor') return value;
        if (key === 'close') return (value as () => Promise<void>).bind(t);
        if (key === 'transaction') {
          return <T>(fn: (tx: Store) => Promise<T>) => timed(counters, 'transaction', t.transaction((tx) => fn(wrap(tx))));
        }
        return (...args: unknown[]) => {
          counters.calls++;
          return timed(counters, String(key), (value as (...a: unknown[]) => unknown).apply(t, args));
        };
      },
    });
  return wrap(store);
}

/** Adds the call, and once it settles its time, to `counters.methods[name]`. */
function timed<T>(counters: StoreCounters, name: string, result: T): T {
  const m = (counters.methods[name] ??= { calls: 0, ms: 0 });
  m.calls++;
  if (!(result instanceof Promise)) return result;
  const t0 = performance.now();
  const add = () => void (m.ms += performance.now() - t0);
  result.then(add, add);
  return result;
}
