import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { AgentService } from '../src/actors/agent-service.js';
import { startAnthropicServer } from '../src/anthropic-server/index.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Per-run resources are released: after 10,000 runs (completed and cancelled, through the real
 * SDK over real HTTP) the service holds no per-run entries and the heap has not grown with them.
 */
describe('run resources', () => {
  it('10,000 runs leave no per-run entries, no open streams, and no retained memory per run', async () => {
    expect(gc, 'vitest runs tests with --expose-gc').toBeTypeOf('function');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-leak-'));
    const anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
    const store = new SqliteStore({ file: path.join(dir, 'db.sqlite') });
    const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
    const service = new AgentService({ store, client, dataDir: dir, graceMs: 0 });
    const agents: string[] = [];
    for (let i = 0; i < 25; i++) agents.push((await service.createAgent({ name: `a${i}`, tools: ['get_time'] })).id);

    const runOne = async (agentId: string, i: number) => {
      const { log } = await service.startRun(agentId, { kind: 'user', text: `#tokens 5\n#delay 0\nrun ${i}` });
      await new Promise<void>((resolve, reject) => {
        // every fourth run is cancelled as soon as its first frame arrives
        log.subscribe({ frame: () => (i % 4 === 0 ? void service.cancelRun(log.runId).catch(reject) : undefined), end: () => resolve() });
      });
    };
    const total = 10_000;
    let next = 0;
    const worker = async (agentId: string) => {
      while (next < total) await runOne(agentId, next++);
    };
    // a warm-up batch, then the baseline
    await Promise.all(agents.map((a) => runOne(a, -1)));
    await new Promise((r) => setTimeout(r, 20));
    gc!();
    const before = process.memoryUsage().heapUsed;
    await Promise.all(agents.map(worker));
    await new Promise((r) => setTimeout(r, 50)); // grace timers (0 ms) fire
    gc!();
    const after = process.memoryUsage().heapUsed;

    expect(service.liveRunCount).toBe(0);
    expect(service.retainedRunCount).toBe(0);
    expect(anthropic.stats.streamsOpen).toBe(0);
    expect(anthropic.stats.requests).toBeGreaterThanOrEqual(total);
    const perRun = (after - before) / total;
    // Heap noise is well under this; a leaked run log, actor or listener per run is far over it.
    expect(perRun).toBeLessThan(1024);
    expect((await store.listRuns(agents[0]!, 1))[0]?.status).toMatch(/completed|cancelled/);
    await anthropic.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    // It measures what stays behind, not speed: 10,000 runs take 2–4 minutes on a shared 2-core
    // machine (its SQLite commits dominate), so the bound leaves room for a loaded one.
  }, 480_000);
});
