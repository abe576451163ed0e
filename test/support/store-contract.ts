import { afterEach, describe, expect, it } from 'vitest';
import type { LettaMessage } from '../../src/letta/frames.js';
import type { AgentRecord, ConversationRecord, HistoryTurn, MemoryBlock, Page, PageRequest, RunRecord, Store, TurnExpectation, TurnState, UsageTotals, UserTurnStart } from '../../src/store/types.js';

/**
 * The `Store` contract, one suite for every implementation: what the interface's doc comments
 * promise, checked the same way against SQLite and PostgreSQL.
 */
export interface ContractOptions {
  /** Another store on the same database as `store` (a second instance), for races between instances. */
  sibling?: (store: Store) => Promise<Store>;
}

export function storeContract(name: string, open: () => Promise<Store>, options: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    async function store(): Promise<Store> {
      const s = await open();
      opened.push(s);
      return s;
    }
    /** A second handle on the same database, or the same store when the implementation has none. */
    async function sibling(s: Store): Promise<Store> {
      if (!options.sibling) return s;
      const t = await options.sibling(s);
      opened.push(t);
      return t;
    }

    describe('agents', () => {
      it('creates, reads, lists in creation order and finds the oldest by name', async () => {
        const s = await store();
        await s.createAgent(agent('a2', { name: 'same', createdAt: T[2] }));
        await s.createAgent(agent('a1', { name: 'same', createdAt: T[1], tags: ['x'], pendingToolCalls: [pending('tc1')] }));
        expect(await s.getAgent('a1')).toEqual(agent('a1', { name: 'same', createdAt: T[1], tags: ['x'], pendingToolCalls: [pending('tc1')] }));
        expect(await s.getAgent('nope')).toBeNull();
        expect((await s.getAgentByName('same'))?.id).toBe('a1');
        expect(await s.getAgentByName('other')).toBeNull();
        expect((await s.listAgents()).map((a) => a.id)).toEqual(['a1', 'a2']);
      });

      it('updates only the configuration, and refuses an unknown agent', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        expect(await s.casTurnState({ agentId: 'a1', conversationId: null }, idle, { state: 'running', activeRunId: 'r1', pendingToolCalls: [] })).toBe(true);
        await s.updateAgentConfig(agent('a1', { name: 'renamed', model: 'm2', tools: ['t'], tags: ['k'], maxSteps: 3, interfaceMode: 'kwargs', state: 'idle' }));
        const a = await s.getAgent('a1');
        expect(a).toMatchObject({ name: 'renamed', model: 'm2', tools: ['t'], tags: ['k'], maxSteps: 3, interfaceMode: 'kwargs', state: 'running', activeRunId: 'r1' });
        expect(a?.updatedAt).not.toBe(T[0]);
        await expect(s.updateAgentConfig(agent('ghost'))).rejects.toMatchObject({ code: 'store_not_found' });
      });

      it('deletes an agent with everything it has (cascade)', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createAgent(agent('a2'));
        await s.putBlock(block('b1', 'a1', 'human'));
        await s.createConversation(conversation('c1', 'a1'));
        await s.createRun(run('r1', 'a1'));
        await s.createRun(run('r2', 'a1', { conversationId: 'c1' }));
        await s.createRun(run('r3', 'a2'));
        await s.appendMessages('r1', 'a1', [assistant('m1', 'r1')]);
        await s.appendMessages('r3', 'a2', [assistant('m3', 'r3')]);
        await s.appendHistory('a1', 'r2', [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
        await s.appendRunFrames('r1', [{ seq: 1, json: '{}' }]);
        await s.appendRunTransitions('r1', [transition(1)]);
        expect(await s.deleteAgent('a1')).toBe(true);
        expect(await s.deleteAgent('a1')).toBe(false);
        expect(await s.getRun('r1')).toBeNull();
        expect(await s.getRun('r2')).toBeNull();
        expect(await s.getConversation('c1')).toBeNull();
        expect(await s.listBlocks('a1')).toEqual([]);
        expect(await s.listRunMessages('r1')).toEqual([]);
        expect(await s.getHistory('a1', 'c1')).toEqual([]);
        expect(await s.listRunFrames('r1')).toEqual([]);
        expect(await s.listRunTransitions('r1')).toEqual([]);
        expect((await s.listRunMessages('r3')).map((m) => m.id)).toEqual(['m3']);
      });
    });

    describe('memory blocks', () => {
      it('lists in creation order; replacing by label keeps the id and the place', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.putBlock(block('b1', 'a1', 'persona'));
        await s.putBlock(block('b2', 'a1', 'human'));
        await s.putBlock(block('b9', 'a1', 'persona', { value: 'new', limit: 10, description: 'd', readOnly: true, updatedAt: T[3] }));
        const blocks = await s.listBlocks('a1');
        expect(blocks.map((b) => [b.id, b.label, b.value])).toEqual([
          ['b1', 'persona', 'new'],
          ['b2', 'human', 'v'],
        ]);
        expect(await s.getBlock('a1', 'persona')).toEqual(block('b1', 'a1', 'persona', { value: 'new', limit: 10, description: 'd', readOnly: true, updatedAt: T[3] }));
        expect(await s.getBlock('a1', 'none')).toBeNull();
      });
    });

    describe('conversations', () => {
      it('creates, reads, updates the summary and deletes with its runs, messages and history', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createConversation(conversation('c1', 'a1'));
        expect(await s.getConversation('c1')).toEqual(conversation('c1', 'a1'));
        await s.updateConversationSummary('c1', 'About cats');
        expect((await s.getConversation('c1'))?.summary).toBe('About cats');
        await expect(s.updateConversationSummary('ghost', 'x')).rejects.toMatchObject({ code: 'store_not_found' });
        await s.createRun(run('r1', 'a1', { conversationId: 'c1' }));
        await s.createRun(run('r0', 'a1'));
        await s.appendMessages('r1', 'a1', [assistant('m1', 'r1')]);
        await s.appendHistory('a1', 'r1', [{ role: 'user', content: ['x'] }]);
        await s.appendHistory('a1', 'r0', [{ role: 'user', content: ['default'] }]);
        expect(await s.getHistory('a1', 'c1')).toEqual([{ role: 'user', content: ['x'] }]);
        expect(await s.getHistory('a1')).toEqual([{ role: 'user', content: ['default'] }]);
        expect(await s.lastHistoryTurn('a1', 'c1')).toEqual({ role: 'user', content: ['x'] });
        expect(await s.lastHistoryTurn('a1')).toEqual({ role: 'user', content: ['default'] });
        expect(await s.deleteConversation('c1')).toBe(true);
        expect(await s.deleteConversation('c1')).toBe(false);
        expect(await s.getRun('r1')).toBeNull();
        expect(await s.listRunMessages('r1')).toEqual([]);
        expect(await s.getHistory('a1', 'c1')).toEqual([]);
        expect(await s.getRun('r0')).not.toBeNull();
        expect(await s.getAgent('a1')).not.toBeNull();
      });
    });

    describe('runs', () => {
      it('creates and reads runs; lists newest first, by conversation', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createConversation(conversation('c1', 'a1'));
        await s.createRun(run('r1', 'a1', { createdAt: T[1], ownerId: 'i1' }));
        await s.createRun(run('r2', 'a1', { createdAt: T[2], conversationId: 'c1' }));
        await s.createRun(run('r3', 'a1', { createdAt: T[2] }));
        const r1 = await s.getRun('r1');
        expect(r1).toMatchObject(run('r1', 'a1', { createdAt: T[1], ownerId: 'i1' }));
        expect(r1?.conversationId).toBeUndefined();
        expect((await s.getRun('r2'))?.conversationId).toBe('c1');
        expect(await s.getRun('nope')).toBeNull();
        expect((await s.listRuns('a1')).map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
        expect((await s.listRuns('a1', 1)).map((r) => r.id)).toEqual(['r3']);
        expect((await s.listRuns('a1', 10, null)).map((r) => r.id)).toEqual(['r3', 'r1']);
        expect((await s.listRuns('a1', 10, 'c1')).map((r) => r.id)).toEqual(['r2']);
      });

      it('finishes a run once; a second finalizer changes nothing', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r1', 'a1', { ownerId: 'i1' }));
        expect(await s.finishRun('r1', 'completed', 'end_turn', usage, null)).toBe(true);
        expect(await s.finishRun('r1', 'failed', 'error', null, 'late')).toBe(false);
        const r = await s.getRun('r1');
        expect(r).toMatchObject({ status: 'completed', stopReason: 'end_turn', usage, error: null });
        expect(r?.completedAt).toEqual(expect.any(String));
        expect(r?.ownerId ?? null).toBeNull();
        await expect(s.finishRun('r1', 'running', 'error', null, null)).rejects.toMatchObject({ code: 'store_invalid' });
        expect(await s.finishRun('ghost', 'completed', 'end_turn', null, null)).toBe(false);
      });

      it('concurrent finalizers (two instances): exactly one wins', async () => {
        const a = await store();
        const b = await sibling(a);
        await a.createAgent(agent('a1'));
        await a.createRun(run('r1', 'a1'));
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).finishRun('r1', i % 3 ? 'cancelled' : 'failed', 'cancelled', null, `f${i}`)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect((await a.getRun('r1'))?.error).toBe(`f${winner}`);
      });

      it('requestCancel marks a running run only', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r1', 'a1'));
        expect((await s.getRun('r1'))?.cancelRequestedAt ?? null).toBeNull();
        expect(await s.requestCancel('r1')).toBe(true);
        const at = (await s.getRun('r1'))?.cancelRequestedAt;
        expect(at).toEqual(expect.any(String));
        expect(await s.requestCancel('r1')).toBe(true);
        expect((await s.getRun('r1'))?.status).toBe('running');
        await s.finishRun('r1', 'cancelled', 'cancelled', null, null);
        expect(await s.requestCancel('r1')).toBe(false);
        expect(await s.requestCancel('ghost')).toBe(false);
      });
    });

    describe('turn state', () => {
      it('compare-and-set on the agent and on a conversation', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createAgent(agent('a2'));
        await s.createConversation(conversation('c1', 'a1'));
        const def = { agentId: 'a1', conversationId: null };
        const running: TurnState = { state: 'running', activeRunId: 'r1', pendingToolCalls: [] };
        expect(await s.casTurnState(def, { state: 'running', activeRunId: null }, running)).toBe(false);
        expect(await s.casTurnState(def, idle, running)).toBe(true);
        expect(await s.casTurnState(def, idle, running)).toBe(false);
        expect(await s.getAgent('a1')).toMatchObject({ state: 'running', activeRunId: 'r1' });
        expect(await s.casTurnState(def, { state: 'running', activeRunId: 'r2' }, { state: 'idle', activeRunId: null, pendingToolCalls: [] })).toBe(false);
        const approval: TurnState = { state: 'awaitingApproval', activeRunId: 'r1', pendingToolCalls: [pending('tc')] };
        expect(await s.casTurnState(def, { state: 'running', activeRunId: 'r1' }, approval)).toBe(true);
        expect(await s.getAgent('a1')).toMatchObject(approval);
        // A conversation's turn state is its own, and only under its own agent.
        expect(await s.casTurnState({ agentId: 'a2', conversationId: 'c1' }, idle, running)).toBe(false);
        expect(await s.casTurnState({ agentId: 'a1', conversationId: 'c1' }, idle, running)).toBe(true);
        expect(await s.getConversation('c1')).toMatchObject({ state: 'running', activeRunId: 'r1' });
        expect(await s.casTurnState({ agentId: 'a1', conversationId: 'ghost' }, idle, running)).toBe(false);
      });

      it('many concurrent compare-and-sets from two instances on one scope: exactly one wins', async () => {
        const a = await store();
        const b = await sibling(a);
        await a.createAgent(agent('a1'));
        await a.createConversation(conversation('c1', 'a1'));
        for (const scope of [
          { agentId: 'a1', conversationId: null },
          { agentId: 'a1', conversationId: 'c1' },
        ]) {
          const results = await Promise.all(
            Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).casTurnState(scope, idle, { state: 'running', activeRunId: `r${i}`, pendingToolCalls: [] })),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          const held = scope.conversationId ? await b.getConversation('c1') : await b.getAgent('a1');
          expect(held?.activeRunId).toBe(`r${results.indexOf(true)}`);
        }
      });

      it('releaseAgent only while that run holds the turn; to awaitingApproval with the pending calls', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createConversation(conversation('c1', 'a1'));
        await s.createRun(run('r1', 'a1'));
        await s.createRun(run('r2', 'a1', { conversationId: 'c1' }));
        expect(await s.releaseAgent('a1', 'r1', null)).toBe(false);
        await s.casTurnState({ agentId: 'a1', conversationId: null }, idle, { state: 'running', activeRunId: 'r1', pendingToolCalls: [] });
        expect(await s.releaseAgent('a1', 'r2', null)).toBe(false);
        expect(await s.releaseAgent('a1', 'r1', [pending('tc')])).toBe(true);
        expect(await s.getAgent('a1')).toMatchObject({ state: 'awaitingApproval', activeRunId: 'r1', pendingToolCalls: [pending('tc')] });
        expect(await s.releaseAgent('a1', 'r1', null)).toBe(false);
        // A conversation's run releases the conversation, not the agent.
        await s.casTurnState({ agentId: 'a1', conversationId: 'c1' }, idle, { state: 'running', activeRunId: 'r2', pendingToolCalls: [] });
        expect(await s.releaseAgent('a1', 'r2', null)).toBe(true);
        expect(await s.getConversation('c1')).toMatchObject({ state: 'idle', activeRunId: null, pendingToolCalls: [] });
        expect((await s.getAgent('a1'))?.state).toBe('awaitingApproval');
      });
    });

    describe('interrupted runs and leases', () => {
      async function runningRun(s: Store, id: string, ownerId: string | null, conversationId?: string): Promise<void> {
        await s.createRun(run(id, 'a1', { ownerId, createdAt: T[1], ...(conversationId ? { conversationId } : {}) }));
      }

      it('fails only the runs of the given owner and releases what they held', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createConversation(conversation('c1', 'a1'));
        await s.createConversation(conversation('c2', 'a1'));
        await runningRun(s, 'r1', 'i1');
        await runningRun(s, 'r2', 'i1', 'c1');
        await runningRun(s, 'r3', 'i2', 'c2');
        await runningRun(s, 'r4', null);
        await s.createRun(run('r5', 'a1', { ownerId: 'i1', status: 'completed', completedAt: T[2] }));
        const held = (run: string): TurnState => ({ state: 'running', activeRunId: run, pendingToolCalls: [] });
        await s.casTurnState({ agentId: 'a1', conversationId: null }, idle, held('r1'));
        await s.casTurnState({ agentId: 'a1', conversationId: 'c1' }, idle, held('r2'));
        await s.casTurnState({ agentId: 'a1', conversationId: 'c2' }, idle, held('r3'));

        expect((await s.failInterruptedRuns('gone', 'i1')).sort()).toEqual(['r1', 'r2']);
        expect(await s.getRun('r1')).toMatchObject({ status: 'failed', stopReason: 'error', error: 'gone' });
        expect((await s.getRun('r1'))?.completedAt).toEqual(expect.any(String));
        expect(await s.getAgent('a1')).toMatchObject({ state: 'idle', activeRunId: null });
        expect(await s.getConversation('c1')).toMatchObject({ state: 'idle', activeRunId: null });
        expect(await s.getConversation('c2')).toMatchObject({ state: 'running', activeRunId: 'r3' });
        expect((await s.getRun('r3'))?.status).toBe('running');
        expect((await s.getRun('r5'))?.status).toBe('completed');
        expect(await s.failInterruptedRuns('again', 'i1')).toEqual([]);
        expect(await s.failInterruptedRuns('legacy', null)).toEqual(['r4']);
        expect((await s.getRun('r3'))?.status).toBe('running');
      });

      it('two instances sweeping the same owner at once fail each run once', async () => {
        const a = await store();
        const b = await sibling(a);
        await a.createAgent(agent('a1'));
        const ids = Array.from({ length: 30 }, (_, i) => `r${String(i).padStart(2, '0')}`);
        for (const id of ids) await runningRun(a, id, 'dead');
        const [x, y] = await Promise.all([a.failInterruptedRuns('gone', 'dead'), b.failInterruptedRuns('gone', 'dead')]);
        expect([...x, ...y].sort()).toEqual(ids);
      });

      it('expiredOwners: lease ended, or no lease at all, and still owning a running run', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await runningRun(s, 'r1', 'old');
        await runningRun(s, 'r2', 'fresh');
        await runningRun(s, 'r3', 'unleased');
        await runningRun(s, 'r4', null);
        await s.createRun(run('r5', 'a1', { ownerId: 'idle-old', status: 'completed', completedAt: T[2] }));
        await s.renewLease('old', '2030-01-01T00:00:00.000Z');
        await s.renewLease('old', '2030-01-01T00:00:10.000Z'); // renewed
        await s.renewLease('fresh', '2030-01-01T00:01:00.000Z');
        await s.renewLease('idle-old', '2029-01-01T00:00:00.000Z');
        const now = '2030-01-01T00:00:30.000Z';
        expect((await s.expiredOwners(now)).sort()).toEqual(['old', 'unleased']);
        expect((await s.expiredOwners('2030-01-01T00:00:05.000Z')).sort()).toEqual(['unleased']);
        await s.dropLease('fresh');
        expect((await s.expiredOwners(now)).sort()).toEqual(['fresh', 'old', 'unleased']);
        await s.failInterruptedRuns('gone', 'old');
        expect((await s.expiredOwners(now)).sort()).toEqual(['fresh', 'unleased']);
        await s.dropLease('never-there');
      });

      it('holdRun: true only while the run is running under that owner; a sweep of the owner waits for a transaction holding it', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await runningRun(s, 'r1', 'me');
        expect(await s.holdRun('r1', 'me')).toBe(true);
        expect(await s.holdRun('r1', 'other')).toBe(false);
        expect(await s.holdRun('ghost', 'me')).toBe(false);
        const b = await sibling(s);
        const order: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        const writes = s.transaction(async (tx) => {
          expect(await tx.holdRun('r1', 'me')).toBe(true);
          await tx.appendHistory('a1', 'r1', [{ role: 'assistant', content: [{ type: 'text', text: 'written under the hold' }] }]);
          await held;
        }).then(() => order.push('writes committed'));
        await new Promise((r) => setTimeout(r, 50)); // the hold is taken
        const sweep = b.failInterruptedRuns('gone', 'me').then((ids) => (order.push('swept'), ids));
        await new Promise((r) => setTimeout(r, 100));
        release();
        await writes;
        expect(await sweep).toEqual(['r1']);
        expect(order).toEqual(['writes committed', 'swept']);
        expect(await s.holdRun('r1', 'me')).toBe(false);
      });

      it('renewLease answers the owner\'s running runs asked to cancel; claimSetting keeps the first value', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await runningRun(s, 'r1', 'me');
        await runningRun(s, 'r2', 'me');
        await runningRun(s, 'r3', 'other');
        expect(await s.renewLease('me', '2030-01-01T00:00:00.000Z')).toEqual([]);
        expect(await s.requestCancel('r2')).toBe(true);
        expect(await s.requestCancel('r3')).toBe(true);
        expect(await s.renewLease('me', '2030-01-01T00:00:01.000Z')).toEqual(['r2']);
        await s.finishRun('r2', 'cancelled', 'cancelled', null, null);
        expect(await s.renewLease('me', '2030-01-01T00:00:02.000Z')).toEqual([]);
        expect(await s.requestCancel('r2')).toBe(false); // ended: nothing to ask
        expect(await s.claimSetting('workspace', '/a')).toBe('/a');
        expect(await s.claimSetting('workspace', '/b')).toBe('/a');
        const b = await sibling(s);
        const claims = await Promise.all(['/x', '/y', '/z'].map((v, i) => (i % 2 ? b : s).claimSetting('race', v)));
        expect(new Set(claims).size).toBe(1);
      });
    });

    describe('messages', () => {
      /** r1: m1 (two parts), m2, m3 (two parts), m4; r2 (conversation c1): m5; r0 (default, earlier): m0. */
      async function seeded(): Promise<Store> {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createConversation(conversation('c1', 'a1'));
        await s.createRun(run('r0', 'a1'));
        await s.createRun(run('r1', 'a1'));
        await s.createRun(run('r2', 'a1', { conversationId: 'c1' }));
        await s.appendMessages('r0', 'a1', [assistant('m0', 'r0')]);
        await s.appendMessages('r1', 'a1', [reasoning('m1', 'r1'), assistant('m1', 'r1'), assistant('m2', 'r1'), reasoning('m3', 'r1')]);
        await s.appendMessages('r2', 'a1', [assistant('m5', 'r2')]);
        await s.appendMessages('r1', 'a1', [assistant('m3', 'r1'), assistant('m4', 'r1')]); // m3's second part, in a later batch
        return s;
      }
      const key = (m: LettaMessage) => `${m.id}:${m.message_type === 'assistant_message' ? 'a' : 'r'}`;
      const keys = (p: Page<LettaMessage>) => ('items' in p ? p.items.map(key) : p);

      it('lists a run\'s and an agent\'s messages in order', async () => {
        const s = await seeded();
        expect((await s.listRunMessages('r1')).map(key)).toEqual(['m1:r', 'm1:a', 'm2:a', 'm3:r', 'm3:a', 'm4:a']);
        expect((await s.listRunMessages('r1'))[1]).toEqual(assistant('m1', 'r1'));
        expect((await s.listAgentMessages('a1')).map(key)).toEqual(['m0:a', 'm1:r', 'm1:a', 'm2:a', 'm3:r', 'm5:a', 'm3:a', 'm4:a']);
        expect((await s.listAgentMessages('a1', 2)).map(key)).toEqual(['m3:a', 'm4:a']);
      });

      it('pages by stored message: parts of one message never split, both orders', async () => {
        const s = await seeded();
        const run = { runId: 'r1' };
        expect(keys(await s.pageMessages(run, pg(1, 'asc')))).toEqual(['m1:r', 'm1:a']);
        expect(keys(await s.pageMessages(run, pg(2, 'asc')))).toEqual(['m1:r', 'm1:a', 'm2:a']);
        expect(keys(await s.pageMessages(run, pg(50, 'asc')))).toEqual(['m1:r', 'm1:a', 'm2:a', 'm3:r', 'm3:a', 'm4:a']);
        expect(keys(await s.pageMessages(run, pg(1, 'desc')))).toEqual(['m4:a']);
        expect(keys(await s.pageMessages(run, pg(2, 'desc')))).toEqual(['m4:a', 'm3:a', 'm3:r']);
        expect(keys(await s.pageMessages(run, pg(50, 'desc')))).toEqual(['m4:a', 'm3:a', 'm3:r', 'm2:a', 'm1:a', 'm1:r']);
        // Walking every page with `after` visits every part once, groups whole.
        for (const order of ['asc', 'desc'] as const) {
          for (const limit of [1, 2]) {
            const seen: string[] = [];
            let after: string | undefined;
            for (;;) {
              const p = await s.pageMessages(run, { limit, order, after });
              if (!('items' in p)) throw new Error('unknown cursor');
              if (p.items.length === 0) break;
              seen.push(...p.items.map(key));
              after = p.items.at(-1)?.id;
            }
            expect(seen).toEqual(keys(await s.pageMessages(run, pg(50, order))));
          }
        }
      });

      it('cursors: after, before, both, an otid, an unknown one', async () => {
        const s = await seeded();
        const run = { runId: 'r1' };
        expect(keys(await s.pageMessages(run, pg(1, 'asc', { after: 'm2' })))).toEqual(['m3:r', 'm3:a']);
        expect(keys(await s.pageMessages(run, pg(1, 'asc', { before: 'm3' })))).toEqual(['m2:a']);
        expect(keys(await s.pageMessages(run, pg(2, 'asc', { before: 'm4' })))).toEqual(['m2:a', 'm3:r', 'm3:a']);
        expect(keys(await s.pageMessages(run, pg(1, 'desc', { after: 'm3' })))).toEqual(['m2:a']);
        expect(keys(await s.pageMessages(run, pg(2, 'desc', { before: 'm2' })))).toEqual(['m4:a', 'm3:a', 'm3:r']);
        expect(keys(await s.pageMessages(run, pg(50, 'asc', { after: 'm1', before: 'm4' })))).toEqual(['m2:a', 'm3:r', 'm3:a']);
        expect(keys(await s.pageMessages(run, pg(50, 'asc', { after: 'otid-m2' })))).toEqual(['m3:r', 'm3:a', 'm4:a']);
        expect(await s.pageMessages(run, pg(5, 'asc', { after: 'nope' }))).toEqual({ unknownCursor: 'nope' });
        expect(await s.pageMessages(run, pg(5, 'asc', { before: 'm5' }))).toEqual({ unknownCursor: 'm5' }); // not in this scope
      });

      it('scopes: an agent\'s default conversation, a conversation, a run; the types filter', async () => {
        const s = await seeded();
        expect(keys(await s.pageMessages({ agentId: 'a1' }, pg(50, 'asc')))).toEqual(['m0:a', 'm1:r', 'm1:a', 'm2:a', 'm3:r', 'm3:a', 'm4:a']);
        expect(keys(await s.pageMessages({ conversationId: 'c1' }, pg(50, 'asc')))).toEqual(['m5:a']);
        expect(keys(await s.pageMessages({ runId: 'r1' }, pg(2, 'asc'), ['reasoning_message']))).toEqual(['m1:r', 'm3:r']);
        expect(keys(await s.pageMessages({ runId: 'r1' }, pg(2, 'desc'), ['assistant_message']))).toEqual(['m4:a', 'm3:a']);
        expect(keys(await s.pageMessages({ runId: 'r1' }, pg(50, 'asc'), []))).toEqual([]);
        expect(keys(await s.pageMessages({ agentId: 'ghost' }, pg(50, 'asc')))).toEqual([]);
      });
    });

    describe('paging agents, runs and conversations', () => {
      // Inserted out of time order, with a tie at T[2] that insertion order breaks.
      const AGENTS: Array<[string, string]> = [
        ['g3', T[3]],
        ['g1', T[1]],
        ['g2a', T[2]],
        ['g2b', T[2]],
        ['g4', T[4]],
      ];
      const ASC = ['g1', 'g2a', 'g2b', 'g3', 'g4'];

      async function walk<T extends { id: string }>(pageFn: (p: PageRequest) => Promise<Page<T>>, limit: number, order: 'asc' | 'desc'): Promise<string[]> {
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const p = await pageFn({ limit, order, after });
          if (!('items' in p)) throw new Error(`unknown cursor ${p.unknownCursor}`);
          if (p.items.length === 0) return seen;
          seen.push(...p.items.map((x) => x.id));
          after = p.items.at(-1)?.id;
        }
      }
      const ids = <T extends { id: string }>(p: Page<T>) => ('items' in p ? p.items.map((x) => x.id) : p);

      async function checkPaging<T extends { id: string }>(pageFn: (p: PageRequest) => Promise<Page<T>>, asc: string[]): Promise<void> {
        const desc = [...asc].reverse();
        for (const limit of [1, 2, 100]) {
          expect(await walk(pageFn, limit, 'asc')).toEqual(asc);
          expect(await walk(pageFn, limit, 'desc')).toEqual(desc);
        }
        const [first, second, third] = asc as [string, string, string];
        const last = asc.at(-1) as string;
        expect(ids(await pageFn(pg(2, 'asc')))).toEqual(asc.slice(0, 2));
        expect(ids(await pageFn(pg(2, 'desc')))).toEqual(desc.slice(0, 2));
        expect(ids(await pageFn(pg(2, 'asc', { before: last })))).toEqual(asc.slice(-3, -1));
        expect(ids(await pageFn(pg(2, 'desc', { before: first })))).toEqual([third, second]);
        expect(ids(await pageFn(pg(100, 'asc', { after: first, before: last })))).toEqual(asc.slice(1, -1));
        expect(ids(await pageFn(pg(100, 'desc', { after: last, before: first })))).toEqual(desc.slice(1, -1));
        expect(await pageFn(pg(2, 'asc', { after: 'nope' }))).toEqual({ unknownCursor: 'nope' });
        expect(await pageFn(pg(2, 'desc', { before: 'nope' }))).toEqual({ unknownCursor: 'nope' });
      }

      it('agents: limits, orders, cursors, ties; name, text and tag filters', async () => {
        const s = await store();
        for (const [id, at] of AGENTS) {
          await s.createAgent(agent(id, { createdAt: at, name: id === 'g2b' ? 'Shared Name' : `agent ${id}`, tags: TAGS[id] ?? [] }));
        }
        await checkPaging((p) => s.pageAgents(p), ASC);
        expect(ids(await s.pageAgents(pg(100, 'asc'), { name: 'Shared Name' }))).toEqual(['g2b']);
        expect(ids(await s.pageAgents(pg(100, 'asc'), { queryText: 'SHARED' }))).toEqual(['g2b']);
        expect(ids(await s.pageAgents(pg(100, 'asc'), { queryText: 'agent g' }))).toEqual(['g1', 'g2a', 'g3', 'g4']);
        expect(ids(await s.pageAgents(pg(100, 'asc'), { tags: ['red', 'blue'] }))).toEqual(['g1', 'g2a', 'g3']);
        expect(ids(await s.pageAgents(pg(100, 'asc'), { tags: ['red', 'blue'], matchAllTags: true }))).toEqual(['g1']);
        expect(ids(await s.pageAgents(pg(100, 'asc'), { tags: [] }))).toEqual(ASC);
        expect(ids(await s.pageAgents(pg(1, 'asc', { after: 'g1' }), { tags: ['red'] }))).toEqual(['g3']);
      });

      it('runs: limits, orders, cursors, ties; agent, status, stop reason and conversation filters', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createAgent(agent('a2'));
        await s.createConversation(conversation('c1', 'a1'));
        for (const [id, at] of AGENTS) {
          const done = id === 'g1' || id === 'g4';
          await s.createRun(
            run(id, id === 'g3' ? 'a2' : 'a1', {
              createdAt: at,
              ...(done ? { status: 'completed', stopReason: 'end_turn', completedAt: T[5] } : {}),
              ...(id === 'g2b' ? { conversationId: 'c1' } : {}),
            }),
          );
        }
        await checkPaging((p) => s.pageRuns(p), ASC);
        expect(ids(await s.pageRuns(pg(100, 'asc'), { agentIds: ['a2'] }))).toEqual(['g3']);
        expect(ids(await s.pageRuns(pg(100, 'asc'), { agentIds: [] }))).toEqual([]);
        expect(ids(await s.pageRuns(pg(100, 'desc'), { statuses: ['completed'] }))).toEqual(['g4', 'g1']);
        expect(ids(await s.pageRuns(pg(100, 'asc'), { statuses: ['running'], agentIds: ['a1', 'a2'] }))).toEqual(['g2a', 'g2b', 'g3']);
        expect(ids(await s.pageRuns(pg(100, 'asc'), { stopReason: 'end_turn' }))).toEqual(['g1', 'g4']);
        expect(ids(await s.pageRuns(pg(100, 'asc'), { conversationId: 'c1' }))).toEqual(['g2b']);
      });

      it('conversations: limits, orders, cursors, ties; agent and summary filters', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createAgent(agent('a2'));
        for (const [id, at] of AGENTS) {
          await s.createConversation(conversation(id, id === 'g3' ? 'a2' : 'a1', { createdAt: at, summary: id === 'g4' ? null : `Talk about ${id}` }));
        }
        await checkPaging((p) => s.pageConversations(p), ASC);
        expect(ids(await s.pageConversations(pg(100, 'asc'), { agentId: 'a2' }))).toEqual(['g3']);
        expect(ids(await s.pageConversations(pg(100, 'asc'), { summaryText: 'ABOUT G2' }))).toEqual(['g2a', 'g2b']);
        expect(ids(await s.pageConversations(pg(100, 'asc'), { agentId: 'a1', summaryText: 'talk' }))).toEqual(['g1', 'g2a', 'g2b']);
      });
    });

    describe('startUserTurn', () => {
      const start = (runId: string, over: Partial<UserTurnStart> = {}): UserTurnStart => ({
        run: run(runId, 'a1'),
        scope: { agentId: 'a1', conversationId: null },
        from: { state: 'idle', activeRunId: null },
        to: { state: 'running', activeRunId: runId, pendingToolCalls: [] },
        messages: [assistant(`earlier-${runId}`, runId), { ...assistant(`m-${runId}`, runId), message_type: 'user_message' } as LettaMessage],
        history: [
          { role: 'assistant', content: [{ type: 'text', text: 'earlier' }] },
          { role: 'user', content: [{ type: 'text', text: `hi ${runId}` }] },
        ],
        ...over,
      });

      it('takes the turn and writes the run, its input messages and history turns at once', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        expect(await s.startUserTurn(start('r1'))).toBe(true);
        expect(await s.getAgent('a1')).toMatchObject({ state: 'running', activeRunId: 'r1' });
        expect(await s.getRun('r1')).toMatchObject({ id: 'r1', agentId: 'a1', status: 'running' });
        expect((await s.listRunMessages('r1')).map((m) => m.id)).toEqual(['earlier-r1', 'm-r1']);
        expect(await s.getHistory('a1')).toEqual(start('r1').history);
        // message pages see each input message as one stored message
        const page = await s.pageMessages({ runId: 'r1' }, pg(10, 'asc'));
        expect('items' in page ? page.items.map((m) => m.id) : page).toEqual(['earlier-r1', 'm-r1']);
      });

      it('writes nothing when the turn state is not the expected one', async () => {
        const s = await store();
        await s.createAgent(agent('a1', { state: 'running', activeRunId: 'other' }));
        expect(await s.startUserTurn(start('r1'))).toBe(false);
        expect(await s.getAgent('a1')).toMatchObject({ state: 'running', activeRunId: 'other' });
        expect(await s.getRun('r1')).toBeNull();
        expect(await s.getHistory('a1')).toEqual([]);
      });

      it('writes nothing after an assistant turn that called tools (their results may be missing); a turn without calls is no obstacle', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r0', 'a1', { status: 'completed' }));
        await s.appendHistory('a1', 'r0', [{ role: 'assistant', content: [{ type: 'text', text: 'let me look' }, { type: 'tool_use', id: 't1', name: 'x', input: {} }] }]);
        expect(await s.startUserTurn(start('r1'))).toBe(false);
        expect((await s.getAgent('a1'))?.state).toBe('idle');
        expect(await s.getRun('r1')).toBeNull();
        await s.appendHistory('a1', 'r0', [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'done' }] }]);
        await s.appendHistory('a1', 'r0', [{ role: 'assistant', content: [{ type: 'text', text: 'done' }] }]);
        expect(await s.startUserTurn(start('r1'))).toBe(true);
        expect(await s.getHistory('a1')).toHaveLength(5);
      });

      it("in another conversation: that conversation's turn, run, messages and history only", async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createConversation(conversation('c1', 'a1'));
        expect(await s.startUserTurn(start('r1', { run: run('r1', 'a1', { conversationId: 'c1' }), scope: { agentId: 'a1', conversationId: 'c1' } }))).toBe(true);
        expect(await s.getConversation('c1')).toMatchObject({ state: 'running', activeRunId: 'r1' });
        expect((await s.getAgent('a1'))?.state).toBe('idle');
        expect(await s.getHistory('a1')).toEqual([]);
        expect(await s.getHistory('a1', 'c1')).toHaveLength(2);
        const page = await s.pageMessages({ conversationId: 'c1' }, pg(10, 'asc'));
        expect('items' in page ? page.items.map((m) => m.id) : page).toEqual(['earlier-r1', 'm-r1']);
      });

      it('a refused write leaves nothing: no run, the turn not taken', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await expect(s.startUserTurn(start('r1', { history: [{ role: 'system' as 'user', content: [] }] }))).rejects.toMatchObject({ code: 'store_invalid' });
        await s.createRun(run('r1', 'a1', { status: 'completed' })); // the id is taken: the INSERT of the run is refused
        await expect(s.startUserTurn(start('r1'))).rejects.toBeDefined();
        expect((await s.getAgent('a1'))?.state).toBe('idle');
        expect(await s.getHistory('a1')).toEqual([]);
        expect(await s.listRunMessages('r1')).toEqual([]);
      });
    });

    describe('history, frames, transitions', () => {
      it('history in order per conversation; a bad role is refused', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r1', 'a1'));
        const turns: HistoryTurn[] = [
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'hello' }, { type: 'tool_use', id: 't', name: 'x', input: {} }] },
        ];
        expect(await s.lastHistoryTurn('a1')).toBeNull();
        await s.appendHistory('a1', 'r1', turns);
        expect(await s.lastHistoryTurn('a1')).toEqual(turns[1]);
        await s.appendHistory('a1', 'r1', [{ role: 'user', content: ['more'] }]);
        await s.appendHistory('a1', 'r1', []);
        expect(await s.getHistory('a1')).toEqual([...turns, { role: 'user', content: ['more'] }]);
        expect(await s.lastHistoryTurn('a1')).toEqual({ role: 'user', content: ['more'] });
        expect(await s.lastHistoryTurn('a1', 'c-none')).toBeNull();
        await expect(s.appendHistory('a1', 'r1', [{ role: 'system' as 'user', content: [] }])).rejects.toMatchObject({ code: 'store_invalid' });
      });

      it('frames: idempotent per (run, seq), in seq order, deleted and pruned', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r1', 'a1'));
        await s.createRun(run('r2', 'a1'));
        await s.appendRunFrames('r1', [{ seq: 2, json: '{"b":2}' }, { seq: 1, json: '{"a":1}' }]);
        await s.appendRunFrames('r1', [{ seq: 2, json: '{"replayed":true}' }, { seq: 3, json: '{"c":3}' }]);
        await s.appendRunFrames('r1', []);
        expect(await s.listRunFrames('r1')).toEqual([
          { seq: 1, json: '{"a":1}' },
          { seq: 2, json: '{"b":2}' },
          { seq: 3, json: '{"c":3}' },
        ]);
        await s.appendRunFrames('r2', [{ seq: 1, json: '{}' }]);
        expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(0); // both still running
        await s.finishRun('r1', 'completed', 'end_turn', null, null);
        expect(await s.pruneRunFrames('2000-01-01T00:00:00.000Z')).toBe(0); // ended after that
        expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(3);
        expect(await s.listRunFrames('r1')).toEqual([]);
        await s.deleteRunFrames('r2');
        expect(await s.listRunFrames('r2')).toEqual([]);
      });

      it('frames: batches of any size read back whole and in seq order; counted per frame when pruned', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r1', 'a1'));
        await s.createRun(run('r2', 'a1'));
        // the journal's shapes: one frame, a few, a full batch (256), the rest, and a run's end
        for (const [from, to] of [[1, 1], [2, 5], [6, 261], [262, 300], [301, 302]] as const) await s.appendRunFrames('r1', frames(from, to, 'a'));
        await s.appendRunFrames('r2', frames(1, 3, 'b'));
        expect(await s.listRunFrames('r1')).toEqual(frames(1, 302, 'a'));
        expect(await s.listRunFrames('r2')).toEqual(frames(1, 3, 'b'));
        // a frame's JSON text may hold anything JSON.stringify writes (escaped newlines, separators' look-alikes)
        const odd = [{ seq: 4, json: JSON.stringify({ text: 'two\nlines\r\n\u2028', tab: '\t' }) }, { seq: 5, json: '""' }];
        await s.appendRunFrames('r2', odd);
        expect((await s.listRunFrames('r2')).slice(3)).toEqual(odd);
        // a raw newline would split the frame in two when read back: refused, nothing written
        await expect(s.appendRunFrames('r2', [{ seq: 6, json: '{"a":\n1}' }])).rejects.toMatchObject({ code: 'store_invalid' });
        expect(await s.listRunFrames('r2')).toHaveLength(5);
        await s.finishRun('r1', 'completed', 'end_turn', null, null);
        await s.finishRun('r2', 'completed', 'end_turn', null, null);
        expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(307);
        expect(await s.listRunFrames('r1')).toEqual([]);
        expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(0);
      });

      it('frames: a replay of frames partly stored stores only the seqs not stored yet (the first write stays)', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        for (const id of ['k<n', 'k>n', 'gaps', 'mixed']) await s.createRun(run(id, 'a1'));
        // recovery re-appends 1..N from the shared log when 1..K are journaled already, K < N …
        await s.appendRunFrames('k<n', frames(1, 40, 'journal'));
        await s.appendRunFrames('k<n', frames(1, 100, 'replay'));
        expect(await s.listRunFrames('k<n')).toEqual([...frames(1, 40, 'journal'), ...frames(41, 100, 'replay')]);
        // … and K > N
        await s.appendRunFrames('k>n', frames(1, 100, 'journal'));
        await s.appendRunFrames('k>n', frames(1, 40, 'replay'));
        await s.appendRunFrames('k>n', frames(30, 60, 'replay'));
        await s.appendRunFrames('k>n', frames(100, 100, 'replay'));
        expect(await s.listRunFrames('k>n')).toEqual(frames(1, 100, 'journal'));
        // stored ranges with gaps between them: a write across them fills only the gaps
        await s.appendRunFrames('gaps', frames(1, 10, 'old'));
        await s.appendRunFrames('gaps', frames(20, 30, 'old'));
        await s.appendRunFrames('gaps', frames(40, 40, 'old'));
        await s.appendRunFrames('gaps', frames(5, 45, 'new'));
        expect(await s.listRunFrames('gaps')).toEqual([...frames(1, 10, 'old'), ...frames(11, 19, 'new'), ...frames(20, 30, 'old'), ...frames(31, 39, 'new'), ...frames(40, 40, 'old'), ...frames(41, 45, 'new')]);
        // one write out of order, with gaps and a seq twice (its first frame is the one kept)
        await s.appendRunFrames('mixed', [...frames(7, 9, 'x'), ...frames(1, 2, 'x'), ...frames(8, 8, 'dup'), ...frames(4, 4, 'x')]);
        await s.appendRunFrames('mixed', frames(1, 10, 'y'));
        expect(await s.listRunFrames('mixed')).toEqual([...frames(1, 2, 'x'), ...frames(3, 3, 'y'), ...frames(4, 4, 'x'), ...frames(5, 6, 'y'), ...frames(7, 9, 'x'), ...frames(10, 10, 'y')]);
        // every seq once, whatever was written twice: deleting counts and removes each once
        await s.finishRun('k>n', 'completed', 'end_turn', null, null);
        expect(await s.pruneRunFrames('2999-01-01T00:00:00.000Z')).toBe(100);
        for (const id of ['k<n', 'gaps', 'mixed']) await s.deleteRunFrames(id);
        for (const id of ['k<n', 'k>n', 'gaps', 'mixed']) expect(await s.listRunFrames(id)).toEqual([]);
      });

      it('journal writes of many runs at once: each run gets its own rows; one refused write fails only its caller', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        const ids = ['r1', 'r2', 'r3', 'r4'];
        for (const id of ids) await s.createRun(run(id, 'a1'));
        const tr = (seq: number) => ({ seq, at: T[1], run: 'streaming', step: null, seqId: seq });
        // all at once (a store may write them together); 'ghost' is no run: its write is refused
        const results = await Promise.allSettled([
          ...ids.map((id, i) => s.appendRunFrames(id, [{ seq: 1, json: `{"run":${i}}` }, { seq: 2, json: '{}' }])),
          ...ids.map((id) => s.appendRunTransitions(id, [tr(1)])),
          s.appendRunFrames('ghost', [{ seq: 1, json: '{}' }]),
          s.appendRunTransitions('ghost', [tr(1)]),
          s.appendRunFrames('r1', [{ seq: 1, json: '{"second":true}' }, { seq: 3, json: '{}' }]),
        ]);
        expect(results.map((r) => r.status)).toEqual([...ids.map(() => 'fulfilled'), ...ids.map(() => 'fulfilled'), 'rejected', 'rejected', 'fulfilled']);
        for (const [i, id] of ids.entries()) {
          expect((await s.listRunFrames(id)).slice(0, 2)).toEqual([{ seq: 1, json: `{"run":${i}}` }, { seq: 2, json: '{}' }]);
          expect(await s.listRunTransitions(id)).toEqual([tr(1)]);
        }
        expect((await s.listRunFrames('r1')).map((f) => f.seq)).toEqual([1, 2, 3]);
      });

      it('transitions: idempotent per (run, seq), in seq order', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        await s.createRun(run('r1', 'a1'));
        await s.appendRunTransitions('r1', [transition(2), transition(1, null)]);
        await s.appendRunTransitions('r1', [{ ...transition(2), run: 'changed' }, transition(3)]);
        expect(await s.listRunTransitions('r1')).toEqual([transition(1, null), transition(2), transition(3)]);
      });
    });

    describe('transactions', () => {
      it('stores every write or none, and rethrows', async () => {
        const s = await store();
        await s.createAgent(agent('a1'));
        const boom = new Error('boom');
        await expect(
          s.transaction(async (tx) => {
            await tx.createRun(run('r1', 'a1'));
            await tx.casTurnState({ agentId: 'a1', conversationId: null }, idle, { state: 'running', activeRunId: 'r1', pendingToolCalls: [] });
            expect((await tx.getRun('r1'))?.id).toBe('r1'); // its own writes, inside
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await s.getRun('r1')).toBeNull();
        expect((await s.getAgent('a1'))?.state).toBe('idle');
        const value = await s.transaction(async (tx) => {
          await tx.createRun(run('r1', 'a1'));
          return tx.casTurnState({ agentId: 'a1', conversationId: null }, idle, { state: 'running', activeRunId: 'r1', pendingToolCalls: [] });
        });
        expect(value).toBe(true);
        expect((await s.getRun('r1'))?.id).toBe('r1');
        expect((await s.getAgent('a1'))?.state).toBe('running');
      });

      it('a concurrent reader never sees half a transaction', async () => {
        const s = await store();
        const reader = await sibling(s);
        let seen: Promise<number> | undefined;
        await s.transaction(async (tx) => {
          await tx.createAgent(agent('x1'));
          seen = reader.listAgents().then((a) => a.length); // not awaited here: it may have to wait for the commit
          await new Promise((r) => setTimeout(r, 30));
          await tx.createAgent(agent('x2'));
        });
        expect([0, 2]).toContain(await seen);
        expect(await reader.listAgents()).toHaveLength(2);
      });
    });
  });
}

