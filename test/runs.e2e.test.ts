import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contractProblem } from './support/contract.js';
import { lettaFrames, ofType, startHarness, TestClient, type Frame, type Harness } from './support/service-harness.js';

/** End-to-end: real sockets, the real SDK over real HTTP to the built-in Anthropic server, SQLite. */
let h: Harness;
let c: TestClient;
let demo: string;

beforeEach(async () => {
  h = await startHarness();
  c = await TestClient.connect(h.server.wsUrl);
  demo = (await h.service.ensureDemoAgent()).id;
});
afterEach(async () => {
  c.close();
  await h.close();
});

/** The end of every run: one stop_reason, one usage_statistics, one run.end, nothing after, seq_ids 1..n. */
function expectCleanEnd(frames: Frame[], stopReason: string, status: string): void {
  const letta = lettaFrames(frames);
  expect(ofType(letta, 'stop_reason')).toHaveLength(1);
  expect(ofType(letta, 'usage_statistics')).toHaveLength(1);
  const ends = frames.filter((f) => f.type === 'run.end');
  expect(ends).toEqual([{ type: 'run.end', run_id: frames[0]!.run_id, status, stop_reason: stopReason }]);
  expect(frames[frames.length - 1]!.type).toBe('run.end');
  expect(letta[letta.length - 2]!.message_type).toBe('stop_reason');
  expect(letta[letta.length - 2]!.stop_reason).toBe(stopReason);
  expect(letta[letta.length - 1]!.message_type).toBe('usage_statistics');
  expect(letta.map((f) => f.seq_id)).toEqual(letta.map((_, i) => i + 1));
  expect(letta.map(contractProblem).filter(Boolean)).toEqual([]);
}

// Test reads of our own JSON responses.
type Json = Record<string, any>;
const getJson = async (url: string, init?: RequestInit): Promise<Json> => (await (await fetch(url, init)).json()) as Json;

const text = (frames: Frame[], t: 'assistant_message' | 'reasoning_message') =>
  ofType(frames, t)
    .map((f) => (t === 'assistant_message' ? f.content : f.reasoning))
    .join('');

describe('runs over WebSocket', () => {
  it('streams an answer: reasoning, assistant text, end_turn; the run and its messages are stored', async () => {
    const runId = await c.start(demo, 'hello there');
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'end_turn', 'completed');
    expect(text(frames, 'assistant_message')).toContain('hello there');
    expect(ofType(frames, 'reasoning_message')[0]!.source).toBe('reasoner_model');
    const run = await getJson(`${h.server.url}/v1/runs/${runId}`);
    expect(run).toMatchObject({ id: runId, status: 'completed', stop_reason: 'end_turn' });
    expect(run.usage.step_count).toBe(1);
    const messages = (await getJson(`${h.server.url}/v1/runs/${runId}/messages`)) as unknown as Frame[];
    expect(messages.map((m) => m.message_type)).toEqual(['user_message', 'reasoning_message', 'assistant_message']);
    expect(messages[2]!.content).toBe(text(frames, 'assistant_message'));
  });

  it('executes a real tool and continues with its result', async () => {
    const runId = await c.start(demo, '#tool calculator {"expression": "6*7"}');
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'end_turn', 'completed');
    const ret = ofType(frames, 'tool_return_message');
    expect(ret).toHaveLength(1);
    expect(ret[0]).toMatchObject({ status: 'success', tool_return: expect.stringContaining('42') });
    expect(text(frames, 'assistant_message')).toContain('42');
    expect((await getJson(`${h.server.url}/v1/runs/${runId}`)).usage.step_count).toBe(2);
    // The tool return belongs to the step that called the tool; the answer is the next step.
    const call = ofType(frames, 'tool_call_message')[0]!;
    expect(ret[0]!.step_id).toBe(call.step_id);
    const answerStep = ofType(frames, 'assistant_message')[0]!.step_id;
    expect(answerStep).not.toBe(call.step_id);
    expect(new Set(lettaFrames(frames).map((f) => f.step_id).filter(Boolean))).toEqual(new Set([call.step_id, answerStep]));
  });

  it('a tool error becomes an error tool return, and the run goes on', async () => {
    const runId = await c.start(demo, '#tool read_file {"path": "no/such/file.txt"}');
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'end_turn', 'completed');
    expect(ofType(frames, 'tool_return_message')[0]).toMatchObject({ status: 'error' });
  });

  it('one active run per agent: a second start gets conflict', async () => {
    const runId = await c.start(demo, '#stall 2000\nslow');
    const request_id = c.nextId();
    c.send({ type: 'run.start', request_id, agent_id: demo, messages: [{ role: 'user', content: 'again' }] });
    const err = await c.waitFor((f) => f.request_id === request_id);
    expect(err).toMatchObject({ type: 'error', code: 'conflict' });
    c.send({ type: 'run.cancel', request_id: c.nextId(), run_id: runId });
    expectCleanEnd(await c.runFrames(runId), 'cancelled', 'cancelled');
  });

  it('bad frames get an error and never close the socket', async () => {
    c.send('not json');
    await c.waitFor((f) => f.type === 'error' && f.message === 'the frame is not valid JSON');
    c.send({ type: 'run.start', request_id: 'r1', agent_id: demo, messages: [] });
    const e = await c.waitFor((f) => f.request_id === 'r1');
    expect(e).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect((e.issues as unknown[]).length).toBeGreaterThan(0);
    c.send({ type: 'what', request_id: 'r2' });
    await c.waitFor((f) => f.request_id === 'r2' && f.code === 'invalid_request');
    c.send({ type: 'run.start', request_id: 'r3', agent_id: 'agent-nope', messages: [{ role: 'user', content: 'x' }] });
    await c.waitFor((f) => f.request_id === 'r3' && f.code === 'not_found');
    c.send({ type: 'run.cancel', request_id: 'r4', run_id: 'run-nope' });
    await c.waitFor((f) => f.request_id === 'r4' && f.code === 'not_found');
    c.send({ type: 'run.subscribe', request_id: 'r5', run_id: 'run-nope' });
    expect(await c.waitFor((f) => f.request_id === 'r5')).toMatchObject({ type: 'error', code: 'not_found' });
    // still usable
    const runId = await c.start(demo, 'still here?');
    expectCleanEnd(await c.runFrames(runId), 'end_turn', 'completed');
  });
});

