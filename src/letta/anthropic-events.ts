import { z } from 'zod';

/**
 * Anthropic Messages stream events, parsed (not trusted) on the way into the machine.
 * Block and delta types Letta has no message for (server_tool_use, citations_delta, …) are kept
 * as `unknown` kinds: the machine ignores them rather than failing the stream.
 */

const usageIn = z.looseObject({
  input_tokens: z.number().int().nonnegative().nullish(),
  output_tokens: z.number().int().nonnegative().nullish(),
  cache_creation_input_tokens: z.number().int().nonnegative().nullish(),
  cache_read_input_tokens: z.number().int().nonnegative().nullish(),
});

const messageStart = z.looseObject({
  type: z.literal('message_start'),
  message: z.looseObject({
    id: z.string(),
    model: z.string().nullish(),
    usage: usageIn.nullish(),
  }),
});

const knownBlock = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), text: z.string().nullish() }),
  z.looseObject({ type: z.literal('thinking'), thinking: z.string().nullish(), signature: z.string().nullish() }),
  z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() }),
  z.looseObject({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1) }),
]);
// A type we have no message for; a known type with a bad shape must fail, not slip through here.
const KNOWN_BLOCKS = new Set(['text', 'thinking', 'redacted_thinking', 'tool_use']);
const otherBlock = z.looseObject({ type: z.string().refine((t) => !KNOWN_BLOCKS.has(t)) });

const blockStart = z.looseObject({
  type: z.literal('content_block_start'),
  index: z.number().int().nonnegative(),
  content_block: z.union([knownBlock, otherBlock]),
});

const knownDelta = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text_delta'), text: z.string() }),
  z.looseObject({ type: z.literal('input_json_delta'), partial_json: z.string() }),
  z.looseObject({ type: z.literal('thinking_delta'), thinking: z.string() }),
  z.looseObject({ type: z.literal('signature_delta'), signature: z.string() }),
]);
const KNOWN_DELTAS = new Set(['text_delta', 'input_json_delta', 'thinking_delta', 'signature_delta']);
const otherDelta = z.looseObject({ type: z.string().refine((t) => !KNOWN_DELTAS.has(t)) });

const blockDelta = z.looseObject({
  type: z.literal('content_block_delta'),
  index: z.number().int().nonnegative(),
  delta: z.union([knownDelta, otherDelta]),
});

const blockStop = z.looseObject({ type: z.literal('content_block_stop'), index: z.number().int().nonnegative() });

const messageDelta = z.looseObject({
  type: z.literal('message_delta'),
  delta: z.looseObject({ stop_reason: z.string().nullish() }).nullish(),
  usage: z.looseObject({ output_tokens: z.number().int().nonnegative().nullish() }).nullish(),
});

const messageStop = z.looseObject({ type: z.literal('message_stop') });
const ping = z.looseObject({ type: z.literal('ping') });
const errorEvent = z.looseObject({
  type: z.literal('error'),
  error: z.looseObject({ type: z.string(), message: z.string() }),
});

export const anthropicStreamEvent = z.discriminatedUnion('type', [
  messageStart,
  blockStart,
  blockDelta,
  blockStop,
  messageDelta,
  messageStop,
  ping,
  errorEvent,
]);

export type AnthropicStreamEvent = z.infer<typeof anthropicStreamEvent>;

export type Usage = {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
};

/** What a content block is, for the machine's guards; `other` is anything Letta shows nothing for. */
export type BlockStart =
  | { kind: 'text' }
  | { kind: 'thinking' }
  | { kind: 'redacted_thinking'; data: string }
  | { kind: 'tool_use'; id: string; name: string }
  | { kind: 'other'; type: string };

export type Delta =
  | { kind: 'text_delta'; text: string }
  | { kind: 'input_json_delta'; json: string }
  | { kind: 'thinking_delta'; thinking: string }
  | { kind: 'signature_delta'; signature: string }
  | { kind: 'other'; type: string };

/** Machine events: one per Anthropic stream event, plus what the transport and the user say. */
export type StreamEvent =
  | { type: 'MESSAGE_START'; messageId: string; model: string | null; usage: Usage }
  | { type: 'CONTENT_BLOCK_START'; index: number; block: BlockStart }
  | { type: 'CONTENT_BLOCK_DELTA'; index: number; delta: Delta }
  | { type: 'CONTENT_BLOCK_STOP'; index: number }
  | { type: 'MESSAGE_DELTA'; stopReason: string | null; outputTokens: number | null }
  | { type: 'MESSAGE_STOP' }
  | { type: 'PING' }
  | { type: 'ERROR'; errorType: string; message: string }
  /** The byte stream ended (or broke) before `message_stop`. */
  | { type: 'UPSTREAM_CLOSED'; code: 'stream_ended' | 'connection_error' | 'http_error' | 'invalid_event'; message: string }
  | { type: 'CANCEL'; reason?: string };

