import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, TestClient, type Harness } from '../support/service-harness.js';

/**
 * Item 9 of the hardening issue: a lone surrogate (`\ud800`) used to be stored and re-sent to the
 * Anthropic API in every later request (the real API answers 400 to such bodies), so the agent
 * failed every turn from then on. Such input is refused, naming the field; nothing is stored.
 * And item 13: query-string errors say so (not "the request body").
 */
describe('input the Anthropic API would refuse', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const stored = async (h: Harness) => (await h.store.listAgentMessages((await h.service.getAgent('demo')).id)).length;

  it('refuses a lone surrogate in a WebSocket run.start, naming the field, and stores nothing', async () => {
    const before = (await stored(h));
    const c = await TestClient.connect(h.server.wsUrl);
    // JSON text with the escape: JSON.stringify of a lone surrogate writes exactly this.
    c.send('{"type":"run.start","request_id":"s1","agent_id":"demo","messages":[{"role":"user","content":"bad \\ud800 text"}]}');
    const err = await c.waitFor((f) => f.request_id === 's1');
    expect(err).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect(err.message).toMatch(/messages\.0\.content contains a lone UTF-16 surrogate/);
    expect(h.service.liveRunCount).toBe(0);
    expect((await stored(h))).toBe(before);
    // a well-formed astral character (a surrogate pair) is fine, and the agent still answers
    const runId = await c.start('demo', 'emoji 😀 ok');
    expect((await c.waitFor((f) => f.type === 'run.end' && f.run_id === runId)).status).toBe('completed');
    c.close();
  });

  it('refuses a lone surrogate in Letta turn bodies and agent configuration with 400', async () => {
    const before = (await stored(h));
    const r = await fetch(`${h.server.url}/v1/agents/demo/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"messages":[{"role":"user","content":[{"type":"text","text":"x\\udc00"}]}]}',
    });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { detail: string };
    expect(body.detail).toMatch(/messages\.0\.content\.0\.text contains a lone UTF-16 surrogate/);
    expect((await stored(h))).toBe(before);

    const agent = await fetch(`${h.server.url}/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a","system":"be \\ud83d"}' });
    expect(agent.status).toBe(400);
    expect(((await agent.json()) as { detail: string }).detail).toMatch(/system contains a lone UTF-16 surrogate/);
  });

  it('names the query string, not the body, when a query parameter is wrong', async () => {
    const r = await fetch(`${h.server.url}/v1/agents?limit=lots`);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { detail: string };
    expect(body.detail).toMatch(/^the query string/);
  });
});
