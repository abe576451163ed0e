import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contractProblem } from './support/contract.js';
import { startHarness, TestClient, type Harness } from './support/service-harness.js';
import { collect, type Chunk } from './support/letta-stream-chunks.js';

/** Letta's official client, unmodified, against letta-stream over real HTTP. */
let h: Harness;
let letta: Letta;
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
});
afterEach(() => h.close());



describe('Letta client: the turn lifecycle', () => {
  it('creates an agent the Letta way (anthropic/ model, requires_approval tool rule)', async () => {
    const agent = await letta.agents.create({
      name: 'letta-made',
      model: 'anthropic/claude-sonnet-4-6',
      tools: ['calculator', 'write_file'],
      tool_rules: [{ type: 'requires_approval', tool_name: 'write_file' }],
    } as never);
    expect(agent).toMatchObject({ name: 'letta-made', model: 'claude-sonnet-4-6' });
    expect((agent as unknown as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toEqual(['calculator', 'write_file']);
    expect(await letta.agents.retrieve(agent.id)).toMatchObject({ id: agent.id });
  });

  it('a streamed turn: Letta frames with run_id and seq_id, one stop_reason, one usage, then the iteration ends', async () => {
    const agent = await h.service.ensureDemoAgent();
    const stream = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'hello from the letta client' }], streaming: true });
    const chunks = await collect(stream);
    expect(chunks.map(contractProblem).filter(Boolean)).toEqual([]);
    expect(chunks.map((c) => c.seq_id)).toEqual(chunks.map((_, i) => i + 1));
    expect(chunks.filter((c) => c.message_type === 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
    expect(chunks.at(-1)!.message_type).toBe('usage_statistics');
    const text = chunks.filter((c) => c.message_type === 'assistant_message').map((c) => c.content).join('');
    expect(text).toContain('hello from the letta client');
  });

  it('include_return_message_types keeps only the asked-for message types', async () => {
    const agent = await h.service.ensureDemoAgent();
    const stream = await letta.agents.messages.create(agent.id, {
      messages: [{ role: 'user', content: 'only text' }],
      streaming: true,
      include_return_message_types: ['assistant_message'],
    });
    const chunks = await collect(stream);
    expect(new Set(chunks.map((c) => c.message_type))).toEqual(new Set(['assistant_message', 'stop_reason', 'usage_statistics']));
  });

  it('stream_tokens false sends each message whole', async () => {
    const agent = await h.service.ensureDemoAgent();
    const chunks = await collect(await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'whole please' }], streaming: true, stream_tokens: false }));
    expect(chunks.filter((c) => c.message_type === 'assistant_message')).toHaveLength(1);
    expect(chunks.filter((c) => c.message_type === 'reasoning_message')).toHaveLength(1);
  });

  it('a non-streamed turn returns a LettaResponse', async () => {
    const agent = await h.service.ensureDemoAgent();
    const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool calculator {"expression": "5*5"}' }] });
    expect(r.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
    expect(r.messages.map((m) => m.message_type)).toEqual(['reasoning_message', 'tool_call_message', 'tool_return_message', 'reasoning_message', 'assistant_message']);
    expect(r.usage).toMatchObject({ step_count: 2 });
  });

  it('cancel while the model is stalled: the iteration ends cleanly with stop_reason cancelled; a run started over HTTP can be cancelled over WebSocket', async () => {
    const agent = await h.service.ensureDemoAgent();
    const stream = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#stall 10000\nwait' }], streaming: true });
    const collecting = collect(stream);
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    const runId = (await h.store.listRuns(agent.id, 1))[0]!.id;
    const ws = await TestClient.connect(h.server.wsUrl);
    ws.send({ type: 'run.cancel', request_id: 'x', run_id: runId });
    const chunks = await collecting;
    expect(chunks.filter((c) => c.message_type === 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'cancelled' })]);
    expect((await letta.runs.retrieve(runId)).status).toBe('cancelled');
    ws.close();
  });

  it('cancel mid-stream through letta.agents.messages.cancel keeps the partial answer', async () => {
    const agent = await h.service.ensureDemoAgent();
    const stream = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tokens 3000\n#delay 3\nlong' }], streaming: true });
    const chunks: Chunk[] = [];
    let cancelled = false;
    for await (const c of stream) {
      chunks.push(c as Chunk);
      if ((c as Chunk).message_type === 'assistant_message' && chunks.length > 5 && !cancelled) {
        cancelled = true;
        expect(await letta.agents.messages.cancel(agent.id)).toMatchObject({ [(c as Chunk).run_id!]: 'cancelled' });
      }
    }
    expect(chunks.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['cancelled']);
    const runId = chunks[0]!.run_id!;
    const stored = (await h.store.listRunMessages(runId)).find((m) => m.message_type === 'assistant_message') as { content: string } | undefined;
    expect(stored?.content).toBe(chunks.filter((c) => c.message_type === 'assistant_message').map((c) => c.content).join(''));
  });

  it('a dropped background stream goes on, and resumes with starting_after: no gap, no repeat', async () => {
    const agent = await h.service.ensureDemoAgent();
    const stream = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tokens 400\n#delay 3\nbackground' }], streaming: true, background: true });
    const first: Chunk[] = [];
    for await (const c of stream) {
      first.push(c as Chunk);
      if (first.length === 5) break; // the client drops the connection
    }
    const runId = first[0]!.run_id!;
    const rest = await collect(await letta.runs.messages.stream(runId, { starting_after: 5 } as never));
    const seqs = [...first, ...rest].map((c) => c.seq_id);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(rest.find((c) => c.message_type === 'stop_reason')?.stop_reason).toBe('end_turn');
  });

  it('approve with the Letta client, then deny with a reason', async () => {
    const agent = await h.service.ensureDemoAgent();
    const ask = () => letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "l.txt", "content": "x"}' }] });
    const first = await ask();
    expect(first.stop_reason).toMatchObject({ stop_reason: 'requires_approval' });
    const req = first.messages.find((m) => m.message_type === 'approval_request_message') as unknown as { tool_call: { tool_call_id: string } };
    const approved = await letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: req.tool_call.tool_call_id, approve: true }] }] } as never);
    expect(approved.messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ status: 'success' });
    const second = await ask();
    const req2 = second.messages.find((m) => m.message_type === 'approval_request_message') as unknown as { tool_call: { tool_call_id: string } };
    const denied = await letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: req2.tool_call.tool_call_id, approve: false, reason: 'no files today' }] }] } as never);
    expect(denied.messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ status: 'error', tool_return: expect.stringContaining('no files today') });
  });

  it('errors: 404 unknown agent, 409 busy agent (not retried), 422 bad body', async () => {
    await expect(letta.agents.messages.create('agent-nope', { messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404 });
    const agent = await h.service.ensureDemoAgent();
    const running = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#stall 10000\nbusy' }], streaming: true });
    const done = collect(running);
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    const before = h.anthropic.stats.requests;
    const retrying = new Letta({ baseURL: h.server.url }); // default retries: 409 would be retried unless told not to
    await expect(retrying.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'me too' }] })).rejects.toMatchObject({ status: 409 });
    expect(h.anthropic.stats.requests).toBe(before);
    const raw = await fetch(`${h.server.url}/v1/agents/${agent.id}/messages`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }) });
    expect(raw.status).toBe(409);
    expect(raw.headers.get('x-should-retry')).toBe('false');
    expect(await raw.json()).toEqual({ detail: expect.stringContaining('is busy with run') });
    await letta.agents.messages.cancel(agent.id);
    await done;
    await expect(letta.agents.messages.create(agent.id, { messages: 'nope' } as never)).rejects.toMatchObject({ status: 422 });
  });
});

