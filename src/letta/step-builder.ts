import type { BlockStart, Usage } from './anthropic-events.js';
import { FrameWriter } from './frame-writer.js';
import type { AssistantMessage, ReasoningMessage, StreamedMessage } from './frames.js';
import { newMessageId } from './ids.js';
import { TextAccumulator } from './text-accumulator.js';
import { ThinkingTagStripper } from './thinking-tag.js';
import { ToolArgsReader, type ToolArgsSink } from './tool-args-reader.js';

/** Letta's two Anthropic streaming interfaces. */
export type InterfaceMode = 'simple' | 'kwargs';

export interface StepOptions {
  interface: InterfaceMode;
  runId: string;
  stepId: string;
  requiresApprovalTools?: readonly string[];
  /** kwargs: the model writes its reasoning into a `thinking` argument of every tool call. */
  innerThoughtsInKwargs?: boolean;
  /** kwargs: `send_message`'s `message` argument streams as assistant text. */
  useAssistantMessage?: boolean;
  messageId?: string;
}

export const INNER_THOUGHTS_KWARG = 'thinking';
export const MESSAGE_TOOL = 'send_message';
export const MESSAGE_TOOL_KWARG = 'message';

/** One Anthropic content block as it will be persisted and sent back to the model. */
export type ContentPart =
  | { type: 'thinking'; thinking: string; signature: string | null; complete: boolean }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'text'; text: string; complete: boolean }
  | {
      type: 'tool_use';
      id: string;
      name: string;
      /** Parsed arguments; null when they never completed or are not a JSON object. */
      input: Record<string, unknown> | null;
      rawInput: string;
      complete: boolean;
      requiresApproval: boolean;
      error: string | null;
    };

export type StepOutcome = 'completed' | 'failed' | 'cancelled';
export type StepErrorCode = 'integrity_error' | 'upstream_error' | 'stream_ended' | 'invalid_upstream_event';

export interface StepResult {
  outcome: StepOutcome;
  cancelled: boolean;
  messageId: string;
  upstreamMessageId: string | null;
  model: string | null;
  /** Anthropic's stop_reason from message_delta (end_turn, tool_use, max_tokens, …). */
  upstreamStopReason: string | null;
  content: ContentPart[];
  /** A complete tool call for a tool in requires_approval_tools was seen. */
  approvalRequested: boolean;
  usage: Usage;
  error: { code: StepErrorCode; message: string } | null;
}

type OpenBlock =
  | { kind: 'text'; parts: TextAccumulator }
  | { kind: 'thinking'; parts: TextAccumulator; signature: string | null }
  | ToolUseBlock
  | null;

interface ToolUseBlock {
  kind: 'tool_use';
  id: string;
  name: string;
  frameKind: 'tool_call_message' | 'approval_request_message';
  /** simple mode: raw argument chunks; parsed once at the end (linear). */
  parts: TextAccumulator;
  /** kwargs mode: the incremental reader that splits out inner thoughts. */
  reader: ToolArgsReader | null;
  /** kwargs: argument text held back until the inner thoughts are complete. */
  held: string[] | null;
}

/**
 * The mutable per-step state behind the stream machine's actions: it turns block and delta
 * events into Letta frames (through FrameWriter) and remembers the content for persistence.
 * The machine decides *when* (states, guards); this decides *what*.
 */
