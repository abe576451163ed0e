import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, migratePg } from '../src/store/pg-migrations.js';
import { openPgStore, type PgStore } from '../src/store/pg-store.js';
import type { Store } from '../src/store/types.js';
import { PG_ADMIN_URL, databaseUrl, freshDatabase, freshSchema } from './support/pg.js';
import { storeContract } from './support/store-contract.js';

// One database per test file run (parallel files never collide), one schema per test inside it.
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const urls = new WeakMap<Store, string>();
async function open(): Promise<Store> {
  const url = await freshSchema(db.url);
  const store = await openPgStore(url);
  urls.set(store, url);
  return store;
}

storeContract('postgres', open, {
  async sibling(store) {
    const url = urls.get(store);
    if (!url) throw new Error('sibling of a store this file did not open');
    return openPgStore(url);
  },
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('PgStore (postgres only)', () => {
  it('two instances starting at once on a fresh database both open it; it is migrated once', async () => {
    const fresh = await freshDatabase();
    try {
      const stores = await Promise.all([openPgStore(fresh.url), openPgStore(fresh.url), openPgStore(fresh.url)]);
      const rows = await withClient(fresh.url, (c) => c.query<{ version: number; description: string }>('SELECT version, description FROM schema_migrations ORDER BY version'));
      expect(rows.rows).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version, description: m.description })));
      for (const s of stores) expect(await s.listAgents()).toEqual([]);
      await Promise.all(stores.map((s) => s.close()));
      // Reopening applies nothing.
      const again = await openPgStore(fresh.url);
      await again.close();
      await again.close(); // idempotent
      const count = await withClient(fresh.url, (c) => c.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations'));
      expect(Number(count.rows[0]?.n)).toBe(PG_SCHEMA_VERSION);
    } finally {
      await fresh.drop();
    }
  });

  it('migrations: concurrent starts take turns under the lock; a failing migration leaves nothing behind', async () => {
    const url = await freshSchema(db.url);
    // Slow enough that three starts overlap: without the lock the second CREATE TABLE would fail.
    const slow = [{ version: 1, description: 'probe', sql: 'CREATE TABLE probe (n int); INSERT INTO probe VALUES (1); SELECT pg_sleep(0.2)' }];
    const applied = await Promise.all([0, 1, 2].map(() => withClient(url, (c) => migratePg(c, slow))));
    expect(applied.sort((a, b) => b.length - a.length)).toEqual([[1], [], []]);
    expect((await withClient(url, (c) => c.query<{ n: number }>('SELECT n FROM probe'))).rows).toEqual([{ n: 1 }]);

    const other = await freshSchema(db.url);
    const broken = [
      { version: 1, description: 'fine', sql: 'CREATE TABLE fine (n int)' },
      { version: 2, description: 'broken', sql: 'CREATE TABLE fine (n int)' },
    ];
    await expect(withClient(other, (c) => migratePg(c, broken))).rejects.toMatchObject({ code: '42P07' });
    const left = await withClient(other, (c) => c.query<{ t: string | null; m: string | null }>("SELECT to_regclass('fine')::text AS t, to_regclass('schema_migrations')::text AS m"));
    expect(left.rows).toEqual([{ t: null, m: null }]);
  });

  it('migration 2: the frames of a version 1 database (one row per frame) are read back the same, regrouped as batches', async () => {
    const url = await freshSchema(db.url);
    const frame = (runId: string, seq: number) => ({ seq, json: JSON.stringify({ message_type: 'assistant_message', content: `${runId} #${seq}\n`, seq_id: seq }) });
    const want: Record<string, Array<{ seq: number; json: string }>> = {
      'run-1': [...Array.from({ length: 600 }, (_, i) => frame('run-1', i + 1)), frame('run-1', 700), frame('run-1', 701)],
      'run-2': [frame('run-2', 1)],
      'run-3': [],
    };
    await withClient(url, async (c) => {
      await migratePg(c, PG_MIGRATIONS.filter((m) => m.version <= 1));
      await c.query(`INSERT INTO agents (id, name, model, system, tools, requires_approval_tools, interface_mode, max_steps, state, pending_tool_calls, created_at, updated_at)
        VALUES ('agent-a', 'a', 'm', 's', '[]', '[]', 'simple', 10, 'idle', '[]', '2025-01-01', '2025-01-01')`);
      for (const [runId, frames] of Object.entries(want)) {
        await c.query(`INSERT INTO runs (id, agent_id, status, created_at, completed_at) VALUES ($1, 'agent-a', 'completed', '2025-01-01', '2025-01-01')`, [runId]);
        const rev = [...frames].reverse();
        await c.query('INSERT INTO run_frames (run_id, seq, json) SELECT $1, * FROM unnest($2::int[], $3::text[])', [runId, rev.map((f) => f.seq), rev.map((f) => f.json)]);
      }
    });
    const s = await openPgStore(url);
    try {
      for (const [runId, frames] of Object.entries(want)) expect(await s.listRunFrames(runId)).toEqual(frames);
      const layout = await withClient(url, (c) => c.query("SELECT run_id, first_seq, last_seq FROM run_frame_batches ORDER BY run_id, first_seq"));
      expect(layout.rows).toEqual([
        { run_id: 'run-1', first_seq: 1, last_seq: 256 },
        { run_id: 'run-1', first_seq: 257, last_seq: 512 },
        { run_id: 'run-1', first_seq: 513, last_seq: 600 },
        { run_id: 'run-1', first_seq: 700, last_seq: 701 },
        { run_id: 'run-2', first_seq: 1, last_seq: 1 },
      ]);
      expect((await withClient(url, (c) => c.query("SELECT to_regclass('run_frames')::text AS t"))).rows).toEqual([{ t: null }]);
      // the regrouped rows behave as written by this version: a replay fills the gap only, counts are per frame
      await s.appendRunFrames('run-1', Array.from({ length: 701 }, (_, i) => ({ seq: i + 1, json: '{"replayed":true}' })));
      expect((await s.listRunFrames('run-1')).filter((f) => f.json === '{"replayed":true}').map((f) => f.seq)).toEqual(Array.from({ length: 99 }, (_, i) => 601 + i));
      expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(702);
    } finally {
      await s.close();
    }
  });

  it('frames: two instances writing overlapping frames of one run at once: every seq is read once, from the row that starts first', async () => {
    const a = await open();
    const b = await openPgStore(urls.get(a) ?? '');
    const frames = (from: number, to: number, tag: string) => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, json: `{"seq":${from + i},"by":"${tag}"}` }));
    try {
      await a.createAgent({
        id: 'a1', name: 'n', model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 1,
        state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
      });
      await a.createRun({ id: 'r1', agentId: 'a1', status: 'running', stopReason: null, usage: null, error: null, createdAt: '2025-01-01T00:00:00.000Z', completedAt: null });
      // a recoverer's transaction re-appends 1..50 and has not committed when the owner journals 30..80:
      // neither sees the other's row, both are stored
      let wrote!: () => void;
      const written = new Promise<void>((r) => (wrote = r));
      const recoverer = a.transaction(async (tx) => {
        await tx.appendRunFrames('r1', frames(1, 50, 'recoverer'));
        wrote();
        await new Promise((r) => setTimeout(r, 200));
      });
      await written;
      await b.appendRunFrames('r1', frames(30, 80, 'owner'));
      await recoverer;
      const want = [...frames(1, 50, 'recoverer'), ...frames(51, 80, 'owner')];
      expect(await a.listRunFrames('r1')).toEqual(want);
      expect(await b.listRunFrames('r1')).toEqual(want);
      // later writes see both rows: a replay stores only what neither holds
      await b.appendRunFrames('r1', frames(1, 90, 'late'));
      expect(await a.listRunFrames('r1')).toEqual([...want, ...frames(81, 90, 'late')]);
    } finally {
      await b.close();
    }
  });

  it('refuses a database newer than the code: store_version', async () => {
    const url = await freshSchema(db.url);
    const s = await openPgStore(url);
    await s.close();
    await withClient(url, (c) => c.query(`INSERT INTO schema_migrations (version, description) VALUES (${PG_SCHEMA_VERSION + 1}, 'from the future')`));
    const err: unknown = await openPgStore(url).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'store_version' });
    expect(String((err as Error).message)).toMatch(/newer than/);
  });

  it('bad URLs, an unreachable or silent server, a missing database, an unknown role: coded errors within seconds', async () => {
    const started = Date.now();
    await expect(openPgStore('mysql://root@127.0.0.1/x')).rejects.toMatchObject({ code: 'database_url_invalid' });
    await expect(openPgStore('not a url')).rejects.toMatchObject({ code: 'database_url_invalid' });
    await expect(openPgStore('postgres://postgres@127.0.0.1:1/test')).rejects.toMatchObject({ code: 'database_unreachable' });
    await expect(openPgStore(databaseUrl(PG_ADMIN_URL, 'ls_does_not_exist'))).rejects.toMatchObject({ code: 'database_missing' });
    const noRole = new URL(PG_ADMIN_URL);
    noRole.username = 'ls_no_such_role';
    await expect(openPgStore(noRole.toString())).rejects.toMatchObject({ code: 'database_auth' });
    expect(Date.now() - started).toBeLessThan(3000);

    // A port that accepts and never answers: the connect timeout, not a hang.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const t0 = Date.now();
      const err: unknown = await openPgStore(`postgres://postgres@127.0.0.1:${port}/test`, { connectTimeoutMs: 500 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'database_unreachable' });
      expect(String((err as Error).message)).not.toMatch(/password/);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('messages never show the password', async () => {
    const err: unknown = await openPgStore('postgres://u:s3cret@127.0.0.1:1/x').catch((e: unknown) => e);
    expect(String((err as Error).message)).not.toContain('s3cret');
  });

  it('transactions on two instances racing for one turn: one commits its run, the other sees the CAS fail', async () => {
    const a = await open();
    const b = await openPgStore(urls.get(a) ?? '');
    try {
      await a.createAgent({
        id: 'a1', name: 'n', model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 1,
        state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
      });
      const start = (s: Store, runId: string) =>
        s.transaction(async (tx) => {
          await tx.createRun({ id: runId, agentId: 'a1', status: 'running', stopReason: null, usage: null, error: null, createdAt: '2025-01-01T00:00:00.000Z', completedAt: null });
          const won = await tx.casTurnState({ agentId: 'a1', conversationId: null }, { state: 'idle', activeRunId: null }, { state: 'running', activeRunId: runId, pendingToolCalls: [] });
          if (!won) throw new Error('busy'); // rolls the run back
          await new Promise((r) => setTimeout(r, 20)); // hold the row lock a while
          return runId;
        });
      const results = await Promise.allSettled([start(a, 'ra'), start(b, 'rb'), start(a, 'rc'), start(b, 'rd')]);
      const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(winners).toHaveLength(1);
      expect((await a.getAgent('a1'))?.activeRunId).toBe(winners[0]);
      expect((await a.listRuns('a1')).map((r) => r.id)).toEqual(winners);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('runningOwners: the distinct owners of running runs', async () => {
    const s = (await open()) as PgStore;
    try {
      await s.createAgent({
        id: 'a1', name: 'n', model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 1,
        state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
      });
      const base = { agentId: 'a1', status: 'running', stopReason: null, usage: null, error: null, createdAt: '2025-01-01T00:00:00.000Z', completedAt: null } as const;
      await s.createRun({ ...base, id: 'r1', ownerId: 'i1' });
      await s.createRun({ ...base, id: 'r2', ownerId: 'i1' });
      await s.createRun({ ...base, id: 'r3', ownerId: 'i2' });
      await s.createRun({ ...base, id: 'r4' });
      await s.createRun({ ...base, id: 'r5', ownerId: 'i3', status: 'completed' });
      expect(await s.runningOwners()).toEqual([null, 'i1', 'i2']);
    } finally {
      await s.close();
    }
  });

  it('the journal writes of many runs at once go to the database together: a few statements, not one per write', async () => {
    const url = await freshSchema(db.url);
    const counter = { queries: 0 };
    const s = await openPgStore(url, { queryCounter: counter });
    try {
      await s.createAgent({
        id: 'a1', name: 'n', model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 1,
        state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
      });
      const runs = Array.from({ length: 50 }, (_, i) => `r${i}`);
      for (const id of runs) await s.createRun({ id, agentId: 'a1', status: 'running', stopReason: null, usage: null, error: null, createdAt: '2025-01-01T00:00:00.000Z', completedAt: null });
      const before = counter.queries;
      // as the journals of 50 live runs flush in one tick: frames and state changes of each
      await Promise.all(
        runs.flatMap((id) => [
          s.appendRunFrames(id, [{ seq: 1, json: `{"run":"${id}"}` }]),
          s.appendRunTransitions(id, [{ seq: 1, at: '2025-01-01T00:00:00.000Z', run: 'streaming', step: null, seqId: 1 }]),
        ]),
      );
      expect(counter.queries - before).toBeLessThanOrEqual(2);
      for (const id of runs) {
        expect(await s.listRunFrames(id)).toEqual([{ seq: 1, json: `{"run":"${id}"}` }]);
        expect(await s.listRunTransitions(id)).toHaveLength(1);
      }
      // one write refused among them (no such run): it alone fails, found by halving, not by one statement per run
      const again = counter.queries;
      const results = await Promise.allSettled([...runs.map((id) => s.appendRunFrames(id, [{ seq: 2, json: '{}' }])), s.appendRunFrames('ghost', [{ seq: 1, json: '{}' }])]);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      expect(results.at(-1)?.status).toBe('rejected');
      expect(counter.queries - again).toBeLessThan(20);
      for (const id of runs) expect((await s.listRunFrames(id)).map((f) => f.seq)).toEqual([1, 2]);
    } finally {
      await s.close();
    }
  });

  it('a run.start reads one history row, however long the conversation: the same statements for 2 turns and for 200', async () => {
    const url = await freshSchema(db.url);
    const counter = { queries: 0 };
    const s = await openPgStore(url, { queryCounter: counter });
    try {
      const now = '2025-01-01T00:00:00.000Z';
      const rows: Record<string, number> = {};
      for (const [agentId, turns] of [['short', 2], ['long', 200]] as const) {
        await s.createAgent({
          id: agentId, name: agentId, model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 1,
          state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: now, updatedAt: now,
        });
        await s.createRun({ id: `${agentId}-0`, agentId, status: 'completed', stopReason: 'end_turn', usage: null, error: null, createdAt: now, completedAt: now });
        await s.appendHistory(agentId, `${agentId}-0`, Array.from({ length: turns }, (_, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), content: [{ type: 'text', text: `turn ${i}` }] })));
        // what closeInterruptedToolCalls reads at a start: the statements sent, and the rows they return
        const before = counter.queries;
        const { closeInterruptedToolCalls } = await import('../src/actors/tool-closing.js');
        let returned = 0;
        const seen = new Proxy(s, {
          get(t, prop, receiver) {
            const v: unknown = Reflect.get(t, prop, receiver);
            if (typeof v !== 'function') return v;
            return async (...args: unknown[]) => {
              const r: unknown = await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
              returned += Array.isArray(r) ? r.length : r ? 1 : 0;
              return r;
            };
          },
        }) as Store;
        await closeInterruptedToolCalls(seen, agentId, 'not run');
        rows[agentId] = returned;
        rows[`${agentId} statements`] = counter.queries - before;
      }
      expect(rows).toEqual({ short: 1, 'short statements': 1, long: 1, 'long statements': 1 });
    } finally {
      await s.close();
    }
  });

  it('the lease heartbeat and the journals do not queue behind a pool whose connections are all busy', async () => {
    const url = await freshSchema(db.url);
    // one pooled connection, held by a transaction until the end; a statement queued for it fails after 1 s
    const s = await openPgStore(url, { maxConnections: 1, connectTimeoutMs: 1000 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    try {
      await s.createAgent({
        id: 'a1', name: 'n', model: 'm', system: 's', tools: [], requiresApprovalTools: [], tags: [], interfaceMode: 'simple', maxSteps: 1,
        state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z',
      });
      await s.createRun({ id: 'r1', agentId: 'a1', status: 'running', stopReason: null, usage: null, error: null, createdAt: '2025-01-01T00:00:00.000Z', completedAt: null, ownerId: 'i1' });
      let inside!: () => void;
      const entered = new Promise<void>((r) => (inside = r));
      const busy = s.transaction(async () => {
        inside();
        await held;
      });
      await entered;
      await expect(s.getAgent('a1')).rejects.toThrow(/timeout/); // the pool is full indeed
      expect(await s.renewLease('i1', '2999-01-01T00:00:00.000Z')).toEqual([]);
      expect(await s.expiredOwners('2998-01-01T00:00:00.000Z')).toEqual([]);
      await s.appendRunFrames('r1', [{ seq: 1, json: '{}' }]);
      await s.appendRunTransitions('r1', [{ seq: 1, at: '2025-01-01T00:00:00.000Z', run: 'streaming', step: null, seqId: 1 }]);
      release();
      await busy;
      expect(await s.listRunFrames('r1')).toEqual([{ seq: 1, json: '{}' }]);
    } finally {
      release();
      await s.close();
    }
  });
});
