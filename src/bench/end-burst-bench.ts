import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, makeAgents, spawnListening, stats, type Proc, type Stats } from './cluster-bench.js';
import { progress } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/letta-stream.js', import.meta.url));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const MODEL = fileURLToPath(new URL('./model-server.js', import.meta.url));

/**
 * The cluster bench's SQLite instance, smaller: N runs paced like a model (`#tokens 150 #delay 33`)
 * started together on one `serve` process (a fresh data directory per N), so they end together.
 * The instance's own lag (/debug/stats) is read separately while they start and while they end,
 * for several N: a cost per ending run that grows with N shows as max lag / N growing.
 * `LETTA_STREAM_BENCH_BURST=200,400,800` sets the sizes; `LETTA_STREAM_BENCH_PROF=DIR` runs each
 * serve process under `--cpu-prof` into DIR; `LETTA_STREAM_BENCH_BINS=A,B` (paths of
 * `bin/letta-stream.js` of other builds, e.g. a before/after pair) measures each build in turn at
 * every N (A/B interleaved). Opt-in only: `npm run bench -- --only burst`.
 */
export async function runEndBurstBench(quick = false): Promise<string[]> {
  const sizes = (process.env.LETTA_STREAM_BENCH_BURST ?? (quick ? '100,200' : '200,400,800')).split(',').map(Number);
  const prof = process.env.LETTA_STREAM_BENCH_PROF;
  const bins = process.env.LETTA_STREAM_BENCH_BINS?.split(',') ?? [BIN];
  const reps = Number(process.env.LETTA_STREAM_BENCH_REPS ?? 1);
  const lines: string[] = [`  load average at the start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-burst-bench-'));
  const model = await spawnListening('model', [MODEL], {}, /model listening on (http:\/\/\S+)/);
  try {
    for (let rep = 0; rep < reps; rep++) for (const n of sizes) for (const [b, bin] of (rep % 2 ? [...bins].reverse() : bins).entries()) {
      progress(`burst bench: ${n} runs, ${bin}`);
      const env = { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: model.url, LETTA_STREAM_TOKEN: '', LETTA_STREAM_DEBUG_STATS: '1' };
      const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=serve-${n}-${Date.now()}.cpuprofile`] : [];
      const data = path.join(dir, `S${n}-${rep}-${b}`);
      const s: Proc = await spawnListening('S', [...nodeArgs, bin, 'serve', '--port', '0', '--data-dir', data], env, /listening on (http:\/\/\S+)/);
      try {
        lines.push(`${await burst(s, n)}${bins.length > 1? ` [${path.basename(path.dirname(path.dirname(bin)))}]` : ''}`);
      } finally {
        await s.stop();
        if (process.env.LETTA_STREAM_BENCH_SERVE_LOG) writeFileSync(path.join(process.env.LETTA_STREAM_BENCH_SERVE_LOG, `serve-${n}-${rep}-${b}.log`), s.output());
      }
    }
  } finally {
    progress('');
    await model.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  lines.push(`  load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  return lines;
}

/** The process's CPU time so far (user + system, ms), from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14, 15 in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

async function burst(s: Proc, n: number): Promise<string> {
  const agents = await makeAgents(s.url, n, 'burst');
  const clients = await Promise.all(Array.from({ length: 10 }, () => Client.open(s.wsUrl)));
  try {
    await Promise.all(agents.slice(0, n / 10).map(async (a, i) => {
      const c = clients[i % 10]!;
      await c.ended(await c.start(a, '#tokens 30\n#delay 5\nwarm up'));
    }));
    await stats(s.url, true);
    await new Promise((r) => setTimeout(r, 500));
    const idle = await stats(s.url, true);
    const cpu0 = cpuMs(s.child.pid);
    const t0 = performance.now();
    let started = 0;
    let allStarted!: () => void;
    const startedAll = new Promise<void>((r) => (allStarted = r));
    // LETTA_STREAM_BENCH_SPREAD_MS: runs started this far apart (not all at once); LETTA_STREAM_BENCH_TRACE=1: a timeline.
    const spread = Number(process.env.LETTA_STREAM_BENCH_SPREAD_MS ?? 0);
    const endsAt: number[] = [];
    const trace: string[] = [];
    let tracing = process.env.LETTA_STREAM_BENCH_TRACE === '1';
    const tracer = (async () => {
      while (tracing) {
        const st = await stats(s.url);
        if (st.lag_ms.max > 100) trace.push(`${((performance.now() - t0) / 1000).toFixed(1)}s:${st.lag_ms.max.toFixed(0)}ms/${st.live_runs}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const ended = Promise.all(agents.map(async (a, i) => {
      if (spread) await new Promise((r) => setTimeout(r, i * spread));
      const c = clients[i % 10]!;
      const runId = await c.start(a, `#tokens 150\n#delay 33\nburst ${i}`);
      if (++started === n) allStarted();
      await c.ended(runId, 600_000);
      endsAt.push(performance.now() - t0);
    }));
    await startedAll;
    const startMs = performance.now() - t0;
    const atStart = await stats(s.url, true);
    const cpu1 = cpuMs(s.child.pid);
    await ended;
    const wallMs = performance.now() - t0;
    const atEnd = await stats(s.url, true);
    const cpu2 = cpuMs(s.child.pid);
    tracing = false;
    await tracer;
    if (trace.length) {
      const q = (p: number) => (pct(endsAt, p) / 1000).toFixed(1);
      console.log(`    trace (${n}): stalls > 100 ms (t:max lag since the previous sample/live runs): ${trace.join(' ')}; run.end received at p1 ${q(1)} s, p50 ${q(50)} s, p99 ${q(99)} s`);
    }
    const lag = (l: Stats['lag_ms']) => `p99 ${l.p99.toFixed(0)} ms, max ${l.max.toFixed(0)} ms`;
    return (
      `  ${String(n).padStart(4)} runs: started in ${(startMs / 1000).toFixed(1)} s (lag ${lag(atStart.lag_ms)}; ${atStart.live_runs} live then), ended after ${(wallMs / 1000).toFixed(1)} s; ` +
      `while ending: lag ${lag(atEnd.lag_ms)} = ${(atEnd.lag_ms.max / n).toFixed(2)} ms per run; store calls ${(atEnd.store.calls / n).toFixed(1)} per run; CPU per run ${((cpu1 - cpu0) / n).toFixed(2)} ms starting, ${((cpu2 - cpu1) / n).toFixed(2)} ms after; idle p99 ${idle.lag_ms.p99.toFixed(0)} ms`
    );
  } finally {
    for (const c of clients) c.close();
  }
}
