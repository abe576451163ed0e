import { createRequire } from 'node:module';

/**
 * Anthropic Messages stream events, parsed (not trusted) on the way into the machine.
 * Block and delta types Letta has no message for (server_tool_use, citations_delta, …) are kept
 * as `unknown` kinds: the machine ignores them rather than failing the stream.
 */

/**
 * The full schema, for every event the guards below do not accept (all but well-formed ones) and
 * for the exact error message. zod is loaded on first use: a replay of a well-formed recording
 * never loads it (a 40 ms start-up saving).
 */
function buildSchema(z: typeof import('zod').z) {
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

  return z.discriminatedUnion('type', [
    messageStart,
    blockStart,
    blockDelta,
    blockStop,
    messageDelta,
    messageStop,
    ping,
    errorEvent,
  ]);
}

type Schema = ReturnType<typeof buildSchema>;
export type AnthropicStreamEvent = import('zod').z.infer<Schema>;
let schema: Schema | null = null;
const eventSchema = (): Schema => (schema ??= buildSchema((createRequire(import.meta.url)('zod') as typeof import('zod')).z));

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

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCount = (v: unknown): boolean => v === undefined || v === null || isIndex(v);
const isOptString = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';
const KNOWN_BLOCKS = new Set(['text', 'thinking', 'redacted_thinking', 'tool_use']);
const KNOWN_DELTAS = new Set(['text_delta', 'input_json_delta', 'thinking_delta', 'signature_delta']);

/**
 * Explicit guards for well-formed events: no zod, and no copy of the object, per event. They
 * accept a subset of what the schema accepts, mapped the same way; anything else (a bad event,
 * or a shape they are unsure of) returns null and goes to the schema.
 */
function fastEvent(raw: unknown): StreamEvent | null {
  if (!isObject(raw)) return null;
  switch (raw.type) {
    case 'content_block_delta': {
      const d = raw.delta;
      if (!isIndex(raw.index) || !isObject(d)) return null;
      switch (d.type) {
        case 'text_delta':
          return typeof d.text === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: raw.index, delta: { kind: 'text_delta', text: d.text } } : null;
        case 'input_json_delta':
          return typeof d.partial_json === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: raw.index, delta: { kind: 'input_json_delta', json: d.partial_json } } : null;
        case 'thinking_delta':
          return typeof d.thinking === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: raw.index, delta: { kind: 'thinking_delta', thinking: d.thinking } } : null;
        case 'signature_delta':
          return typeof d.signature === 'string' ? { type: 'CONTENT_BLOCK_DELTA', index: raw.index, delta: { kind: 'signature_delta', signature: d.signature } } : null;
        default:
          return typeof d.type === 'string' && !KNOWN_DELTAS.has(d.type) ? { type: 'CONTENT_BLOCK_DELTA', index: raw.index, delta: { kind: 'other', type: d.type } } : null;
      }
    }
    case 'content_block_start': {
      const b = raw.content_block;
      if (!isIndex(raw.index) || !isObject(b)) return null;
      const block = fastBlock(b);
      return block ? { type: 'CONTENT_BLOCK_START', index: raw.index, block } : null;
    }
    case 'content_block_stop':
      return isIndex(raw.index) ? { type: 'CONTENT_BLOCK_STOP', index: raw.index } : null;
    case 'ping':
      return { type: 'PING' };
    case 'message_stop':
      return { type: 'MESSAGE_STOP' };
    case 'message_start': {
      const m = raw.message;
      if (!isObject(m) || typeof m.id !== 'string' || !isOptString(m.model)) return null;
      const u = m.usage;
      if (u !== undefined && u !== null) {
        if (!isObject(u) || !isCount(u.input_tokens) || !isCount(u.output_tokens) || !isCount(u.cache_read_input_tokens) || !isCount(u.cache_creation_input_tokens)) return null;
      }
      const usage = (u ?? {}) as { input_tokens?: number | null; output_tokens?: number | null; cache_read_input_tokens?: number | null; cache_creation_input_tokens?: number | null };
      return {
        type: 'MESSAGE_START',
        messageId: m.id,
        model: (m.model as string | null | undefined) ?? null,
        usage: {
          inputTokens: n(usage.input_tokens),
          outputTokens: n(usage.output_tokens),
          cacheReadTokens: n(usage.cache_read_input_tokens),
          cacheCreationTokens: n(usage.cache_creation_input_tokens),
        },
      };
    }
    case 'message_delta': {
      const d = raw.delta;
      const u = raw.usage;
      if (d !== undefined && d !== null && (!isObject(d) || !isOptString(d.stop_reason))) return null;
      if (u !== undefined && u !== null && (!isObject(u) || !isCount(u.output_tokens))) return null;
      return {
        type: 'MESSAGE_DELTA',
        stopReason: ((d as Raw | null | undefined)?.stop_reason as string | null | undefined) ?? null,
        outputTokens: ((u as Raw | null | undefined)?.output_tokens as number | null | undefined) ?? null,
      };
    }
    case 'error': {
      const e = raw.error;
      return isObject(e) && typeof e.type === 'string' && typeof e.message === 'string' ? { type: 'ERROR', errorType: e.type, message: e.message } : null;
    }
    default:
      return null;
  }
}

function fastBlock(b: Raw): BlockStart | null {
  switch (b.type) {
    case 'text':
      return isOptString(b.text) ? { kind: 'text' } : null;
    case 'thinking':
      return isOptString(b.thinking) && isOptString(b.signature) ? { kind: 'thinking' } : null;
    case 'redacted_thinking':
      return typeof b.data === 'string' ? { kind: 'redacted_thinking', data: b.data } : null;
    case 'tool_use':
      return typeof b.id === 'string' && b.id !== '' && typeof b.name === 'string' && b.name !== '' ? { kind: 'tool_use', id: b.id, name: b.name } : null;
    default:
      return typeof b.type === 'string' && !KNOWN_BLOCKS.has(b.type) ? { kind: 'other', type: b.type } : null;
  }
}

/** Parse one raw stream event (already JSON-decoded) into a machine event; throws UpstreamEventError. */
export function toStreamEvent(raw: unknown): StreamEvent {
  return fastEvent(raw) ?? toStreamEventWithSchema(raw);
}

/** The schema path alone (what the guards must agree with; tests compare the two). */
export function toStreamEventWithSchema(raw: unknown): StreamEvent {
  const parsed = eventSchema().safeParse(raw);
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

function toBlock(b: Extract<AnthropicStreamEvent, { type: 'content_block_start' }>['content_block']): BlockStart {
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

function toDelta(d: Extract<AnthropicStreamEvent, { type: 'content_block_delta' }>['delta']): Delta {
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
