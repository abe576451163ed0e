import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LettaMessage } from '../src/letta/frames.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/migrations.js';
import { RunReader } from '../src/store/run-reader.js';
import { SQLITE_FILE_NAME, SqliteStore, StoreError, openSqliteStore } from '../src/store/sqlite-store.js';
import type { AgentRecord, AgentState, HistoryTurn, PendingToolCall, RunRecord, Store, UsageTotals } from '../src/store/types.js';

let dir: string;
let file: string;
const open: SqliteStore[] = [];

function store(): SqliteStore {
  const s = new SqliteStore({ file });
  open.push(s);
  return s;
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-store-'));
  file = path.join(dir, 'test.db');
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function agent(id: string, over: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    name: `name-${id}`,
    model: 'claude-sonnet-4-6',
    system: 'You are helpful.',
    tools: ['search', 'send_email'],
    requiresApprovalTools: ['send_email'],
    tags: [],
    interfaceMode: 'simple',
    maxSteps: 10,
    state: 'idle',
    activeRunId: null,
    pendingToolCalls: [],
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...over,
  };
}

/** Sets a turn state through compare-and-set from whatever is stored (the only writer there is). */
async function setTurn(s: Store, target: string | { conversationId: string }, state: AgentState, activeRunId: string | null, pending: PendingToolCall[]): Promise<void> {
  const current = typeof target === 'string' ? await s.getAgent(target) : await s.getConversation(target.conversationId);
  if (!current) throw new Error(`no ${JSON.stringify(target)}`);
  const scope = typeof target === 'string' ? { agentId: target, conversationId: null } : { agentId: (current as { agentId: string }).agentId, conversationId: target.conversationId };
  expect(await s.casTurnState(scope, { state: current.state, activeRunId: current.activeRunId }, { state, activeRunId, pendingToolCalls: pending })).toBe(true);
}

function run(id: string, agentId: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    agentId,
    status: 'running',
    stopReason: null,
    usage: null,
    error: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    completedAt: null,
    ...over,
  };
}

function assistant(id: string, runId: string, content: string): LettaMessage {
  return {
    message_type: 'assistant_message',
    id,
    date: '2025-01-01T00:00:00.000Z',
    otid: `otid-${id}`,
    run_id: runId,
    step_id: 'step-1',
    content,
  };
}