export class StepBuilder {
  readonly writer: FrameWriter;
  private readonly content: ContentPart[] = [];
  private block: OpenBlock = null;
  private readonly tagStripper = new ThinkingTagStripper();
  private readonly approvalTools: ReadonlySet<string>;
  private readonly kwargs: boolean;
  /**
   * simple interface: every text delta is exactly one assistant frame and every non-empty
   * argument chunk one tool-call frame, so the machine hands the frame the `stream*` methods
   * return straight to its sink (the per-delta path); kwargs may hold text back or split it.
   */
  readonly streamsAsIs: boolean;
  private readonly innerThoughts: boolean;
  private readonly assistantMessage: boolean;
  private upstreamMessageId: string | null = null;
  private model: string | null = null;
  private upstreamStopReason: string | null = null;
  private error: StepResult['error'] = null;
  private result: StepResult | null = null;
  readonly usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };

  constructor(readonly options: StepOptions) {
    this.writer = new FrameWriter(options.runId, options.stepId, options.messageId ?? newMessageId());
    this.approvalTools = new Set(options.requiresApprovalTools ?? []);
    this.kwargs = options.interface === 'kwargs';
    this.streamsAsIs = !this.kwargs;
    this.innerThoughts = this.kwargs && options.innerThoughtsInKwargs === true;
    this.assistantMessage = this.kwargs && options.useAssistantMessage === true;
  }

  messageStart(messageId: string, model: string | null, usage: Usage): void {
    this.upstreamMessageId = messageId;
    this.model = model;
    this.usage.inputTokens = usage.inputTokens;
    this.usage.outputTokens = usage.outputTokens;
    this.usage.cacheReadTokens = usage.cacheReadTokens;
    this.usage.cacheCreationTokens = usage.cacheCreationTokens;
  }

  /** Anthropic's message_delta usage is cumulative: assign, never add. */
  messageDelta(stopReason: string | null, outputTokens: number | null): void {
    if (stopReason !== null) this.upstreamStopReason = stopReason;
    if (outputTokens !== null) this.usage.outputTokens = outputTokens;
  }

  // ── text ──────────────────────────────────────────────────────────────
  openText(): void {
    this.block = { kind: 'text', parts: new TextAccumulator() };
  }

  appendText(text: string): void {
    const b = this.block;
    if (b?.kind !== 'text') return;
    b.parts.push(text);
    if (!this.kwargs) {
      this.writer.assistant(text);
    } else if (this.innerThoughts) {
      // kwargs: plain text is the model's inner monologue; Letta strips its closing tag.
      const cleaned = this.tagStripper.push(text);
      if (cleaned !== '') this.writer.reasoning(cleaned, 'non_reasoner_model', null);
    }
    // kwargs without inner thoughts in kwargs: text is dropped from the stream (Letta), kept in content.
  }

  /** simple interface, inside a text block (the machine's `text` state): the delta's one frame. */
  streamText(text: string): AssistantMessage {
    // The state guarantees the block (the machine's `text` state); the check keeps a stray call harmless.
    if (this.block?.kind === 'text') this.block.parts.push(text);
    return this.writer.assistantFrame(text);
  }

  // ── thinking ──────────────────────────────────────────────────────────
  openThinking(): void {
    this.block = { kind: 'thinking', parts: new TextAccumulator(), signature: null };
  }

  /** Inside a thinking block (the machine's `thinking` state): the delta's one frame. */
  streamThinking(text: string): ReasoningMessage {
    if (this.block?.kind === 'thinking') this.block.parts.push(text);
    return this.writer.reasoningFrame(text, 'reasoner_model', null);
  }

  recordSignature(signature: string): void {
    const b = this.block;
    if (b?.kind !== 'thinking') return;
    b.signature = signature;
    this.writer.reasoning('', 'reasoner_model', signature);
  }

  // ── redacted thinking: arrives whole in content_block_start ─────────────
  recordRedactedThinking(block: BlockStart): void {
    if (block.kind !== 'redacted_thinking') return;
    this.content.push({ type: 'redacted_thinking', data: block.data });
    this.writer.hidden(block.data);
  }

  // ── tool use ─────────────────────────────────────────────────────────
  openToolUse(block: BlockStart): void {
    if (block.kind !== 'tool_use') return;
    const frameKind = this.approvalTools.has(block.name) ? 'approval_request_message' : 'tool_call_message';
    const b: ToolUseBlock = { kind: 'tool_use', id: block.id, name: block.name, frameKind, parts: new TextAccumulator(), reader: null, held: null };
    this.block = b;
    const asAssistant = this.assistantMessage && b.name === MESSAGE_TOOL;
    if (!this.innerThoughts && !asAssistant) {
      // Nothing to cut out of the arguments: they stream through as they come.
      this.writer.toolCall(frameKind, b.id, b.name, null);
      return;
    }
    const watch = asAssistant ? [MESSAGE_TOOL_KWARG] : [];
    if (this.innerThoughts) watch.unshift(INNER_THOUGHTS_KWARG);
    b.reader = new ToolArgsReader(
      { watch, omit: this.innerThoughts ? [INNER_THOUGHTS_KWARG] : [] },
      this.kwargsSink(b, asAssistant),
    );
    // The call is held until the inner thoughts are complete, so it never streams them.
    if (this.innerThoughts && !asAssistant) b.held = [];
  }

  private kwargsSink(b: ToolUseBlock, asAssistant: boolean): ToolArgsSink {
    return {
      field: (name, text) => {
        if (name === INNER_THOUGHTS_KWARG) this.writer.reasoning(text, 'non_reasoner_model', null);
        else this.writer.assistant(text);
      },
      fieldEnd: (name) => {
        if (name === INNER_THOUGHTS_KWARG) this.releaseHeld(b);
      },
      args: (text) => {
        if (asAssistant) return;
        if (b.held) b.held.push(text);
        else this.writer.toolCall(b.frameKind, b.id, b.name, text);
      },
    };
  }

  private releaseHeld(b: ToolUseBlock): void {
    const held = b.held;
    if (!held) return;
    b.held = null;
    if (held.length > 0) this.writer.toolCall(b.frameKind, b.id, b.name, held.join(''));
  }

  appendToolArgs(json: string): void {
    const b = this.block;
    if (b?.kind !== 'tool_use' || json === '') return;
    if (b.reader) {
      b.reader.push(json);
    } else {
      b.parts.push(json);
      this.writer.toolCall(b.frameKind, b.id, b.name, json);
    }
  }

  /** simple interface, a non-empty chunk inside a tool_use block: the chunk's one frame. */
  streamToolArgs(json: string): StreamedMessage {
    const b = this.block;
    if (b?.kind !== 'tool_use') return this.writer.toolCallFrame('tool_call_message', '', '', json); // unreachable from the machine's `tool_use` state
    b.parts.push(json);
    return this.writer.toolCallFrame(b.frameKind, b.id, b.name, json);
  }

  // ── block end ────────────────────────────────────────────────────────
  /** content_block_stop: the open block is complete. */
  closeBlock(): void {
    this.endBlock(true);
  }

  private endBlock(complete: boolean): void {
    const b = this.block;
    this.block = null;
    if (!b) return;
    switch (b.kind) {
      case 'text': {
        const held = this.innerThoughts ? this.tagStripper.flush() : '';
        if (held !== '') this.writer.reasoning(held, 'non_reasoner_model', null);
        this.content.push({ type: 'text', text: b.parts.join(), complete });
        return;
      }
      case 'thinking':
        this.content.push({ type: 'thinking', thinking: b.parts.join(), signature: b.signature, complete });
        return;
      case 'tool_use':
        this.content.push(this.endToolUse(b, complete));
        return;
    }
  }

  private endToolUse(b: ToolUseBlock, complete: boolean): ContentPart {
    const requiresApproval = b.frameKind === 'approval_request_message';
    let input: Record<string, unknown> | null = null;
    let rawInput: string;
    let error: string | null = null;
    if (b.reader) {
      const r = b.reader.end();
      rawInput = b.reader.raw();
      this.releaseHeld(b);
      if (r.ok) input = r.value;
      else error = r.error;
    } else {
      rawInput = b.parts.join();
      const r = parseArguments(rawInput);
      if (typeof r === 'string') error = r;
      else input = r;
    }
    if (!complete) {
      input = null;
      error = 'the tool call was cut off before its arguments were complete';
    }
    return { type: 'tool_use', id: b.id, name: b.name, input, rawInput, complete, requiresApproval, error };
  }

  // ── errors and the end ────────────────────────────────────────────────
  recordError(code: StepErrorCode, message: string): void {
    if (this.error === null) this.error = { code, message };
  }

  get finalized(): boolean {
    return this.result !== null;
  }

  /**
   * The one finalizer: close what is open (as incomplete), flush held frames, produce the result.
   * Idempotent: a second call returns the first result and queues no frame.
   */
  finalize(outcome: StepOutcome): StepResult {
    if (this.result) return this.result;
    this.endBlock(outcome === 'completed');
    const approvalRequested = this.content.some((p) => p.type === 'tool_use' && p.requiresApproval && p.complete && p.input !== null);
    this.result = {
      outcome,
      cancelled: outcome === 'cancelled',
      messageId: this.writer.messageId,
      upstreamMessageId: this.upstreamMessageId,
      model: this.model,
      upstreamStopReason: this.upstreamStopReason,
      content: this.content,
      approvalRequested,
      usage: { ...this.usage },
      error: this.error,
    };
    return this.result;
  }
}

/** Parse complete tool arguments; a string is the error. Empty input means no arguments. */
export function parseArguments(raw: string): Record<string, unknown> | string {
  if (raw.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    return `tool arguments must be a JSON object, got ${Array.isArray(v) ? 'array' : typeof v}`;
  } catch (err) {
    return `tool arguments are not valid JSON: ${(err as Error).message}`;
  }
}
