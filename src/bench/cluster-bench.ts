import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { progress } from './harness.js';
import { LagProbe, type Lag } from './lag-probe.js';

/**
 * Issue 11's benchmark: one instance on SQLite beside two instances on PostgreSQL + Redis, all
 * real `letta-stream serve` processes (built from dist/) with the opt-in instrumentation
 * (LETTA_STREAM_DEBUG_STATS=1: event-loop lag, memory, store round trips on GET /debug/stats),
 * streaming from one built-in Anthropic server in a process of its own.
 */

const BIN = fileURLToPath(new URL('../../bin/letta-stream.js', import.meta.url));
const MODEL = fileURLToPath(new URL('./model-server.js', import.meta.url));
const PG_ADMIN_URL = process.env.LETTA_STREAM_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.LETTA_STREAM_BENCH_REDIS ?? 'redis://127.0.0.1:6379';

type Frame = { type?: string; message_type?: string; run_id?: string; request_id?: string; code?: string; message?: string; status?: string };
type Json = Record<string, any>;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en');

/** A bench WebSocket client: counts Letta frames, resolves waiters on matching frames. */
export class Client {
  frames = 0;
  /** Each answered run.start: ms from sending it to its answer. */
  startMs: number[] = [];
  private waiters = new Set<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void }>();
  private n = 0;
  /** Waiters that need every frame parsed. */
  private parseAll = 0;
  constructor(readonly ws: WebSocket) {
    // 100 clients in this one process read every frame: only the frames a waiter may want are
    // parsed (answers, run.end, stop_reason), so the clients are not what limits the rate.
    ws.on('message', (data) => {
      const s = data.toString();
      if (s.includes('"message_type"')) this.frames++;
      if (!this.waiters.size || !(this.parseAll > 0 || s.includes('"request_id"') || s.includes('"run.end"') || s.includes('"stop_reason"'))) return;
      const f = JSON.parse(s) as Frame;
      for (const w of this.waiters) if (w.pred(f)) (this.waiters.delete(w), w.resolve(f));
    });
  }
  static open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => ws.once('open', () => resolve(new Client(ws))).once('error', reject));
  }
  wait(pred: (f: Frame) => boolean, ms = 300_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (f: Frame) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => (this.waiters.delete(w), reject(new Error(`no matching frame within ${ms} ms`))), ms);
      this.waiters.add(w);
    });
  }
  /** run.start; a conflict (the agent's last run still letting go) is retried. */
  async start(agent: string, text: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const request_id = `r${++this.n}`;
      const answer = this.wait((f) => f.request_id === request_id);
      const t = performance.now();
      this.ws.send(JSON.stringify({ type: 'run.start', request_id, agent_id: agent, messages: [{ role: 'user', content: text }] }));
      const f = (await answer) as Frame & { run_id: string };
      this.startMs.push(performance.now() - t);
      if (f.type === 'run.started') return f.run_id;
      if (f.code !== 'conflict' || attempt > 500) throw new Error(`run.start: ${JSON.stringify(f)}`);
      await sleep(20);
    }
  }
  /** The run's first Letta frame on this client. */
  async firstFrame(runId: string): Promise<void> {
    this.parseAll++;
    try {
      await this.wait((f) => f.run_id === runId && f.message_type !== undefined, 60_000);
    } finally {
      this.parseAll--;
    }
  }
  /** run.subscribe; answers how many times it had to be asked again (an error answer: retried after 20 ms). */
  async subscribe(runId: string): Promise<number> {
    for (let retries = 0; ; retries++) {
      const request_id = `s${++this.n}`;
      const answer = this.wait((f) => f.request_id === request_id);
      this.ws.send(JSON.stringify({ type: 'run.subscribe', request_id, run_id: runId }));
      const f = await answer;
      if (f.type === 'run.subscribed') return retries;
      if (retries >= 50) throw new Error(`run.subscribe: ${JSON.stringify(f)}`);
      await sleep(20);
    }
  }
  ended(runId: string, ms?: number): Promise<Frame> {
    return this.wait((f) => f.type === 'run.end' && f.run_id === runId, ms);
  }
  close(): void {
    this.ws.close();
  }
}

async function http(base: string, p: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${base}${p}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${p}: ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Json) : {};
}

