import type { LettaMessage } from './frames.js';

/**
 * Folds streamed chunks into whole messages, one per part (otid), exactly as a client that
 * concatenates the chunks would show them. This is what gets persisted: what the client saw.
 */
export class MessageCollector {
  private readonly byOtid = new Map<string, LettaMessage>();

  /** A streamed chunk, or a whole message (a tool return), which is kept as it is. */
  add(frame: LettaMessage): void {
    const prev = this.byOtid.get(frame.otid);
    if (!prev) {
      // Copy, and for tool calls copy the nested call too: later chunks are appended to it.
      const copy = { ...frame } as LettaMessage & Partial<{ tool_call: object; tool_calls: object }>;
      if ('tool_call' in frame) {
        const call = { ...frame.tool_call, arguments: frame.tool_call.arguments ?? '' };
        Object.assign(copy, { tool_call: call, tool_calls: call });
      }
      this.byOtid.set(frame.otid, copy);
      return;
    }
    switch (frame.message_type) {
      case 'reasoning_message':
        if (prev.message_type === 'reasoning_message') {
          prev.reasoning += frame.reasoning;
          prev.signature = frame.signature ?? prev.signature;
        }
        return;
      case 'assistant_message':
        if (prev.message_type === 'assistant_message') prev.content += frame.content;
        return;
      case 'tool_call_message':
      case 'approval_request_message':
        if (prev.message_type === frame.message_type) {
          prev.tool_call.arguments = (prev.tool_call.arguments ?? '') + (frame.tool_call.arguments ?? '');
        }
        return;
      case 'hidden_reasoning_message':
        return;
    }
  }

  /** The collected messages in order, and forget them. */
  take(): LettaMessage[] {
    const out = [...this.byOtid.values()].map((m) => (m.message_type === 'reasoning_message' ? { ...m, reasoning: m.reasoning.trim() } : m));
    this.byOtid.clear();
    return out;
  }

  get size(): number {
    return this.byOtid.size;
  }
}
