import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { AgentService } from '../src/actors/agent-service.js';
import type { RunLog, RunState } from '../src/actors/run-log.js';
import { runStateInspector } from '../src/actors/run-transitions.js';
import { startAnthropicServer, type AnthropicServer } from '../src/anthropic-server/index.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

/**
 * The service tracks a run's states from snapshot subscriptions (no inspection unless an inspector
 * is configured). What it records must be what XState inspection shows, in the same order: here a
 * configured inspector feeds the inspection-based tracker beside it, on real runs of every kind
 * (text, thinking and tools over several steps, approval, cancels while streaming and while
 * stalled, upstream failures).
 */
describe('run-state tracking without inspection', () => {
  let dir: string;
  let anthropic: AnthropicServer;
  let store: SqliteStore;
  let service: AgentService;
  /** Per run system (root session id): the states inspection reported, in order. */
  const seen = new Map<string, RunState[]>();
  const trackers = new Map<string, (ev: InspectionEvent) => void>();
  const inspect = (ev: InspectionEvent) => {
    let t = trackers.get(ev.rootId);
    if (!t) {
      const states: RunState[] = [];
      seen.set(ev.rootId, states);
      t = runStateInspector((s) => {
        const last = states.at(-1);
        if (!last || last.run !== s.run || last.step !== s.step) states.push(s);
      });
      trackers.set(ev.rootId, t);
    }
    t(ev);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-track-'));
    anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
    store = new SqliteStore({ file: path.join(dir, 'db') });
    service = new AgentService({ store, client: new Anthropic({ apiKey: 'x', baseURL: anthropic.url, maxRetries: 0 }), dataDir: dir, inspect, graceMs: 60_000 });
  });
  afterAll(async () => {
    await anthropic.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ended = (log: RunLog) => new Promise<void>((r) => log.subscribe({ frame: () => {}, end: () => r() }));
  /** The states inspection saw for the run whose log this is (the run actor's root session). */
  const inspected = (before: Set<string>) => {
    const fresh = [...seen.keys()].filter((k) => !before.has(k));
    expect(fresh).toHaveLength(1);
    return seen.get(fresh[0]!)!;
  };
  const check = async (text: string, opts: { cancelAfterFrames?: number; cancelAfterMs?: number; tools?: string[] } = {}) => {
    const agent = await service.createAgent({ name: `a${seen.size}`, tools: opts.tools ?? ['get_time', 'calculator'] });
    const before = new Set(seen.keys());
    const { runId, log } = await service.startRun(agent.id, { kind: 'user', text });
    let frames = 0;
    const done = new Promise<void>((r) =>
      log.subscribe({
        frame: () => {
          if (++frames === opts.cancelAfterFrames) void service.cancelRun(runId);
        },
        end: () => r(),
      }),
    );
    if (opts.cancelAfterMs !== undefined) setTimeout(() => void service.cancelRun(runId), opts.cancelAfterMs);
    await done;
    const tracked = log.transitions.map((t) => ({ run: t.run, step: t.step }));
    const want = inspected(before);
    expect(tracked.length).toBeGreaterThanOrEqual(2);
    if (process.env.SHOW_STATES) console.log(text, JSON.stringify(tracked));
    expect(tracked, text).toEqual(want);
    return { tracked, log };
  };

  it('text answers, with thinking', async () => {
    const { tracked } = await check('#tokens 300\nhello');
    expect(tracked.some((t) => t.step !== null)).toBe(true);
    await check('#max_tokens\n#tokens 200\ncut me');
  });
  it('tool calls over several steps, and an approval', async () => {
    const { tracked } = await check('#tool calculator {"expression": "6*7"}');
    expect(tracked.filter((t) => t.run.startsWith('executingTools')).length).toBeGreaterThan(0);
    await check('#tool calculator {"expression": "1+1"}\n#tool get_time {}');
    const agent = await service.createAgent({ name: 'approver', tools: ['write_file'] });
    const before = new Set(seen.keys());
    const { log } = await service.startRun(agent.id, { kind: 'user', text: '#tool write_file {"path": "a.txt", "content": "x"}' });
    await ended(log);
    expect(log.transitions.map((t) => ({ run: t.run, step: t.step }))).toEqual(inspected(before));
  });
  it('cancelled while streaming, at several points, and while stalled', async () => {
    for (const n of [1, 2, 5, 40]) await check('#delay 1\n#tokens 400\ncancel me', { cancelAfterFrames: n });
    await check('#stall 5000\nwait', { cancelAfterMs: 50 });
    await check('#delay 1\n#tool calculator {"expression": "2*2"}', { cancelAfterFrames: 3 });
  });
  it('upstream failures', async () => {
    for (const kind of ['overloaded', 'midstream', 'drop']) await check(`#error ${kind}\n#tokens 100\nbreak please`);
  });
});
