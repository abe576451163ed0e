import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentService } from '../../src/actors/agent-service.js';
import type { LogEntry, RunEnd } from '../../src/actors/run-log.js';
import { startAnthropicServer, type AnthropicServer } from '../../src/anthropic-server/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/types.js';

/** The frame journal: batched, complete at the end, replayable after a restart for the grace period, then gone. */
let dir: string;
let anthropic: AnthropicServer;
let client: Anthropic;
const stores: SqliteStore[] = [];
beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-journal-'));
  anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
  client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await anthropic.close();
  rmSync(dir, { recursive: true, force: true });
});

const open = () => {
  const s = new SqliteStore({ file: path.join(dir, 'db.sqlite') });
  stores.push(s);
  return s;
};

/** Counts the journal's writes. */
function counting(real: SqliteStore): { store: Store; batches: number[] } {
  const batches: number[] = [];
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (prop === 'appendRunFrames') batches.push((args[1] as unknown[]).length);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  return { store, batches };
}

async function finish(service: AgentService, runId: string, after = 0): Promise<{ entries: LogEntry[]; end: RunEnd }> {
  const entries: LogEntry[] = [];
  const log = await service.streamableLog(runId);
  return new Promise((resolve) => log.subscribe({ frame: (e) => entries.push(e), end: (end) => resolve({ entries, end }) }, after));
}

describe('frame journal', () => {
  it('writes in batches, never once per delta, and holds every frame of an ended run', async () => {
    const real = open();
    const { store, batches } = counting(real);
    const service = new AgentService({ store, client, dataDir: dir });
    const agent = await service.ensureDemoAgent();
    const { runId } = await service.startRun(agent.id, { kind: 'user', text: '#tokens 3000\nflood' });
    const { entries } = await finish(service, runId);
    expect(entries.length).toBeGreaterThan(500);
    expect(batches.length).toBeLessThan(entries.length / 20);
    expect(await real.listRunFrames(runId)).toEqual(entries);
    await service.shutdown();
  });

  it('after a restart, an ended run streams from its journal for the grace period; then its frames are pruned', async () => {
    const s1 = open();
    const first = new AgentService({ store: s1, client, dataDir: dir });
    const agent = await first.ensureDemoAgent();
    const { runId } = await first.startRun(agent.id, { kind: 'user', text: '#tool calculator {"expression": "6*7"}' });
    const original = await finish(first, runId);
    await first.shutdown();
    await s1.close();

    const s2 = open();
    const second = new AgentService({ store: s2, client, dataDir: dir, graceMs: 60_000 });
    await second.recover();
    const replay = await finish(second, runId, 3);
    expect(replay.entries).toEqual(original.entries.slice(3));
    expect(replay.end).toEqual(original.end);
    await second.shutdown();
    await s2.close();

    const s3 = open();
    const third = new AgentService({ store: s3, client, dataDir: dir, graceMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    await third.recover();
    expect(await s3.listRunFrames(runId)).toEqual([]);
    await expect(third.streamableLog(runId)).rejects.toThrow(/no longer kept/);
    expect((await s3.listRunMessages(runId)).length).toBeGreaterThan(0); // the messages stay
    await third.shutdown();
  });
});