// ---- fixtures ---------------------------------------------------------------------------------

/** Timestamps in order. */
const T = [
  '2025-01-01T00:00:00.000Z',
  '2025-01-01T00:00:01.000Z',
  '2025-01-01T00:00:02.000Z',
  '2025-01-01T00:00:03.000Z',
  '2025-01-01T00:00:04.000Z',
  '2025-01-01T00:00:05.000Z',
] as const;

const TAGS: Record<string, string[]> = { g1: ['red', 'blue'], g2a: ['blue'], g3: ['red', 'green'] };

const idle: TurnExpectation = { state: 'idle', activeRunId: null };

const usage: UsageTotals = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, step_count: 1, cached_input_tokens: null, cache_write_tokens: 3 };

function pg(limit: number, order: 'asc' | 'desc', cursors: { after?: string; before?: string } = {}): PageRequest {
  return { limit, order, ...cursors };
}

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
    createdAt: T[0],
    updatedAt: T[0],
    ...over,
  };
}

function pending(toolCallId: string) {
  return { toolCallId, name: 'send_email', input: { to: 'a@b.c', nested: { z: 1, a: [2] } }, requiresApproval: true };
}

function block(id: string, agentId: string, label: string, over: Partial<MemoryBlock> = {}): MemoryBlock {
  return { id, agentId, label, value: 'v', limit: 5000, description: null, readOnly: false, createdAt: T[0], updatedAt: T[0], ...over };
}

