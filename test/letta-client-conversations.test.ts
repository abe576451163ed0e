import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ofType, startHarness, TestClient, type Harness } from './support/service-harness.js';
import { collect } from './support/letta-stream-chunks.js';

/** Conversations through Letta's own client: one agent, several histories, one run at a time each. */
let h: Harness;
let letta: Letta;
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
});
afterEach(() => h.close());



const userTexts = (messages: ReadonlyArray<{ message_type?: string }>) =>
  messages.filter((m) => m.message_type === 'user_message').map((m) => (m as unknown as { content: string }).content);

describe('Letta client: conversations', () => {
  it('create, retrieve, list by agent, update, delete', async () => {
    const agent = await h.service.ensureDemoAgent();
    const a = await letta.conversations.create({ agent_id: agent.id, summary: 'first' });
    expect(a).toMatchObject({ id: expect.stringMatching(/^conv-/), agent_id: agent.id, summary: 'first' });
    const b = await letta.conversations.create({ agent_id: agent.id });
    expect(await letta.conversations.retrieve(a.id)).toMatchObject({ id: a.id, summary: 'first' });
    expect((await letta.conversations.list({ agent_id: agent.id })).map((c) => c.id)).toEqual([b.id, a.id]);
    expect(await letta.conversations.update(a.id, { summary: 'renamed' })).toMatchObject({ summary: 'renamed' });
    await letta.conversations.delete(b.id);
    await expect(letta.conversations.retrieve(b.id)).rejects.toMatchObject({ status: 404 });
    await expect(letta.conversations.create({ agent_id: 'agent-nope' })).rejects.toMatchObject({ status: 404 });
  });

  it('two conversations of one agent stream at once, each with its own history; the agent\'s own history has neither', async () => {
    const agent = await h.service.ensureDemoAgent();
    const [a, b] = await Promise.all([letta.conversations.create({ agent_id: agent.id }), letta.conversations.create({ agent_id: agent.id })]);
    const sa = await letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: '#stall 300\nto conversation a' }] });
    const sb = await letta.conversations.messages.create(b.id, { messages: [{ role: 'user', content: '#stall 300\nto conversation b' }] });
    const [ca, cb] = await Promise.all([collect(sa), collect(sb)]);
    for (const [chunks, name] of [[ca, 'a'], [cb, 'b']] as const) {
      expect(chunks.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
      expect(chunks.filter((c) => c.message_type === 'assistant_message').map((c) => c.content).join('')).toContain(`to conversation ${name}`);
    }
    expect(userTexts((await letta.conversations.messages.list(a.id)).getPaginatedItems())).toEqual(['#stall 300\nto conversation a']);
    expect(userTexts((await letta.conversations.messages.list(b.id)).getPaginatedItems())).toEqual(['#stall 300\nto conversation b']);
    expect((await letta.agents.messages.list(agent.id)).getPaginatedItems()).toEqual([]);
    expect(userTexts((await letta.agents.messages.list(agent.id, { conversation_id: b.id })).getPaginatedItems())).toEqual(['#stall 300\nto conversation b']);
    // the model sees only its conversation's turns
    expect(JSON.stringify(await h.store.getHistory(agent.id, a.id))).not.toContain('conversation b');
    expect(await h.store.getHistory(agent.id)).toEqual([]);
    // the runs name their conversation
    const runA = ca.find((c) => c.run_id)!.run_id!;
    expect(await letta.runs.retrieve(runA)).toMatchObject({ agent_id: agent.id, conversation_id: a.id });
    expect((await letta.runs.list({ conversation_id: a.id } as never)).getPaginatedItems().map((r) => r.id)).toEqual([runA]);
    await expect(letta.runs.list({ conversation_id: 'conv-nope' } as never)).rejects.toMatchObject({ status: 404 });
  });

  it('a second turn on a busy conversation is a 409 (another conversation is free); cancel on the conversation ends its run', async () => {
    const agent = await h.service.ensureDemoAgent();
    const [a, b] = await Promise.all([letta.conversations.create({ agent_id: agent.id }), letta.conversations.create({ agent_id: agent.id })]);
    const running = collect(await letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: '#stall 10000\nbusy' }] }));
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    await expect(letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: 'me too' }] })).rejects.toMatchObject({ status: 409 });
    // the other conversation and the agent's own history are not held by it
    const other = await collect(await letta.conversations.messages.create(b.id, { messages: [{ role: 'user', content: 'free' }] }));
    expect(other.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
    const own = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'also free' }] });
    expect(own.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
    const cancelled = await letta.conversations.cancel(a.id);
    expect(Object.values(cancelled)).toContain('cancelled');
    expect((await running).filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['cancelled']);
    await expect.poll(async () => (await letta.conversations.retrieve(a.id)) as unknown).toMatchObject({ state: 'idle' });
  });

  it('agent-direct mode: conversation "default" with agent_id is the agent\'s own history', async () => {
    const agent = await h.service.ensureDemoAgent();
    const chunks = await collect(await letta.conversations.messages.create('default', { agent_id: agent.id, messages: [{ role: 'user', content: 'straight to the agent' }] }));
    expect(chunks.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
    expect(userTexts((await letta.agents.messages.list(agent.id)).getPaginatedItems())).toEqual(['straight to the agent']);
    expect(userTexts((await letta.conversations.messages.list('default', { agent_id: agent.id })).getPaginatedItems())).toEqual(['straight to the agent']);
    await expect(letta.conversations.messages.create('default', { messages: [{ role: 'user', content: 'whose?' }] })).rejects.toMatchObject({ status: 400 });
  });

  it('resume: POST /v1/conversations/:id/stream replays the conversation\'s newest run after starting_after', async () => {
    const agent = await h.service.ensureDemoAgent();
    const a = await letta.conversations.create({ agent_id: agent.id });
    const first = await collect(await letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: 'hello' }] }));
    const again = await collect(await letta.conversations.messages.stream(a.id, { starting_after: 2 }));
    expect(again.map((c) => c.seq_id)).toEqual(first.slice(2).map((c) => c.seq_id));
  });

  it('each conversation goes through the agent chart on its own: one awaits approval while the others take turns; its decision continues it', async () => {
    const agent = await h.service.ensureDemoAgent();
    const a = await letta.conversations.create({ agent_id: agent.id });
    const b = await letta.conversations.create({ agent_id: agent.id });
    const asked = await collect(await letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "a.txt", "content": "A"}' }] }));
    expect(asked.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['requires_approval']);
    expect(await letta.conversations.retrieve(a.id)).toMatchObject({ state: 'awaitingApproval' });
    // a user message to the waiting conversation is refused; the others are free
    await expect(letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: 'ignore it' }] })).rejects.toMatchObject({ status: 409 });
    const inB = await collect(await letta.conversations.messages.create(b.id, { messages: [{ role: 'user', content: 'hi b' }] }));
    expect(inB.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
    expect(await letta.agents.retrieve(agent.id)).toMatchObject({ state: 'idle' });
    const id = (asked.find((c) => c.message_type === 'approval_request_message') as unknown as { tool_call: { tool_call_id: string } }).tool_call.tool_call_id;
    const done = await collect(
      await letta.conversations.messages.create(a.id, { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: id, approve: true }] }] } as never),
    );
    expect(done.filter((c) => c.message_type === 'tool_return_message')).toEqual([expect.objectContaining({ status: 'success' })]);
    expect(done.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
  });

  it('a tool removed from the agent denies its call waiting for approval in a conversation', async () => {
    const agent = await letta.agents.create({ name: 'writer', tools: ['write_file', 'get_time'] } as never);
    const a = await letta.conversations.create({ agent_id: agent.id });
    const asked = await collect(await letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "w.txt", "content": "W"}' }] }));
    expect(asked.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['requires_approval']);
    await letta.agents.update(agent.id, { tools: ['get_time'] } as never);
    expect(await letta.conversations.retrieve(a.id)).toMatchObject({ state: 'idle' });
    const returns = (await letta.conversations.messages.list(a.id)).getPaginatedItems().filter((m) => m.message_type === 'tool_return_message');
    expect(returns).toEqual([expect.objectContaining({ status: 'error', tool_return: expect.stringContaining('removed') })]);
    const next = await collect(await letta.conversations.messages.create(a.id, { messages: [{ role: 'user', content: 'go on' }] }));
    expect(next.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
  });

  it('over the WebSocket: run.start and agent.cancel take a conversation_id', async () => {
    const agent = await h.service.ensureDemoAgent();
    const a = await letta.conversations.create({ agent_id: agent.id });
    const c = await TestClient.connect(h.server.wsUrl);
    try {
      const first = await c.start(agent.id, 'over the socket', { conversation_id: a.id });
      expect(ofType(await c.runFrames(first), 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
      expect(userTexts((await letta.conversations.messages.list(a.id)).getPaginatedItems())).toEqual(['over the socket']);
      const stalled = await c.start(agent.id, '#stall 10000\nwait', { conversation_id: a.id });
      c.send({ type: 'agent.cancel', request_id: 'cancel-a', agent_id: agent.id, conversation_id: a.id });
      expect(await c.waitFor((f) => f.request_id === 'cancel-a')).toMatchObject({ type: 'agent.cancel.result', cancelled_runs: [stalled] });
      expect(ofType(await c.runFrames(stalled), 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'cancelled' })]);
      expect((await letta.agents.messages.list(agent.id)).getPaginatedItems()).toEqual([]);
    } finally {
      c.close();
    }
  });
});