describe('Letta client: agents, history, runs, errors', () => {
  it('lists agents as a plain array with paging; updates, sets approval, deletes', async () => {
    for (const name of ['p1', 'p2', 'p3']) await letta.agents.create({ name, tools: ['calculator'] } as never);
    const all = await letta.agents.list({ order: 'asc' } as never);
    const names = all.getPaginatedItems().map((a) => a.name);
    expect(names).toEqual(['demo', 'p1', 'p2', 'p3']);
    const raw = (await (await fetch(`${h.server.url}/v1/agents/?limit=2&order=asc`)).json()) as Array<{ name: string }>;
    expect(Array.isArray(raw)).toBe(true);
    expect(raw.map((a) => a.name)).toEqual(['demo', 'p1']);
    const p1 = all.getPaginatedItems()[1]!;
    const after = (await (await fetch(`${h.server.url}/v1/agents/?after=${p1.id}&order=asc`)).json()) as Array<{ name: string }>;
    expect(after.map((a) => a.name)).toEqual(['p2', 'p3']);
    const updated = await letta.agents.update(p1.id, { system: 'be terse', tools: ['calculator', 'get_time'] } as never);
    expect(updated).toMatchObject({ system: 'be terse' });
    const approval = await letta.agents.tools.updateApproval('get_time', { agent_id: p1.id, body_requires_approval: true } as never);
    expect(approval).toMatchObject({ tool_rules: [{ type: 'requires_approval', tool_name: 'get_time' }] });
    await letta.agents.delete(p1.id);
    await expect(letta.agents.retrieve(p1.id)).rejects.toMatchObject({ status: 404 });
  });

  it('history and runs: agent messages newest first (Letta\'s default), runs filtered by agent and status, usage', async () => {
    const agent = await h.service.ensureDemoAgent();
    await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'first' }] });
    const second = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'second' }] });
    const history = (await letta.agents.messages.list(agent.id)).getPaginatedItems() as Array<{ message_type: string; content?: unknown }>;
    expect(history.filter((m) => m.message_type === 'user_message').map((m) => m.content)).toEqual(['second', 'first']);
    // limit counts stored messages: the last step's reasoning and text (one message id), then the user's
    const limited = (await (await fetch(`${h.server.url}/v1/agents/${agent.id}/messages?limit=2&order=desc`)).json()) as Array<{ message_type: string }>;
    expect(limited.map((m) => m.message_type)).toEqual(['assistant_message', 'reasoning_message', 'user_message']);
    const runs = (await letta.runs.list({ agent_id: agent.id } as never)).getPaginatedItems();
    expect(runs).toHaveLength(2);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
    const runId = (second.messages[0] as { run_id?: string }).run_id!;
    expect(await letta.runs.usage.retrieve(runId)).toMatchObject({ step_count: 1, total_tokens: expect.any(Number) });
    const runMessages = (await letta.runs.messages.list(runId)).getPaginatedItems() as Array<{ message_type: string }>;
    expect(runMessages.map((m) => m.message_type)).toContain('assistant_message');
  });

  it('an error after the stream began is an event: error the client raises; the run failed with nothing lost', async () => {
    const agent = await h.service.ensureDemoAgent();
    const stream = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#error midstream\n#tokens 100\nbreak' }], streaming: true });
    const seen: Chunk[] = [];
    const err = await (async () => {
      for await (const c of stream) seen.push(c as Chunk);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Letta.APIError);
    const run = await letta.runs.retrieve(seen[0]!.run_id!);
    expect(run).toMatchObject({ status: 'failed', stop_reason: 'llm_api_error' });
  });

  it('include_pings sends ping frames while the model is silent', async () => {
    const agent = await h.service.ensureDemoAgent();
    const chunks = await collect(await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#stall 500\nquiet' }], streaming: true, include_pings: true }));
    expect(chunks.filter((c) => c.message_type === 'ping').length).toBeGreaterThan(0);
    expect(chunks.filter((c) => c.message_type !== 'ping').map(contractProblem).filter(Boolean)).toEqual([]);
  });

  it('with a token, the client sends its apiKey as the bearer token; without it, 401', async () => {
    const t = await startHarness({ token: 'k3y' });
    try {
      await expect(new Letta({ baseURL: t.server.url, maxRetries: 0 }).agents.list()).rejects.toMatchObject({ status: 401 });
      const ok = new Letta({ baseURL: t.server.url, apiKey: 'k3y', maxRetries: 0 });
      expect((await ok.agents.list()).getPaginatedItems().map((a) => a.name)).toContain('demo');
    } finally {
      await t.close();
    }
  });

  it('unserved Letta endpoints answer 501 with a detail naming them', async () => {
    await expect(letta.blocks.list()).rejects.toMatchObject({ status: 501 });
  });
});

