import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AgentService } from '../actors/agent-service.js';
import { httpStatusFor, ServiceError, toServiceError } from '../actors/errors.js';
import type { AgentRecord, RunRecord, RunTransition } from '../store/types.js';
import { issuesOf } from './protocol.js';
import { assertWellFormed } from './well-formed.js';

const createAgentBody = z.object({
  name: z.string().min(1).max(200),
  model: z.string().min(1).optional(),
  system: z.string().optional(),
  tools: z.array(z.string().min(1)).optional(),
  requires_approval_tools: z.array(z.string().min(1)).optional(),
  /** letta-stream's explicit opt-out: workspace-changing tools (write_file) that run without asking. */
  no_approval_tools: z.array(z.string().min(1)).optional(),
  interface: z.enum(['simple', 'kwargs']).optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
  /** Letta's way to ask for approval: `{type: "requires_approval", tool_name}` rules. */
  tool_rules: z.array(z.looseObject({ type: z.string(), tool_name: z.string().min(1) })).optional(),
});

/** Letta names models `anthropic/<model>`; the Anthropic API wants the bare name. */
const bareModel = (m: string) => m.replace(/^anthropic\//, '');

const cancelBody = z.object({ run_ids: z.array(z.string().min(1)).nullish() }).optional();

const updateAgentBody = z.looseObject({
  name: z.string().min(1).max(200).optional(),
  model: z.string().min(1).optional(),
  system: z.string().optional(),
  tool_ids: z.array(z.string()).optional(),
  tools: z.array(z.string().min(1)).optional(),
  tool_rules: z.array(z.looseObject({ type: z.string(), tool_name: z.string().min(1) })).optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
});

const approvalBody = z.looseObject({ requires_approval: z.boolean().optional(), body_requires_approval: z.boolean().optional() }).optional();

/** Letta's list paging: `limit`, `after`/`before` (a cursor id), `order` asc|desc. */
const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

export function page<T>(items: T[], query: URLSearchParams, matches: (item: T, cursor: string) => boolean, defaultOrder: 'asc' | 'desc'): T[] {
  const q = parse(pageQuery, Object.fromEntries(query), 'the query string');
  let list = (q.order ?? defaultOrder) === 'desc' ? [...items].reverse() : items;
  if (q.after) {
    const i = list.findLastIndex((x) => matches(x, q.after as string));
    if (i < 0) throw new ServiceError('not_found', `no item ${q.after} to page after`);
    list = list.slice(i + 1);
  }
  if (q.before) {
    const i = list.findIndex((x) => matches(x, q.before as string));
    if (i < 0) throw new ServiceError('not_found', `no item ${q.before} to page before`);
    list = list.slice(0, i);
  }
  return list.slice(0, q.limit ?? 100);
}

/** Agent JSON with Letta's field names. */
export function agentJson(a: AgentRecord) {
  return {
    id: a.id,
    name: a.name,
    model: a.model,
    system: a.system,
    tools: a.tools.map((name) => ({ name })),
    requires_approval_tools: a.requiresApprovalTools,
    tool_rules: a.requiresApprovalTools.map((tool_name) => ({ type: 'requires_approval', tool_name })),
    interface: a.interfaceMode,
    max_steps: a.maxSteps,
    state: a.state,
    active_run_id: a.activeRunId,
    pending_approvals: a.pendingToolCalls.map((p) => ({ tool_call_id: p.toolCallId, name: p.name, arguments: p.input, requires_approval: p.requiresApproval })),
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

export function runJson(r: RunRecord) {
  return {
    id: r.id,
    agent_id: r.agentId,
    status: r.status,
    stop_reason: r.stopReason,
    usage: r.usage,
    error: r.error,
    created_at: r.createdAt,
    completed_at: r.completedAt,
  };
}

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
    route('GET', '/v1/agents', (_, __, q) => page(service.store.listAgents(), q, (a, c) => a.id === c, 'desc').map(agentJson)),
    route('POST', '/v1/agents', async (_, body) => {
      const b = parse(createAgentBody, await body());
      const approval = [...(b.requires_approval_tools ?? []), ...(b.tool_rules ?? []).filter((r) => r.type === 'requires_approval').map((r) => r.tool_name)];
      return agentJson(
        service.createAgent({
          name: b.name,
          ...(b.model ? { model: bareModel(b.model) } : {}),
          ...(b.system !== undefined ? { system: b.system } : {}),
          ...(b.tools ? { tools: b.tools } : {}),
          ...(approval.length ? { requiresApprovalTools: [...new Set(approval)] } : {}),
          ...(b.no_approval_tools ? { noApprovalTools: b.no_approval_tools } : {}),
          ...(b.interface ? { interfaceMode: b.interface } : {}),
          ...(b.max_steps ? { maxSteps: b.max_steps } : {}),
        }),
      );
    }),
    route('GET', '/v1/agents/:id', (p) => agentJson(service.getAgent(p.id as string))),
    route('PATCH', '/v1/agents/:id', async (p, body) => {
      const b = parse(updateAgentBody, (await body()) ?? {});
      const approval = b.tool_rules?.filter((r) => r.type === 'requires_approval').map((r) => r.tool_name);
      return agentJson(
        service.updateAgent(p.id as string, {
          ...(b.name !== undefined ? { name: b.name } : {}),
          ...(b.model !== undefined ? { model: bareModel(b.model) } : {}),
          ...(b.system !== undefined ? { system: b.system } : {}),
          ...(b.tools !== undefined ? { tools: b.tools } : {}),
          ...(approval ? { requiresApprovalTools: approval } : {}),
          ...(b.max_steps !== undefined ? { maxSteps: b.max_steps } : {}),
        }),
      );
    }),
    route('DELETE', '/v1/agents/:id', (p) => {
      service.deleteAgent(p.id as string);
      return {};
    }),
    route('PATCH', '/v1/agents/:id/tools/approval/:tool', async (p, body, q) => {
      const b = parse(approvalBody, await body());
      const fromQuery = q.get('requires_approval');
      const on = b?.requires_approval ?? b?.body_requires_approval ?? (fromQuery === null ? undefined : fromQuery === 'true');
      if (on === undefined) throw new ServiceError('invalid_request', 'say requires_approval: true or false');
      const agent = service.getAgent(p.id as string);
      const tool = p.tool as string;
      if (!agent.tools.includes(tool)) throw new ServiceError('not_found', `agent ${agent.id} has no tool "${tool}"`);
      const set = new Set(agent.requiresApprovalTools);
      if (on) set.add(tool);
      else set.delete(tool);
      return agentJson(service.updateAgent(agent.id, { requiresApprovalTools: [...set] }));
    }),
    route('GET', '/v1/agents/:id/messages', (p, _, q) => {
      const agent = service.getAgent(p.id as string);
      return page(service.store.listAgentMessages(agent.id, 100_000), q, (m, c) => m.id === c || m.otid === c, 'asc');
    }),
    route('POST', '/v1/agents/:id/messages/cancel', async (p, body) => {
      const b = parse(cancelBody, await body());
      const r = service.cancelAgent(p.id as string, b?.run_ids ?? undefined);
      // Letta answers `{<run_id>: "cancelled"}`; our fields ride along (run ids cannot clash with them).
      return { ...Object.fromEntries(r.cancelled_runs.map((id) => [id, 'cancelled'])), ...r };
    }),
    route('GET', '/v1/runs', (_, __, q) => {
      const agentId = q.get('agent_id');
      const statuses = new Set([...q.getAll('statuses'), ...q.getAll('status')]);
      const agents = agentId ? [service.getAgent(agentId)] : service.store.listAgents();
      const runs = agents
        .flatMap((a) => service.store.listRuns(a.id, 10_000))
        .filter((r) => statuses.size === 0 || statuses.has(r.status))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      q.delete('agent_id');
      q.delete('statuses');
      q.delete('status');
      return page(runs, q, (r, c) => r.id === c, 'desc').map(runJson);
    }),
    route('GET', '/v1/runs/:id', (p) => runJson(service.getRun(p.id as string))),
    route('GET', '/v1/runs/:id/usage', (p) => {
      const u = service.getRun(p.id as string).usage;
      return { completion_tokens: u?.completion_tokens ?? 0, prompt_tokens: u?.prompt_tokens ?? 0, total_tokens: u?.total_tokens ?? 0, step_count: u?.step_count ?? 0 };
    }),
    route('GET', '/v1/runs/:id/transitions', (p) => service.runTransitions(p.id as string).map(transitionJson)),
    route('GET', '/v1/runs/:id/messages', (p) => {
      service.getRun(p.id as string);
      return service.store.listRunMessages(p.id as string);
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
