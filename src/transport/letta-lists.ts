import { z } from 'zod';
import { ServiceError } from '../actors/errors.js';
import { STOP_REASONS, type ApprovalRequestMessage, type LettaMessage, type ToolCallDelta, type ToolCallMessage } from '../letta/frames.js';
import type { AgentFilter, Page, PageRequest, RunFilter } from '../store/types.js';
import { issuesOf } from './protocol.js';

/**
 * Letta's list endpoints' query strings: paging (`limit`, `after`, `before`, `order`) with Letta's
 * defaults, and the filters Letta's clients send, each served or refused (400 with a `detail` that
 * names it), never ignored. Parsed with zod like every body.
 */

/** Letta's message types (`include_return_message_types`). */
const MESSAGE_TYPES = [
  'system_message',
  'user_message',
  'assistant_message',
  'reasoning_message',
  'hidden_reasoning_message',
  'tool_call_message',
  'tool_return_message',
  'approval_request_message',
  'approval_response_message',
  'summary_message',
  'event_message',
] as const;


const RUN_STATUSES = ['created', 'running', 'completed', 'failed', 'cancelled'] as const;

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
/** A repeatable parameter (`?x=a&x=b`, how the client sends arrays). */
const many = <T extends z.ZodType<string>>(item: T) => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item).min(1));
const cursor = z.string().min(1).max(200);

const paging = {
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  after: cursor.optional(),
  before: cursor.optional(),
  order: z.enum(['asc', 'desc']).optional(),
  order_by: z.literal('created_at').optional(),
};

const agentsQuery = z.strictObject({
  ...paging,
  /** Deprecated in Letta; the order when `order` is not given. */
  ascending: bool.optional(),
  sort_by: z.literal('created_at').optional(),
  name: z.string().min(1).optional(),
  query_text: z.string().min(1).optional(),
  tags: many(z.string().min(1)).optional(),
  match_all_tags: bool.optional(),
  // Every field is in every answer; what to include changes nothing.
  include: many(z.string()).optional(),
  include_relationships: many(z.string()).optional(),
});

const runsQuery = z.strictObject({
  ...paging,
  ascending: bool.optional(),
  agent_id: z.string().min(1).optional(),
  agent_ids: many(z.string().min(1)).optional(),
  statuses: many(z.enum(RUN_STATUSES)).optional(),
  status: many(z.enum(RUN_STATUSES)).optional(),
  active: bool.optional(),
  stop_reason: z.enum(STOP_REASONS).optional(),
  conversation_id: z.string().min(1).optional(),
});

const agentMessagesQuery = z.strictObject({
  ...paging,
  include_return_message_types: many(z.enum(MESSAGE_TYPES)).optional(),
  // Text is always an assistant_message; only the values that say so are accepted.
  use_assistant_message: z.literal('true').optional(),
  assistant_message_tool_name: z.literal('send_message').optional(),
  assistant_message_tool_kwarg: z.literal('message').optional(),
  /** Errors are not stored as messages: there is nothing more to include. */
  include_err: bool.optional(),
  /** One of the agent's conversations (`default`: its own history, as without it). */
  conversation_id: z.string().min(1).optional(),
});

const runMessagesQuery = z.strictObject({ ...paging });

const conversationsQuery = z.strictObject({
  ...paging,
  agent_id: z.string().min(1).optional(),
  summary_search: z.string().min(1).optional(),
  // No conversation is archived: every one is unarchived.
  archive_status: z.enum(['unarchived', 'all']).optional(),
});

const conversationMessagesQuery = agentMessagesQuery.omit({ conversation_id: true }).extend({ agent_id: z.string().min(1).optional() });

/** Filters Letta has that letta-stream does not serve, and why (the 400's detail says it). */
const REFUSED: Record<string, string> = {
  project_id: 'there are no projects on letta-stream',
  template_id: 'there are no templates on letta-stream',
  base_template_id: 'there are no templates on letta-stream',
  identity_id: 'there are no identities on letta-stream',
  identifier_keys: 'there are no identities on letta-stream',
  created_by_id: 'there are no users on letta-stream',
  last_stop_reason: 'agents do not record their last stop reason; list runs with stop_reason',
  show_hidden_agents: 'there are no hidden agents on letta-stream',
  background: 'runs do not record whether they were started in the background',
  group_id: 'there are no groups on letta-stream',
};

