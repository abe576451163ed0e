import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countingStore, DebugStats, debugStatsEnabled } from '../src/cli/debug-stats.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

/** The benchmark's opt-in instrumentation (LETTA_STREAM_DEBUG_STATS=1). */
describe('debug stats', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is off unless the variable is exactly 1', () => {
    expect(debugStatsEnabled({})).toBe(false);
    expect(debugStatsEnabled({ LETTA_STREAM_DEBUG_STATS: 'yes' })).toBe(false);
    expect(debugStatsEnabled({ LETTA_STREAM_DEBUG_STATS: '1' })).toBe(true);
  });

  it('counts every store call, those on a transaction view included, and resets with a snapshot', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-debug-'));
    dirs.push(dir);
    const stats = new DebugStats(() => 7);
    const store = countingStore(new SqliteStore({ file: path.join(dir, 's.db') }), stats.counters);
    await store.listAgents();
    expect(await store.getAgent('agent-none')).toBeNull();
    await store.transaction(async (tx) => {
      await tx.getRun('run-none');
      await tx.listAgents();
    });
    const first = stats.snapshot(true) as {
      live_runs: number;
      store: { calls: number; queries: number; methods: Record<string, { calls: number; ms: number }> };
      lag_ms: { p99: number };
      memory: { rss: number };
    };
    expect(first.store).toMatchObject({ calls: 4, queries: 0 });
    // per method: how many calls, and their time (a transaction's inner calls are counted apart)
    expect(Object.fromEntries(Object.entries(first.store.methods).map(([k, v]) => [k, v.calls]))).toEqual({ listAgents: 2, getAgent: 1, getRun: 1, transaction: 1 });
    expect(first.store.methods.transaction!.ms).toBeGreaterThanOrEqual(first.store.methods.getRun!.ms);
    expect(first.live_runs).toBe(7);
    expect(first.memory.rss).toBeGreaterThan(0);
    expect(typeof first.lag_ms.p99).toBe('number');
    expect((stats.snapshot(false) as { store: { calls: number } }).store.calls).toBe(0);
    stats.stop();
    await store.close();
  });
});
