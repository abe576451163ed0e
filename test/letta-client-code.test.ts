import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ofType, startHarness, TestClient, type Harness } from './support/service-harness.js';
import { collect } from './support/letta-stream-chunks.js';

/** What Letta Code asks of a server at start and during a turn, through Letta's own client. */
let h: Harness;
let letta: Letta;
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
});
afterEach(() => h.close());

describe('Letta client: what Letta Code reads at start', () => {
  it('health answers Letta\'s {status, version}', async () => {
    const health = await letta.health();
    expect(health).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('models: the Anthropic API\'s models for this key, in Letta\'s Model shape; other providers have none', async () => {
    const models = await letta.models.list();
    expect(models.map((m) => m.handle)).toEqual(['anthropic/claude-sonnet-4-6', 'anthropic/claude-opus-4-1', 'anthropic/claude-haiku-4-5']);
    expect(models[0]).toMatchObject({
      name: 'claude-sonnet-4-6',
      model: 'claude-sonnet-4-6',
      display_name: 'Claude Sonnet 4.6',
      provider_type: 'anthropic',
      provider_name: 'anthropic',
      model_endpoint_type: 'anthropic',
      model_type: 'llm',
      context_window: 200_000,
      max_context_window: 200_000,
      max_tokens: 4096,
    });
    expect(await letta.models.list({ provider_type: 'openai' })).toEqual([]);
    expect(await letta.models.list({ provider_category: ['byok'] })).toEqual([]);
    expect(await letta.models.list({ provider_name: 'anthropic' })).toHaveLength(3);
    await expect(letta.models.list({ provider_category: ['nope'] } as never)).rejects.toMatchObject({ status: 400 });
  });

  it('an agent has no secrets and the instance no MCP servers: truthful empty answers', async () => {
    const agent = await letta.agents.retrieve((await h.service.ensureDemoAgent()).id);
    expect((agent as unknown as { secrets: unknown[] }).secrets).toEqual([]);
    expect(await letta.mcpServers.list()).toEqual([]);
    // what Letta Code reads of an agent at start
    for (const what of ['secrets', 'mcp-servers']) {
      const res = await fetch(`${h.server.url}/v1/agents/${agent.id}/${what}`);
      expect([res.status, await res.json()]).toEqual([200, []]);
    }
    expect((await fetch(`${h.server.url}/v1/agents/agent-nope/secrets`)).status).toBe(404);
  });
});

type Msg = { message_type: string; tool_call?: { name: string; tool_call_id: string; arguments: string }; tool_return?: string; status?: string; content?: unknown };

const askUser = { name: 'ask_user', description: 'Asks the user a question and returns the answer', parameters: { type: 'object' as const, properties: { question: { type: 'string' } }, required: ['question'] } };


describe('Letta client: client tools', () => {
  it('a call to a client tool ends the turn with requires_approval; the client\'s tool return goes on and the model sees it', async () => {
    const agent = await h.service.ensureDemoAgent();
    const chunks = await collect<Msg>(
      await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool ask_user {"question": "which file?"}' }], client_tools: [askUser], streaming: true }),
    );
    expect(chunks.filter((c) => c.message_type === 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'requires_approval' })]);
    const request = chunks.find((c) => c.message_type === 'approval_request_message')!;
    expect(request.tool_call).toMatchObject({ name: 'ask_user' });
    // never run on the server (it has no ask_user): no tool return in this run
    expect(chunks.filter((c) => c.message_type === 'tool_return_message')).toEqual([]);
    const id = request.tool_call!.tool_call_id;
    expect((await letta.agents.retrieve(agent.id)) as unknown).toMatchObject({ pending_approval: { tool_call: { tool_call_id: id, name: 'ask_user' } } });

    // Approving it cannot run it here: the client is told to send its result.
    await expect(
      letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: id, approve: true }] }], client_tools: [askUser] } as never),
    ).rejects.toMatchObject({ status: 400 });

    const r = await letta.agents.messages.create(agent.id, {
      messages: [{ type: 'approval', approvals: [{ type: 'tool', tool_call_id: id, tool_return: 'notes.txt', status: 'success' }] }],
      client_tools: [askUser],
    } as never);
    const messages = r.messages as unknown as Msg[];
    expect(messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ tool_return: 'notes.txt', status: 'success' });
    expect(messages.filter((m) => m.message_type === 'assistant_message').map((m) => m.content).join('')).toContain('The tool returned: notes.txt');
    expect(r.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
  });

  it('a client tool replaces the agent\'s tool of the same name for its turn: the call waits for the client', async () => {
    const agent = await h.service.ensureDemoAgent();
    const calc = { name: 'calculator', description: 'The client\'s calculator', parameters: { type: 'object' as const, properties: { expression: { type: 'string' } } } };
    const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool calculator {"expression": "6*7"}' }], client_tools: [calc] });
    expect(r.stop_reason).toMatchObject({ stop_reason: 'requires_approval' });
    const messages = r.messages as unknown as Msg[];
    expect(messages.find((m) => m.message_type === 'approval_request_message')?.tool_call).toMatchObject({ name: 'calculator' });
    expect(messages.filter((m) => m.message_type === 'tool_return_message')).toEqual([]);
    // without client tools the agent's own calculator runs again
    await letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: messages.find((m) => m.tool_call)!.tool_call!.tool_call_id, approve: false, reason: 'no' }] }] } as never);
    const own = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool calculator {"expression": "6*7"}' }] });
    expect((own.messages as unknown as Msg[]).find((m) => m.message_type === 'tool_return_message')).toMatchObject({ tool_return: '42', status: 'success' });
  });

  it('a client tool is offered for its turn only; bad client_tools are refused', async () => {
    const agent = await h.service.ensureDemoAgent();
    const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool ask_user {"question": "?"}' }] });
    expect(r.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
    expect((r.messages as unknown as Msg[]).filter((m) => m.tool_call)).toEqual([]);
    await expect(letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'x' }], client_tools: [askUser, askUser] })).rejects.toMatchObject({ status: 422 });
    await expect(letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'x' }], client_tools: [{ name: 'has space' }] })).rejects.toMatchObject({ status: 422 });
  });

  it('over the WebSocket: run.start takes client_tools; the tool return continues the turn', async () => {
    const agent = await h.service.ensureDemoAgent();
    const c = await TestClient.connect(h.server.url.replace(/^http/, 'ws') + '/v1/ws');
    try {
      const runId = await c.start(agent.id, '#tool ask_user {"question": "which?"}', { client_tools: [askUser] });
      const frames = await c.runFrames(runId);
      expect(ofType(frames, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'requires_approval' })]);
      const call = ofType(frames, 'approval_request_message')[0]!.tool_call as { tool_call_id: string; name: string };
      expect(call.name).toBe('ask_user');
      expect(ofType(frames, 'tool_return_message')).toEqual([]);
      const next = await c.approve(agent.id, [{ type: 'tool', tool_call_id: call.tool_call_id, tool_return: 'that one', status: 'success' }]);
      const after = await c.runFrames(next);
      expect(ofType(after, 'tool_return_message')).toEqual([expect.objectContaining({ tool_return: 'that one', status: 'success' })]);
      expect(ofType(after, 'assistant_message').map((f) => f.content).join('')).toContain('The tool returned: that one');
    } finally {
      c.close();
    }
  });
});
