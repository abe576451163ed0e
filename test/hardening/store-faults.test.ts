import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { faultyStore, type FaultyStore } from '../support/faulty-store.js';
import { ofType, startHarness, TestClient, type Frame, type Harness } from '../support/service-harness.js';

/**
 * Item 3: a store write that fails mid-run (full disk, database locked by another process) ends
 * the run as `failed` with the truth told to the client, and never leaves the agent busy.
 */
let h: Harness | null = null;
let c: TestClient | null = null;
afterEach(async () => {
  c?.close();
  await h?.close();
  h = null;
  c = null;
});

type Json = Record<string, unknown>;
const json = async (url: string, init?: RequestInit): Promise<{ status: number; body: Json }> => {
  const r = await fetch(url, init);
  return { status: r.status, body: (await r.json()) as Json };
};

function expectFailedEnd(frames: Frame[], runId: string): void {
  expect(ofType(frames, 'stop_reason').map((f) => f.stop_reason)).toEqual(['error']);
  expect(ofType(frames, 'usage_statistics')).toHaveLength(1);
  expect(frames.filter((f) => f.type === 'run.end')).toEqual([{ type: 'run.end', run_id: runId, status: 'failed', stop_reason: 'error' }]);
}

async function nextTurnWorks(client: TestClient, agentId: string): Promise<void> {
  const next = await client.start(agentId, 'are you still there?');
  const frames = await client.runFrames(next);
  expect(ofType(frames, 'stop_reason').map((f) => f.stop_reason)).toEqual(['end_turn']);
}

