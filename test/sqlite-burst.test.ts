import { createHook } from 'node:async_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite-store.js';

/**
 * Hundreds of runs ending in the same moment on the embedded store: each end is a transaction
 * (finishRun + releaseAgent, as RunFinisher writes it) queued behind the ones before.
 */

let dir: string;
const open: SqliteStore[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-burst-'));
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function storeWithRuns(n: number, options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore> {
  const store = new SqliteStore({ file: path.join(dir, `burst-${n}-${open.length}.db`), ...options });
  open.push(store);
  const now = new Date().toISOString();
  await store.transaction(async (tx) => {
    for (let i = 0; i < n; i++) {
      await tx.createAgent({
        id: `agent-${i}`, name: `a${i}`, model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 10,
        state: 'running', activeRunId: `run-${i}`, pendingToolCalls: [], createdAt: now, updatedAt: now,
      });
      await tx.createRun({ id: `run-${i}`, agentId: `agent-${i}`, status: 'running', stopReason: null, usage: null, error: null, createdAt: now, completedAt: null, ownerId: 'inst' });
    }
  });
  return store;
}

/** Every run's end at once, plus a read of the run beside each (a subscriber asking for it); resolves to the order they finished in. */
function endAll(store: SqliteStore, n: number): Promise<string[]> {
  const order: string[] = [];
  const calls: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    calls.push(
      store
        .transaction(async (tx) => {
          expect(await tx.finishRun(`run-${i}`, 'completed', 'end_turn', null, null)).toBe(true);
          expect(await tx.releaseAgent(`agent-${i}`, `run-${i}`, null)).toBe(true);
        })
        .then(() => order.push(`end ${i}`)),
      store.getRun(`run-${i}`).then((r) => order.push(`read ${i} ${r?.status}`)),
    );
  }
  return Promise.all(calls).then(() => order);
}

/** Promises created while `fn` runs (each wait on the store's lock makes some). */
async function promisesCreated(fn: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const hook = createHook({ init: (_id, type) => void (type === 'PROMISE' && count++) });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return count;
}

describe('SqliteStore: a burst of runs ending together', () => {
  it('the work per end does not grow with how many ends wait behind it (each waiter is woken once)', async () => {
    const per: number[] = [];
    for (const n of [100, 400]) {
      const store = await storeWithRuns(n);
      per.push((await promisesCreated(() => endAll(store, n))) / n);
    }
    // Waking every waiter on every release made this grow with n (≈ n/2 wake-ups per end).
    expect(per[1]!).toBeLessThan(per[0]! * 1.5);
  });

  it('lets the event loop run between its calls, and keeps them in order', async () => {
    const n = 200;
    // No time per turn: every call (a transaction with its statements) waits for a turn of its own.
    const store = await storeWithRuns(n, { sliceMs: 0 });
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const order = await endAll(store, n);
    done = true;
    // Each end and each read waited for the loop (not one microtask chain holding it until the last).
    expect(turns).toBeGreaterThanOrEqual(n);
    // First come, first served: a run's read sees the end queued before it; the ends in order.
    expect(order).toEqual(Array.from({ length: n }, (_, i) => [`end ${i}`, `read ${i} completed`]).flat());
    // Every end written once (compare-and-set: a second one changes nothing).
    expect(await store.finishRun('run-0', 'failed', 'error', null, 'again')).toBe(false);
  });
});
