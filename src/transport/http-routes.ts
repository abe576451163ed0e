import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AgentService } from '../actors/agent-service.js';
import { httpStatusFor, ServiceError, toServiceError } from '../actors/errors.js';
import { CONTEXT_WINDOW, MAX_TOKENS } from '../actors/models.js';
import type { ApprovalRequestMessage } from '../letta/frames.js';
import type { AgentRecord, ConversationRecord, MemoryBlock, RunRecord, RunTransition, Store } from '../store/types.js';
import {
  agentMessagesQueryOf,
  agentsListQuery,
  completeMessage,
  conversationMessagesQueryOf,
  conversationsListQuery,
  itemsOf,
  runMessagesQueryOf,
  runsListQuery,
} from './letta-lists.js';
import { builtinTools } from '../tools/registry.js';
import { conversationTarget } from './letta-messages.js';
import { issuesOf } from './protocol.js';
import { assertWellFormed } from './well-formed.js';

/** A block's label is its XML tag in the system prompt: letters, digits, `_ - . / :`. */
const blockLabel = z.string().min(1).max(200).regex(/^[A-Za-z0-9_\-./:]+$/, 'a label is letters, digits and _ - . / :');
const blockLimit = z.number().int().min(1).max(1_000_000);

/** Letta's CreateBlock as its clients send it in `memory_blocks`; other fields are accepted and ignored. */
const createBlockBody = z.looseObject({
  label: blockLabel,
  value: z.string().max(1_000_000),
  limit: blockLimit.nullish(),
  description: z.string().max(10_000).nullish(),
  read_only: z.boolean().nullish(),
});

/** Letta's BlockUpdate: value, limit, description, read_only (label only unchanged); other fields ignored. */
const updateBlockBody = z.looseObject({
  value: z.string().max(1_000_000).optional(),
  limit: blockLimit.optional(),
  description: z.string().max(10_000).nullish(),
  read_only: z.boolean().optional(),
  label: blockLabel.optional(),
});

/**
 * Letta's CreateAgent. Letta Code also sends `agent_type`, `description`, `include_base_tools`,
 * `include_base_tool_rules`, `initial_message_sequence`, `parallel_tool_calls`,
 * `compaction_settings` and `context_window_limit`: accepted and ignored (zod strips them).
 */
const createAgentBody = z.object({
  /** Letta makes one up when it is not given. */
  name: z.string().min(1).max(200).nullish(),
  model: z.string().min(1).optional(),
  system: z.string().optional(),
  tools: z.array(z.string().min(1)).optional(),
  tags: z.array(z.string().min(1).max(200)).max(100).nullish(),
  memory_blocks: z.array(createBlockBody).max(100).nullish(),
  requires_approval_tools: z.array(z.string().min(1)).optional(),
  /** letta-stream's explicit opt-out: workspace-changing tools (write_file) that run without asking. */
  no_approval_tools: z.array(z.string().min(1)).optional(),
  interface: z.enum(['simple', 'kwargs']).optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
  /** Letta's way to ask for approval: `{type: "requires_approval", tool_name}` rules. */
  tool_rules: z.array(z.looseObject({ type: z.string(), tool_name: z.string().min(1) })).optional(),
});

/** A name for an agent created without one, as Letta makes one up. */
const generatedName = () => `agent-${randomUUID().slice(0, 8)}`;

