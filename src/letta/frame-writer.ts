import { isoSeconds, MAX_PARTS_PER_MESSAGE, newMessageId, otidFor } from './ids.js';
import type { StreamedMessage, ToolCallDelta } from './frames.js';

/**
 * Builds the Letta messages of one step. All share the step's message id; each part (a run of
 * one message type, or one tool call) gets its own otid index, as Letta's rule says. Frames go
 * to `out`, which the machine drains into `emit`s.
 */
export class FrameWriter {
  readonly out: StreamedMessage[] = [];
  private index = -1;
  private partKey = '';
  private otid = '';

  constructor(
    readonly runId: string,
    readonly stepId: string,
    public messageId: string,
  ) {}

  /** Hand every pending frame to `fn` in order, then forget them. */
  drain(fn: (frame: StreamedMessage) => void): void {
    const out = this.out;
    for (let i = 0; i < out.length; i++) fn(out[i] as StreamedMessage);
    out.length = 0;
  }


  private part(key: string): string {
    if (key !== this.partKey) {
      this.partKey = key;
      this.index++;
      // More than 128 parts cannot share one id without otids colliding: continue under a new id.
      if (this.index >= MAX_PARTS_PER_MESSAGE) {
        this.messageId = newMessageId();
        this.index = 0;
      }
      this.otid = otidFor(this.messageId, this.index);
    }
    return this.otid;
  }

  reasoning(reasoning: string, source: 'reasoner_model' | 'non_reasoner_model', signature: string | null): void {
    const otid = this.part(source === 'reasoner_model' ? 'r' : 'n');
    this.out.push({
      id: this.messageId,
      date: isoSeconds(),
      message_type: 'reasoning_message',
      otid,
      run_id: this.runId,
      step_id: this.stepId,
      source,
      reasoning,
      signature,
    });
  }

  hidden(data: string): void {
    const otid = this.part('h');
    this.out.push({
      id: this.messageId,
      date: isoSeconds(),
      message_type: 'hidden_reasoning_message',
      otid,
      run_id: this.runId,
      step_id: this.stepId,
      state: 'redacted',
      hidden_reasoning: data,
    });
  }

  assistant(content: string): void {
    const otid = this.part('a');
    this.out.push({
      id: this.messageId,
      date: isoSeconds(),
      message_type: 'assistant_message',
      otid,
      run_id: this.runId,
      step_id: this.stepId,
      content,
    });
  }

  toolCall(kind: 'tool_call_message' | 'approval_request_message', id: string, name: string, args: string | null): void {
    const otid = this.part(id);
    const call: ToolCallDelta = { name, arguments: args, tool_call_id: id };
    this.out.push({
      id: this.messageId,
      date: isoSeconds(),
      message_type: kind,
      otid,
      run_id: this.runId,
      step_id: this.stepId,
      tool_call: call,
      tool_calls: call,
    });
  }
}