/** What `GET /debug/stats` answers (src/cli/debug-stats.ts). */
export interface Stats {
  window_ms: number;
  live_runs: number;
  cpu_ms?: number;
  gaps_ms?: { wall_p99: number; cpu_p99: number; cpu_max: number; long_gaps: number; long_gap_cpu_share: number };
  lag_ms: { p50: number; p99: number; max: number; mean: number };
  memory: { rss: number; heap_used: number };
  store: { calls: number; queries: number; query_ms?: number; methods?: Record<string, { calls: number; ms: number }> };
}
export const stats = async (base: string, reset = false): Promise<Stats> => (await http(base, `/debug/stats${reset ? '?reset=1' : ''}`)) as unknown as Stats;

export interface Proc {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  name: string;
  output(): string;
  stop(): Promise<void>;
}

/** A child process that prints `… listening on URL` (stdout); rejects with its output if it ends first. */
export async function spawnListening(name: string, args: string[], env: Record<string, string>, marker: RegExp): Promise<Proc> {
  // LETTA_STREAM_BENCH_NODE_ARGS: node flags for the children (e.g. `--cpu-prof --cpu-prof-dir=DIR`).
  const nodeArgs = process.env.LETTA_STREAM_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  // LETTA_STREAM_BENCH_LOG_DIR: each child's output also to DIR/<name>-<pid>.log (as it comes: a crash's last words survive the bench)
  const logDir = process.env.LETTA_STREAM_BENCH_LOG_DIR;
  const logFile = logDir ? path.join(logDir, `${name}-${child.pid}.log`) : null;
  const take = (d: Buffer) => {
    out += d.toString();
    if (logFile) appendFileSync(logFile, d);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  let ended = false;
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      ended = true;
      // an instance that dies mid-bench: say why (its last output), or the bench only sees refused connections
      if (!stopping) process.stderr.write(`\n${name} exited (${signal ?? code}) during the bench; its last output:\n${out.slice(-4000)}\n`);
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    const check = () => {
      const m = marker.exec(out);
      if (m) return resolve(m[1]!);
      if (ended || Date.now() > deadline) return reject(new Error(`${name} did not start:\n${out}`));
      setTimeout(check, 20);
    };
    check();
  });
  return {
    child,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/v1/ws`,
    name,
    output: () => out,
    async stop() {
      if (ended) return;
      stopping = true;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** `n` agents made through `base`, `width` requests at a time. */
export async function makeAgents(base: string, n: number, tag: string, width = 16): Promise<string[]> {
  const ids: string[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        ids[i] = (await http(base, '/v1/agents', { name: `${tag}-${i}` })).id as string;
      }
    }),
  );
  return ids;
}

/** Two setups measured side by side: one instance on SQLite, two on PostgreSQL + Redis. */
interface Setup {
  name: string;
  /** Where runs start (and, for the single instance, where everything happens). */
  a: Proc;
  /** The other instance (the single instance: itself). */
  b: Proc;
}

/**
 * Cancel latency: `count` stalled runs (`#stall 60000`) started on `on`, in batches; each cancelled
 * in turn through `via` (HTTP, Letta's `/messages/cancel` with `run_ids`), timed from sending the
 * cancel to the run's stop_reason frame on the starting client's socket.
 */
async function cancelLatency(on: Proc, via: Proc, agents: string[], count: number): Promise<number[]> {
  const client = await Client.open(on.wsUrl);
  const latencies: number[] = [];
  try {
    for (let done = 0; done < count; ) {
      const batch = agents.slice(0, Math.min(agents.length, count - done));
      const runs = await Promise.all(batch.map((a) => client.start(a, '#stall 60000\nwait for the cancel')));
      await sleep(200); // every run has sent its model request and is stalled
      for (let i = 0; i < runs.length; i++) {
        const runId = runs[i]!;
        const stop = client.wait((f) => f.message_type === 'stop_reason' && f.run_id === runId, 30_000);
        const end = client.ended(runId, 30_000);
        const t = performance.now();
        const r = await http(via.url, `/v1/agents/${batch[i]}/messages/cancel`, { run_ids: [runId] });
        await stop;
        latencies.push(performance.now() - t);
        if (!(r.cancelled_runs as string[] | undefined)?.includes(runId)) throw new Error(`cancel of ${runId}: ${JSON.stringify(r)}`);
        await end;
      }
      done += runs.length;
      progress(`cluster bench: cancel ${on.name} via ${via.name}: ${done}/${count}`);
    }
  } finally {
    client.close();
  }
  return latencies;
}

/**
 * Fan-out: one fast run started on `s.a`; `clients` WebSocket clients, half on each instance,
 * subscribe to it; frames/s = Letta frames delivered to all of them / time to the last run.end.
 */
async function fanout(s: Setup, clients: number, tokens: number, agent: string, repeats: number): Promise<{ rates: number[]; retries: number }> {
  const all = await Promise.all(Array.from({ length: clients }, (_, i) => Client.open(i % 2 === 0 ? s.a.wsUrl : s.b.wsUrl)));
  const rates: number[] = [];
  let retries = 0;
  try {
    for (let r = 0; r < repeats; r++) {
      const before = all.map((c) => c.frames);
      const t0 = performance.now();
      const runId = await all[0]!.start(agent, `#tokens ${tokens}\n#delay 0\nfast`);
      // Subscribing on B in the moment between run.started and the run's first entry in Redis
      // gets not_found (a race in the service, reported with the figures): subscribe once the
      // starting client has the first frame, and retry an error answer.
      const ends = all.map((c) => c.ended(runId));
      await all[0]!.firstFrame(runId);
      retries += (await Promise.all(all.slice(1).map((c) => c.subscribe(runId)))).reduce((x, y) => x + y, 0);
      await Promise.all(ends);
      const ms = performance.now() - t0;
      const delivered = all.reduce((sum, c, i) => sum + c.frames - before[i]!, 0);
      rates.push((delivered / ms) * 1000);
    }
  } finally {
    for (const c of all) c.close();
  }
  return { rates, retries };
}

interface PacedResult {
  wallMs: number;
  /** Until every run.start was answered. */
  startMs: number;
  /** Per instance (one entry for the single instance). */
  perInstance: Array<{
    name: string;
    runs: number;
    /** Before the runs (the idle loop); while they were being started (the burst of run.starts); over the whole run (start to the last end). */
    idleLag: Stats['lag_ms'];
    startLag: Stats['lag_ms'];
    wholeLag: Stats['lag_ms'];
    peakLive: number;
    rssPerRunKb: number;
    heapPerRunKb: number;
    callsPerRun: number;
    queriesPerRun: number;
    /** The instance's CPU time over the whole run (ms), and its share of one core (CPU time / wall time). */
    cpuMs: number;
    cpuShare: number;
    gaps: Stats['gaps_ms'];
    /** run.start sent → answered (ms), on this instance's clients. */
    startP50: number;
    startP99: number;
    /** The store's calls per run by method (calls, mean ms), and the statements' own time (no pool wait). */
    methods: Record<string, { calls: number; ms: number }>;
    queryMs: number;
  }>;
  framesPerRun: number;
  /** Runs whose run.end was not `completed` (a store write that failed, a lease that lapsed, …). */
  notCompleted: number;
  /** An idle Node process's lag over the whole run, the same histogram (lag-probe.ts): the floor. */
  controlLag: Lag;
}

/**
 * `total` concurrent runs paced like a real model (`#tokens N`, `#delay 33`: about 30 tokens/s;
 * 600 tokens, 20 s each, by default), half started on each instance (all on the single one), `width` WebSocket clients per
 * instance; the instances' own figures from /debug/stats (window reset just before).
 */
async function pacedRuns(s: Setup, total: number, agents: string[], tokens: number, width = 10): Promise<PacedResult> {
  const procs = s.a === s.b ? [s.a] : [s.a, s.b];
  const per = total / procs.length;
  const clients = await Promise.all(procs.flatMap((p) => Array.from({ length: width }, () => Client.open(p.wsUrl))));
  const control = LagProbe.start();
  try {
    // warm-up (each instance's first runs allocate what later runs reuse), a quiet moment, then
    // the baseline (memory of the idle instance) and a fresh window
    const warm = agents.slice(0, Math.max(procs.length, total / 10));
    await Promise.all(warm.map(async (agent, i) => {
      const c = clients[(i % procs.length) * width + (i % width)]!;
      await c.ended(await c.start(agent, '#tokens 30\n#delay 5\nwarm up'));
    }));
    await Promise.all(procs.map((p) => stats(p.url, true)));
    await sleep(1000);
    const base = await Promise.all(procs.map((p) => stats(p.url, true))); // its lag: the idle loop's
    control.reset();
    const peak = procs.map(() => ({ live: 0, rss: 0, heap: 0 }));
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await Promise.all(procs.map((p) => stats(p.url)));
        now.forEach((st, i) => {
          if (st.live_runs > peak[i]!.live) peak[i] = { live: st.live_runs, rss: st.memory.rss, heap: st.memory.heap_used };
        });
        await sleep(250);
      }
    })();
    const framesBefore = clients.reduce((sum, c) => sum + c.frames, 0);
    for (const c of clients) c.startMs = [];
    const t0 = performance.now();
    let started = 0;
    let notCompleted = 0;
    let allStarted: (() => void) | null = null;
    const startedAll = new Promise<void>((r) => (allStarted = r));
    const finished = Promise.all(
      agents.slice(0, total).map(async (agent, i) => {
        const p = Math.floor(i / per); // instance
        const c = clients[p * width + (i % width)]!;
        const runId = await c.start(agent, `#tokens ${tokens}\n#delay 33\npaced ${i}`);
        if (++started === total) allStarted!();
        if ((await c.ended(runId, 600_000)).status !== 'completed') notCompleted++;
      }),
    );
    await Promise.race([startedAll, finished]);
    const startMs = performance.now() - t0;
    const burst = await Promise.all(procs.map((p) => stats(p.url)));
    await finished;
    const wallMs = performance.now() - t0;
    sampling = false;
    await sampler;
    const end = await Promise.all(procs.map((p) => stats(p.url)));
    const controlLag = await control.report();
    const framesPerRun = (clients.reduce((sum, c) => sum + c.frames, 0) - framesBefore) / total;
    return {
      wallMs,
      startMs,
      framesPerRun,
      notCompleted,
      controlLag,
      perInstance: procs.map((p, i) => ({
        name: p.name,
        runs: per,
        idleLag: base[i]!.lag_ms,
        startLag: burst[i]!.lag_ms,
        wholeLag: end[i]!.lag_ms,
        peakLive: peak[i]!.live,
        rssPerRunKb: peak[i]!.live ? (peak[i]!.rss - base[i]!.memory.rss) / peak[i]!.live / 1024 : NaN,
        heapPerRunKb: peak[i]!.live ? (peak[i]!.heap - base[i]!.memory.heap_used) / peak[i]!.live / 1024 : NaN,
        callsPerRun: end[i]!.store.calls / per,
        queriesPerRun: end[i]!.store.queries / per,
        cpuMs: end[i]!.cpu_ms ?? NaN,
        cpuShare: (end[i]!.cpu_ms ?? NaN) / end[i]!.window_ms,
        gaps: end[i]!.gaps_ms,
        startP50: pct(clients.slice(i * width, i * width + width).flatMap((c) => c.startMs), 50),
        startP99: pct(clients.slice(i * width, i * width + width).flatMap((c) => c.startMs), 99),
        methods: end[i]!.store.methods ?? {},
        queryMs: end[i]!.store.query_ms ?? 0,
      })),
    };
  } finally {
    for (const c of clients) c.close();
    control.stop();
  }
}

