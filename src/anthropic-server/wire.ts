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

/** The SSE events of one planned block, after its start. */
function* deltas(b: PlannedBlock, index: number): Generator<[string, unknown]> {
  const d = (delta: unknown): [string, unknown] => ['content_block_delta', { type: 'content_block_delta', index, delta }];
  if (b.type === 'thinking') {
    for (const c of chunks(b.thinking, [12, 20, 9, 15])) yield d({ type: 'thinking_delta', thinking: c });
    yield d({ type: 'signature_delta', signature: b.signature });
  } else if (b.type === 'text') {
    for (const c of chunks(b.text, [6, 10, 4, 12, 8])) yield d({ type: 'text_delta', text: c });
  } else if (b.type === 'tool_use') {
    for (const c of chunks(JSON.stringify(b.input))) yield d({ type: 'input_json_delta', partial_json: c });
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

/** Writes `plan` as Anthropic's SSE wire format, with its delays, stall and injected failures. */
export async function writeStream(res: ServerResponse, plan: Plan, model: string, ctl: WireControl): Promise<'completed' | 'aborted' | 'failed'> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': `req_${randomBytes(12).toString('hex')}` });
  const full = message(plan, model);
  let written = 0;
  const write = async (event: string, data: unknown) => {
    if (ctl.aborted) return;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    written++;
    if (plan.delayMs > 0) await ctl.sleep(plan.delayMs);
  };
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
      await ctl.sleep(plan.stallMs);
    }
    for (const [event, data] of deltas(b, index)) {
      if (ctl.aborted) return 'aborted';
      if (plan.error && written >= 6) {
        if (plan.error === 'drop') {
          res.socket?.destroy();
          return 'failed';
        }
        res.write(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } })}\n\n`);
        res.end();
        return 'failed';
      }
      await write(event, data);
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
  res.end();
  return 'completed';
}
