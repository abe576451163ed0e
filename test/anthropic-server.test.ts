import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAnthropicServer, type AnthropicServer } from '../src/anthropic-server/index.js';

/** The built-in server, driven only through the real SDK over real HTTP (and plain fetch for the wire). */
let server: AnthropicServer;
let client: Anthropic;
beforeEach(async () => {
  server = await startAnthropicServer({ defaultDelayMs: 0 });
  client = new Anthropic({ apiKey: 'local', baseURL: server.url, maxRetries: 0 });
});
afterEach(() => server.close());

const model = 'claude-sonnet-4-6';
const ask = (messages: MessageParam[], extra: Record<string, unknown> = {}) =>
  client.messages.stream({ model, max_tokens: 1024, messages, ...extra }).finalMessage();

describe('built-in Anthropic server', () => {
  it('echoes with a thinking block whose signature it accepts back', async () => {
    const m = await ask([{ role: 'user', content: 'hi there' }]);
    expect(m.stop_reason).toBe('end_turn');
    expect(m.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect((m.content[1] as { text: string }).text).toContain('You said: hi there');
    const next = await ask([
      { role: 'user', content: 'hi there' },
      { role: 'assistant', content: m.content },
      { role: 'user', content: 'again' },
    ]);
    expect(next.stop_reason).toBe('end_turn');
  });

  it('#tool: a tool_use with the given input; the result comes back quoted', async () => {
    const m = await ask([{ role: 'user', content: '#tool calculator {"expression": "2+2"}' }]);
    expect(m.stop_reason).toBe('tool_use');
    const use = m.content.find((b) => b.type === 'tool_use') as { id: string; name: string; input: unknown };
    expect(use).toMatchObject({ name: 'calculator', input: { expression: '2+2' } });
    const answer = await ask([
      { role: 'user', content: '#tool calculator {"expression": "2+2"}' },
      { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '4' }] },
    ]);
    expect((answer.content.find((b) => b.type === 'text') as { text: string }).text).toContain('The tool returned: 4');
  });

  it('rejects a tool_use without its tool_result, and a tampered signature, with 400', async () => {
    const m = await ask([{ role: 'user', content: '#tool get_time {}' }]);
    await expect(ask([{ role: 'user', content: 'x' }, { role: 'assistant', content: m.content }, { role: 'user', content: 'no result' }])).rejects.toMatchObject({ status: 400 });
    const tampered = m.content.map((b) => (b.type === 'thinking' ? { ...b, signature: 'Zm9v' } : b));
    const use = m.content.find((b) => b.type === 'tool_use') as { id: string };
    const err = await ask([
      { role: 'user', content: 'x' },
      { role: 'assistant', content: tampered },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'ok' }] },
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain('Invalid signature in thinking block');
  });

  it('#error overloaded is a 529; midstream and drop break the stream', async () => {
    await expect(ask([{ role: 'user', content: '#error overloaded' }])).rejects.toMatchObject({ status: 529 });
    await expect(ask([{ role: 'user', content: '#error midstream' }])).rejects.toThrow();
    await expect(ask([{ role: 'user', content: '#error drop' }])).rejects.toThrow();
  });

  it('#stall: an aborted request is seen as aborted and the server stays usable', async () => {
    const controller = new AbortController();
    const stream = client.messages.stream({ model, max_tokens: 10, messages: [{ role: 'user', content: '#stall 5000' }] }, { signal: controller.signal });
    stream.on('error', () => {});
    stream.finalMessage().catch(() => {});
    await expect.poll(() => server.stats.streamsOpen).toBe(1);
    controller.abort();
    await expect.poll(() => server.stats.streamsAborted).toBe(1);
    expect((await ask([{ role: 'user', content: 'still up?' }])).stop_reason).toBe('end_turn');
  });

  it('#redacted and #max_tokens', async () => {
    const r = await ask([{ role: 'user', content: '#redacted\nsecret' }]);
    expect(r.content[0]!.type).toBe('redacted_thinking');
    const m = await ask([{ role: 'user', content: '#max_tokens\n#tokens 100\nlong' }]);
    expect(m.stop_reason).toBe('max_tokens');
  });

  it('kwargs mode: inner thoughts as the first argument, plain answers through send_message', async () => {
    const tools = [
      { name: 'get_time', input_schema: { type: 'object' as const, properties: { thinking: { type: 'string' } } } },
      { name: 'send_message', input_schema: { type: 'object' as const, properties: { thinking: { type: 'string' }, message: { type: 'string' } } } },
    ];
    const m = await ask([{ role: 'user', content: '#tool get_time {}' }], { tools });
    const use = m.content.find((b) => b.type === 'tool_use') as { input: Record<string, unknown> };
    expect(Object.keys(use.input)[0]).toBe('thinking');
    expect(m.content.some((b) => b.type === 'thinking')).toBe(false);
    const plain = await ask([{ role: 'user', content: 'hello' }], { tools });
    expect(plain.content[0]).toMatchObject({ type: 'tool_use', name: 'send_message', input: { message: expect.stringContaining('hello') } });
  });

  it('#tool of a tool the request does not offer: a text answer, no call (as the real model)', async () => {
    const tools = [{ name: 'get_time', input_schema: { type: 'object' as const, properties: {} } }];
    const m = await ask([{ role: 'user', content: '#tool ask_user {}' }], { tools });
    expect(m.stop_reason).toBe('end_turn');
    expect(m.content.filter((b) => b.type === 'tool_use')).toEqual([]);
    expect((m.content.find((b) => b.type === 'text') as { text: string }).text).toContain('no tool named ask_user');
  });

  it('speaks the real wire format, and answers bad bodies with Anthropic errors', async () => {
    const res = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'wire' }] }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean).map((rec) => {
      const [event, data] = rec.split('\n');
      const parsed = JSON.parse(data!.slice(6)) as { type: string };
      expect(parsed.type).toBe(event!.slice(7));
      return parsed.type;
    });
    expect(events.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    const bad = await fetch(`${server.url}/v1/messages`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'The request body is not valid JSON' } });
  });
});
