import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Anthropic from '@anthropic-ai/sdk';
import WebSocket from 'ws';
import { AgentService } from '../actors/agent-service.js';
import { startAnthropicServer } from '../anthropic-server/index.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { startServer } from '../transport/server.js';
import { progress } from './harness.js';

type Frame = { type?: string; message_type?: string; run_id?: string; request_id?: string };

/** A bench client: counts frames per run and resolves waiters on matching frames. */
class Client {
  frames = 0;
  private waiters: Array<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private n = 0;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      if (f.message_type) this.frames++;
      this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
  }
  static open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => ws.once('open', () => resolve(new Client(ws))).once('error', reject));
  }
  wait(pred: (f: Frame) => boolean): Promise<Frame> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
  async start(agent: string, text: string): Promise<string> {
    const request_id = `r${++this.n}`;
    const answer = this.wait((f) => f.request_id === request_id);
    this.ws.send(JSON.stringify({ type: 'run.start', request_id, agent_id: agent, messages: [{ role: 'user', content: text }] }));
    const f = (await answer) as Frame & { run_id: string };
    if (f.type !== 'run.started') throw new Error(JSON.stringify(f));
    return f.run_id;
  }
  subscribe(runId: string): void {
    this.ws.send(JSON.stringify({ type: 'run.subscribe', request_id: `s${++this.n}`, run_id: runId }));
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

export async function runServiceBench(quick = false): Promise<string[]> {
  const lines: string[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-bench-'));
  const anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
  const store = new SqliteStore({ file: path.join(dir, 'bench.db') });
  const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
  const service = new AgentService({ store, client, dataDir: dir });
  const server = await startServer({ service, port: 0 });
  // Same-run baseline for the 1-client rate: the same service behind a server that writes each
  // frame with its own system call (what `ws` does alone, and what letta-stream did before #13).
  const uncorked = await startServer({ service, port: 0, coalesceWrites: false });
  try {
    // 1. Frames per second to 1 client of one fast run, coalesced writes against one write per
    // frame, interleaved; a warm-up run on each first (the first run of a fresh process is JIT-cold
    // and is reported on its own).
    progress('service bench: 1 client');
    const agent = (await service.createAgent({ name: 'bench', tools: ['get_time'] })).id;
    const tokens = quick ? 4000 : 20000;
    // Frames per second of wall time, and per second of this process's CPU time (service, server,
    // built-in Anthropic server and client all run here): the latter moves far less with the load
    // of other processes on a shared machine.
    const cpuRates = new Map<Client, number[]>();
    const rate = async (c: Client) => {
      const runId = await c.start(agent, `#tokens ${tokens}\n#delay 0\nfast`);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const before = c.frames;
      await c.wait((f) => f.type === 'run.end' && f.run_id === runId);
      const cpu = process.cpuUsage(cpu0);
      const frames = c.frames - before;
      cpuRates.set(c, [...(cpuRates.get(c) ?? []), frames / ((cpu.user + cpu.system) / 1e6)]);
      return (frames / (performance.now() - t0)) * 1000;
    };
    const [a, b] = await Promise.all([Client.open(server.wsUrl), Client.open(uncorked.wsUrl)]);
    const coldA = await rate(a!);
    const coldB = await rate(b!);
    const coldCpuA = cpuRates.get(a!)![0]!;
    cpuRates.clear();
    const warmA: number[] = [];
    const warmB: number[] = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      if (i % 2) { warmB.push(await rate(b!)); warmA.push(await rate(a!)); }
      else { warmA.push(await rate(a!)); warmB.push(await rate(b!)); }
    }
    a!.ws.close();
    b!.ws.close();
    const k = (x: number) => `${Math.round(x).toLocaleString('en')}`;
    lines.push(
      `  one fast run, 1 client, first run of the process: ${k(coldA)} frames/s (one write per frame, the run after it: ${k(coldB)})`,
      `  one fast run, 1 client, warm, median of ${warmA.length}: ${k(pct(warmA, 50))} frames/s (range ${k(Math.min(...warmA))} – ${k(Math.max(...warmA))})`,
      `  baseline, one write per frame, interleaved:  ${k(pct(warmB, 50))} frames/s (range ${k(Math.min(...warmB))} – ${k(Math.max(...warmB))}); ratio ${(pct(warmA, 50) / pct(warmB, 50)).toFixed(2)}×`,
      `  per second of the process's CPU time: first run ${k(coldCpuA)}, warm median ${k(pct(cpuRates.get(a!) ?? [], 50))} frames/CPU-s (one write per frame: ${k(pct(cpuRates.get(b!) ?? [], 50))})`,
    );

    // 1b. The same run to 10 clients.
    progress('service bench: fan-out');
    const clients = await Promise.all(Array.from({ length: 10 }, () => Client.open(server.wsUrl)));
    const fanout = async (n: number) => {
      const runId = await clients[0]!.start(agent, `#tokens ${tokens}\n#delay 0\nfast`);
      const t0 = performance.now();
      const before = clients.slice(0, n).map((c) => c.frames);
      for (const c of clients.slice(1, n)) c.subscribe(runId);
      await Promise.all(clients.slice(0, n).map((c) => c.wait((f) => f.type === 'run.end' && f.run_id === runId)));
      const ms = performance.now() - t0;
      const delivered = clients.slice(0, n).reduce((s, c, i) => s + c.frames - (before[i] ?? 0), 0);
      return { perSecond: (delivered / ms) * 1000, perClient: delivered / n };
    };
    const one = await fanout(1);
    const ten = await fanout(10);
    lines.push(
      `  one fast run, 10 clients: ${k(ten.perSecond)} frames/s delivered in all (${Math.round(ten.perClient)} frames each)`,
      `  ratio 10-client / 1-client delivery rate (same connections, run just before): ${(ten.perSecond / one.perSecond).toFixed(2)}× (10× = free fan-out)`,
    );

    // 2. 200 concurrent runs: event-loop lag against the idle loop, retained memory per finished run.
    progress('service bench: 200 concurrent runs');
    const gc = (globalThis as { gc?: () => void }).gc;
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((r) => setTimeout(r, 500));
    idle.disable();
    const count = quick ? 50 : 200;
    const agents: string[] = [];
    for (let i = 0; i < count; i++) agents.push((await service.createAgent({ name: `c${i}`, tools: ['get_time'] })).id);
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const c0 = clients[0]!;
    const t0 = performance.now();
    await Promise.all(agents.map(async (a) => {
      const runId = await c0.start(a, '#tokens 300\n#delay 5\nconcurrent');
      await c0.wait((f) => f.type === 'run.end' && f.run_id === runId);
    }));
    const wall = performance.now() - t0;
    lag.disable();
    await new Promise((r) => setTimeout(r, 100));
    gc?.();
    const retained = (process.memoryUsage().heapUsed - heapBefore) / count;
    lines.push(
      `  ${count} concurrent runs: ${Math.round(wall)} ms wall; event-loop lag p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms (idle loop p99 ${(idle.percentile(99) / 1e6).toFixed(1)} ms; target < 50 ms)`,
      `  retained per idle finished run (frames kept for the grace period): ${(retained / 1024).toFixed(1)} KB (target < 100 KB)`,
    );

    // 3. Cancel latency: from sending run.cancel to the stop_reason frame on the client.
    progress('service bench: cancel latency');
    const cancels = quick ? 100 : 500;
    const latencies: number[] = [];
    const noop: number[] = [];
    for (let i = 0; i < cancels; i++) {
      const stall = i % 5 === 0;
      const runId = await c0.start(agent, stall ? '#stall 5000\nwait' : `#tokens 2000\n#delay 1\ncancel me ${i}`);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
      const stop = c0.wait((f) => f.message_type === 'stop_reason' && f.run_id === runId);
      const end = c0.wait((f) => f.type === 'run.end' && f.run_id === runId);
      const t = performance.now();
      c0.ws.send(JSON.stringify({ type: 'run.cancel', request_id: `c${i}`, run_id: runId }));
      await stop;
      latencies.push(performance.now() - t);
      await end;
      // baseline: a request that does nothing (cancel of the finished run) over the same socket
      const t2 = performance.now();
      const ack = c0.wait((f) => f.request_id === `n${i}`);
      c0.ws.send(JSON.stringify({ type: 'run.cancel', request_id: `n${i}`, run_id: runId }));
      await ack;
      noop.push(performance.now() - t2);
    }
    lines.push(
      `  cancel → stop_reason over ${cancels} cancels (every 5th while stalled): p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms (target p99 < 50 ms)`,
      `  baseline no-op request round trip: p50 ${pct(noop, 50).toFixed(2)} ms, p99 ${pct(noop, 99).toFixed(2)} ms; ratio p50 ${(pct(latencies, 50) / pct(noop, 50)).toFixed(2)}×`,
    );
    for (const c of clients) c.ws.close();
  } finally {
    progress('');
    await uncorked.close();
    await server.close();
    await anthropic.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
