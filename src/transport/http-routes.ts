import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AgentService } from '../actors/agent-service.js';
import { httpStatusFor, ServiceError } from '../actors/errors.js';
import type { AgentRecord, RunRecord } from '../store/types.js';
import { issuesOf } from './protocol.js';

export const MAX_BODY_BYTES = 1024 * 1024;

const createAgentBody = z.object({
  name: z.string().min(1).max(200),
  model: z.string().min(1).optional(),
  system: z.string().optional(),
  tools: z.array(z.string().min(1)).optional(),
  requires_approval_tools: z.array(z.string().min(1)).optional(),
  interface: z.enum(['simple', 'kwargs']).optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
  /** Letta's way to ask for approval: `{type: "requires_approval", tool_name}` rules. */
  tool_rules: z.array(z.looseObject({ type: z.string(), tool_name: z.string().min(1) })).optional(),
});

/** Letta names models `anthropic/<model>`; the Anthropic API wants the bare name. */
const bareModel = (m: string) => m.replace(/^anthropic\//, '');

const cancelBody = z.object({ run_ids: z.array(z.string().min(1)).optional() }).optional();

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

type Handler = (params: Record<string, string>, body: () => Promise<unknown>) => unknown;

/** Letta's paths on the same port as the WebSocket. Every body is parsed with zod; errors are JSON. */
export function httpRoutes(service: AgentService): Array<{ method: string; pattern: RegExp; keys: string[]; handle: Handler }> {
  const route = (method: string, path: string, handle: Handler) => {
    const keys: string[] = [];
    const pattern = new RegExp('^' + path.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), '([^/]+)')) + '/?$');
    return { method, pattern, keys, handle };
  };
  return [
    route('GET', '/healthz', () => ({ status: 'ok', live_runs: service.liveRunCount })),
    route('GET', '/v1/agents', () => service.store.listAgents().map(agentJson)),
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
          ...(b.interface ? { interfaceMode: b.interface } : {}),
          ...(b.max_steps ? { maxSteps: b.max_steps } : {}),
        }),
      );
    }),
    route('GET', '/v1/agents/:id', (p) => agentJson(service.getAgent(p.id as string))),
    route('POST', '/v1/agents/:id/messages/cancel', async (p, body) => {
      const b = parse(cancelBody, await body());
      return service.cancelAgent(p.id as string, b?.run_ids);
    }),
    route('GET', '/v1/runs/:id', (p) => runJson(service.getRun(p.id as string))),
    route('GET', '/v1/runs/:id/messages', (p) => {
      service.getRun(p.id as string);
      return service.store.listRunMessages(p.id as string);
    }),
  ];
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ServiceError('invalid_request', 'the request body does not follow the API', issuesOf(r.error));
  return r.data;
}

/** Reads a JSON body (empty = undefined) within MAX_BODY_BYTES. */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ServiceError('invalid_request', `the request body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ServiceError('invalid_request', 'the request body is not valid JSON'));
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
  const e = err instanceof ServiceError ? err : new ServiceError('internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
  // `detail` is what Letta's client reads; retrying would not help, so it is told not to.
  res.setHeader('x-should-retry', 'false');
  sendJson(res, httpStatusFor(e.code), { detail: e.message, error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } });
}