describe('a full disk mid-run', () => {
  it('the step cannot be stored: the run fails with error, the agent is idle, the next turn works', async () => {
    let faults!: FaultyStore;
    h = await startHarness({ wrapStore: (s) => (faults = faultyStore(s)).store });
    c = await TestClient.connect(h.server.wsUrl);
    const agent = (await h.service.ensureDemoAgent()).id;
    const runId = await c.start(agent, '#tokens 300\n#delay 2\nfill the disk');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');
    faults.fail(['appendMessages', 'appendHistory']);
    const frames = await c.runFrames(runId);
    faults.heal();
    expectFailedEnd(frames, runId);
    const run = await json(`${h.server.url}/v1/runs/${runId}`);
    expect(run.body).toMatchObject({ status: 'failed', stop_reason: 'error' });
    expect(String(run.body.error)).toMatch(/store/);
    expect((await json(`${h.server.url}/v1/agents/${agent}`)).body.state).toBe('idle');
    await nextTurnWorks(c, agent);
  });

  it('every write fails (the end of the run too): cancel, PATCH and DELETE are not refused as busy; once writable, the store heals', async () => {
    let faults!: FaultyStore;
    h = await startHarness({ wrapStore: (s) => (faults = faultyStore(s)).store });
    c = await TestClient.connect(h.server.wsUrl);
    const agent = (await h.service.ensureDemoAgent()).id;
    const runId = await c.start(agent, '#tokens 300\n#delay 2\nfill the disk');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');
    faults.fail();
    const frames = await c.runFrames(runId);
    expectFailedEnd(frames, runId);

    // The disk is still full: nothing can be written, but the agent is not held by a dead run.
    expect((await json(`${h.server.url}/v1/agents/${agent}`)).body.state).toBe('idle');
    const cancel = await json(`${h.server.url}/v1/agents/${agent}/messages/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    const patch = await json(`${h.server.url}/v1/agents/${agent}`, { method: 'PATCH', body: JSON.stringify({ system: 'be brief' }) });
    expect(patch.status).not.toBe(409);
    const del = await json(`${h.server.url}/v1/agents/${agent}`, { method: 'DELETE' });
    expect(del.status).not.toBe(409);
    expect((await h.store.getAgent(agent))?.state).toBe('running'); // really nothing was written
    const listed = (await json(`${h.server.url}/v1/agents`)).body as unknown as Array<{ id: string; state: string }>;
    expect(listed.find((a) => a.id === agent)?.state).toBe('idle'); // the list says what GET /v1/agents/:id says

    faults.heal();
    // The run's end is written once the store takes writes again (retried, and before the next turn).
    await expect.poll(async () => (await h!.store.getRun(runId))?.status, { timeout: 10_000 }).toBe('failed');
    expect(await h.store.getRun(runId)).toMatchObject({ stopReason: 'error', error: expect.stringMatching(/store/) });
    expect((await h.store.getAgent(agent))?.state).toBe('idle');
    const patched = await json(`${h.server.url}/v1/agents/${agent}`, { method: 'PATCH', body: JSON.stringify({ system: 'be brief' }) });
    expect(patched.status).toBe(200);
    await nextTurnWorks(c, agent);
  });

  it('a step asking for approval cannot be stored: the call is closed for the client, the run fails, the agent does not await approval', async () => {
    let faults!: FaultyStore;
    h = await startHarness({ wrapStore: (s) => (faults = faultyStore(s)).store });
    c = await TestClient.connect(h.server.wsUrl);
    const agent = (await h.service.ensureDemoAgent()).id;
    faults.failOnce('appendHistory', (...args) => (args[2] as Array<{ role: string }>)[0]?.role === 'assistant');
    const runId = await c.start(agent, '#tool write_file {"path": "a.txt", "content": "hi"}');
    const frames = await c.runFrames(runId);
    expect(faults.refused).toBe(1);
    expectFailedEnd(frames, runId);
    const call = ofType(frames, 'approval_request_message')[0]!;
    const callId = (call.tool_call as { tool_call_id: string }).tool_call_id;
    expect(ofType(frames, 'tool_return_message')).toEqual([expect.objectContaining({ tool_call_id: callId, status: 'error', tool_return: expect.stringContaining('store') })]);
    expect((await json(`${h.server.url}/v1/agents/${agent}`)).body).toMatchObject({ state: 'idle', pending_approvals: [] });
    expect((await h.store.listRunMessages(runId)).map((m) => m.message_type)).toEqual(['user_message']); // the step was not stored
    await nextTurnWorks(c, agent);
  });

  it('a failing tool return write fails the run (the tool phase reports it), and the history stays valid', async () => {
    let faults!: FaultyStore;
    h = await startHarness({ wrapStore: (s) => (faults = faultyStore(s)).store });
    c = await TestClient.connect(h.server.wsUrl);
    const agent = (await h.service.ensureDemoAgent()).id;
    // The first step (the tool call) is stored; its tool return write fails.
    faults.failOnce('appendMessages', (...args) => (args[2] as Array<{ message_type: string }>).some((m) => m.message_type === 'tool_return_message'));
    const runId = await c.start(agent, '#tool calculator {"expression": "2+2"}');
    const frames = await c.runFrames(runId);
    expect(faults.refused).toBe(1);
    expectFailedEnd(frames, runId);
    expect(ofType(frames, 'assistant_message')).toHaveLength(0); // no second step after the failure
    await nextTurnWorks(c, agent);
  });
});

describe('a full disk before a turn starts', () => {
  it('the turn is refused with 503 and a detail (retry later); nothing is left running', async () => {
    let faults!: FaultyStore;
    h = await startHarness({ wrapStore: (s) => (faults = faultyStore(s)).store });
    const agent = (await h.service.ensureDemoAgent()).id;
    faults.fail(['createRun', 'startUserTurn']); // the run's first write, whichever way the turn starts
    const r = await json(`${h.server.url}/v1/agents/${agent}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    expect(r.status).toBe(503);
    expect(String(r.body.detail)).toMatch(/database cannot take the write now \(SQLITE_FULL/);
    c = await TestClient.connect(h.server.wsUrl);
    c.send({ type: 'run.start', request_id: 'w1', agent_id: agent, messages: [{ role: 'user', content: 'hi' }] });
    expect(await c.waitFor((f) => f.request_id === 'w1')).toMatchObject({ type: 'error', code: 'unavailable' });
    faults.heal();
    expect((await h.store.getAgent(agent))?.state).toBe('idle');
    await nextTurnWorks(c, agent);
  });
});

describe('a database locked by another process', () => {
  it('writes give up fast (no multi-second event loop stall), the run fails, and heals once unlocked', async () => {
    h = await startHarness();
    c = await TestClient.connect(h.server.wsUrl);
    const agent = (await h.service.ensureDemoAgent()).id;
    const runId = await c.start(agent, '#tokens 300\n#delay 2\nwhile locked');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');

    const locker = new Database(path.join(h.dir, 'letta-stream.db'));
    locker.exec('BEGIN EXCLUSIVE');
    let maxLag = 0;
    let last = Date.now();
    const probe = setInterval(() => {
      const now = Date.now();
      maxLag = Math.max(maxLag, now - last - 10);
      last = now;
    }, 10);
    try {
      const frames = await c.runFrames(runId, 30_000);
      expectFailedEnd(frames, runId);
      // A run's worth of locked writes: a few fractions of a second each, never the old 5 s.
      await new Promise((r) => setTimeout(r, 300));
      console.log(`locked database: longest event-loop stall ${maxLag} ms`);
      expect(maxLag).toBeLessThan(1500);
      // Reads still work in WAL mode: the agent is shown idle, not busy.
      expect((await json(`${h.server.url}/v1/agents/${agent}`)).body.state).toBe('idle');
    } finally {
      clearInterval(probe);
      locker.exec('ROLLBACK');
      locker.close();
    }
    await expect.poll(async () => (await h!.store.getRun(runId))?.status, { timeout: 10_000 }).toBe('failed');
    expect((await h.store.getAgent(agent))?.state).toBe('idle');
    await nextTurnWorks(c, agent);
  });
});