describe('cancellation', () => {
  async function cancelWhen(prompt: string, when: (f: Frame) => boolean): Promise<{ runId: string; frames: Frame[] }> {
    const runId = await c.start(demo, prompt);
    await c.waitFor((f) => f.run_id === runId && when(f));
    c.send({ type: 'run.cancel', request_id: c.nextId(), run_id: runId });
    const frames = await c.runFrames(runId);
    return { runId, frames };
  }

  async function nextRunSucceeds(): Promise<void> {
    const runId = await c.start(demo, 'are you still there?');
    expectCleanEnd(await c.runFrames(runId), 'end_turn', 'completed');
  }

  it('mid-text: one stop_reason cancelled, the partial answer persisted, upstream aborted, next run fine', async () => {
    const { runId, frames } = await cancelWhen('#tokens 2000\n#delay 3\ntell me a long story', (f) => f.message_type === 'assistant_message');
    expectCleanEnd(frames, 'cancelled', 'cancelled');
    const shown = text(frames, 'assistant_message');
    expect(shown.length).toBeGreaterThan(0);
    const stored = (await getJson(`${h.server.url}/v1/runs/${runId}/messages`)) as unknown as Frame[];
    expect(stored.find((m) => m.message_type === 'assistant_message')?.content).toBe(shown);
    expect((await getJson(`${h.server.url}/v1/runs/${runId}`)).status).toBe('cancelled');
    await expect.poll(() => h.anthropic.stats.streamsAborted).toBeGreaterThanOrEqual(1);
    await nextRunSucceeds();
  });

  it('mid-thinking: the unsigned thinking is shown and kept for display, never sent back (next run is accepted)', async () => {
    const { frames } = await cancelWhen('#delay 30\nthink hard', (f) => f.message_type === 'reasoning_message');
    expectCleanEnd(frames, 'cancelled', 'cancelled');
    expect(ofType(frames, 'reasoning_message').length).toBeGreaterThan(0);
    await nextRunSucceeds();
  });

  it('mid-tool-call arguments: the call is never executed and is closed with an error tool return', async () => {
    const long = 'x'.repeat(400);
    const { frames } = await cancelWhen(`#delay 5\n#tool read_file {"path": "${long}"}`, (f) => f.message_type === 'tool_call_message' && typeof (f.tool_call as { arguments?: string }).arguments === 'string');
    expectCleanEnd(frames, 'cancelled', 'cancelled');
    const returns = ofType(frames, 'tool_return_message');
    expect(returns).toHaveLength(1);
    expect(returns[0]).toMatchObject({ status: 'error', tool_return: expect.stringContaining('cancelled') });
    await nextRunSucceeds();
  });

  it('while the upstream is stalled: cancel is pushed, not polled', async () => {
    const runId = await c.start(demo, '#stall 10000\nwait for it');
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    c.send({ type: 'run.cancel', request_id: c.nextId(), run_id: runId });
    const frames = await c.runFrames(runId, 5_000);
    expectCleanEnd(frames, 'cancelled', 'cancelled');
    await expect.poll(() => h.anthropic.stats.streamsAborted).toBe(1);
    await nextRunSucceeds();
  });

  it('during tool execution: the running tool gets an aborted signal', async () => {
    const fifo = path.join(h.service.workspaceDir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const runId = await c.start(demo, '#tool read_file {"path": "pipe"}');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'tool_call_message');
    await new Promise((r) => setTimeout(r, 100)); // the read now blocks on the FIFO
    c.send({ type: 'run.cancel', request_id: c.nextId(), run_id: runId });
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'cancelled', 'cancelled');
    expect(ofType(frames, 'tool_return_message')).toEqual([expect.objectContaining({ status: 'error', tool_return: expect.stringContaining('cancelled') })]);
    await nextRunSucceeds();
  });

  it('a second cancel is idempotent and a cancel of a finished run is a clear no-op', async () => {
    const { runId } = await cancelWhen('#tokens 2000\nlong', (f) => f.message_type === 'assistant_message');
    const request_id = c.nextId();
    c.send({ type: 'run.cancel', request_id, run_id: runId });
    expect(await c.waitFor((f) => f.request_id === request_id)).toMatchObject({ type: 'run.cancel.result', cancelled: false, status: 'cancelled' });
    const r = await fetch(`${h.server.url}/v1/agents/${demo}/messages/cancel`, { method: 'POST', body: JSON.stringify({ run_ids: [runId] }) });
    expect(await r.json()).toMatchObject({ cancelled_runs: [] });
  });

  it('over HTTP: POST /v1/agents/:id/messages/cancel cancels the active run', async () => {
    const runId = await c.start(demo, '#stall 10000\nwait');
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    const r = await fetch(`${h.server.url}/v1/agents/${demo}/messages/cancel`, { method: 'POST' });
    expect(await r.json()).toMatchObject({ agent_id: demo, cancelled_runs: [runId] });
    expectCleanEnd(await c.runFrames(runId), 'cancelled', 'cancelled');
  });

  it('a closed socket is a disconnect, not a cancel: resubscribe from the last seq_id, no gap, no duplicate', async () => {
    const runId = await c.start(demo, '#tokens 300\n#delay 4\nstory');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');
    const seen = lettaFrames(c.frames.filter((f) => f.run_id === runId));
    const last = seen[seen.length - 1]!.seq_id as number;
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    c = await TestClient.connect(h.server.wsUrl);
    c.send({ type: 'run.subscribe', request_id: 'sub', run_id: runId, after_seq_id: last });
    const rest = lettaFrames(await c.runFrames(runId));
    expect(rest[0]!.seq_id).toBe(last + 1);
    const all = [...seen, ...rest].map((f) => f.seq_id);
    expect(all).toEqual(all.map((_, i) => i + 1));
    expect(rest[rest.length - 1]!.message_type).toBe('usage_statistics');
    expect(rest.find((f) => f.message_type === 'stop_reason')!.stop_reason).toBe('end_turn');
  });
});

