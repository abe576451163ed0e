import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';

/**
 * Issue #10, through Letta's official client over real HTTP: every list pages to its end (the
 * client's `for await` stops) and yields each item exactly once; the parts of one stored message
 * stay together; filters are served or refused; shapes and errors as Letta's.
 */
let h: Harness;
let letta: Letta;
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
});
afterEach(() => h.close());

type Item = { id: string; otid?: string | null; message_type?: string };
const key = (m: Item) => `${m.id}/${m.otid ?? ''}`;

/** Every item of an auto-paginated list; fails instead of looping forever. */
async function all<T extends Item>(list: AsyncIterable<T>, max = 1000): Promise<T[]> {
  const out: T[] = [];
  for await (const item of list) {
    out.push(item);
    if (out.length > max) throw new Error(`the list did not end after ${max} items (last: ${key(item)})`);
  }
  return out;
}

/** A conversation whose stored messages have several parts (reasoning + tool call; reasoning + text). */
async function conversation(agentId: string, turns: number): Promise<string[]> {
  const runIds: string[] = [];
  for (let i = 0; i < turns; i++) {
    const r = await letta.agents.messages.create(agentId, { messages: [{ role: 'user', content: `#tool calculator {"expression": "${i}+1"}` }] });
    runIds.push((r.messages[0] as { run_id?: string }).run_id!);
  }
  return runIds;
}

/** What the store holds, oldest first: the truth the listings are checked against. */
const storedAgentMessages = async (agentId: string) => (await h.store.listAgentMessages(agentId, 100_000)) as unknown as Item[];

const raw = (path: string) => fetch(`${h.server.url}${path}`);

