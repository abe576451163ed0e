import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicServer, type AnthropicServer } from '../src/anthropic-server/index.js';

/**
 * The built-in server's SSE bytes, unchanged whatever way it writes them (one write per event, or
 * a turn's events coalesced): each stream's body, with its random ids masked, equals the body
 * recorded from the one-write-per-event writer (UPDATE_WIRE=1 records them again).
 */
const dir = path.join(import.meta.dirname, 'fixtures', 'anthropic-wire');
const cases: Array<{ name: string; body: Record<string, unknown> }> = [
  { name: 'text', body: { messages: [{ role: 'user', content: '#tokens 300\nhello "there"\n東京' }] } },
  { name: 'text-delayed', body: { messages: [{ role: 'user', content: '#delay 1\n#tokens 40\nslowly' }] } },
  { name: 'tools', body: { messages: [{ role: 'user', content: '#tool calculator {"expression": "6*7"}\n#tool get_time {}' }] } },
  { name: 'redacted-max-tokens', body: { messages: [{ role: 'user', content: '#redacted\n#max_tokens\n#tokens 100\ncut' }] } },
  {
    name: 'kwargs',
    body: {
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'send_message', description: 'd', input_schema: { type: 'object', properties: { thinking: { type: 'string' }, message: { type: 'string' } } } }],
    },
  },
  { name: 'error-midstream', body: { messages: [{ role: 'user', content: '#error midstream\n#tokens 100\nbreak' }] } },
];

let server: AnthropicServer;
beforeAll(async () => {
  server = await startAnthropicServer({ defaultDelayMs: 0, secret: 'wire-test' });
});
afterAll(() => server.close());

const mask = (sse: string) => sse.replace(/msg_01[0-9a-f]{22}/g, 'msg_01<id>').replace(/toolu_01[0-9a-f]{22}/g, 'toolu_01<id>');

describe('the built-in server wire', () => {
  for (const c of cases) {
    it(`${c.name}: the SSE body is byte for byte the recorded one`, async () => {
      const res = await fetch(`${server.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1024, stream: true, ...c.body }),
      });
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const body = mask(await res.text());
      const file = path.join(dir, `${c.name}.sse`);
      if (process.env.UPDATE_WIRE) writeFileSync(file, body);
      expect(body).toBe(readFileSync(file, 'utf8'));
    });
  }
});
