import { describe, expect, it } from 'vitest';
import { toStreamEvent, toStreamEventWithSchema } from '../src/letta/anthropic-events.js';
import { parseSse } from '../src/letta/sse.js';
import { loadCases } from './support/cases.js';

/** The explicit guards must map every event exactly as the zod schema does, and reject what it rejects. */
const outcome = (f: () => unknown): unknown => {
  try {
    return { ok: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

const base: unknown[] = [
  { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 3, output_tokens: 1, cache_read_input_tokens: null } } },
  { type: 'message_start', message: { id: 'msg_1' } },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_start', index: 1, content_block: { type: 'thinking', thinking: '', signature: null } },
  { type: 'content_block_start', index: 2, content_block: { type: 'redacted_thinking', data: 'EqX' } },
  { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } },
  { type: 'content_block_start', index: 4, content_block: { type: 'server_tool_use', id: 'x' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta', citation: {} } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } },
  { type: 'message_delta' },
  { type: 'message_stop' },
  { type: 'ping' },
  { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
];

/** Each event with one field at a time replaced by something else (wrong type, missing, bad number). */
function variants(e: unknown, depth = 0): unknown[] {
  if (typeof e !== 'object' || e === null || depth > 2) return [];
  const out: unknown[] = [];
  for (const [k, v] of Object.entries(e)) {
    for (const bad of [undefined, null, 7, -1, 1.5, '', 'x', [], {}, 'text_delta', 'tool_use']) {
      if (bad === v) continue;
      const copy: Record<string, unknown> = { ...(e as Record<string, unknown>) };
      if (bad === undefined) delete copy[k];
      else copy[k] = bad;
      out.push(copy);
    }
    for (const inner of variants(v, depth + 1)) out.push({ ...(e as Record<string, unknown>), [k]: inner });
  }
  return out;
}

describe('stream event mapping: guards agree with the schema', () => {
  it('on every event of every conformance case', () => {
    for (const { c } of loadCases()) {
      for (const r of parseSse(c.sse)) expect(outcome(() => toStreamEvent(r.data)), c.name).toEqual(outcome(() => toStreamEventWithSchema(r.data)));
    }
  });

  it('on every one-field variant of each event type, valid or not', () => {
    const all = [...base, ...base.flatMap((e) => variants(e)), null, 'ping', [], 42, { type: 'unknown_event' }];
    expect(all.length).toBeGreaterThan(500);
    for (const e of all) expect(outcome(() => toStreamEvent(e)), JSON.stringify(e)).toEqual(outcome(() => toStreamEventWithSchema(e)));
  });
});