describe('approvals', () => {
  async function approvalRequest(): Promise<{ runId: string; toolCallId: string }> {
    const runId = await c.start(demo, '#tool write_file {"path": "hello.txt", "content": "hi from the agent"}');
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'requires_approval', 'completed');
    const req = ofType(frames, 'approval_request_message');
    expect(req.length).toBeGreaterThan(0);
    const toolCallId = (req[0]!.tool_call as { tool_call_id: string }).tool_call_id;
    const agent = await getJson(`${h.server.url}/v1/agents/${demo}`);
    expect(agent).toMatchObject({ state: 'awaitingApproval', pending_approvals: [expect.objectContaining({ tool_call_id: toolCallId, name: 'write_file' })] });
    return { runId, toolCallId };
  }

  it('approve: the tool runs (the file is written) and the turn continues', async () => {
    const { toolCallId } = await approvalRequest();
    const runId = await c.approve(demo, [{ type: 'approval', tool_call_id: toolCallId, approve: true }]);
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'end_turn', 'completed');
    expect(ofType(frames, 'tool_return_message')[0]).toMatchObject({ tool_call_id: toolCallId, status: 'success' });
    const read = await import('node:fs').then((fs) => fs.readFileSync(path.join(h.service.workspaceDir, 'hello.txt'), 'utf8'));
    expect(read).toBe('hi from the agent');
  });

  it('deny with a reason: an error tool return carries the reason, the file is not written', async () => {
    const { toolCallId } = await approvalRequest();
    const runId = await c.approve(demo, [{ type: 'approval', tool_call_id: toolCallId, approve: false, reason: 'not today' }]);
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'end_turn', 'completed');
    expect(ofType(frames, 'tool_return_message')[0]).toMatchObject({ status: 'error', tool_return: expect.stringContaining('not today') });
    const fs = await import('node:fs');
    expect(fs.existsSync(path.join(h.service.workspaceDir, 'hello.txt'))).toBe(false);
  });

  it('a client-executed tool return is used as the result', async () => {
    const { toolCallId } = await approvalRequest();
    const runId = await c.approve(demo, [{ type: 'tool', tool_call_id: toolCallId, tool_return: 'written by the client', status: 'success' }]);
    const frames = await c.runFrames(runId);
    expect(ofType(frames, 'tool_return_message')[0]).toMatchObject({ tool_return: 'written by the client', status: 'success' });
    expect(text(frames, 'assistant_message')).toContain('written by the client');
  });

  it('anything else while awaiting approval is a conflict; a stale approval is a conflict', async () => {
    const { toolCallId } = await approvalRequest();
    c.send({ type: 'run.start', request_id: 'u', agent_id: demo, messages: [{ role: 'user', content: 'hi' }] });
    expect(await c.waitFor((f) => f.request_id === 'u')).toMatchObject({ type: 'error', code: 'conflict' });
    c.send({ type: 'run.start', request_id: 's', agent_id: demo, messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: 'toolu_stale', approve: true }] }] });
    expect(await c.waitFor((f) => f.request_id === 's')).toMatchObject({ type: 'error', code: 'conflict' });
    const runId = await c.approve(demo, [{ type: 'approval', tool_call_id: toolCallId, approve: true }]);
    await c.runFrames(runId);
    c.send({ type: 'run.start', request_id: 'again', agent_id: demo, messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: toolCallId, approve: true }] }] });
    expect(await c.waitFor((f) => f.request_id === 'again')).toMatchObject({ type: 'error', code: 'conflict' });
  });

  it('cancel while awaiting approval denies every pending call; the next turn is valid', async () => {
    const { toolCallId } = await approvalRequest();
    c.send({ type: 'agent.cancel', request_id: 'ac', agent_id: demo });
    expect(await c.waitFor((f) => f.request_id === 'ac')).toMatchObject({ type: 'agent.cancel.result', denied_tool_calls: [toolCallId] });
    expect((await getJson(`${h.server.url}/v1/agents/${demo}`)).state).toBe('idle');
    const runId = await c.start(demo, 'never mind');
    expectCleanEnd(await c.runFrames(runId), 'end_turn', 'completed');
  });

  it('approve racing cancel: exactly one outcome, the same in frames, run status and history', async () => {
    for (let i = 0; i < 8; i++) {
      const { toolCallId } = await approvalRequest();
      const approveId = c.nextId();
      const approvalFrame = { type: 'run.start', request_id: approveId, agent_id: demo, messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: toolCallId, approve: true }] }] };
      const cancelFrame = { type: 'agent.cancel', request_id: c.nextId(), agent_id: demo };
      // alternate the order, and sometimes let the approval run get going first
      if (i % 2 === 0) {
        c.send(approvalFrame);
        if (i % 4 === 0) await new Promise((r) => setTimeout(r, i));
        c.send(cancelFrame);
      } else {
        c.send(cancelFrame);
        c.send(approvalFrame);
      }
      const answer = await c.waitFor((f) => f.request_id === approveId);
      if (answer.type === 'run.started') {
        const frames = await c.runFrames(answer.run_id as string);
        const stop = ofType(frames, 'stop_reason')[0]!.stop_reason;
        expect(['cancelled', 'end_turn']).toContain(stop);
        const returns = ofType(frames, 'tool_return_message').filter((f) => f.tool_call_id === toolCallId);
        expect(returns).toHaveLength(1);
        const run = await getJson(`${h.server.url}/v1/runs/${answer.run_id}`);
        expect(run.status).toBe(stop === 'cancelled' ? 'cancelled' : 'completed');
      } else {
        // the cancel came first: the call was denied and the approval is stale
        expect(answer).toMatchObject({ type: 'error', code: 'conflict' });
      }
      await expect.poll(async () => (await getJson(`${h.server.url}/v1/agents/${demo}`)).state).toBe('idle');
      const next = await c.start(demo, 'next');
      expectCleanEnd(await c.runFrames(next), 'end_turn', 'completed');
    }
  });
});