/** Letta names models `anthropic/<model>`; the Anthropic API wants the bare name. */
const bareModel = (m: string) => m.replace(/^anthropic\//, '');

const cancelBody = z.object({ run_ids: z.array(z.string().min(1)).nullish() }).optional();

const updateAgentBody = z.looseObject({
  name: z.string().min(1).max(200).optional(),
  model: z.string().min(1).optional(),
  system: z.string().optional(),
  tool_ids: z.array(z.string()).optional(),
  tags: z.array(z.string().min(1).max(200)).max(100).optional(),
  tools: z.array(z.string().min(1)).optional(),
  tool_rules: z.array(z.looseObject({ type: z.string(), tool_name: z.string().min(1) })).optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
});

const approvalBody = z.looseObject({ requires_approval: z.boolean().optional(), body_requires_approval: z.boolean().optional() }).optional();

/** Letta's agent type for an agent that answers in plain text and calls tools (letta_v1_agent). */
const AGENT_TYPE = 'letta_v1_agent';

/** letta-stream's own version (Letta's health answer names the server's). */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Letta's `GET /v1/models/` filters; this instance has one provider, Anthropic's `base` one. */
const modelsQuery = z.object({
  provider_category: z.array(z.enum(['base', 'byok'])).optional(),
  provider_name: z.string().min(1).optional(),
  provider_type: z.string().min(1).optional(),
});

/**
 * Agent JSON with Letta's field names and the AgentState fields Letta's clients read: its memory
 * blocks, tags, tools with ids, and the approval request the agent waits on.
 */
export async function agentJson(a: AgentRecord, store: Store) {
  const blocks = (await store.listBlocks(a.id)).map(blockJson);
  return {
    id: a.id,
    name: a.name,
    agent_type: AGENT_TYPE,
    model: a.model,
    llm_config: { model: a.model, model_endpoint_type: 'anthropic', context_window: CONTEXT_WINDOW, max_tokens: MAX_TOKENS, handle: `anthropic/${a.model}` },
    embedding_config: null,
    system: a.system,
    tools: a.tools.map((name) => ({ id: toolId(name), name, tool_type: 'custom' })),
    tool_ids: a.tools.map(toolId),
    requires_approval_tools: a.requiresApprovalTools,
    tool_rules: a.requiresApprovalTools.map((tool_name) => ({ type: 'requires_approval', tool_name })),
    tags: a.tags,
    /** No secrets are stored (tools run in-process): a truthful empty list. */
    secrets: [] as unknown[],
    memory: { agent_type: AGENT_TYPE, blocks, file_blocks: [] as unknown[] },
    blocks,
    sources: [] as unknown[],
    interface: a.interfaceMode,
    max_steps: a.maxSteps,
    state: a.state,
    active_run_id: a.activeRunId,
    pending_approval: await pendingApproval(a, store),
    pending_approvals: a.pendingToolCalls.map((p) => ({ tool_call_id: p.toolCallId, name: p.name, arguments: p.input, requires_approval: p.requiresApproval })),
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

/** Letta's Block fields; the template and project fields are null (not served). */
export function blockJson(b: MemoryBlock) {
  return {
    id: b.id,
    label: b.label,
    value: b.value,
    limit: b.limit,
    description: b.description,
    read_only: b.readOnly,
    metadata: {},
    hidden: null,
    is_template: false,
    template_name: null,
    template_id: null,
    base_template_id: null,
    deployment_id: null,
    entity_id: null,
    project_id: null,
    preserve_on_migration: false,
    created_at: b.createdAt,
    updated_at: b.updatedAt,
  };
}

/** Letta's list query for an agent's blocks: cursors are block ids. */
const blocksQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
});

function pageBlocks(all: MemoryBlock[], q: z.output<typeof blocksQuery>): MemoryBlock[] {
  let items = q.order === 'desc' ? [...all].reverse() : all;
  for (const [key, cursor] of [['after', q.after], ['before', q.before]] as const) {
    if (cursor === undefined) continue;
    const i = items.findIndex((b) => b.id === cursor);
    if (i < 0) throw new ServiceError('not_found', `no memory block "${cursor}" of this agent (${key})`);
    items = key === 'after' ? items.slice(i + 1) : items.slice(0, i);
  }
  return items.slice(0, q.limit ?? 100);
}

/**
 * Letta's Tool for one of letta-stream's built-ins. `POST /v1/tools/add-base-tools` answers these:
 * Letta's answer is the base tools it (re)created; letta-stream's tools are built in, so this
 * creates nothing and lists what every agent may be given.
 */
function builtinToolJson(name: string) {
  const def = builtinTools.get(name);
  if (!def) throw new ServiceError('not_found', `no tool "${name}"`);
  return {
    id: toolId(name),
    name,
    description: def.description,
    tool_type: 'custom',
    source_type: 'typescript',
    json_schema: { name, description: def.description, parameters: structuredClone(def.inputSchema) },
    args_json_schema: null,
    tags: [] as string[],
    default_requires_approval: def.changesWorkspace,
    return_char_limit: null,
    metadata_: {},
  };
}

/** Built-in tools have no stored ids: the name makes one that stays the same. */
const toolId = (name: string) => `tool-${name}`;

/** Letta's `pending_approval`: the approval request the agent waits on, with every pending call in `tool_calls`. */
async function pendingApproval(a: AgentRecord, store: Store) {
  if (a.state !== 'awaitingApproval' || !a.activeRunId) return null;
  const pending = new Set(a.pendingToolCalls.map((p) => p.toolCallId));
  const requests = (await store.listRunMessages(a.activeRunId)).filter((m): m is ApprovalRequestMessage => m.message_type === 'approval_request_message' && pending.has(m.tool_call.tool_call_id ?? ''));
  const first = requests[0];
  return first ? { ...first, tool_calls: requests.map((m) => m.tool_call) } : null;
}

export function runJson(r: RunRecord) {
  return {
    id: r.id,
    agent_id: r.agentId,
    conversation_id: r.conversationId ?? null,
    status: r.status,
    stop_reason: r.stopReason,
    usage: r.usage,
    error: r.error,
    created_at: r.createdAt,
    completed_at: r.completedAt,
  };
}

/** Letta's conversation fields, and its turn state (one run at a time, as an agent's). */
function conversationJson(c: ConversationRecord) {
  return {
    id: c.id,
    agent_id: c.agentId,
    summary: c.summary,
    archived: false,
    archived_at: null,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    state: c.state,
    active_run_id: c.activeRunId,
  };
}

/** Letta's create and update bodies; model settings per conversation are not served. */
const conversationBody = z.looseObject({ summary: z.string().max(10_000).nullish(), description: z.string().max(10_000).nullish() }).nullish();
const conversationCancelBody = z.looseObject({ agent_id: z.string().min(1).nullish() }).nullish();

/** A run's state change as the API and the replay show it. */
export function transitionJson(t: RunTransition) {
  return { seq: t.seq, at: t.at, run: t.run, step: t.step, seq_id: t.seqId };
}

type Handler = (params: Record<string, string>, body: () => Promise<unknown>, query: URLSearchParams) => unknown;

/** Letta's paths on the same port as the WebSocket. Every body is parsed with zod; errors are JSON. */
export function httpRoutes(service: AgentService): Array<{ method: string; pattern: RegExp; keys: string[]; handle: Handler }> {
  const route = (method: string, path: string, handle: Handler) => {
    const keys: string[] = [];
    const pattern = new RegExp('^' + path.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), '([^/]+)')) + '/?$');
    return { method, pattern, keys, handle };
  };
  return [
    route('GET', '/healthz', () => ({ status: 'ok', live_runs: service.liveRunCount })),
    route('GET', '/v1/health', () => ({ status: 'ok', version: VERSION })),
    route('GET', '/v1/models', async (_, __, q) => {
      const f = parse(modelsQuery, { ...Object.fromEntries(q), provider_category: q.getAll('provider_category').length ? q.getAll('provider_category') : undefined }, 'the query string');
      const other = (f.provider_category && !f.provider_category.includes('base')) || (f.provider_name && f.provider_name !== 'anthropic') || (f.provider_type && f.provider_type !== 'anthropic');
      return other ? [] : service.listModels();
    }),
    // No MCP servers: tools are letta-stream's built-ins and the turn's client tools.
    route('GET', '/v1/mcp-servers', () => []),
    route('GET', '/v1/agents/:id/mcp-servers', async (p) => (await service.getAgent(p.id as string), [])),
    // No secrets are stored (tools run in-process).
    route('GET', '/v1/agents/:id/secrets', async (p) => (await service.getAgent(p.id as string), [])),
    route('GET', '/v1/agents', async (_, __, q) => {
      const { page, filter } = agentsListQuery(q);
      return Promise.all(itemsOf(await service.store.pageAgents(page, filter), 'agent').map((a) => agentJson(service.viewAgent(a), service.store)));
    }),
    route('POST', '/v1/agents', async (_, body) => {
      const b = parse(createAgentBody, await body());
      const approval = [...(b.requires_approval_tools ?? []), ...(b.tool_rules ?? []).filter((r) => r.type === 'requires_approval').map((r) => r.tool_name)];
      return agentJson(
        await service.createAgent({
          name: b.name ?? generatedName(),
          ...(b.model ? { model: bareModel(b.model) } : {}),
          ...(b.system !== undefined ? { system: b.system } : {}),
          ...(b.tools ? { tools: b.tools } : {}),
          ...(approval.length ? { requiresApprovalTools: [...new Set(approval)] } : {}),
          ...(b.no_approval_tools ? { noApprovalTools: b.no_approval_tools } : {}),
          ...(b.tags ? { tags: b.tags } : {}),
          ...(b.memory_blocks
            ? { memoryBlocks: b.memory_blocks.map((m) => ({ label: m.label, value: m.value, limit: m.limit ?? undefined, description: m.description, readOnly: m.read_only ?? undefined })) }
            : {}),
          ...(b.interface ? { interfaceMode: b.interface } : {}),
          ...(b.max_steps ? { maxSteps: b.max_steps } : {}),
        }),
        service.store,
      );
    }),
    route('GET', '/v1/agents/:id', async (p) => agentJson(await service.getAgent(p.id as string), service.store)),
    route('PATCH', '/v1/agents/:id', async (p, body) => {
      const b = parse(updateAgentBody, (await body()) ?? {});
      const approval = b.tool_rules?.filter((r) => r.type === 'requires_approval').map((r) => r.tool_name);
      return agentJson(
        await service.updateAgent(p.id as string, {
          ...(b.name !== undefined ? { name: b.name } : {}),
          ...(b.model !== undefined ? { model: bareModel(b.model) } : {}),
          ...(b.system !== undefined ? { system: b.system } : {}),
          ...(b.tools !== undefined ? { tools: b.tools } : {}),
          ...(b.tags !== undefined ? { tags: [...new Set(b.tags)] } : {}),
          ...(approval ? { requiresApprovalTools: approval } : {}),
          ...(b.max_steps !== undefined ? { maxSteps: b.max_steps } : {}),
        }),
        service.store,
      );
    }),
    route('POST', '/v1/tools/add-base-tools', () => [...builtinTools.keys()].map(builtinToolJson)),
    route('GET', '/v1/agents/:id/core-memory/blocks', async (p, _, q) => pageBlocks(await service.listBlocks(p.id as string), parse(blocksQuery, Object.fromEntries(q), 'the query string')).map(blockJson)),
    route('GET', '/v1/agents/:id/core-memory/blocks/:label', async (p) => blockJson(await service.getBlock(p.id as string, p.label as string))),
    route('PATCH', '/v1/agents/:id/core-memory/blocks/:label', async (p, body) => {
      const b = parse(updateBlockBody, (await body()) ?? {});
      return blockJson(
        await service.updateBlock(p.id as string, p.label as string, {
          ...(b.value !== undefined ? { value: b.value } : {}),
          ...(b.limit !== undefined ? { limit: b.limit } : {}),
          ...(b.description !== undefined ? { description: b.description } : {}),
          ...(b.read_only !== undefined ? { readOnly: b.read_only } : {}),
          ...(b.label !== undefined ? { label: b.label } : {}),
        }),
      );
    }),
    route('DELETE', '/v1/agents/:id', async (p) => {
      await service.deleteAgent(p.id as string);
      return {};
    }),
    route('PATCH', '/v1/agents/:id/tools/approval/:tool', async (p, body, q) => {
      const b = parse(approvalBody, await body());
      const fromQuery = q.get('requires_approval');
      const on = b?.requires_approval ?? b?.body_requires_approval ?? (fromQuery === null ? undefined : fromQuery === 'true');
      if (on === undefined) throw new ServiceError('invalid_request', 'say requires_approval: true or false');
      const agent = await service.getAgent(p.id as string);
      const tool = p.tool as string;
      if (!agent.tools.includes(tool)) throw new ServiceError('not_found', `agent ${agent.id} has no tool "${tool}"`);
      const set = new Set(agent.requiresApprovalTools);
      if (on) set.add(tool);
      else set.delete(tool);
      return agentJson(await service.updateAgent(agent.id, { requiresApprovalTools: [...set] }), service.store);
    }),
    route('GET', '/v1/agents/:id/messages', async (p, _, q) => {
      const agent = await service.getAgent(p.id as string);
      const { page, types, conversationId } = agentMessagesQueryOf(q);
      const c = conversationId ? await service.getConversation(conversationId) : null;
      if (c && c.agentId !== agent.id) throw new ServiceError('not_found', `agent ${agent.id} has no conversation "${c.id}"`);
      const scope = c ? { conversationId: c.id } : { agentId: agent.id };
      return itemsOf(await service.store.pageMessages(scope, page, types), 'message').map(completeMessage);
    }),
    route('POST', '/v1/agents/:id/messages/cancel', async (p, body) => {
      const b = parse(cancelBody, await body());
      const r = await service.cancelAgent(p.id as string, b?.run_ids ?? undefined);
      // Letta answers `{<run_id>: "cancelled"}`; our fields ride along (run ids cannot clash with them).
      return { ...Object.fromEntries(r.cancelled_runs.map((id) => [id, 'cancelled'])), ...r };
    }),
    route('POST', '/v1/conversations', async (_, body, q) => {
      const agentId = q.get('agent_id');
      if (!agentId) throw new ServiceError('invalid_request', 'name the agent: ?agent_id=');
      const b = parse(conversationBody, await body());
      return conversationJson(await service.createConversation(agentId, b?.summary ?? b?.description ?? null));
    }),
    route('GET', '/v1/conversations', async (_, __, q) => {
      const { page, agentId, summaryText } = conversationsListQuery(q);
      const filter = { agentId: agentId ? (await service.getAgent(agentId)).id : undefined, summaryText };
      return itemsOf(await service.store.pageConversations(page, filter), 'conversation').map((c) => conversationJson(service.viewConversation(c)));
    }),
    route('GET', '/v1/conversations/:id', async (p) => conversationJson(await service.getConversation(p.id as string))),
    route('PATCH', '/v1/conversations/:id', async (p, body) => {
      const b = parse(conversationBody, await body());
      const summary = b?.summary !== undefined ? b.summary : b?.description;
      const c = summary === undefined ? await service.getConversation(p.id as string) : await service.updateConversation(p.id as string, summary);
      return conversationJson(c);
    }),
    route('DELETE', '/v1/conversations/:id', async (p) => {
      await service.deleteConversation(p.id as string);
      return {};
    }),
    route('POST', '/v1/conversations/:id/cancel', async (p, body) => {
      const b = parse(conversationCancelBody, await body());
      const t = await conversationTarget(service, p.id as string, b?.agent_id);
      const r = await service.cancelAgent(t.agentId, undefined, t.conversationId);
      return { ...Object.fromEntries(r.cancelled_runs.map((id) => [id, 'cancelled'])), ...r };
    }),
    route('GET', '/v1/conversations/:id/messages', async (p, _, q) => {
      const { page, types, agentId } = conversationMessagesQueryOf(q);
      const t = await conversationTarget(service, p.id as string, agentId);
      const scope = t.conversationId ? { conversationId: t.conversationId } : { agentId: t.agentId };
      return itemsOf(await service.store.pageMessages(scope, page, types), 'message').map(completeMessage);
    }),
    route('GET', '/v1/runs', async (_, __, q) => {
      const { page, filter, agentId } = runsListQuery(q);
      // An agent may be named by id or by name (`demo`), as everywhere; an unknown one is a 404.
      if (agentId) filter.agentIds = [(await service.getAgent(agentId)).id];
      if (filter.conversationId) await service.getConversation(filter.conversationId); // an unknown one is a 404
      return itemsOf(await service.store.pageRuns(page, filter), 'run').map(runJson);
    }),
    route('GET', '/v1/runs/:id', async (p) => runJson(await service.getRun(p.id as string))),
    route('GET', '/v1/runs/:id/usage', async (p) => {
      const u = (await service.getRun(p.id as string)).usage;
      return { completion_tokens: u?.completion_tokens ?? 0, prompt_tokens: u?.prompt_tokens ?? 0, total_tokens: u?.total_tokens ?? 0, step_count: u?.step_count ?? 0 };
    }),
    route('GET', '/v1/runs/:id/transitions', async (p) => (await service.runTransitions(p.id as string)).map(transitionJson)),
    route('GET', '/v1/runs/:id/messages', async (p, _, q) => {
      const run = await service.getRun(p.id as string);
      return itemsOf(await service.store.pageMessages({ runId: run.id }, runMessagesQueryOf(q)), 'message').map(completeMessage);
    }),
  ];
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what = 'the request body'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ServiceError('invalid_request', `${what} does not follow the API`, issuesOf(r.error));
  return r.data;
}

/**
 * Reads a JSON body (empty = undefined) of at most `maxBytes`. A larger one is refused with 413
 * before it is buffered: a declared Content-Length at once, an undeclared one when it passes the
 * bound. The connection is not destroyed (the client would see a reset instead of the answer):
 * Node discards the rest of the body, bounded by the server's request timeout.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new ServiceError('payload_too_large', `the request body is larger than ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) return void chunks.push(c);
      req.off('data', onData);
      req.resume(); // discard the rest
      chunks.length = 0;
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => {
      if (size > maxBytes) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return reject(new ServiceError('invalid_request', 'the request body is not valid JSON'));
      }
      try {
        resolve(assertWellFormed(value, 'the request body'));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = toServiceError(err);
  if (res.headersSent) return void res.end();
  // `detail` is what Letta's client reads; retrying would not help, so it is told not to.
  res.setHeader('x-should-retry', 'false');
  sendJson(res, httpStatusFor(e.code), { detail: e.message, error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } });
}