/** The query string as an object: a repeated key is an array; an empty value (the client's null) is absent. */
function queryObject(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(q.keys())) {
    if (key === 'token') continue; // the service token (see auth.ts), not a filter
    const values = q.getAll(key).filter((v) => v !== '');
    if (values.length) out[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

function parseQuery<S extends z.ZodObject>(schema: S, q: URLSearchParams, what: string): z.infer<S> {
  const value = queryObject(q);
  for (const key of Object.keys(value)) {
    if (key in schema.shape) continue;
    const why = REFUSED[key];
    throw new ServiceError('invalid_request', `${what} does not serve the filter "${key}"${why ? `: ${why}` : ''} (see docs/letta-api.md)`);
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = issuesOf(r.error);
    throw new ServiceError('invalid_request', `the query string does not follow the API: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return r.data;
}

function pageRequest(q: { limit?: number | undefined; after?: string | undefined; before?: string | undefined; order?: 'asc' | 'desc' | undefined }, defaults: { limit: number; order: 'asc' | 'desc' }, ascending?: boolean): PageRequest {
  return { limit: q.limit ?? defaults.limit, order: q.order ?? (ascending === undefined ? defaults.order : ascending ? 'asc' : 'desc'), after: q.after, before: q.before };
}

/** The items of a page; a cursor that names nothing is a 404, as Letta's. */
export function itemsOf<T>(page: Page<T>, what: string): T[] {
  if ('unknownCursor' in page) throw new ServiceError('not_found', `no ${what} ${page.unknownCursor} to page from`);
  return page.items;
}

/** `GET /v1/agents/`: Letta's defaults, limit 50, newest first. */
export function agentsListQuery(q: URLSearchParams): { page: PageRequest; filter: AgentFilter } {
  const p = parseQuery(agentsQuery, q, 'GET /v1/agents/');
  return { page: pageRequest(p, { limit: 50, order: 'desc' }, p.ascending), filter: { name: p.name, queryText: p.query_text, tags: p.tags, matchAllTags: p.match_all_tags } };
}

/** `GET /v1/runs/`: limit 100, newest first; `active` = created or running (unless `statuses` says). */
export function runsListQuery(q: URLSearchParams): { page: PageRequest; filter: RunFilter; agentId: string | undefined } {
  const p = parseQuery(runsQuery, q, 'GET /v1/runs/');
  const named = [...(p.statuses ?? []), ...(p.status ?? [])];
  const statuses = named.length ? named : p.active ? ['created', 'running'] : undefined;
  const agentIds = p.agent_id ? [p.agent_id] : p.agent_ids;
  return { page: pageRequest(p, { limit: 100, order: 'desc' }, p.ascending), filter: { agentIds, statuses, stopReason: p.stop_reason, conversationId: p.conversation_id }, agentId: p.agent_id };
}

/** `GET /v1/agents/:id/messages`: limit 100, newest first. */
export function agentMessagesQueryOf(q: URLSearchParams): { page: PageRequest; types: string[] | undefined; conversationId: string | undefined } {
  const p = parseQuery(agentMessagesQuery, q, 'GET /v1/agents/:id/messages');
  return { page: pageRequest(p, { limit: 100, order: 'desc' }), types: p.include_return_message_types, conversationId: p.conversation_id === 'default' ? undefined : p.conversation_id };
}

/** `GET /v1/conversations/`: limit 50, newest first. */
export function conversationsListQuery(q: URLSearchParams): { page: PageRequest; agentId: string | undefined; summaryText: string | undefined } {
  const p = parseQuery(conversationsQuery, q, 'GET /v1/conversations/');
  return { page: pageRequest(p, { limit: 50, order: 'desc' }), agentId: p.agent_id, summaryText: p.summary_search };
}

/** `GET /v1/conversations/:id/messages`: as an agent's (limit 100, newest first); `agent_id` with `default`. */
export function conversationMessagesQueryOf(q: URLSearchParams): { page: PageRequest; types: string[] | undefined; agentId: string | undefined } {
  const p = parseQuery(conversationMessagesQuery, q, 'GET /v1/conversations/:id/messages');
  return { page: pageRequest(p, { limit: 100, order: 'desc' }), types: p.include_return_message_types, agentId: p.agent_id };
}

/** `GET /v1/runs/:id/messages`: limit 100, oldest first. */
export function runMessagesQueryOf(q: URLSearchParams): PageRequest {
  return pageRequest(parseQuery(runMessagesQuery, q, 'GET /v1/runs/:id/messages'), { limit: 100, order: 'asc' });
}

/**
 * A stored (complete) message as Letta lists it: `tool_calls` is an array of whole calls (the
 * object form is a streamed chunk's), and a tool return names its tool (`name`, null when an older
 * row does not know it).
 */
export type ListedMessage =
  | Exclude<LettaMessage, ToolCallMessage | ApprovalRequestMessage>
  | (Omit<ToolCallMessage, 'tool_calls'> & { tool_calls: ToolCallDelta[] })
  | (Omit<ApprovalRequestMessage, 'tool_calls'> & { tool_calls: ToolCallDelta[] });

export function completeMessage(m: LettaMessage): ListedMessage {
  if (m.message_type === 'tool_call_message' || m.message_type === 'approval_request_message') return { ...m, tool_calls: [m.tool_call] };
  if (m.message_type === 'tool_return_message') return { ...m, name: m.name ?? null };
  return m;
}