describe('Letta client: client-side tool returns, stale approvals, the deprecated alias', () => {
  it('a {type: "tool_return"} message answers a pending call with the client\'s own result', async () => {
    const agent = await h.service.ensureDemoAgent();
    const first = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "c.txt", "content": "x"}' }] });
    const id = (first.messages.find((m) => m.message_type === 'approval_request_message') as unknown as { tool_call: { tool_call_id: string } }).tool_call.tool_call_id;
    const r = await letta.agents.messages.create(agent.id, { messages: [{ type: 'tool_return', tool_returns: [{ tool_call_id: id, tool_return: 'done on the client', status: 'success' }] }] } as never);
    expect(r.messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ tool_return: 'done on the client', status: 'success' });
    // the same decision again is stale: 409, not retried
    await expect(
      letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: id, approve: true }] }] } as never),
    ).rejects.toMatchObject({ status: 409 });
  });

  it('POST /v1/agents/:id/messages/stream streams like streaming: true', async () => {
    const agent = await h.service.ensureDemoAgent();
    const chunks = await collect(await letta.agents.messages.stream(agent.id, { messages: [{ role: 'user', content: 'via the alias' }] } as never));
    expect(chunks.filter((c) => c.message_type === 'stop_reason').map((c) => c.stop_reason)).toEqual(['end_turn']);
  });
});

describe('examples/letta-client.ts', () => {
  // `npm run example` is build + these two steps; dist/ is already built by `npm test`, and
  // rebuilding it here would race the other test files that run the CLI.
  it('compiles and runs against its own letta-stream', async () => {
    const { execFile } = await import('node:child_process');
    const run = (cmd: string, args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
      );
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.examples.json']);
    const out = await run(process.execPath, ['.example-build/letta-client.js']);
    expect(out).toContain('[tool returned 42]');
    expect(out).toContain('[stop: end_turn]');
  }, 90_000);
});