export class UpstreamEventError extends Error {
  readonly code = 'invalid_upstream_event';
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamEventError';
  }
}

const n = (v: number | null | undefined): number => v ?? 0;

/**
 * The hot path: a well-formed delta of a known type is checked by an explicit guard (no zod
 * copy of the object per delta); anything else goes through the zod schema.
 */
function fastDelta(raw: unknown): StreamEvent | null {
  const e = raw as { type?: unknown; index?: unknown; delta?: Record<string, unknown> | null };
  if (e === null || typeof e !== 'object' || e.type !== 'content_block_delta') return null;
  const d = e.delta;
  if (typeof e.index !== 'number' || !Number.isInteger(e.index) || e.index < 0 || typeof d !== 'object' || d === null) return null;
  switch (d.type) {
    case 'text_delta':
      return typeof d.text === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: e.index, delta: { kind: 'text_delta', text: d.text } } : null;
    case 'input_json_delta':
      return typeof d.partial_json === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: e.index, delta: { kind: 'input_json_delta', json: d.partial_json } } : null;
    case 'thinking_delta':
      return typeof d.thinking === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: e.index, delta: { kind: 'thinking_delta', thinking: d.thinking } } : null;
    default:
      return null;
  }
}

/** Parse one raw stream event (already JSON-decoded) into a machine event; throws UpstreamEventError. */
export function toStreamEvent(raw: unknown): StreamEvent {
  const fast = fastDelta(raw);
  if (fast) return fast;
  const parsed = anthropicStreamEvent.safeParse(raw);
  if (!parsed.success) {
    const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String((raw as { type: unknown }).type) : '?';
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
    throw new UpstreamEventError(`invalid Anthropic stream event "${type}": ${where}`);
  }
  const e = parsed.data;
  switch (e.type) {
    case 'message_start': {
      const u = e.message.usage;
      return {
        type: 'MESSAGE_START',
        messageId: e.message.id,
        model: e.message.model ?? null,
        usage: {
          inputTokens: n(u?.input_tokens),
          outputTokens: n(u?.output_tokens),
          cacheReadTokens: n(u?.cache_read_input_tokens),
          cacheCreationTokens: n(u?.cache_creation_input_tokens),
        },
      };
    }
    case 'content_block_start':
      return { type: 'CONTENT_BLOCK_START', index: e.index, block: toBlock(e.content_block) };
    case 'content_block_delta':
      return { type: 'CONTENT_BLOCK_DELTA', index: e.index, delta: toDelta(e.delta) };
    case 'content_block_stop':
      return { type: 'CONTENT_BLOCK_STOP', index: e.index };
    case 'message_delta':
      return { type: 'MESSAGE_DELTA', stopReason: e.delta?.stop_reason ?? null, outputTokens: e.usage?.output_tokens ?? null };
    case 'message_stop':
      return { type: 'MESSAGE_STOP' };
    case 'ping':
      return { type: 'PING' };
    case 'error':
      return { type: 'ERROR', errorType: e.error.type, message: e.error.message };
  }
}

function toBlock(b: z.infer<typeof knownBlock> | z.infer<typeof otherBlock>): BlockStart {
  switch (b.type) {
    case 'text':
      return { kind: 'text' };
    case 'thinking':
      return { kind: 'thinking' };
    case 'redacted_thinking':
      return { kind: 'redacted_thinking', data: String((b as { data: string }).data) };
    case 'tool_use': {
      const t = b as { id: string; name: string };
      return { kind: 'tool_use', id: t.id, name: t.name };
    }
    default:
      return { kind: 'other', type: b.type };
  }
}

function toDelta(d: z.infer<typeof knownDelta> | z.infer<typeof otherDelta>): Delta {
  switch (d.type) {
    case 'text_delta':
      return { kind: 'text_delta', text: (d as { text: string }).text };
    case 'input_json_delta':
      return { kind: 'input_json_delta', json: (d as { partial_json: string }).partial_json };
    case 'thinking_delta':
      return { kind: 'thinking_delta', thinking: (d as { thinking: string }).thinking };
    case 'signature_delta':
      return { kind: 'signature_delta', signature: (d as { signature: string }).signature };
    default:
      return { kind: 'other', type: d.type };
  }
}
