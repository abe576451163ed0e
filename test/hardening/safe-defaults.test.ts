import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ofType, startHarness, TestClient, type Frame, type Harness } from '../support/service-harness.js';

/**
 * Item 11: tools that change the workspace require approval unless the agent's rules say
 * otherwise; removing a tool while its call awaits approval denies that call. Through HTTP and
 * the WebSocket of a real server.
 */
let h: Harness;
let c: TestClient;

beforeEach(async () => {
  h = await startHarness();
  c = await TestClient.connect(h.server.wsUrl);
});
afterEach(async () => {
  c.close();
  await h.close();
});

// Test reads of our own JSON responses.
type Json = Record<string, any>;
async function http(method: string, url: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const r = await fetch(`${h.server.url}${url}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: r.status, json: (await r.json()) as Json };
}
const createAgent = async (body: Record<string, unknown>) => {
  const r = await http('POST', '/v1/agents', body);
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json;
};
const stopReason = (frames: Frame[]) => ofType(frames, 'stop_reason')[0]!.stop_reason;
const writeCall = (file: string) => `#tool write_file {"path": "${file}", "content": "x"}`;
const written = (file: string) => existsSync(path.join(h.service.workspaceDir, file));
type Block = { type: string; tool_use_id?: string; content?: string; is_error?: boolean };

describe('workspace-changing tools ask first by default', () => {
  it('an agent created with write_file and no rules asks before writing', async () => {
    const agent = await createAgent({ name: 'writer', tools: ['read_file', 'write_file'] });
    expect(agent.requires_approval_tools).toEqual(['write_file']);
    expect(agent.tool_rules).toEqual([{ type: 'requires_approval', tool_name: 'write_file' }]);
    const frames = await c.runFrames(await c.start(agent.id, writeCall('default.txt')));
    expect(stopReason(frames)).toBe('requires_approval');
    expect(written('default.txt')).toBe(false);
    // tools without effects still run at once
    const read = await c.runFrames(await c.start((await createAgent({ name: 'reader', tools: ['list_dir'] })).id, '#tool list_dir {}'));
    expect(stopReason(read)).toBe('end_turn');
  });

  it("with Letta's tool_rules naming other tools, and with no tools given, write_file still asks", async () => {
    const ruled = await createAgent({ name: 'ruled', tools: ['read_file', 'write_file'], tool_rules: [{ type: 'requires_approval', tool_name: 'read_file' }] });
    expect([...ruled.requires_approval_tools].sort()).toEqual(['read_file', 'write_file']);
    const plain = await createAgent({ name: 'plain' });
    expect(plain.tools.map((t: { name: string }) => t.name)).toContain('write_file');
    expect(plain.requires_approval_tools).toEqual(['write_file']);
  });

  it('explicit opt-out: no_approval_tools on create, or PATCH …/tools/approval/write_file false', async () => {
    const free = await createAgent({ name: 'free', tools: ['write_file'], no_approval_tools: ['write_file'] });
    expect(free.requires_approval_tools).toEqual([]);
    expect(stopReason(await c.runFrames(await c.start(free.id, writeCall('free.txt'))))).toBe('end_turn');
    expect(written('free.txt')).toBe(true);

    const later = await createAgent({ name: 'later', tools: ['write_file'] });
    const patched = await http('PATCH', `/v1/agents/${later.id}/tools/approval/write_file`, { requires_approval: false });
    expect(patched.json.requires_approval_tools).toEqual([]);
    expect(stopReason(await c.runFrames(await c.start(later.id, writeCall('later.txt'))))).toBe('end_turn');
    expect(written('later.txt')).toBe(true);

    const bad = await http('POST', '/v1/agents', { name: 'bad', tools: ['calculator'], no_approval_tools: ['write_file'] });
    expect(bad.status).toBe(400);
  });

  it('adding write_file to an agent with PATCH makes it ask too', async () => {
    const agent = await createAgent({ name: 'grows', tools: ['calculator'] });
    const r = await http('PATCH', `/v1/agents/${agent.id}`, { tools: ['calculator', 'write_file'] });
    expect(r.json.requires_approval_tools).toEqual(['write_file']);
    expect(stopReason(await c.runFrames(await c.start(agent.id, writeCall('grown.txt'))))).toBe('requires_approval');
    expect(written('grown.txt')).toBe(false);
  });
});

describe('removing a tool while its call awaits approval', () => {
  it('denies the call in messages and history; the agent is idle and the next turn is valid', async () => {
    const agent = await createAgent({ name: 'shrinks', tools: ['calculator', 'write_file'] });
    const ask = await c.start(agent.id, writeCall('removed.txt'));
    const req = ofType(await c.runFrames(ask), 'approval_request_message')[0]!;
    const toolCallId = (req.tool_call as { tool_call_id: string }).tool_call_id;

    const r = await http('PATCH', `/v1/agents/${agent.id}`, { tools: ['calculator'] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ state: 'idle', pending_approvals: [], requires_approval_tools: [] });

    const returns = ((await http('GET', `/v1/agents/${agent.id}/messages`)).json as unknown as Frame[]).filter((m) => m.message_type === 'tool_return_message');
    expect(returns).toEqual([expect.objectContaining({ tool_call_id: toolCallId, status: 'error', tool_return: 'denied: the tool was removed from the agent' })]);
    const results = (await h.store.getHistory(agent.id)).flatMap((t) => t.content as Block[]).filter((b) => b.type === 'tool_result');
    expect(results).toEqual([{ type: 'tool_result', tool_use_id: toolCallId, content: 'denied: the tool was removed from the agent', is_error: true }]);
    // a stale approval is refused; a new turn goes to the model with a valid history
    c.send({ type: 'run.start', request_id: 'stale', agent_id: agent.id, messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: toolCallId, approve: true }] }] });
    expect(await c.waitFor((f) => f.request_id === 'stale')).toMatchObject({ type: 'error', code: 'conflict' });
    expect(stopReason(await c.runFrames(await c.start(agent.id, 'carry on')))).toBe('end_turn');
    expect(written('removed.txt')).toBe(false);
  });

  it('with another call still awaiting approval: the removed one is denied when the turn goes on', async () => {
    const agent = await createAgent({ name: 'two', tools: ['read_file', 'write_file'], tool_rules: [{ type: 'requires_approval', tool_name: 'read_file' }] });
    const ask = await c.start(agent.id, `${writeCall('two.txt')}\n#tool read_file {"path": "nothing.txt"}`);
    const reqs = ofType(await c.runFrames(ask), 'approval_request_message');
    const idOf = (name: string) => (reqs.find((f) => (f.tool_call as { name: string }).name === name)!.tool_call as { tool_call_id: string }).tool_call_id;
    const writeId = idOf('write_file');
    const readId = idOf('read_file');

    const r = await http('PATCH', `/v1/agents/${agent.id}`, { tools: ['read_file'] });
    expect(r.json.state).toBe('awaitingApproval');
    expect(r.json.pending_approvals.filter((p: Json) => p.requires_approval).map((p: Json) => p.tool_call_id)).toEqual([readId]);

    const run = await c.approve(agent.id, [{ type: 'approval', tool_call_id: readId, approve: true }]);
    const frames = await c.runFrames(run);
    expect(stopReason(frames)).toBe('end_turn');
    const returns = ofType(frames, 'tool_return_message');
    expect(returns.find((f) => f.tool_call_id === writeId)).toMatchObject({ status: 'error', tool_return: 'denied: the tool was removed from the agent' });
    expect(returns.find((f) => f.tool_call_id === readId)).toMatchObject({ status: 'error', tool_return: expect.stringContaining('no such file') });
    const all = ((await http('GET', `/v1/agents/${agent.id}/messages`)).json as unknown as Frame[]).filter((m) => m.message_type === 'tool_return_message');
    expect(all.map((m) => m.tool_call_id).sort()).toEqual([writeId, readId].sort());
    expect(written('two.txt')).toBe(false);
  });
});
