import { setup } from 'xstate';
import type { StreamEvent } from '../letta/anthropic-events.js';
import type { StreamedMessage } from '../letta/frames.js';
import { StepBuilder, type StepOptions, type StepOutcome, type StepResult } from '../letta/step-builder.js';

/**
 * One Anthropic Messages stream (one agent step) in, Letta messages out.
 *
 * Every Anthropic stream event is one machine event. The content mode is the active state:
 * `streaming.{betweenBlocks, text, tool_use, thinking, redacted_thinking, otherBlock}`; a delta
 * of a known type in the wrong mode breaks stream integrity and ends in `failed`. CANCEL is
 * accepted in every non-final state. Every final state's entry runs the one finalizer.
 */
export interface StreamContext {
  /** Mutable on purpose: per-delta buffers stay out of XState's per-event context copies. */
  step: StepBuilder;
  frames: FrameSink;
}

/**
 * Where the step's frames go, in order, each as soon as the action that makes it runs (the run
 * driver: collector, journal, run log; replay: the output). A plain function, not XState's
 * `emit`: `emit` costs 0.3–0.45 µs a delta (a deferred closure and a listener lookup per frame).
 */
export type FrameSink = (frame: StreamedMessage) => void;

export interface StreamInput extends StepOptions {
  frames: FrameSink;
}

type Mode =
  | 'between content blocks'
  | 'text mode'
  | 'tool_use mode'
  | 'thinking mode'
  | 'redacted_thinking mode'
  | 'a block Letta does not show';

/** The transition taken when an event cannot happen in `mode`: the stream fails with a message saying so. */
const breaksIntegrity = (mode: Mode) =>
  ({ target: '#stream.failed', actions: { type: 'recordIntegrityViolation', params: { mode } } }) as const;

/**
 * Inside any block: its stop closes it; a new block or the end of the message before that stop
 * means the previous block was cut off, which is an integrity failure, not something to guess at.
 */
const insideBlock = (mode: Mode) =>
  ({
    CONTENT_BLOCK_STOP: { target: 'betweenBlocks', actions: 'closeBlock' },
    CONTENT_BLOCK_START: breaksIntegrity(mode),
    MESSAGE_STOP: breaksIntegrity(mode),
  }) as const;

type BlockDelta = Extract<StreamEvent, { type: 'CONTENT_BLOCK_DELTA' }>;
/** The event a per-delta action runs for: its guard has checked the kind. */
type DeltaEvent<K extends BlockDelta['delta']['kind']> = BlockDelta & { delta: Extract<BlockDelta['delta'], { kind: K }> };

function describe(event: StreamEvent): string {
  if (event.type === 'CONTENT_BLOCK_DELTA') return event.delta.kind === 'other' ? event.delta.type : event.delta.kind;
  if (event.type === 'CONTENT_BLOCK_START') return `content_block_start (${event.block.kind === 'other' ? event.block.type : event.block.kind})`;
  return event.type.toLowerCase();
}