describe('paging: the client\'s for-await ends and yields each item exactly once', () => {
  it('agent messages: limit 1, 2 and default, asc and desc, forwards and backwards; parts of a stored message never split', async () => {
    const agent = await h.service.ensureDemoAgent();
    await conversation(agent.id, 3);
    const stored = (await storedAgentMessages(agent.id));
    expect(stored.length).toBeGreaterThan(12);
    expect(new Set(stored.map((m) => m.id)).size).toBeLessThan(stored.length); // parts share ids
    for (const limit of [1, 2, undefined]) {
      for (const order of ['asc', 'desc'] as const) {
        const listed = await all(letta.agents.messages.list(agent.id, { ...(limit ? { limit } : {}), order }) as AsyncIterable<Item>);
        const want = order === 'asc' ? stored : [...stored].reverse();
        expect(listed.map(key), `limit ${limit} ${order}`).toEqual(want.map(key));
      }
      // each page holds whole stored messages: `limit` of them
      const pages = [];
      for await (const page of (await letta.agents.messages.list(agent.id, { limit: limit ?? 100, order: 'asc' })).iterPages()) pages.push(page.getPaginatedItems() as Item[]);
      const idsPerPage = pages.map((p) => [...new Set(p.map((m) => m.id))]);
      expect(idsPerPage.flat()).toEqual([...new Set(stored.map((m) => m.id))]);
      for (const ids of idsPerPage.slice(0, -1)) expect(ids.length).toBeLessThanOrEqual(limit ?? 100);
    }
    // backwards: `before` the newest stored message, the client keeps going back to the start
    const newest = stored.at(-1)!;
    const older = stored.filter((m) => m.id !== newest.id);
    const back = await all(letta.agents.messages.list(agent.id, { before: newest.id, limit: 2, order: 'asc' }) as AsyncIterable<Item>);
    expect(new Set(back.map(key))).toEqual(new Set(older.map(key)));
    expect(back).toHaveLength(older.length);
  });

  it('the default order of agent messages is desc, as Letta\'s; run messages asc', async () => {
    const agent = await h.service.ensureDemoAgent();
    const [runId] = await conversation(agent.id, 1);
    const stored = (await storedAgentMessages(agent.id));
    const page = (await raw(`/v1/agents/${agent.id}/messages`).then((r) => r.json())) as Item[];
    expect(page.map(key)).toEqual([...stored].reverse().map(key));
    const runPage = (await raw(`/v1/runs/${runId}/messages`).then((r) => r.json())) as Item[];
    expect(runPage.map(key)).toEqual((await h.store.listRunMessages(runId!) as unknown as Item[]).map(key));
  });

  it('run messages: limit 1, 2 and default, asc and desc', async () => {
    const agent = await h.service.ensureDemoAgent();
    const [runId] = await conversation(agent.id, 1);
    const stored = await h.store.listRunMessages(runId!) as unknown as Item[];
    expect(stored.length).toBeGreaterThan(4);
    for (const limit of [1, 2, undefined]) {
      for (const order of ['asc', 'desc'] as const) {
        const listed = await all(letta.runs.messages.list(runId!, { ...(limit ? { limit } : {}), order }) as AsyncIterable<Item>);
        expect(listed.map(key), `limit ${limit} ${order}`).toEqual((order === 'asc' ? stored : [...stored].reverse()).map(key));
      }
    }
  });

  it('agents: limit 1, 2 and default, asc and desc (newest first by default)', async () => {
    const names = ['a1', 'a2', 'a3', 'a4'];
    for (const name of names) await letta.agents.create({ name, tools: ['calculator'] } as never);
    const oldestFirst = ['demo', ...names];
    for (const limit of [1, 2, undefined]) {
      expect((await all(letta.agents.list({ ...(limit ? { limit } : {}) }))).map((a) => a.name), `limit ${limit}`).toEqual([...oldestFirst].reverse());
      expect((await all(letta.agents.list({ ...(limit ? { limit } : {}), order: 'asc' }))).map((a) => a.name)).toEqual(oldestFirst);
    }
    const a2 = (await all(letta.agents.list({ name: 'a2' })))[0]!;
    expect((await all(letta.agents.list({ before: a2.id, limit: 1, order: 'asc' }))).map((a) => a.name)).toEqual(['a1', 'demo']);
  });

  it('runs: limit 1, 2 and default, asc and desc (and the deprecated ascending)', async () => {
    const agent = await h.service.ensureDemoAgent();
    const runIds = await conversation(agent.id, 4);
    for (const limit of [1, 2, undefined]) {
      expect((await all(letta.runs.list({ ...(limit ? { limit } : {}) }))).map((r) => r.id), `limit ${limit}`).toEqual([...runIds].reverse());
      expect((await all(letta.runs.list({ ...(limit ? { limit } : {}), order: 'asc' }))).map((r) => r.id)).toEqual(runIds);
      expect((await all(letta.runs.list({ ...(limit ? { limit } : {}), ascending: true }))).map((r) => r.id)).toEqual(runIds);
    }
  });

  it('with a service token in ?token=, lists still page (the token is no filter)', async () => {
    const t = await startHarness({ token: 'k3y' });
    try {
      const r = await fetch(`${t.server.url}/v1/agents/?token=k3y&limit=1`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as Array<{ name: string }>).map((a) => a.name)).toEqual(['demo']);
    } finally {
      await t.close();
    }
  });

  it('an unknown cursor is a 404, a bad limit a 400 about the query string', async () => {
    const agent = await h.service.ensureDemoAgent();
    const nope = await raw(`/v1/agents/${agent.id}/messages?after=message-nope`);
    expect(nope.status).toBe(404);
    const bad = await raw(`/v1/runs/?limit=0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/the query string.*limit/);
  });
});

describe('filters: served, or refused with a detail', () => {
  it('agents by name, query_text and tags (any, or all); unserved filters refused', async () => {
    await letta.agents.create({ name: 'Alpha', tags: ['red', 'blue'] } as never);
    await letta.agents.create({ name: 'alphabet', tags: ['red'] } as never);
    const beta = await letta.agents.create({ name: 'beta' } as never);
    expect(beta.tags).toEqual([]);
    expect((await all(letta.agents.list({ name: 'alphabet' }))).map((a) => a.name)).toEqual(['alphabet']);
    expect((await all(letta.agents.list({ query_text: 'ALPHA', order: 'asc' }))).map((a) => a.name)).toEqual(['Alpha', 'alphabet']);
    expect((await all(letta.agents.list({ tags: ['blue', 'red'], order: 'asc', limit: 1 }))).map((a) => a.name)).toEqual(['Alpha', 'alphabet']);
    expect((await all(letta.agents.list({ tags: ['blue', 'red'], match_all_tags: true }))).map((a) => a.name)).toEqual(['Alpha']);
    await letta.agents.update(beta.id, { tags: ['blue'] });
    expect((await all(letta.agents.list({ tags: ['blue'], order: 'asc' }))).map((a) => a.name)).toEqual(['Alpha', 'beta']);
    await expect(all(letta.agents.list({ project_id: 'p' }))).rejects.toMatchObject({ status: 400, error: { detail: expect.stringContaining('project_id') } });
    await expect(all(letta.agents.list({ order_by: 'last_run_completion' } as never))).rejects.toMatchObject({ status: 400 });
    const unknown = await raw('/v1/agents/?colour=blue');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { detail: string }).detail).toContain('colour');
  });

  it('runs by agent_ids, statuses, active, stop_reason and ascending; background refused; an unknown conversation_id is a 404', async () => {
    const demo = await h.service.ensureDemoAgent();
    const other = await letta.agents.create({ name: 'other', tools: ['calculator', 'write_file'] } as never);
    const [done] = await conversation(demo.id, 1);
    const ask = await letta.agents.messages.create(other.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "x.txt", "content": "x"}' }] });
    const asked = (ask.messages[0] as { run_id?: string }).run_id!;
    const failed = await letta.agents.messages.create(demo.id, { messages: [{ role: 'user', content: '#error overloaded\nfail' }] }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Letta.APIError);
    const failedRun = (await h.store.listRuns(demo.id, 1))[0]!.id;

    const ids = async (q: Parameters<typeof letta.runs.list>[0]) => (await all(letta.runs.list(q))).map((r) => r.id);
    expect(await ids({ agent_ids: [other.id] })).toEqual([asked]);
    expect(await ids({ agent_ids: [other.id, demo.id], ascending: true })).toEqual([done, asked, failedRun]);
    expect(await ids({ stop_reason: 'requires_approval' })).toEqual([asked]);
    expect(await ids({ statuses: ['failed'] })).toEqual([failedRun]);
    expect(await ids({ active: true })).toEqual([]);
    await expect(all(letta.runs.list({ background: true }))).rejects.toMatchObject({ status: 400, error: { detail: expect.stringContaining('background') } });
    await expect(all(letta.runs.list({ conversation_id: 'c' }))).rejects.toMatchObject({ status: 404 });
  });

  it('active runs: the running one', async () => {
    const agent = await h.service.ensureDemoAgent();
    await conversation(agent.id, 1); // a completed run, not active
    const stream = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#stall 10000\nwait' }], streaming: true });
    const draining = (async () => {
      for await (const _ of stream) void _;
    })();
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    const running = (await h.store.listRuns(agent.id, 1))[0]!.id;
    expect((await all(letta.runs.list({ active: true }))).map((r) => r.id)).toEqual([running]);
    await letta.agents.messages.cancel(agent.id);
    await draining;
  });

  it('messages by include_return_message_types, paged: pages of other types do not end the list early', async () => {
    const agent = await h.service.ensureDemoAgent();
    await conversation(agent.id, 3);
    const want = (await storedAgentMessages(agent.id)).filter((m) => m.message_type === 'tool_return_message');
    expect(want).toHaveLength(3);
    const listed = await all(letta.agents.messages.list(agent.id, { include_return_message_types: ['tool_return_message'], limit: 1, order: 'asc' }) as AsyncIterable<Item>);
    expect(listed.map(key)).toEqual(want.map(key));
    await expect(all(letta.agents.messages.list(agent.id, { conversation_id: 'c' }))).rejects.toMatchObject({ status: 404 });
    await expect(all(letta.agents.messages.list(agent.id, { include_return_message_types: ['nope' as never] }))).rejects.toMatchObject({ status: 400 });
  });
});

describe('shapes and errors as Letta\'s', () => {
  it('listed and returned messages carry tool_calls as an array; tool returns name their tool', async () => {
    const agent = await h.service.ensureDemoAgent();
    const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool calculator {"expression": "2*3"}' }] });
    const call = r.messages.find((m) => m.message_type === 'tool_call_message') as unknown as { tool_call: object; tool_calls: unknown };
    expect(call.tool_calls).toEqual([call.tool_call]);
    expect(r.messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ name: 'calculator' });
    const listed = await all(letta.agents.messages.list(agent.id) as unknown as AsyncIterable<Item & { tool_calls?: unknown; name?: string }>);
    expect(listed.find((m) => m.message_type === 'tool_call_message')?.tool_calls).toEqual([expect.objectContaining({ name: 'calculator' })]);
    expect(listed.find((m) => m.message_type === 'tool_return_message')?.name).toBe('calculator');
  });

  it('agent JSON has agent_type, llm_config, tags, memory blocks, tool ids and pending_approval', async () => {
    const agent = await h.service.ensureDemoAgent();
    const a = await letta.agents.retrieve(agent.id);
    expect(a).toMatchObject({ agent_type: 'letta_v1_agent', llm_config: { model_endpoint_type: 'anthropic', model: agent.model }, tags: [], blocks: [], memory: { blocks: [] }, pending_approval: null });
    expect(a.tools.every((t) => typeof t.id === 'string' && t.id.length > 0)).toBe(true);
    const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "p.txt", "content": "x"}' }] });
    const req = r.messages.find((m) => m.message_type === 'approval_request_message') as unknown as { id: string; tool_call: { tool_call_id: string } };
    const waiting = await letta.agents.retrieve(agent.id);
    expect(waiting.pending_approval).toMatchObject({ id: req.id, message_type: 'approval_request_message', tool_calls: [expect.objectContaining({ tool_call_id: req.tool_call.tool_call_id })] });
  });

  it('POST /v1/agents/ without a name makes one up', async () => {
    const a = await letta.agents.create({ model: 'anthropic/claude-sonnet-4-6' } as never);
    expect(a.name).toMatch(/\S/);
    const b = await letta.agents.create({} as never);
    expect(b.name).not.toBe(a.name);
  });

  it('approval entries without type, and Letta\'s older {approve, approval_request_id} form', async () => {
    const agent = await h.service.ensureDemoAgent();
    const ask = async () => {
      const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool write_file {"path": "o.txt", "content": "x"}' }] });
      return (r.messages.find((m) => m.message_type === 'approval_request_message') as unknown as { tool_call: { tool_call_id: string } }).tool_call.tool_call_id;
    };
    const first = await ask();
    const untyped = await letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approvals: [{ tool_call_id: first, approve: true }] }] } as never);
    expect(untyped.messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ status: 'success' });
    const second = await ask();
    const older = await letta.agents.messages.create(agent.id, { messages: [{ type: 'approval', approve: false, approval_request_id: second, reason: 'not now' }] } as never);
    expect(older.messages.find((m) => m.message_type === 'tool_return_message')).toMatchObject({ status: 'error', tool_return: expect.stringContaining('not now') });
  });

  it('role system and assistant input messages: a system event, an assistant turn; the last must be the user\'s', async () => {
    const agent = await h.service.ensureDemoAgent();
    const r = await letta.agents.messages.create(agent.id, {
      messages: [
        { role: 'system', content: 'the user is in a hurry' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'an earlier answer' },
        { role: 'user', content: 'second question' },
      ],
    });
    expect(r.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
    expect(r.messages.map((m) => m.message_type)).toEqual(['reasoning_message', 'assistant_message']); // the response, not the input
    const runId = (r.messages[0] as { run_id?: string }).run_id!;
    const inputs = (await h.store.listRunMessages(runId)).filter((m) => m.message_type === 'user_message' || m.message_type === 'assistant_message').slice(0, 3) as unknown as Array<{ message_type: string; content: string }>;
    expect(inputs.map((m) => [m.message_type, m.content])).toEqual([
      ['user_message', '<event>SYSTEM ALERT: the user is in a hurry</event>\n\nfirst question'],
      ['assistant_message', 'an earlier answer'],
      ['user_message', 'second question'],
    ]);
    expect((await h.store.getHistory(agent.id)).slice(0, 3).map((t) => t.role)).toEqual(['user', 'assistant', 'user']);
    // an assistant message right after the agent's own answer, then the user's: still a valid history
    const again = await letta.agents.messages.create(agent.id, { messages: [{ role: 'assistant', content: 'one more thing' }, { role: 'user', content: 'go on' }] });
    expect(again.stop_reason).toMatchObject({ stop_reason: 'end_turn' });
    await expect(letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] })).rejects.toMatchObject({
      status: 400,
      error: { detail: expect.stringContaining('last input message') },
    });
  });

  it('501 and 405 say x-should-retry: false, so the client sends each request once', async () => {
    let sent = 0;
    const counting = new Letta({
      baseURL: h.server.url,
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        sent++;
        return fetch(input, init);
      },
    }); // default retries
    await expect(counting.blocks.create({ label: 'x', value: 'y' } as never)).rejects.toMatchObject({ status: 501 });
    expect(sent).toBe(1);
    const notAllowed = await fetch(`${h.server.url}/v1/runs/run-x/usage`, { method: 'DELETE' });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get('x-should-retry')).toBe('false');
  });

  it('a non-streamed turn whose model call fails answers an error status with a detail, once', async () => {
    const agent = await h.service.ensureDemoAgent();
    const retrying = new Letta({ baseURL: h.server.url }); // default retries
    const before = h.anthropic.stats.requests;
    const err = await retrying.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#error overloaded\nhello' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Letta.APIError);
    expect(err).toMatchObject({ status: 503, error: { detail: expect.stringMatching(/529|overloaded/) } });
    expect(h.anthropic.stats.requests - before).toBe(1);
    expect((await h.store.listRuns(agent.id, 1))[0]).toMatchObject({ status: 'failed', stopReason: 'llm_api_error' });
  });
});