describe('several clients, auth, shutdown, upstream errors', () => {
  it('two clients on one run and a late subscriber see the same frames', async () => {
    const runId = await c.start(demo, '#tokens 200\nshare this');
    const other = await TestClient.connect(h.server.wsUrl);
    other.send({ type: 'run.subscribe', request_id: 'o', run_id: runId });
    const mine = lettaFrames(await c.runFrames(runId));
    const theirs = lettaFrames(await other.runFrames(runId));
    expect(theirs).toEqual(mine);
    const late = await TestClient.connect(h.server.wsUrl);
    late.send({ type: 'run.subscribe', request_id: 'l', run_id: runId, after_seq_id: 3 });
    const lateFrames = lettaFrames(await late.runFrames(runId));
    expect(lateFrames).toEqual(mine.slice(3));
    await other.close();
    late.close();
  });

  it('upstream errors end in llm_api_error with nothing lost', async () => {
    for (const kind of ['overloaded', 'midstream', 'drop']) {
      const runId = await c.start(demo, `#error ${kind}\n#tokens 100\nbreak please`);
      const frames = await c.runFrames(runId);
      expectCleanEnd(frames, 'llm_api_error', 'failed');
      const run = await getJson(`${h.server.url}/v1/runs/${runId}`);
      expect(run.status).toBe('failed');
      expect(run.error).toBeTruthy();
      const stored = (await getJson(`${h.server.url}/v1/runs/${runId}/messages`)) as unknown as Frame[];
      const shown = text(frames, 'assistant_message');
      if (shown) expect(stored.find((m) => m.message_type === 'assistant_message')?.content).toBe(shown);
      const next = await c.start(demo, 'ok now?');
      expectCleanEnd(await c.runFrames(next), 'end_turn', 'completed');
    }
  });
});