function conversation(id: string, agentId: string, over: Partial<ConversationRecord> = {}): ConversationRecord {
  return { id, agentId, summary: null, state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: T[0], updatedAt: T[0], ...over };
}

/** Frames from … to of a run, each JSON text naming its seq and which write it came from. */
function frames(from: number, to: number, tag: string): Array<{ seq: number; json: string }> {
  return Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, json: JSON.stringify({ seq_id: from + i, tag }) }));
}

function run(id: string, agentId: string, over: Partial<RunRecord> = {}): RunRecord {
  return { id, agentId, status: 'running', stopReason: null, usage: null, error: null, createdAt: T[0], completedAt: null, ...over };
}

function assistant(id: string, runId: string): LettaMessage {
  return { message_type: 'assistant_message', id, date: T[0], otid: `otid-${id}`, run_id: runId, step_id: 'step-1', content: `text of ${id}` };
}

function reasoning(id: string, runId: string): LettaMessage {
  return { message_type: 'reasoning_message', id, date: T[0], otid: `otid-${id}-r`, run_id: runId, step_id: null, source: 'reasoner_model', reasoning: 'hm', signature: null };
}

function transition(seq: number, step: string | null = 'streaming.text') {
  return { seq, at: `2025-01-01T00:00:0${seq}.123Z`, run: 'active.streaming', step, seqId: seq * 10 };
}
