import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Plan, PlannedBlock } from './script.js';

const CHUNK_SIZES = [3, 5, 8, 4, 6, 7];

/** Splits text into small, deterministic chunks, as the API streams them. */
export function chunks(text: string, sizes = CHUNK_SIZES): string[] {
  const out: string[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

const tokensOf = (s: string) => Math.ceil(s.length / 4);

/** The full (non-streamed) Message for `plan`. */
export function message(plan: Plan, model: string) {
  const content = plan.blocks.map((b) => (b.type === 'tool_use' ? { ...b } : b));
  const output = plan.blocks.reduce((n, b) => n + tokensOf(JSON.stringify(b)), 0);
  return {
    id: `msg_01${randomBytes(11).toString('hex')}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: plan.stopReason,
    stop_sequence: null,
    usage: { input_tokens: plan.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output },
  };
}

/**
 * The SSE records of one planned block's deltas, after its start: `JSON.stringify` of
 * `{type: 'content_block_delta', index, delta: {type, <field>: chunk}}`, with the constant part
 * written once (only the chunk is stringified per record).
 */
function* deltas(b: PlannedBlock, index: number): Generator<string> {
  const head = `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":`;
  const record = (type: string, field: string) => {
    const prefix = `${head}"${type}","${field}":`;
    return (value: string) => `${prefix}${JSON.stringify(value)}}}\n\n`;
  };
  if (b.type === 'thinking') {
    const thinking = record('thinking_delta', 'thinking');
    for (const c of chunks(b.thinking, [12, 20, 9, 15])) yield thinking(c);
    yield record('signature_delta', 'signature')(b.signature);
  } else if (b.type === 'text') {
    const text = record('text_delta', 'text');
    for (const c of chunks(b.text, [6, 10, 4, 12, 8])) yield text(c);
  } else if (b.type === 'tool_use') {
    const json = record('input_json_delta', 'partial_json');
    for (const c of chunks(JSON.stringify(b.input))) yield json(c);
  }
}

const startBlock = (b: PlannedBlock) =>
  b.type === 'thinking'
    ? { type: 'thinking', thinking: '', signature: '' }
    : b.type === 'text'
      ? { type: 'text', text: '' }
      : b.type === 'tool_use'
        ? { type: 'tool_use', id: b.id, name: b.name, input: {} }
        : { type: 'redacted_thinking', data: b.data };

export interface WireControl {
  /** True once the client went away: stop writing. */
  readonly aborted: boolean;
  sleep(ms: number): Promise<void>;
}

/** Past this many characters a turn's coalesced records are written without waiting for the turn's end. */
const FLUSH_CHARS = 64 * 1024;

/**
 * Writes `plan` as Anthropic's SSE wire format, with its delays, stall and injected failures.
 * The records of one stretch without a pause (all of a `#delay 0` stream) are joined and written
 * together, not one `res.write` (and one socket write) each: the body's bytes are the same.
 */
export async function writeStream(res: ServerResponse, plan: Plan, model: string, ctl: WireControl): Promise<'completed' | 'aborted' | 'failed'> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': `req_${randomBytes(12).toString('hex')}` });
  const full = message(plan, model);
  let written = 0;
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    res.write(pending);
    pending = '';
  };
  /** Queues one record; a pause (the plan's delay) writes what is queued and waits. Aborted: nothing. */
  const record = (text: string): Promise<void> | null => {
    if (ctl.aborted) return null;
    pending += text;
    written++;
    if (plan.delayMs > 0) {
      flush();
      return ctl.sleep(plan.delayMs);
    }
    if (pending.length >= FLUSH_CHARS) flush();
    return null;
  };
  const write = (event: string, data: unknown) => record(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  await write('message_start', {
    type: 'message_start',
    message: { ...full, content: [], stop_reason: null, usage: { ...full.usage, output_tokens: 1 } },
  });
  let output = 1;
  let stalled = false;
  for (const [index, b] of plan.blocks.entries()) {
    await write('content_block_start', { type: 'content_block_start', index, content_block: startBlock(b) });
    if (index === 0) await write('ping', { type: 'ping' });
    if (!stalled && plan.stallMs > 0) {
      stalled = true;
      flush();
      await ctl.sleep(plan.stallMs);
    }
    for (const text of deltas(b, index)) {
      if (ctl.aborted) return 'aborted';
      if (plan.error && written >= 6) {
        if (plan.error === 'drop') {
          flush();
          res.socket?.destroy();
          return 'failed';
        }
        pending += `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } })}\n\n`;
        flush();
        res.end();
        return 'failed';
      }
      // No await without a pause: a `#delay 0` stream is written in one go, as before, without a
      // microtask per record.
      const pause = record(text);
      if (pause) await pause;
      output++;
    }
    await write('content_block_stop', { type: 'content_block_stop', index });
  }
  await write('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: plan.stopReason, stop_sequence: null },
    usage: { input_tokens: plan.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: Math.max(output, full.usage.output_tokens) },
  });
  await write('message_stop', { type: 'message_stop' });
  if (ctl.aborted) return 'aborted';
  flush();
  res.end();
  return 'completed';
}