describe('auth and shutdown', () => {
  it('with a token: HTTP without it is 401, a socket without it is closed with a reason; with it, all works', async () => {
    const t = await startHarness({ token: 's3cret' });
    try {
      expect((await fetch(`${t.server.url}/v1/agents`)).status).toBe(401);
      expect((await fetch(`${t.server.url}/v1/agents`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${t.server.url}/v1/agents`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
      const anon = await TestClient.connect(t.server.wsUrl);
      await expect.poll(() => anon.closeInfo?.code).toBe(4401);
      expect(anon.closeInfo?.reason).toContain('unauthorized');
      const ok = await TestClient.connect(t.server.wsUrl, { authorization: 'Bearer s3cret' });
      const runId = await ok.start((await t.service.ensureDemoAgent()).id, 'authorized hello');
      expectCleanEnd(await ok.runFrames(runId), 'end_turn', 'completed');
      ok.close();
    } finally {
      await t.close();
    }
  });

  it('shutdown with live runs: each is finalized as cancelled before the sockets close', async () => {
    const t = await startHarness();
    const client = await TestClient.connect(t.server.wsUrl);
    const agent = (await t.service.ensureDemoAgent()).id;
    const runId = await client.start(agent, '#stall 10000\nlong wait');
    await expect.poll(() => t.anthropic.stats.streamsOpen).toBe(1);
    const store = t.store;
    await t.server.close();
    await client.waitFor((f) => f.type === 'run.end', 5_000).catch(() => undefined);
    const frames = client.frames.filter((f) => f.run_id === runId);
    expectCleanEnd(frames, 'cancelled', 'cancelled');
    expect((await store.getRun(runId))?.status).toBe('cancelled');
    await t.anthropic.close();
    await store.close();
  });
});

describe('HTTP bodies and backpressure', () => {
  it('bad HTTP bodies get 400 with a code and a message, unknown paths 404, unserved Letta paths 501, wrong methods 405; names need not be unique (the oldest answers to its name)', async () => {
    const post = (body: string) => fetch(`${h.server.url}/v1/agents`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const bad = await post('{nope');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ detail: 'the request body is not valid JSON', error: { code: 'invalid_request', message: 'the request body is not valid JSON' } });
    const invalid = await post(JSON.stringify({ name: '', tools: ['rm'] }));
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as Json).error.issues.length).toBeGreaterThan(0);
    const unknownTool = await post(JSON.stringify({ name: 'x', tools: ['rm_rf'] }));
    expect(unknownTool.status).toBe(400);
    const created = await post(JSON.stringify({ name: 'kw', interface: 'kwargs', tools: ['calculator'] }));
    expect(created.status).toBe(201);
    // Names need not be unique, as in Letta; a lookup by name takes the oldest agent of that name.
    const first = (await created.json()) as Json;
    await new Promise((r) => setTimeout(r, 5));
    const again = await fetch(`${h.server.url}/v1/agents/`, { method: 'POST', body: JSON.stringify({ name: 'kw' }), headers: { 'content-type': 'application/json' } });
    expect(again.status).toBe(201); // with Letta's trailing slash too
    const second = (await again.json()) as Json;
    expect(second.id).not.toBe(first.id);
    expect(second.name).toBe('kw');
    const other = await h.service.createAgent({ name: 'other' });
    const renamed = await fetch(`${h.server.url}/v1/agents/${other.id}`, { method: 'PATCH', body: JSON.stringify({ name: 'kw' }), headers: { 'content-type': 'application/json' } });
    expect(renamed.status).toBe(200);
    expect(((await getJson(`${h.server.url}/v1/agents?name=kw`)) as unknown as Json[]).map((a) => a.id).sort()).toEqual([first.id, second.id, other.id].sort());
    expect((await getJson(`${h.server.url}/v1/agents/kw`)).id).toBe(first.id);
    const runId = await c.start('kw', 'whose turn');
    await c.runFrames(runId);
    expect((await getJson(`${h.server.url}/v1/runs/${runId}`)).agent_id).toBe(first.id);
    const del = await fetch(`${h.server.url}/v1/agents/kw`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await getJson(`${h.server.url}/v1/agents/kw`)).id).toBe(second.id);
    expect((await fetch(`${h.server.url}/nowhere`)).status).toBe(404);
    const unserved = await fetch(`${h.server.url}/v1/blocks`);
    expect(unserved.status).toBe(501);
    expect(await unserved.json()).toEqual({ detail: 'letta-stream does not serve GET /v1/blocks (see docs/letta-api.md)' });
    expect((await fetch(`${h.server.url}/v1/agents/${demo}`, { method: 'PUT' })).status).toBe(405);
  });

  it('a kwargs agent streams its inner thoughts as reasoning and send_message as the answer', async () => {
    const agent = await h.service.createAgent({ name: 'kwargs', interfaceMode: 'kwargs', tools: ['calculator'] });
    const runId = await c.start(agent.id, '#tool calculator {"expression": "3*3"}');
    const frames = await c.runFrames(runId);
    expectCleanEnd(frames, 'end_turn', 'completed');
    expect(ofType(frames, 'reasoning_message').every((f) => f.source === 'non_reasoner_model')).toBe(true);
    const call = ofType(frames, 'tool_call_message').map((f) => (f.tool_call as { arguments: string }).arguments).join('');
    expect(JSON.parse(call)).toEqual({ expression: '3*3' });
    expect(text(frames, 'assistant_message')).toContain('9');
  });

  // Behind the test balancer the proxy's own socket buffers absorb the flood: the server's bound
  // is tested on a direct connection (one instance) only.
  it.skipIf(process.env.LETTA_STREAM_TEST_CLUSTER === '1')('a slow client is closed with the seq_id to resume from; the run and a fast client go on', async () => {
    const t = await startHarness({ maxBufferedBytes: 64 * 1024 });
    try {
      const agent = (await t.service.ensureDemoAgent()).id;
      const slow = await TestClient.connect(t.server.wsUrl);
      const fast = await TestClient.connect(t.server.wsUrl);
      const runId = await slow.start(agent, '#tokens 40000\n#delay 0\nflood');
      fast.send({ type: 'run.subscribe', request_id: 'f', run_id: runId });
      // stop reading: the kernel buffers fill and the server's queue for this socket grows
      (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const frames = await fast.runFrames(runId, 30_000);
      expectCleanEnd(frames, 'end_turn', 'completed');
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      await expect.poll(() => slow.closeInfo?.code, { timeout: 10_000 }).toBe(4008);
      expect(slow.closeInfo?.reason).toMatch(new RegExp(`resubscribe to ${runId} with after_seq_id \\d+`));
      slow.close();
      fast.close();
    } finally {
      await t.close();
    }
  });
});