const usage: UsageTotals = {
  prompt_tokens: 10,
  completion_tokens: 5,
  total_tokens: 15,
  step_count: 1,
  cached_input_tokens: null,
  cache_write_tokens: 3,
};

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('SqliteStore', () => {
  it('opens in WAL mode with foreign keys and the current schema version', async () => {
    const s = store();
    await s.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('round-trips agents: create, get, by name, list, setAgentState', async () => {
    const s = store();
    const a = agent('agent-a', { name: 'Alpha', createdAt: '2025-01-02T00:00:00.000Z', interfaceMode: 'kwargs' });
    const b = agent('agent-b', { name: 'Beta', createdAt: '2025-01-01T00:00:00.000Z' });
    await s.createAgent(a);
    await s.createAgent(b);

    expect(await s.getAgent('agent-a')).toEqual(a);
    expect(await s.getAgent('agent-missing')).toBeNull();
    expect(await s.getAgentByName('Beta')).toEqual(b);
    expect(await s.getAgentByName('beta')).toBeNull(); // exact match
    expect(await s.getAgentByName('Bet')).toBeNull();
    expect((await s.listAgents()).map((x) => x.id)).toEqual(['agent-b', 'agent-a']); // by created_at

    const pending: PendingToolCall[] = [
      { toolCallId: 'toolu_1', name: 'send_email', input: { to: 'x@example.com', body: { nested: [1, 2] } }, requiresApproval: true },
      { toolCallId: 'toolu_2', name: 'search', input: {}, requiresApproval: false },
    ];
    await setTurn(s, 'agent-a', 'awaitingApproval', 'run-1', pending);
    const got = await s.getAgent('agent-a');
    expect(got).toMatchObject({ state: 'awaitingApproval', activeRunId: 'run-1', pendingToolCalls: pending });
    expect(got?.updatedAt).toMatch(ISO);
    expect(got?.updatedAt).not.toBe(a.updatedAt);
    expect(got?.createdAt).toBe(a.createdAt);

    await setTurn(s, 'agent-a', 'idle', null, []);
    expect(await s.getAgent('agent-a')).toMatchObject({ state: 'idle', activeRunId: null, pendingToolCalls: [] });

    // compare-and-set: only from the state it expects; an unknown agent changes nothing
    expect(await s.casTurnState({ agentId: 'agent-a', conversationId: null }, { state: 'running', activeRunId: null }, { state: 'idle', activeRunId: null, pendingToolCalls: [] })).toBe(false);
    expect(await s.casTurnState({ agentId: 'agent-a', conversationId: null }, { state: 'idle', activeRunId: 'run-x' }, { state: 'running', activeRunId: 'run-2', pendingToolCalls: [] })).toBe(false);
    expect(await s.casTurnState({ agentId: 'agent-missing', conversationId: null }, { state: 'idle', activeRunId: null }, { state: 'running', activeRunId: 'run-2', pendingToolCalls: [] })).toBe(false);
    expect(await s.casTurnState({ agentId: 'agent-a', conversationId: null }, { state: 'idle', activeRunId: null }, { state: 'running', activeRunId: 'run-2', pendingToolCalls: [] })).toBe(true);
    expect(await s.getAgent('agent-a')).toMatchObject({ state: 'running', activeRunId: 'run-2' });
  });

  it('round-trips runs and lists them newest first', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createAgent(agent('agent-b'));
    await s.createRun(run('run-1', 'agent-a', { createdAt: '2025-01-01T00:00:01.000Z' }));
    await s.createRun(run('run-2', 'agent-a', { createdAt: '2025-01-01T00:00:03.000Z' }));
    await s.createRun(run('run-3', 'agent-a', { createdAt: '2025-01-01T00:00:02.000Z' }));
    // same timestamp as run-2: rowid breaks the tie, later insert first
    await s.createRun(run('run-4', 'agent-a', { createdAt: '2025-01-01T00:00:03.000Z' }));
    await s.createRun(run('run-b', 'agent-b'));
    const done = run('run-5', 'agent-a', {
      status: 'completed',
      stopReason: 'end_turn',
      usage,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: '2025-01-01T00:00:09.000Z',
    });
    await s.createRun(done);

    expect(await s.getRun('run-5')).toEqual(done);
    expect(await s.getRun('run-1')).toEqual(run('run-1', 'agent-a', { createdAt: '2025-01-01T00:00:01.000Z' }));
    expect(await s.getRun('run-missing')).toBeNull();
    expect((await s.listRuns('agent-a')).map((r) => r.id)).toEqual(['run-4', 'run-2', 'run-3', 'run-1', 'run-5']);
    expect((await s.listRuns('agent-a', 2)).map((r) => r.id)).toEqual(['run-4', 'run-2']);
    expect((await s.listRuns('agent-b')).map((r) => r.id)).toEqual(['run-b']);
    expect(await s.listRuns('agent-none')).toEqual([]);
  });

  it('refuses a run for an unknown agent (foreign keys on)', async () => {
    const s = store();
    await expect(s.createRun(run('run-1', 'agent-none'))).rejects.toThrow(/FOREIGN KEY/);
  });

  it('finishRun writes the terminal status once', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createRun(run('run-1', 'agent-a'));

    expect(await s.finishRun('run-1', 'completed', 'end_turn', usage, null)).toBe(true);
    const first = await s.getRun('run-1');
    expect(first).toMatchObject({ status: 'completed', stopReason: 'end_turn', usage, error: null });
    expect(first?.completedAt).toMatch(ISO);

    expect(await s.finishRun('run-1', 'cancelled', 'cancelled', null, 'late cancel')).toBe(false);
    expect(await s.getRun('run-1')).toEqual(first);

    expect(await s.finishRun('run-missing', 'failed', 'error', null, 'x')).toBe(false);
  });

  it('releaseAgent lets go of an agent only while that run holds it', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await setTurn(s, 'agent-a', 'running', 'run-2', []);
    expect(await s.releaseAgent('agent-a', 'run-1', null)).toBe(false); // an older run's late end
    expect(await s.getAgent('agent-a')).toMatchObject({ state: 'running', activeRunId: 'run-2' });
    const pending: PendingToolCall[] = [{ toolCallId: 'toolu_1', name: 'send_email', input: {}, requiresApproval: true }];
    expect(await s.releaseAgent('agent-a', 'run-2', pending)).toBe(true);
    expect(await s.getAgent('agent-a')).toMatchObject({ state: 'awaitingApproval', activeRunId: 'run-2', pendingToolCalls: pending });
    expect(await s.releaseAgent('agent-a', 'run-2', null)).toBe(false); // not running any more
    await setTurn(s, 'agent-a', 'running', 'run-3', []);
    expect(await s.releaseAgent('agent-a', 'run-3', null)).toBe(true);
    expect(await s.getAgent('agent-a')).toMatchObject({ state: 'idle', activeRunId: null, pendingToolCalls: [] });
  });

  it('transaction: every write in it, or none', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await expect(
      s.transaction(async (tx) => {
        await tx.createRun(run('run-1', 'agent-a'));
        throw new Error('no agent-missing');
      }),
    ).rejects.toThrow(/agent-missing/);
    expect(await s.getRun('run-1')).toBeNull();
    expect(await s.transaction(async (tx) => (await tx.createRun(run('run-1', 'agent-a')), 7))).toBe(7);
    expect(await s.getRun('run-1')).not.toBeNull();
  });

  it('transaction: other calls wait for it, a nested one runs inline, a failed one rolls back and the next one runs', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    const order: string[] = [];
    let inside!: () => void;
    const gate = new Promise<void>((resolve) => (inside = resolve));
    const tx = s.transaction(async (t) => {
      await t.createRun(run('run-1', 'agent-a'));
      await t.transaction(async (nested) => nested.createRun(run('run-2', 'agent-a')));
      await gate; // an await that is no statement: the transaction stays open meanwhile
      order.push('tx');
    });
    const outside = s.getRun('run-1').then((r) => order.push(`read ${r ? 'after' : 'before'}`));
    inside();
    await Promise.all([tx, outside]);
    expect(order).toEqual(['tx', 'read after']);
    await expect(s.transaction(async (t) => (await t.createRun(run('run-3', 'agent-a')), Promise.reject(new Error('no'))))).rejects.toThrow('no');
    expect(await s.getRun('run-3')).toBeNull();
    expect(await s.transaction(async (t) => (await t.getRun('run-2'))?.id)).toBe('run-2');
  });

  it('two connections on one file: a transaction of one waits for the other\'s (no SQLITE_BUSY)', async () => {
    const a = store();
    const b = store();
    await a.createAgent(agent('agent-a'));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = a.transaction(async (tx) => {
      await tx.createRun(run('run-1', 'agent-a'));
      await held;
    });
    const second = b.transaction(async (tx) => tx.createRun(run('run-2', 'agent-a')));
    setTimeout(release, 50);
    await Promise.all([first, second]);
    expect((await a.listRuns('agent-a')).map((r) => r.id).sort()).toEqual(['run-1', 'run-2']);
  });

  it('casTurnState of a conversation, run owners, cancel requests and leases', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createAgent(agent('agent-b'));
    const now = '2025-01-01T00:00:00.000Z';
    await s.createConversation({ id: 'conv-1', agentId: 'agent-a', summary: null, state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: now, updatedAt: now });
    const to = { state: 'running' as const, activeRunId: 'run-1', pendingToolCalls: [] };
    expect(await s.casTurnState({ agentId: 'agent-b', conversationId: 'conv-1' }, { state: 'idle', activeRunId: null }, to)).toBe(false); // another agent's
    expect(await s.casTurnState({ agentId: 'agent-a', conversationId: 'conv-1' }, { state: 'idle', activeRunId: null }, to)).toBe(true);
    expect(await s.casTurnState({ agentId: 'agent-a', conversationId: 'conv-1' }, { state: 'idle', activeRunId: null }, to)).toBe(false); // lost
    expect(await s.getConversation('conv-1')).toMatchObject({ state: 'running', activeRunId: 'run-1' });
    expect((await s.getAgent('agent-a'))?.state).toBe('idle'); // the default conversation is another

    await s.createRun(run('run-1', 'agent-a', { ownerId: 'inst-1' }));
    await s.createRun(run('run-2', 'agent-b', { ownerId: 'inst-2' }));
    await s.createRun(run('run-3', 'agent-b'));
    expect((await s.getRun('run-1'))?.ownerId).toBe('inst-1');
    expect((await s.runningOwners()).sort()).toEqual(['inst-1', 'inst-2', null].sort());
    expect(await s.requestCancel('run-1')).toBe(true);
    expect((await s.getRun('run-1'))?.cancelRequestedAt).toMatch(ISO);
    expect(await s.requestCancel('run-none')).toBe(false);

    await s.renewLease('inst-1', '2025-01-01T00:00:10.000Z');
    await s.renewLease('inst-2', '2025-01-01T00:00:30.000Z');
    expect(await s.expiredOwners('2025-01-01T00:00:20.000Z')).toEqual(['inst-1']);
    await s.renewLease('inst-1', '2025-01-01T00:01:00.000Z');
    expect(await s.expiredOwners('2025-01-01T00:00:20.000Z')).toEqual([]);
    await s.dropLease('inst-2');
    // a lease dropped (or never taken) while owning a running run: nobody vouches for it
    expect(await s.expiredOwners('2025-01-01T00:00:20.000Z')).toEqual(['inst-2']);
    expect(await s.expiredOwners('2025-01-01T00:05:00.000Z')).toEqual(['inst-1', 'inst-2']);

    // only that owner's runs fail; the conversation its run held is let go
    expect(await s.failInterruptedRuns('gone', 'inst-1')).toEqual(['run-1']);
    expect(await s.getConversation('conv-1')).toMatchObject({ state: 'idle', activeRunId: null });
    expect((await s.getRun('run-2'))?.status).toBe('running');
    expect(await s.failInterruptedRuns('gone', null)).toEqual(['run-3']);
    expect(await s.requestCancel('run-1')).toBe(false); // not running any more
  });

  it('getAgentByName: the oldest of that name', async () => {
    const s = store();
    await s.createAgent(agent('agent-2', { name: 'twin', createdAt: '2025-01-02T00:00:00.000Z' }));
    await s.createAgent(agent('agent-1', { name: 'twin', createdAt: '2025-01-01T00:00:00.000Z' }));
    expect((await s.getAgentByName('twin'))?.id).toBe('agent-1');
  });

  it('failInterruptedRuns after a crash: running runs fail, running agents go idle, approvals survive', async () => {
    const s1 = store();
    await s1.createAgent(agent('agent-run'));
    await s1.createAgent(agent('agent-appr'));
    await s1.createAgent(agent('agent-idle'));
    await s1.createRun(run('run-live', 'agent-run'));
    await s1.createRun(run('run-appr', 'agent-appr'));
    await s1.createRun(run('run-done', 'agent-idle'));
    await s1.finishRun('run-appr', 'completed', 'requires_approval', usage, null);
    await s1.finishRun('run-done', 'completed', 'end_turn', usage, null);
    const pending: PendingToolCall[] = [{ toolCallId: 'toolu_9', name: 'send_email', input: { to: 'a' }, requiresApproval: true }];
    await setTurn(s1, 'agent-run', 'running', 'run-live', []);
    await setTurn(s1, 'agent-appr', 'awaitingApproval', 'run-appr', pending);
    const apprBefore = await s1.getAgent('agent-appr');
    const doneBefore = await s1.getRun('run-done');
    await s1.close(); // the "crash"

    const s2 = store();
    const reason = 'the server stopped while the run was in progress';
    expect(await s2.failInterruptedRuns(reason, null)).toEqual(['run-live']);

    const failed = await s2.getRun('run-live');
    expect(failed).toMatchObject({ status: 'failed', stopReason: 'error', error: reason });
    expect(failed?.completedAt).toMatch(ISO);
    expect(await s2.getAgent('agent-run')).toMatchObject({ state: 'idle', activeRunId: null, pendingToolCalls: [] });
    expect(await s2.getAgent('agent-appr')).toEqual(apprBefore);
    expect(await s2.getRun('run-done')).toEqual(doneBefore);

    // idempotent: nothing left to fail, and a failed run cannot be finished again
    expect(await s2.failInterruptedRuns(reason, null)).toEqual([]);
    expect(await s2.finishRun('run-live', 'completed', 'end_turn', null, null)).toBe(false);
  });

  it('appends messages in order and lists them per run and per agent', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createAgent(agent('agent-b'));
    await s.createRun(run('run-1', 'agent-a'));
    await s.createRun(run('run-2', 'agent-a'));
    await s.createRun(run('run-b', 'agent-b'));

    const toolReturn: LettaMessage = {
      message_type: 'tool_return_message',
      id: 'msg-tr',
      date: '2025-01-01T00:00:01.000Z',
      otid: 'otid-tr',
      run_id: 'run-1',
      step_id: 'step-1',
      seq_id: 4,
      tool_return: '{"ok":true}',
      status: 'success',
      tool_call_id: 'toolu_1',
      stdout: null,
      stderr: ['warn'],
    };
    const r1 = [assistant('m1', 'run-1', 'one'), toolReturn, assistant('m3', 'run-1', 'three 🎉')];
    await s.appendMessages('run-1', 'agent-a', r1);
    await s.appendMessages('run-b', 'agent-b', [assistant('mb', 'run-b', 'other agent')]);
    await s.appendMessages('run-2', 'agent-a', [assistant('m4', 'run-2', 'four'), assistant('m5', 'run-2', 'five')]);
    await s.appendMessages('run-2', 'agent-a', []);

    expect(await s.listRunMessages('run-1')).toEqual(r1);
    expect((await s.listRunMessages('run-2')).map((m) => m.id)).toEqual(['m4', 'm5']);
    expect(await s.listRunMessages('run-none')).toEqual([]);
    expect((await s.listAgentMessages('agent-a')).map((m) => m.id)).toEqual(['m1', 'msg-tr', 'm3', 'm4', 'm5']);
    // the newest `limit`, oldest first
    expect((await s.listAgentMessages('agent-a', 3)).map((m) => m.id)).toEqual(['m3', 'm4', 'm5']);
    expect(await s.listAgentMessages('agent-a', 0)).toEqual([]);
    expect((await s.listAgentMessages('agent-b')).map((m) => m.id)).toEqual(['mb']);
  });

  it('pages messages by stored message: parts of one id stay together, cursors in the page\'s order, types, unknown cursors', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createRun(run('run-1', 'agent-a'));
    await s.createRun(run('run-2', 'agent-a'));
    const part = (id: string, n: number, runId = 'run-1', type: 'assistant_message' | 'reasoning_message' = 'assistant_message'): LettaMessage =>
      type === 'assistant_message'
        ? { ...assistant(id, runId, `${id}.${n}`), otid: `${id}-${n}` }
        : { message_type: 'reasoning_message', id, date: '2025-01-01T00:00:00.000Z', otid: `${id}-${n}`, run_id: runId, step_id: null, source: 'reasoner_model', reasoning: 'hm', signature: null };
    await s.appendMessages('run-1', 'agent-a', [part('A', 0, 'run-1', 'reasoning_message'), part('A', 1), part('B', 0)]);
    await s.appendMessages('run-1', 'agent-a', [part('A', 2)]); // a late part of A (after B was stored)
    await s.appendMessages('run-2', 'agent-a', [part('C', 0, 'run-2', 'reasoning_message'), part('C', 1, 'run-2'), part('D', 0, 'run-2')]);
    const keys = (p: Awaited<ReturnType<typeof s.pageMessages>>) => ('items' in p ? p.items.map((m) => m.otid) : p);
    const agentA = { agentId: 'agent-a' };
    expect(keys(await s.pageMessages(agentA, { limit: 100, order: 'asc' }))).toEqual(['A-0', 'A-1', 'A-2', 'B-0', 'C-0', 'C-1', 'D-0']);
    expect(keys(await s.pageMessages(agentA, { limit: 1, order: 'asc' }))).toEqual(['A-0', 'A-1', 'A-2']);
    expect(keys(await s.pageMessages(agentA, { limit: 2, order: 'asc', after: 'A' }))).toEqual(['B-0', 'C-0', 'C-1']);
    expect(keys(await s.pageMessages(agentA, { limit: 2, order: 'desc' }))).toEqual(['D-0', 'C-1', 'C-0']);
    expect(keys(await s.pageMessages(agentA, { limit: 2, order: 'desc', after: 'C' }))).toEqual(['B-0', 'A-2', 'A-1', 'A-0']);
    // before: the nearest stored messages before the cursor, in the page's order
    expect(keys(await s.pageMessages(agentA, { limit: 2, order: 'asc', before: 'D' }))).toEqual(['B-0', 'C-0', 'C-1']);
    expect(keys(await s.pageMessages(agentA, { limit: 1, order: 'desc', before: 'B' }))).toEqual(['C-1', 'C-0']);
    expect(keys(await s.pageMessages(agentA, { limit: 9, order: 'asc', after: 'A', before: 'D' }))).toEqual(['B-0', 'C-0', 'C-1']);
    // an otid names its stored message
    expect(keys(await s.pageMessages(agentA, { limit: 1, order: 'asc', after: 'A-1' }))).toEqual(['B-0']);
    // types: only those parts, only stored messages that have one (a page is never empty before the end)
    expect(keys(await s.pageMessages(agentA, { limit: 1, order: 'asc' }, ['reasoning_message']))).toEqual(['A-0']);
    expect(keys(await s.pageMessages(agentA, { limit: 1, order: 'asc', after: 'A' }, ['reasoning_message']))).toEqual(['C-0']);
    expect(keys(await s.pageMessages({ runId: 'run-2' }, { limit: 100, order: 'asc' }))).toEqual(['C-0', 'C-1', 'D-0']);
    expect(await s.pageMessages({ runId: 'run-2' }, { limit: 1, order: 'asc', after: 'A' })).toEqual({ unknownCursor: 'A' });
  });

  it('pages agents and runs by creation time with filters', async () => {
    const s = store();
    for (const [id, at] of [['agent-1', '01'], ['agent-2', '02'], ['agent-3', '02'], ['agent-4', '04']] as const) {
      await s.createAgent(agent(id, { name: `Name ${id}`, createdAt: `2025-01-${at}T00:00:00.000Z` }));
    }
    const ids = <T extends { id: string }>(p: { items: T[] } | { unknownCursor: string }) => ('items' in p ? p.items.map((x) => x.id) : p);
    expect(ids(await s.pageAgents({ limit: 10, order: 'asc' }))).toEqual(['agent-1', 'agent-2', 'agent-3', 'agent-4']);
    expect(ids(await s.pageAgents({ limit: 2, order: 'desc' }))).toEqual(['agent-4', 'agent-3']);
    expect(ids(await s.pageAgents({ limit: 2, order: 'desc', after: 'agent-3' }))).toEqual(['agent-2', 'agent-1']);
    expect(ids(await s.pageAgents({ limit: 1, order: 'asc', before: 'agent-3' }))).toEqual(['agent-2']);
    expect(ids(await s.pageAgents({ limit: 10, order: 'asc' }, { name: 'Name agent-2' }))).toEqual(['agent-2']);
    expect(ids(await s.pageAgents({ limit: 10, order: 'asc' }, { queryText: 'AGENT-4' }))).toEqual(['agent-4']);
    expect(await s.pageAgents({ limit: 1, order: 'asc', after: 'agent-x' })).toEqual({ unknownCursor: 'agent-x' });
    await s.updateAgentConfig({ ...(await s.getAgent('agent-1'))!, tags: ['red', 'blue'] });
    await s.updateAgentConfig({ ...(await s.getAgent('agent-3'))!, tags: ['red'] });
    expect((await s.getAgent('agent-1'))!.tags).toEqual(['red', 'blue']);
    expect(ids(await s.pageAgents({ limit: 10, order: 'asc' }, { tags: ['blue', 'red'] }))).toEqual(['agent-1', 'agent-3']);
    expect(ids(await s.pageAgents({ limit: 10, order: 'asc' }, { tags: ['blue', 'red'], matchAllTags: true }))).toEqual(['agent-1']);
    expect(ids(await s.pageAgents({ limit: 10, order: 'asc' }, { tags: ['green'] }))).toEqual([]);
    await s.createRun(run('run-1', 'agent-1', { createdAt: '2025-01-01T00:00:00.000Z', status: 'completed', stopReason: 'end_turn' }));
    await s.createRun(run('run-2', 'agent-2', { createdAt: '2025-01-02T00:00:00.000Z', status: 'failed', stopReason: 'llm_api_error' }));
    await s.createRun(run('run-3', 'agent-1', { createdAt: '2025-01-03T00:00:00.000Z' }));
    expect(ids(await s.pageRuns({ limit: 10, order: 'desc' }))).toEqual(['run-3', 'run-2', 'run-1']);
    expect(ids(await s.pageRuns({ limit: 10, order: 'asc' }, { agentIds: ['agent-1'] }))).toEqual(['run-1', 'run-3']);
    expect(ids(await s.pageRuns({ limit: 10, order: 'asc' }, { statuses: ['running', 'failed'] }))).toEqual(['run-2', 'run-3']);
    expect(ids(await s.pageRuns({ limit: 10, order: 'asc' }, { stopReason: 'end_turn' }))).toEqual(['run-1']);
    expect(ids(await s.pageRuns({ limit: 1, order: 'asc', after: 'run-1' }, { agentIds: ['agent-1'] }))).toEqual(['run-3']);
  });

  it('migration 4 groups the messages of a version 3 file by their stored message', async () => {
    const old = new Database(file);
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) m.up(old);
    old.pragma('user_version = 3');
    old.prepare(`INSERT INTO agents VALUES ('agent-a', 'a', 'm', 's', '[]', '[]', 'simple', 10, 'idle', NULL, '[]', '2025-01-01', '2025-01-01')`).run();
    old.prepare(`INSERT INTO runs (id, agent_id, status, created_at) VALUES ('run-1', 'agent-a', 'completed', '2025-01-01')`).run();
    const insert = old.prepare('INSERT INTO messages (run_id, agent_id, message) VALUES (?, ?, ?)');
    for (const [id, otid] of [['A', 'a0'], ['B', 'b0'], ['A', 'a1']]) insert.run('run-1', 'agent-a', JSON.stringify({ ...assistant(id!, 'run-1', 'x'), otid }));
    old.close();
    const s = store();
    const page = await s.pageMessages({ agentId: 'agent-a' }, { limit: 1, order: 'asc' });
    expect('items' in page && page.items.map((m) => m.otid)).toEqual(['a0', 'a1']);
    await s.appendMessages('run-1', 'agent-a', [{ ...assistant('B', 'run-1', 'late'), otid: 'b1' }]);
    const next = await s.pageMessages({ agentId: 'agent-a' }, { limit: 1, order: 'asc', after: 'A' });
    expect('items' in next && next.items.map((m) => m.otid)).toEqual(['b0', 'b1']);
  });

  it('migration 5: a version 4 file\'s history, messages and runs are the agent\'s default conversation', async () => {
    const old = new Database(file);
    for (const m of MIGRATIONS.filter((x) => x.version <= 4)) m.up(old);
    old.pragma('user_version = 4');
    old.prepare(`INSERT INTO agents (id, name, model, system, tools, requires_approval_tools, interface_mode, max_steps, state, active_run_id, pending_tool_calls, created_at, updated_at)
      VALUES ('agent-a', 'a', 'm', 's', '[]', '[]', 'simple', 10, 'idle', NULL, '[]', '2025-01-01', '2025-01-01')`).run();
    old.prepare(`INSERT INTO runs (id, agent_id, status, created_at) VALUES ('run-1', 'agent-a', 'completed', '2025-01-01')`).run();
    old.prepare(`INSERT INTO history (agent_id, run_id, role, content) VALUES ('agent-a', 'run-1', 'user', '[{"type":"text","text":"old"}]')`).run();
    old.close();
    const s = store();
    expect(await s.getHistory('agent-a')).toEqual([{ role: 'user', content: [{ type: 'text', text: 'old' }] }]);
    expect((await s.listRuns('agent-a', 10, null)).map((r) => r.id)).toEqual(['run-1']);
    expect(await s.getRun('run-1')).not.toHaveProperty('conversationId');
  });

  it('migration 8: a version 7 file\'s frames (one row per frame) are read back the same, by the store and by replay-run\'s reader', async () => {
    const dbFile = path.join(dir, SQLITE_FILE_NAME);
    const old = new Database(dbFile);
    for (const m of MIGRATIONS.filter((x) => x.version <= 7)) m.up(old);
    old.pragma('user_version = 7');
    old.prepare(`INSERT INTO agents (id, name, model, system, tools, requires_approval_tools, interface_mode, max_steps, state, active_run_id, pending_tool_calls, created_at, updated_at)
      VALUES ('agent-a', 'a', 'm', 's', '[]', '[]', 'simple', 10, 'idle', NULL, '[]', '2025-01-01', '2025-01-01')`).run();
    const insertRun = old.prepare(`INSERT INTO runs (id, agent_id, status, created_at, completed_at) VALUES (?, 'agent-a', 'completed', '2025-01-01', '2025-01-01')`);
    const insertFrame = old.prepare('INSERT INTO run_frames (run_id, seq, json) VALUES (?, ?, ?)');
    const frame = (runId: string, seq: number) => ({ seq, json: JSON.stringify({ message_type: 'assistant_message', content: `${runId} #${seq}\n`, seq_id: seq }) });
    // run-1: 600 frames (more than one batch's worth) and a gap; run-2: one frame; run-3: none
    const want: Record<string, Array<{ seq: number; json: string }>> = {
      'run-1': [...Array.from({ length: 600 }, (_, i) => frame('run-1', i + 1)), frame('run-1', 700), frame('run-1', 701)],
      'run-2': [frame('run-2', 1)],
      'run-3': [],
    };
    old.transaction(() => {
      for (const [runId, frames] of Object.entries(want)) {
        insertRun.run(runId);
        for (const f of [...frames].reverse()) insertFrame.run(runId, f.seq, f.json);
      }
    })();
    old.close();
    const before = new RunReader(dir);
    expect(before.frames('run-1')).toEqual(want['run-1']);
    before.close();

    file = dbFile;
    const s = store();
    for (const [runId, frames] of Object.entries(want)) expect(await s.listRunFrames(runId)).toEqual(frames);
    const check = new Database(dbFile, { readonly: true });
    // regrouped: 1..256, 257..512, 513..600, 700..701, 1..1
    expect(check.prepare('SELECT run_id, first_seq, last_seq FROM run_frame_batches ORDER BY run_id, first_seq').all()).toEqual([
      { run_id: 'run-1', first_seq: 1, last_seq: 256 },
      { run_id: 'run-1', first_seq: 257, last_seq: 512 },
      { run_id: 'run-1', first_seq: 513, last_seq: 600 },
      { run_id: 'run-1', first_seq: 700, last_seq: 701 },
      { run_id: 'run-2', first_seq: 1, last_seq: 1 },
    ]);
    expect(check.prepare(`SELECT name FROM sqlite_master WHERE name = 'run_frames'`).all()).toEqual([]);
    check.close();
    const after = new RunReader(dir);
    expect(after.frames('run-1')).toEqual(want['run-1']);
    after.close();
    // the regrouped rows behave as written by this version: a replay fills the gap only, counts are per frame
    await s.appendRunFrames('run-1', Array.from({ length: 701 }, (_, i) => ({ seq: i + 1, json: '{"replayed":true}' })));
    expect((await s.listRunFrames('run-1')).filter((f) => f.json === '{"replayed":true}').map((f) => f.seq)).toEqual(Array.from({ length: 99 }, (_, i) => 601 + i));
    expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(702);
  });

  it('conversations: their own history, messages, runs and turn state; deleted with what they hold', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    const conv = { id: 'conv-1', agentId: 'agent-a', summary: null, state: 'idle' as const, activeRunId: null, pendingToolCalls: [], createdAt: '2025-01-02', updatedAt: '2025-01-02' };
    await s.createConversation(conv);
    await s.createRun(run('run-own', 'agent-a'));
    await s.createRun(run('run-c', 'agent-a', { conversationId: 'conv-1' }));
    await s.appendHistory('agent-a', 'run-own', [{ role: 'user', content: ['own'] }]);
    await s.appendHistory('agent-a', 'run-c', [{ role: 'user', content: ['conv'] }]);
    await s.appendMessages('run-c', 'agent-a', [assistant('M', 'run-c', 'in conv')]);
    expect(await s.getHistory('agent-a')).toEqual([{ role: 'user', content: ['own'] }]);
    expect(await s.getHistory('agent-a', 'conv-1')).toEqual([{ role: 'user', content: ['conv'] }]);
    const inConv = await s.pageMessages({ conversationId: 'conv-1' }, { limit: 10, order: 'asc' });
    expect('items' in inConv && inConv.items.map((m) => m.id)).toEqual(['M']);
    const own = await s.pageMessages({ agentId: 'agent-a' }, { limit: 10, order: 'asc' });
    expect('items' in own && own.items).toEqual([]);
    expect((await s.listRuns('agent-a', 10, 'conv-1')).map((r) => r.id)).toEqual(['run-c']);
    expect((await s.getRun('run-c'))?.conversationId).toBe('conv-1');
    // a run's end lets go of its conversation, not of the agent
    await setTurn(s, { conversationId: 'conv-1' }, 'running', 'run-c', []);
    await setTurn(s, 'agent-a', 'running', 'run-own', []);
    expect(await s.releaseAgent('agent-a', 'run-c', null)).toBe(true);
    expect(await s.getConversation('conv-1')).toMatchObject({ state: 'idle', activeRunId: null });
    expect(await s.getAgent('agent-a')).toMatchObject({ state: 'running', activeRunId: 'run-own' });
    expect(await s.deleteConversation('conv-1')).toBe(true);
    expect(await s.getRun('run-c')).toBeNull();
    expect(await s.getHistory('agent-a')).toEqual([{ role: 'user', content: ['own'] }]);
  });

  it('memory blocks: per agent, one per label in creation order, replaced by label (same id and place), deleted with the agent', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createAgent(agent('agent-b'));
    const block = (id: string, agentId: string, label: string, value: string) => ({ id, agentId, label, value, limit: 100, description: null, readOnly: false, createdAt: '2025-01-02', updatedAt: '2025-01-02' });
    await s.putBlock(block('block-1', 'agent-a', 'persona', 'I am A'));
    await s.putBlock({ ...block('block-2', 'agent-a', 'human', 'the user'), description: 'who', readOnly: true });
    await s.putBlock(block('block-3', 'agent-b', 'persona', 'I am B'));
    await s.putBlock({ ...block('block-ignored', 'agent-a', 'persona', 'I am A, changed'), limit: 50, updatedAt: '2025-01-03' });
    expect(await s.listBlocks('agent-a')).toEqual([
      { ...block('block-1', 'agent-a', 'persona', 'I am A, changed'), limit: 50, updatedAt: '2025-01-03' },
      { ...block('block-2', 'agent-a', 'human', 'the user'), description: 'who', readOnly: true },
    ]);
    expect((await s.getBlock('agent-b', 'persona'))?.value).toBe('I am B');
    expect(await s.getBlock('agent-b', 'human')).toBeNull();
    await expect(s.putBlock(block('block-4', 'agent-none', 'x', 'y'))).rejects.toThrow();
    await s.deleteAgent('agent-a');
    expect(await s.listBlocks('agent-a')).toEqual([]);
  });

  it('appendMessages is all or nothing', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createRun(run('run-1', 'agent-a'));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = { ...assistant('m2', 'run-1', 'x'), extra: cyclic } as unknown as LettaMessage;
    await expect(s.appendMessages('run-1', 'agent-a', [assistant('m1', 'run-1', 'ok'), bad])).rejects.toThrow();
    expect(await s.listRunMessages('run-1')).toEqual([]);
  });

  it('journals run frames: in seq order, idempotent per seq, deleted per run, pruned once ended long enough', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createRun(run('run-1', 'agent-a'));
    await s.createRun(run('run-2', 'agent-a'));
    await s.appendRunFrames('run-1', [{ seq: 2, json: '{"b":2}' }, { seq: 1, json: '{"a":1}' }]);
    await s.appendRunFrames('run-1', [{ seq: 2, json: '{"again":2}' }, { seq: 3, json: '{"c":3}' }]);
    expect(await s.listRunFrames('run-1')).toEqual([
      { seq: 1, json: '{"a":1}' },
      { seq: 2, json: '{"b":2}' },
      { seq: 3, json: '{"c":3}' },
    ]);
    await s.appendRunFrames('run-2', [{ seq: 1, json: '{}' }]);
    expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(0); // both still running
    await s.finishRun('run-1', 'completed', 'end_turn', usage, null);
    expect(await s.pruneRunFrames('2000-01-01T00:00:00.000Z')).toBe(0); // ended after the cutoff
    expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(3);
    expect(await s.listRunFrames('run-1')).toEqual([]);
    expect(await s.listRunFrames('run-2')).toHaveLength(1);
    await s.deleteRunFrames('run-2');
    expect(await s.listRunFrames('run-2')).toEqual([]);
    await s.appendRunFrames('run-2', [{ seq: 1, json: '{}' }]);
    await s.deleteAgent('agent-a');
    expect(await s.listRunFrames('run-2')).toEqual([]); // cascade
  });

  it('keeps run transitions in seq order, idempotent per seq, not pruned with the frames, deleted with the run', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createRun(run('run-1', 'agent-a'));
    const t = (seq: number, runState: string, step: string | null, seqId: number) => ({ seq, at: `2026-01-01T00:00:0${seq}.000Z`, run: runState, step, seqId });
    await s.appendRunTransitions('run-1', [t(2, 'streaming', 'streaming.text', 3), t(1, 'streaming', 'streaming.betweenBlocks', 0)]);
    await s.appendRunTransitions('run-1', [t(2, 'completed', null, 9), t(3, 'completed', null, 9)]);
    expect(await s.listRunTransitions('run-1')).toEqual([t(1, 'streaming', 'streaming.betweenBlocks', 0), t(2, 'streaming', 'streaming.text', 3), t(3, 'completed', null, 9)]);
    await s.finishRun('run-1', 'completed', 'end_turn', usage, null);
    await s.pruneRunFrames('2999-01-01T00:00:00.000Z');
    expect(await s.listRunTransitions('run-1')).toHaveLength(3); // the replay outlives the resume window
    await s.deleteAgent('agent-a');
    expect(await s.listRunTransitions('run-1')).toEqual([]); // cascade
  });

  it('round-trips history in order', async () => {
    const s = store();
    await s.createAgent(agent('agent-a'));
    await s.createAgent(agent('agent-b'));
    await s.createRun(run('run-1', 'agent-a'));
    await s.createRun(run('run-2', 'agent-a'));
    await s.createRun(run('run-b', 'agent-b'));
    const t1: HistoryTurn[] = [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 'sig' },
          { type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'x' } },
        ],
      },
    ];
    const t2: HistoryTurn[] = [
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
    ];
    await s.appendHistory('agent-a', 'run-1', t1);
    await s.appendHistory('agent-b', 'run-b', [{ role: 'user', content: [{ type: 'text', text: 'b' }] }]);
    await s.appendHistory('agent-a', 'run-2', t2);
    expect(await s.getHistory('agent-a')).toEqual([...t1, ...t2]);
    expect(await s.getHistory('agent-none')).toEqual([]);
  });

  it('keeps everything across close and reopen', async () => {
    const s1 = store();
    const a = agent('agent-a', { pendingToolCalls: [{ toolCallId: 't', name: 'n', input: { k: 1 }, requiresApproval: true }] });
    await s1.createAgent(a);
    await s1.createRun(run('run-1', 'agent-a'));
    await s1.finishRun('run-1', 'completed', 'end_turn', usage, null);
    const r = await s1.getRun('run-1');
    await s1.appendMessages('run-1', 'agent-a', [assistant('m1', 'run-1', 'hello')]);
    await s1.appendHistory('agent-a', 'run-1', [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    await s1.close();
    await s1.close(); // harmless

    const s2 = store();
    expect(await s2.getAgent('agent-a')).toEqual(a);
    expect(await s2.getRun('run-1')).toEqual(r);
    expect(await s2.listRunMessages('run-1')).toEqual([assistant('m1', 'run-1', 'hello')]);
    expect(await s2.getHistory('agent-a')).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    // appends continue after the existing positions
    await s2.createRun(run('run-2', 'agent-a'));
    await s2.appendMessages('run-2', 'agent-a', [assistant('m2', 'run-2', 'again')]);
    expect((await s2.listAgentMessages('agent-a')).map((m) => m.id)).toEqual(['m1', 'm2']);
  });

  it('refuses a data file with a newer schema version', async () => {
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    let err: unknown;
    try {
      store();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store_version');
    expect((err as StoreError).message).toMatch(/schema version \d+, newer than/);
    expect((err as StoreError).message).toContain(file);

    // the file was left alone
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    } finally {
      check.close();
    }
  });

  it('throws naming the table and id when a JSON column is corrupt', async () => {
    const s1 = store();
    await s1.createAgent(agent('agent-a'));
    await s1.createRun(run('run-1', 'agent-a'));
    await s1.appendMessages('run-1', 'agent-a', [assistant('m1', 'run-1', 'x')]);
    await s1.close();

    const db = new Database(file);
    db.prepare("UPDATE agents SET tools = '[not json' WHERE id = 'agent-a'").run();
    db.prepare("UPDATE runs SET usage = '{\"prompt_tokens\":\"many\"}' WHERE id = 'run-1'").run();
    db.prepare("UPDATE messages SET message = 'garbage'").run();
    db.close();

    const s2 = store();
    await expect(s2.getAgent('agent-a')).rejects.toThrow(/agents row agent-a: column tools is not valid JSON/);
    await expect(s2.listAgents()).rejects.toThrow(/agents row agent-a/);
    await expect(s2.getRun('run-1')).rejects.toThrow(/runs row run-1: column usage/);
    await expect(s2.listRunMessages('run-1')).rejects.toThrow(/messages row 1: column message is not valid JSON/);
  });

  it('openSqliteStore creates the data directory and its file', async () => {
    const dataDir = path.join(dir, 'nested', 'data');
    const s = openSqliteStore(dataDir);
    open.push(s);
    await s.createAgent(agent('agent-a'));
    expect(fs.existsSync(path.join(dataDir, SQLITE_FILE_NAME))).toBe(true);
    expect(s.file).toBe(path.join(dataDir, 'letta-stream.db'));
  });

  it('works in memory', async () => {
    const s = new SqliteStore({ file: ':memory:' });
    open.push(s);
    await s.createAgent(agent('agent-a'));
    expect(await s.listAgents()).toHaveLength(1);
  });
});
