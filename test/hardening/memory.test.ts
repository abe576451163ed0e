import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { AgentService } from '../../src/actors/agent-service.js';
import { startAnthropicServer } from '../../src/anthropic-server/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const gc = (globalThis as { gc?: () => void }).gc;

const TOTAL = 1_000;
const GRACE_MS = 20;

/**
 * What run `i` asks for. Mostly 2,000-token answers (≈ 1,000 deltas: large enough that a run kept
 * alive is hundreds of KB, small enough for 1,000 runs in a test), with the full sizes
 * (20,000-token answers, 100 KB tool arguments) and mid-size tool calls among them, and some runs
 * cancelled from outside while their stream is in flight (the path that does abort the request).
 */
function prompt(i: number): { text: string; cancel: boolean } {
  const big = (bytes: number) => `#tool write_file {"path":"mem-${i % 4}.txt","content":"${'x'.repeat(bytes)}"}`;
  if (i % 100 === 0) return { text: '#delay 0\n#tokens 20000\nlong answer', cancel: false };
  if (i % 100 === 50) return { text: `#delay 0\n${big(100_000)}`, cancel: false };
  if (i % 10 === 5) return { text: `#delay 0\n${big(10_000)}`, cancel: false };
  return { text: `#delay 0\n#tokens 2000\nrun ${i}`, cancel: i % 8 === 3 };
}

/**
 * Fast, large streams leave nothing behind once their grace period is over: the finished upstream
 * request must not keep its run (actor, inspection closure, log, request history) alive.
 */
describe('memory after fast, large streams', () => {
  it(`${TOTAL.toLocaleString('en')} runs: the heap after GC does not grow with them once the grace period is over`, async () => {
    expect(gc, 'vitest runs tests with --expose-gc').toBeTypeOf('function');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-memory-'));
    const anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
    const store = new SqliteStore({ file: path.join(dir, 'db.sqlite') });
    const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
    const service = new AgentService({ store, client, dataDir: dir, graceMs: GRACE_MS });

    const statuses = new Map<string, number>();
    const runOne = async (i: number) => {
      const { text, cancel } = prompt(i);
      // A fresh agent per run keeps every request the same size (and the runs independent).
      const agent = await service.createAgent({ name: `m${i}`, tools: ['write_file'] });
      const { log } = await service.startRun(agent.id, { kind: 'user', text });
      let first = true;
      await new Promise<void>((resolve, reject) => {
        log.subscribe({
          frame: () => {
            if (cancel && first) setImmediate(() => void service.cancelRun(log.runId).catch(reject));
            first = false;
          },
          end: (end) => {
            statuses.set(end.stop_reason, (statuses.get(end.stop_reason) ?? 0) + 1);
            resolve();
          },
        });
      });
    };
    let next = 0;
    const worker = async () => {
      while (next < TOTAL) await runOne(next++);
    };
    const settle = async () => {
      await new Promise((r) => setTimeout(r, GRACE_MS + 50)); // the grace timers fire
      gc!();
      return process.memoryUsage().heapUsed;
    };

    // warm-up: one run of each kind, then the baseline
    for (const i of [0, 50, 5, 3, 1]) await runOne(-TOTAL + i);
    const before = await settle();
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 4 }, worker));
    const seconds = (Date.now() - t0) / 1000;
    const after = await settle();

    const perRunKb = (after - before) / TOTAL / 1024;
    console.log(`${TOTAL} runs in ${seconds.toFixed(1)} s; heap after GC ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MB: ${perRunKb.toFixed(1)} KB per run; stop reasons ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(service.liveRunCount).toBe(0);
    expect(service.retainedRunCount).toBe(0);
    expect(anthropic.stats.streamsOpen).toBe(0);
    expect(statuses.get('end_turn')).toBeGreaterThan(TOTAL / 2);
    // A run kept alive is its whole log and request: over 300 KB for the smallest runs here (and
    // MBs for the large ones). Heap noise averaged over 1,000 runs is a few KB.
    expect(perRunKb).toBeLessThan(32);

    await anthropic.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});