export async function runClusterBench(quick = false): Promise<string[]> {
  const lines: string[] = [];
  // PostgreSQL and Redis must be there; without them the section says so instead of failing the bench.
  const dbName = `ls_bench_${randomBytes(5).toString('hex')}`;
  try {
    await admin((c) => c.query(`CREATE DATABASE ${dbName}`));
  } catch (err) {
    return [`  skipped: PostgreSQL at ${PG_ADMIN_URL} is not reachable (${(err as Error).message}); set LETTA_STREAM_BENCH_PG`];
  }
  const prefix = `ls-bench-${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
  } catch (err) {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch(() => undefined);
    return [`  skipped: Redis at ${REDIS_URL} is not reachable (${(err as Error).message}); set LETTA_STREAM_BENCH_REDIS`];
  }
  const dbUrl = new URL(PG_ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-cluster-bench-'));
  const procs: Proc[] = [];
  try {
    progress('cluster bench: starting the model server and three instances');
    const model = await spawnListening('model', [MODEL], {}, /model listening on (http:\/\/\S+)/);
    procs.push(model);
    const env = { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: model.url, LETTA_STREAM_TOKEN: '', LETTA_STREAM_DEBUG_STATS: '1', LETTA_STREAM_REDIS_PREFIX: prefix };
    const serve = (name: string, extra: string[]) =>
      spawnListening(name, [BIN, 'serve', '--port', '0', '--data-dir', path.join(dir, name), ...extra], env, /listening on (http:\/\/\S+)/).then((p) => (procs.push(p), p));
    const cluster = ['--database-url', dbUrl.toString(), '--redis-url', REDIS_URL, '--workspace-dir', path.join(dir, 'workspace')];
    const S = await serve('S', []);
    const A = await serve('A', cluster);
    const B = await serve('B', cluster);
    const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
    lines.push(`  load average at the start: ${load()} (${os.cpus().length} cores, shared; the bench's own processes: 3 instances, the model server, PostgreSQL, Redis, the clients)`);
    const single: Setup = { name: 'one instance, SQLite', a: S, b: S };
    const two: Setup = { name: 'two instances, PostgreSQL + Redis', a: A, b: B };

    // LETTA_STREAM_BENCH_CLUSTER=cancel,fanout,paced: some parts only (default: all).
    const parts = process.env.LETTA_STREAM_BENCH_CLUSTER?.split(',');
    const part = (p: string) => !parts || parts.includes(p);
    const cancels = quick ? 100 : 500;
    const fanClients = 100;
    const fanTokens = quick ? 1000 : 2000;
    const fanRepeats = quick ? 1 : 3;
    const paced = quick ? 200 : 1000;
    // 600 tokens at 30 tokens/s: a run lasts 20 s, longer than the starts of all 1,000 take, so
    // they are live together (with 150 tokens the first had ended before the last started).
    // LETTA_STREAM_BENCH_PACED_TOKENS overrides it.
    const pacedTokens = Number(process.env.LETTA_STREAM_BENCH_PACED_TOKENS) || (quick ? 150 : 600);

    progress('cluster bench: agents');
    const cancelAgents = { S: await makeAgents(S.url, 50, 'cancel'), A: await makeAgents(A.url, 50, 'cancel') };
    const pacedAgents = { S: await makeAgents(S.url, paced, 'paced'), A: await makeAgents(A.url, paced, 'paced') };

    // 1. cancel latency
    if (part('cancel')) {
      const cS = await cancelLatency(S, S, cancelAgents.S, cancels);
      const cAA = await cancelLatency(A, A, cancelAgents.A, cancels);
      const cAB = await cancelLatency(A, B, cancelAgents.A, cancels);
      const row = (label: string, xs: number[]) => `    ${label.padEnd(44)} p50 ${f2(pct(xs, 50)).padStart(6)} ms   p99 ${f2(pct(xs, 99)).padStart(6)} ms   max ${f2(Math.max(...xs)).padStart(7)} ms`;
      lines.push(
        `  cancel → stop_reason on the starting client, ${cancels} cancels of stalled runs (#stall 60000), HTTP /messages/cancel (target p99 < 100 ms):`,
        row('one instance, SQLite (cancel on the same):', cS),
        row('PostgreSQL + Redis, cancel on the same (A→A):', cAA),
        row('PostgreSQL + Redis, across (start A, cancel B):', cAB),
        `    across / single-SQLite: p50 ${f2(pct(cAB, 50) / pct(cS, 50))}×, p99 ${f2(pct(cAB, 99) / pct(cS, 99))}×`,
      );
    }

    // 2. fan-out
    if (part('fanout')) {
      progress('cluster bench: fan-out to 100 clients');
      const { rates: fS } = await fanout(single, fanClients, fanTokens, cancelAgents.S[0]!, fanRepeats);
      const { rates: fC, retries } = await fanout(two, fanClients, fanTokens, cancelAgents.A[0]!, fanRepeats);
      const range = (xs: number[]) => (xs.length > 1 ? `${int(Math.min(...xs))}–${int(Math.max(...xs))}` : int(xs[0]!));
      const med = (xs: number[]) => pct(xs, 50);
      lines.push(
        `  one fast run (#tokens ${fanTokens}, #delay 0) to ${fanClients} WebSocket clients, frames/s delivered in all (${fanRepeats} run${fanRepeats > 1 ? 's, range' : ''}):`,
        `    one instance, SQLite, 100 clients on it:            ${range(fS)} frames/s`,
        `    two instances, run on A, 50 clients on A + 50 on B: ${range(fC)} frames/s`,
        `    two / one: ${f2(med(fC) / med(fS))}× (medians); run.subscribe answered with an error and asked again: ${retries} time(s)`,
      );
    }

    // 3. paced concurrent runs: 10 clients per instance (each client's frames are handled one
    // after another, so this shape also measures how long one run.start takes), and 100 per
    // instance (as many users would: the starts overlap)
    const ideal = pacedTokens * 33;
    for (const width of [10, 100]) {
      const shapes = [
        ['one instance, SQLite', 'paced-single', single, pacedAgents.S],
        ['two instances, PostgreSQL + Redis', 'paced-two', two, pacedAgents.A],
      ] as const;
      const wanted = shapes.filter(([, name]) => part(width === 10 ? 'paced' : 'paced-wide') || part(width === 10 ? name : `${name}-wide`));
      if (wanted.length === 0) continue;
      lines.push(`  ${paced} concurrent runs paced like a model (#tokens ${pacedTokens}, #delay 33: ~30 tokens/s, ideal ${f1(ideal / 1000)} s each), ${width} clients per instance:`);
      for (const [label, , setup, agents] of wanted) {
        progress(`cluster bench: ${paced} paced runs, ${label}, ${width} clients per instance`);
        const r = await pacedRuns(setup, paced, agents, pacedTokens, width);
        lines.push(`    ${label}: all started after ${f1(r.startMs / 1000)} s, all ended after ${f1(r.wallMs / 1000)} s (${f2(r.wallMs / ideal)}× one run's ideal), ${f1(r.framesPerRun)} frames per run to the clients; ${r.notCompleted} run(s) did not end completed`);
        lines.push(`      control: an idle Node process beside them (same nice level, same 10 ms histogram): p99 ${f1(r.controlLag.p99)} ms (max ${f1(r.controlLag.max)}, mean ${f1(r.controlLag.mean)}) — what waiting for a core alone costs`);
        for (const i of r.perInstance) {
          const lag = (l: Stats['lag_ms']) => `p99 ${f1(l.p99)} ms (max ${f1(l.max)}, mean ${f1(l.mean)})`;
          lines.push(
            `      ${i.name}, ${i.runs} runs (peak ${i.peakLive} live): event-loop lag over the whole run ${lag(i.wholeLag)}, until all had started ${lag(i.startLag)}; idle loop p99 ${f1(i.idleLag.p99)} ms; target p99 < 50 ms: ${i.wholeLag.p99 < 50 ? 'met' : 'MISSED'}`,
            `        CPU: ${f1(i.cpuMs / i.runs)} ms per run, ${Math.round(100 * i.cpuShare)}% of one core over the whole run${i.gaps ? `; a 10 ms probe's gaps: p99 ${f1(i.gaps.wall_p99)} ms wall, p99 ${f1(i.gaps.cpu_p99)} ms (max ${f1(i.gaps.cpu_max)}) of this process's CPU time; in the ${i.gaps.long_gaps} gaps over 50 ms it was on a core ${Math.round(100 * i.gaps.long_gap_cpu_share)}% of the time` : ''}`,
            `        per live run: RSS ${f1(i.rssPerRunKb)} KB, heap ${f1(i.heapPerRunKb)} KB; store per run: ${f1(i.callsPerRun)} calls, ${i.queriesPerRun ? `${f1(i.queriesPerRun)} SQL statements (round trips)` : 'in-process (no round trips)'}`,
            `        run.start answered after p50 ${f1(i.startP50)} ms, p99 ${f1(i.startP99)} ms (queued behind the client's earlier frames included); statements' own time ${f1(i.queryMs / i.runs)} ms per run`,
            `        store calls per run (mean ms each, pool waits included): ${Object.entries(i.methods)
              .sort((x, y) => y[1].calls - x[1].calls)
              .map(([name, m]) => `${name} ${f2(m.calls / i.runs)} (${f1(m.ms / m.calls)})`)
              .join(', ')}`,
          );
        }
      }
    }
    lines.push(`  load average at the end: ${load()}`);
  } finally {
    progress('');
    for (const p of procs.slice(1).reverse()) await p.stop().catch(() => undefined);
    await procs[0]?.stop().catch(() => undefined);
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch(() => undefined);
    // the run logs under this run's prefix (kept 3 hours otherwise)
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      // best effort
    }
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
