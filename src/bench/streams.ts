/** Synthetic Anthropic SSE streams for the benchmarks, in the real wire format. */

const sse = (type: string, data: unknown): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

function head(): string[] {
  return [
    sse('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_bench',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-6',
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    }),
  ];
}

function tail(stopReason: string, outputTokens: number): string[] {
  return [
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }),
    sse('message_stop', { type: 'message_stop' }),
  ];
}

const WORDS = ['the ', 'agent ', 'streams ', 'café ', 'tokens ', '"quoted" ', 'to ', 'clients ', '東京 ', 'and ', 'back\\slash '];

/** One text block of `deltas` text_delta events. */
export function textStream(deltas: number): string {
  const out = head();
  out.push(sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  out.push(sse('ping', { type: 'ping' }));
  for (let i = 0; i < deltas; i++) {
    out.push(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: WORDS[i % WORDS.length] } }));
  }
  out.push(sse('content_block_stop', { type: 'content_block_stop', index: 0 }));
  out.push(...tail('end_turn', deltas));
  return out.join('');
}

/** Tool arguments of about `bytes` bytes: optional inner thoughts first, then a long string and a few fields. */
export function toolArguments(bytes: number, withThoughts: boolean): string {
  const thoughts = withThoughts ? { thinking: 'I should write the file the user asked for, carefully. '.repeat(8) } : {};
  const filler = 'line with "quotes", a tab\t, unicode café 東京 and a \\ backslash\n';
  const content = filler.repeat(Math.ceil(bytes / filler.length)).slice(0, bytes);
  return JSON.stringify({ ...thoughts, path: 'notes/bench.txt', content, append: false });
}

/** One tool_use block whose arguments arrive in `chunk`-character input_json_delta events. */
export function toolStream(args: string, chunk: number, name = 'write_file'): string {
  const out = head();
  out.push(sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_bench', name, input: {} } }));
  for (let i = 0; i < args.length; i += chunk) {
    out.push(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + chunk) } }));
  }
  out.push(sse('content_block_stop', { type: 'content_block_stop', index: 0 }));
  out.push(...tail('tool_use', Math.ceil(args.length / 4)));
  return out.join('');
}
