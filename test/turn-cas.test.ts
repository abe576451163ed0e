import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentService } from '../src/actors/agent-service.js';
import { ServiceError } from '../src/actors/errors.js';
import type { RunLog } from '../src/actors/run-log.js';
import { startAnthropicServer, type AnthropicServer } from '../src/anthropic-server/index.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

/**
 * Two instances on one database: two AgentServices, each with its own SqliteStore connection to
 * the same file. Every turn-state change is a compare-and-set decided by the agent chart, so when
 * they race exactly one wins and the store stays consistent.
 */
const ROUNDS = 50;

let dir: string;
let anthropic: AnthropicServer;
let stores: SqliteStore[];
let services: AgentService[];
const warnings: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-cas-'));
  anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
  const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
  const file = path.join(dir, 'letta-stream.db');
  stores = [new SqliteStore({ file }), new SqliteStore({ file })];
  services = stores.map((store, i) => new AgentService({ store, client, dataDir: dir, instanceId: `inst-${i}`, warn: (m) => warnings.push(m) }));
});

afterAll(async () => {
  for (const s of services) await s.shutdown();
  for (const s of services) await s.whenIdle(5_000);
  for (const s of stores) await s.close();
  await anthropic.close();
  rmSync(dir, { recursive: true, force: true });
});

const ended = (log: RunLog) => new Promise<void>((resolve) => log.subscribe({ frame: () => {}, end: () => resolve() }));

/** Settles every promise; the winners' values and the losers' errors. */
async function race<T>(attempts: Array<() => Promise<T>>): Promise<{ won: T[]; lost: unknown[] }> {
  const results = await Promise.allSettled(attempts.map((a) => a()));
  return {
    won: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    lost: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

const isConflict = (err: unknown) => err instanceof ServiceError && err.code === 'conflict';

describe('turn state: compare-and-set across two instances', () => {
  it(`two user messages at once (${ROUNDS} rounds): exactly one run starts, the other is a conflict`, async () => {
    const [a, b] = services as [AgentService, AgentService];
    const agent = await a.createAgent({ name: 'twice', tools: ['get_time'] });
    let casLosses = 0; // the loser read the same state as the winner and lost the compare-and-set
    for (let round = 0; round < ROUNDS; round++) {
      // Vary the interleaving: which instance asks first, and how far apart.
      const order = round % 2 === 0 ? [a, b] : [b, a];
      const { won, lost } = await race(
        order.map((s, i) => async () => {
          if (i === 1 && round % 3 === 1) await new Promise((r) => setImmediate(r));
          return s.startRun(agent.id, { kind: 'user', text: `#tokens 3\nround ${round}` });
        }),
      );
      expect(won, `round ${round}`).toHaveLength(1);
      expect(lost, `round ${round}`).toHaveLength(1);
      expect(isConflict(lost[0]), `round ${round}: ${String(lost[0])}`).toBe(true);
      if (String(lost[0]).includes('changed meanwhile')) casLosses++;
      const winner = won[0]!;
      const runs = await stores[0]!.listRuns(agent.id, ROUNDS * 2);
      expect(runs, `round ${round}: one run per round`).toHaveLength(round + 1);
      expect(runs[0]?.id).toBe(winner.runId);
      expect((await stores[1]!.getAgent(agent.id))?.activeRunId).toBe(winner.runId);
      await ended(winner.log);
      await expect.poll(async () => (await stores[0]!.getAgent(agent.id))?.state).toBe('idle');
    }
    // Each round's messages: the winner's input only.
    const users = (await stores[0]!.listAgentMessages(agent.id, 10_000)).filter((m) => m.message_type === 'user_message');
    expect(users).toHaveLength(ROUNDS);
    expect(casLosses, 'rounds decided by the compare-and-set itself').toBeGreaterThan(0);
  });

  it(`approve and cancel of one pending approval at once (${ROUNDS} rounds): either the decision's run or the denial, never both`, async () => {
    const [a, b] = services as [AgentService, AgentService];
    const agent = await a.createAgent({ name: 'decide', tools: ['calculator'], requiresApprovalTools: ['calculator'] });
    let approvals = 0;
    let cancels = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ask = await a.startRun(agent.id, { kind: 'user', text: `#tool calculator {"expression": "${round}+1"}` });
      await ended(ask.log);
      await expect.poll(async () => (await stores[1]!.getAgent(agent.id))?.state).toBe('awaitingApproval');
      const pending = (await stores[1]!.getAgent(agent.id))!.pendingToolCalls;
      expect(pending).toHaveLength(1);
      const callId = pending[0]!.toolCallId;
      const [approver, canceller] = round % 2 === 0 ? [a, b] : [b, a];
      const attempts: Array<() => Promise<'approved' | 'cancelled'>> = [
        async () => {
          // Some rounds give the cancel a head start of a few turns of the event loop.
          for (let i = 0; i < round % 4; i++) await new Promise((r) => setImmediate(r));
          const r = await approver.startRun(agent.id, { kind: 'approvals', approvals: [{ type: 'approval', tool_call_id: callId, approve: true }] });
          await ended(r.log);
          return 'approved';
        },
        async () => {
          if (round % 3 === 2) await new Promise((r) => setImmediate(r));
          const r = await canceller.cancelAgent(agent.id);
          // A cancel that finds the approval gone denies nothing (the run it would cancel is the other instance's).
          if (r.denied_tool_calls.length === 0) throw new ServiceError('conflict', 'nothing was pending any more');
          return 'cancelled';
        },
      ];
      const { won, lost } = await race(round % 2 === 0 ? attempts : [...attempts].reverse());
      expect(won, `round ${round}: ${lost.map(String).join('; ')}`).toHaveLength(1);
      expect(isConflict(lost[0]), `round ${round}: ${String(lost[0])}`).toBe(true);
      await expect.poll(async () => (await stores[0]!.getAgent(agent.id))?.state).toBe('idle');

      // The store: the call answered exactly once, by the winner.
      const returns = (await stores[0]!.listAgentMessages(agent.id, 10_000)).filter((m) => m.message_type === 'tool_return_message' && m.tool_call_id === callId);
      expect(returns, `round ${round}: one tool return`).toHaveLength(1);
      const decisions = (await stores[0]!.listAgentMessages(agent.id, 10_000)).filter(
        (m) => m.message_type === 'approval_response_message' && m.approvals?.some((x) => x.tool_call_id === callId),
      );
      const results = (await stores[0]!.getHistory(agent.id))
        .flatMap((t) => t.content as Array<{ type?: string; tool_use_id?: string; is_error?: boolean }>)
        .filter((c) => c.type === 'tool_result' && c.tool_use_id === callId);
      expect(results, `round ${round}: one tool_result in the history`).toHaveLength(1);
      if (won[0] === 'approved') {
        approvals++;
        expect(decisions, `round ${round}: the decision's run`).toHaveLength(1);
        expect(returns[0]).toMatchObject({ status: 'success' });
      } else {
        cancels++;
        expect(decisions, `round ${round}: no decision stored`).toHaveLength(0);
        expect(returns[0]).toMatchObject({ status: 'error' });
        expect(results[0]?.is_error).toBe(true);
      }
    }
    // Both outcomes happen over the rounds (the interleavings vary).
    expect(approvals + cancels).toBe(ROUNDS);
    expect(approvals, 'approvals won').toBeGreaterThan(0);
    expect(cancels, 'cancels won').toBeGreaterThan(0);
  });
});
