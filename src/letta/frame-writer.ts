import { isoSeconds, MAX_PARTS_PER_MESSAGE, newMessageId, otidFor } from './ids.js';
import type { AssistantMessage, ReasoningMessage, StreamedMessage, ToolCallDelta } from './frames.js';

type ToolFrameKind = 'tool_call_message' | 'approval_request_message';

/**
 * Builds the Letta messages of one step. All share the step's message id; each part (a run of
 * one message type, or one tool call) gets its own otid index, as Letta's rule says, and its date
 * (taken once, when the part begins). The `*Frame` methods return the frame (the machine's action
 * hands it to the frame sink at once: the per-delta path); the others queue frames in `out`, which
 * the action then drains into the sink (events that yield zero or several frames).
 */
export class FrameWriter {
  readonly out: StreamedMessage[] = [];
  private index = -1;
  private partKey = '';
  private otid = '';
  private date = '';

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

  private part(key: string): void {
    if (key === this.partKey) return;
    this.partKey = key;
    this.index++;
    // More than 128 parts cannot share one id without otids colliding: continue under a new id.
    if (this.index >= MAX_PARTS_PER_MESSAGE) {
      this.messageId = newMessageId();
      this.index = 0;
    }
    this.otid = otidFor(this.messageId, this.index);
    this.date = isoSeconds();
  }

  reasoningFrame(reasoning: string, source: 'reasoner_model' | 'non_reasoner_model', signature: string | null): ReasoningMessage {
    this.part(source === 'reasoner_model' ? 'r' : 'n');
    return {
      id: this.messageId,
      date: this.date,
      message_type: 'reasoning_message',
      otid: this.otid,
      run_id: this.runId,
      step_id: this.stepId,
      source,
      reasoning,
      signature,
    };
  }

  assistantFrame(content: string): AssistantMessage {
    this.part('a');
    return {
      id: this.messageId,
      date: this.date,
      message_type: 'assistant_message',
      otid: this.otid,
      run_id: this.runId,
      step_id: this.stepId,
      content,
    };
  }

  toolCallFrame(kind: ToolFrameKind, id: string, name: string, args: string | null): StreamedMessage {
    this.part(id);
    const call: ToolCallDelta = { name, arguments: args, tool_call_id: id };
    return {
      id: this.messageId,
      date: this.date,
      message_type: kind,
      otid: this.otid,
      run_id: this.runId,
      step_id: this.stepId,
      tool_call: call,
      tool_calls: call,
    };
  }

  reasoning(reasoning: string, source: 'reasoner_model' | 'non_reasoner_model', signature: string | null): void {
    this.out.push(this.reasoningFrame(reasoning, source, signature));
  }

  assistant(content: string): void {
    this.out.push(this.assistantFrame(content));
  }

  toolCall(kind: ToolFrameKind, id: string, name: string, args: string | null): void {
    this.out.push(this.toolCallFrame(kind, id, name, args));
  }

  hidden(data: string): void {
    this.part('h');
    this.out.push({
      id: this.messageId,
      date: this.date,
      message_type: 'hidden_reasoning_message',
      otid: this.otid,
      run_id: this.runId,
      step_id: this.stepId,
      state: 'redacted',
      hidden_reasoning: data,
    });
  }
}