export const streamMachine = setup({
  types: {
    context: {} as StreamContext,
    events: {} as StreamEvent,
    input: {} as StreamInput,
    output: {} as StepResult,
  },
  guards: {
    isTextBlock: ({ event }) => event.type === 'CONTENT_BLOCK_START' && event.block.kind === 'text',
    isThinkingBlock: ({ event }) => event.type === 'CONTENT_BLOCK_START' && event.block.kind === 'thinking',
    isRedactedThinkingBlock: ({ event }) => event.type === 'CONTENT_BLOCK_START' && event.block.kind === 'redacted_thinking',
    isToolUseBlock: ({ event }) => event.type === 'CONTENT_BLOCK_START' && event.block.kind === 'tool_use',
    /** simple interface: the delta is exactly one frame, handed to the sink straight from the action. */
    isStreamedTextDelta: ({ context, event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'text_delta' && context.step.streamsAsIs,
    isTextDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'text_delta',
    /** simple interface, a non-empty chunk (empty ones yield no frame): exactly one frame. */
    isStreamedInputJsonDelta: ({ context, event }) =>
      event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'input_json_delta' && event.delta.json !== '' && context.step.streamsAsIs,
    isInputJsonDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'input_json_delta',
    isThinkingDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'thinking_delta',
    isSignatureDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'signature_delta',
    /** Deltas Letta has no message for (citations_delta, …) are ignored, never fatal. */
    isKnownDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind !== 'other',
  },
  actions: {
    recordMessageStart: ({ context, event }) => {
      if (event.type === 'MESSAGE_START') context.step.messageStart(event.messageId, event.model, event.usage);
    },
    recordMessageDelta: ({ context, event }) => {
      if (event.type === 'MESSAGE_DELTA') context.step.messageDelta(event.stopReason, event.outputTokens);
    },
    openText: ({ context }) => context.step.openText(),
    openThinking: ({ context }) => context.step.openThinking(),
    // The per-delta path: the builder returns the delta's one frame, the action hands it to the sink.
    streamText: ({ context, event }) => context.frames(context.step.streamText((event as DeltaEvent<'text_delta'>).delta.text)),
    streamThinking: ({ context, event }) => context.frames(context.step.streamThinking((event as DeltaEvent<'thinking_delta'>).delta.thinking)),
    streamToolArgs: ({ context, event }) => context.frames(context.step.streamToolArgs((event as DeltaEvent<'input_json_delta'>).delta.json)),
    // Events that make zero or several frames (kwargs text, block ends, …): the builder queues them, the action drains them into the sink.
    appendText: ({ context, event }) => {
      if (event.type !== 'CONTENT_BLOCK_DELTA' || event.delta.kind !== 'text_delta') return;
      context.step.appendText(event.delta.text);
      context.step.writer.drain(context.frames);
    },
    recordSignature: ({ context, event }) => {
      if (event.type !== 'CONTENT_BLOCK_DELTA' || event.delta.kind !== 'signature_delta') return;
      context.step.recordSignature(event.delta.signature);
      context.step.writer.drain(context.frames);
    },
    recordRedactedThinking: ({ context, event }) => {
      if (event.type !== 'CONTENT_BLOCK_START') return;
      context.step.recordRedactedThinking(event.block);
      context.step.writer.drain(context.frames);
    },
    openToolUse: ({ context, event }) => {
      if (event.type !== 'CONTENT_BLOCK_START') return;
      context.step.openToolUse(event.block);
      context.step.writer.drain(context.frames);
    },
    appendToolArgs: ({ context, event }) => {
      if (event.type !== 'CONTENT_BLOCK_DELTA' || event.delta.kind !== 'input_json_delta') return;
      context.step.appendToolArgs(event.delta.json);
      context.step.writer.drain(context.frames);
    },
    closeBlock: ({ context }) => {
      context.step.closeBlock();
      context.step.writer.drain(context.frames);
    },
    recordIntegrityViolation: ({ context, event }, params: { mode: Mode }) => {
      context.step.recordError('integrity_error', `stream integrity failed: ${describe(event)} arrived ${params.mode === 'between content blocks' ? params.mode : `in ${params.mode}`}`);
    },
    recordUpstreamError: ({ context, event }) => {
      if (event.type === 'ERROR') context.step.recordError('upstream_error', `${event.errorType}: ${event.message}`);
      if (event.type === 'UPSTREAM_CLOSED') {
        const code = event.code === 'stream_ended' ? 'stream_ended' : event.code === 'invalid_event' ? 'invalid_upstream_event' : 'upstream_error';
        context.step.recordError(code, event.message);
      }
    },
    /** The one finalizer: flush what is buffered, produce the result; no frame follows it. */
    finalize: ({ context }, params: { outcome: StepOutcome }) => {
      if (context.step.finalized) return;
      context.step.finalize(params.outcome);
      context.step.writer.drain(context.frames);
    },
  },
}).createMachine({
  id: 'stream',
  context: ({ input }) => ({ step: new StepBuilder(input), frames: input.frames }),
  initial: 'streaming',
  output: ({ context }) => context.step.finalize('failed'),
  states: {
    streaming: {
      initial: 'betweenBlocks',
      on: {
        MESSAGE_START: { actions: 'recordMessageStart' },
        MESSAGE_DELTA: { actions: 'recordMessageDelta' },
        PING: {},
        ERROR: { target: 'failed', actions: 'recordUpstreamError' },
        UPSTREAM_CLOSED: { target: 'failed', actions: 'recordUpstreamError' },
        CANCEL: { target: 'cancelled' },
      },
      states: {
        betweenBlocks: {
          on: {
            CONTENT_BLOCK_START: [
              { guard: 'isTextBlock', target: 'text', actions: 'openText' },
              { guard: 'isThinkingBlock', target: 'thinking', actions: 'openThinking' },
              { guard: 'isRedactedThinkingBlock', target: 'redacted_thinking', actions: 'recordRedactedThinking' },
              { guard: 'isToolUseBlock', target: 'tool_use', actions: 'openToolUse' },
              { target: 'otherBlock' },
            ],
            CONTENT_BLOCK_DELTA: { guard: 'isKnownDelta', ...breaksIntegrity('between content blocks') },
            MESSAGE_STOP: { target: '#stream.done' },
          },
        },
        text: {
          on: {
            CONTENT_BLOCK_DELTA: [
              { guard: 'isStreamedTextDelta', actions: 'streamText' },
              { guard: 'isTextDelta', actions: 'appendText' },
              { guard: 'isKnownDelta', ...breaksIntegrity('text mode') },
            ],
            ...insideBlock('text mode'),
          },
        },
        thinking: {
          on: {
            CONTENT_BLOCK_DELTA: [
              { guard: 'isThinkingDelta', actions: 'streamThinking' },
              { guard: 'isSignatureDelta', actions: 'recordSignature' },
              { guard: 'isKnownDelta', ...breaksIntegrity('thinking mode') },
            ],
            ...insideBlock('thinking mode'),
          },
        },
        /** Arrives whole in content_block_start: no delta belongs here. */
        redacted_thinking: {
          on: {
            CONTENT_BLOCK_DELTA: { guard: 'isKnownDelta', ...breaksIntegrity('redacted_thinking mode') },
            ...insideBlock('redacted_thinking mode'),
          },
        },
        tool_use: {
          on: {
            CONTENT_BLOCK_DELTA: [
              { guard: 'isStreamedInputJsonDelta', actions: 'streamToolArgs' },
              { guard: 'isInputJsonDelta', actions: 'appendToolArgs' },
              { guard: 'isKnownDelta', ...breaksIntegrity('tool_use mode') },
            ],
            ...insideBlock('tool_use mode'),
          },
        },
        /** A block Letta shows nothing for (server_tool_use, web_search_tool_result, …): all its deltas are ignored. */
        otherBlock: {
          on: {
            ...insideBlock('a block Letta does not show'),
          },
        },
      },
    },
    done: { type: 'final', entry: { type: 'finalize', params: { outcome: 'completed' } } },
    failed: { type: 'final', entry: { type: 'finalize', params: { outcome: 'failed' } } },
    cancelled: { type: 'final', entry: { type: 'finalize', params: { outcome: 'cancelled' } } },
  },
});

export type StreamMachine = typeof streamMachine;
