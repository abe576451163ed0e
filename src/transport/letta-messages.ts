import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AgentService, RunRequest } from '../actors/agent-service.js';
import { httpStatusFor, ServiceError, toServiceError } from '../actors/errors.js';
import type { LogEntry, RunEnd, RunLog } from '../actors/run-log.js';
import { runStatusFor, type LettaFrame, type LettaMessage, type StopReasonFrame, type StopReasonType } from '../letta/frames.js';
import { clientTools } from '../tools/client-tools.js';
import { completeMessage } from './letta-lists.js';
import { followPaced } from './paced-follow.js';
import { approvalEntry } from './protocol.js';

/**
 * Letta's turn endpoints for Letta's own client: `POST /v1/agents/:id/messages` (and the
 * deprecated `/messages/stream`), and the resume `POST /v1/runs/:id/stream`. Same run actors,
 * logs and finalizer as the WebSocket protocol; seq_ids are shared.
 */

const text = z.looseObject({ type: z.string(), text: z.string().optional() });

const joinText = (c: string | Array<{ text?: string | undefined }>) => (typeof c === 'string' ? c : c.map((p) => p.text ?? '').join(''));

/** Letta's entries default their `type`: an entry with `approve` is an approval, one with `tool_return` a tool return. */
const typedEntry = z.preprocess((v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || 'type' in v) return v;
  if ('approve' in v) return { ...v, type: 'approval' };
  if ('tool_return' in v) return { ...v, type: 'tool' };
  return v;
}, approvalEntry);

/** Letta's older approval form: `{type: "approval", approve, approval_request_id, reason?}` (no `approvals`). */
const olderApproval = z.looseObject({
  type: z.literal('approval').optional(),
  approve: z.boolean(),
  approval_request_id: z.string().min(1),
  reason: z.string().nullish(),
});

type Approval = Extract<RunRequest, { kind: 'approvals' }>['approvals'][number];

/** Each form of Letta's input messages, as user text or approvals. */
const lettaMessage = z.union([
  z.looseObject({ type: z.literal('approval').optional(), approvals: z.array(typedEntry).min(1) }).transform((m) => ({ approvals: m.approvals as Approval[] })),
  // Letta reads the older form's approval_request_id as the tool call's id.
  olderApproval.transform((m) => ({ approvals: [{ type: 'approval', tool_call_id: m.approval_request_id, approve: m.approve, reason: m.reason ?? null }] as Approval[] })),
  z
    .looseObject({
      type: z.literal('tool_return'),
      tool_returns: z.array(z.looseObject({ tool_call_id: z.string().min(1), tool_return: z.union([z.string(), z.array(text)]), status: z.enum(['success', 'error']) })).min(1),
    })
    .transform((m) => ({ approvals: m.tool_returns.map((r): Approval => ({ type: 'tool', tool_call_id: r.tool_call_id, tool_return: joinText(r.tool_return), status: r.status })) })),
  z
    .looseObject({ role: z.enum(['user', 'system', 'assistant']), content: z.union([z.string(), z.array(text)]), type: z.literal('message').nullish() })
    .transform((m) => ({ role: m.role, text: joinText(m.content) })),
]);

export const lettaTurnBody = z.looseObject({
  messages: z.array(lettaMessage).nullish(),
  input: z.union([z.string(), z.array(text)]).nullish(),
  streaming: z.boolean().optional(),
  stream_tokens: z.boolean().optional(),
  background: z.boolean().optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
  include_return_message_types: z.array(z.string()).nullish(),
  include_pings: z.boolean().optional(),
  /** Letta's client-side tools for this turn (run by the client; a call ends the run with requires_approval). */
  client_tools: clientTools.nullish(),
});

const resumeBody = z.looseObject({ starting_after: z.number().int().min(0).nullish() }).nullish();

/** Letta hands a system message to an Anthropic model as a user event (not as instructions). */
const systemEvent = (text: string) => `<event>SYSTEM ALERT: ${text}</event>`;

export function turnRequest(body: z.infer<typeof lettaTurnBody>): RunRequest {
  // Input messages in order; consecutive ones of one role are one turn.
  const inputs: Array<{ role: 'user' | 'assistant'; text: string }> = [];
  const approvals: Approval[] = [];
  const add = (role: 'user' | 'assistant', text: string) => {
    const last = inputs[inputs.length - 1];
    if (last?.role === role) last.text += `\n\n${text}`;
    else inputs.push({ role, text });
  };
  if (body.input) add('user', joinText(body.input));
  for (const m of body.messages ?? []) {
    if ('approvals' in m) approvals.push(...m.approvals);
    else add(m.role === 'assistant' ? 'assistant' : 'user', m.role === 'system' ? systemEvent(m.text) : m.text);
  }
  if (approvals.length && inputs.length) throw new ServiceError('invalid_request', 'a turn starts with user messages or with approvals, not both');
  if (approvals.length) return { kind: 'approvals', approvals };
  const last = inputs.pop();
  if (!last?.text.trim()) throw new ServiceError('invalid_request', 'send `messages` (or `input`) with some user text');
  if (last.role !== 'user') throw new ServiceError('invalid_request', 'the last input message must be a user (or system) message: the model answers it');
  return inputs.length ? { kind: 'user', text: last.text, earlier: inputs } : { kind: 'user', text: last.text };
}

/** Letta's error body. Retrying would not help any of these, so the client is told not to. */
export function sendDetail(res: ServerResponse, err: unknown): void {
  const e = toServiceError(err);
  if (res.headersSent) return void res.end();
  const status = e.code === 'invalid_request' && e.issues ? 422 : httpStatusFor(e.code);
  const body = JSON.stringify({ detail: e.issues ? e.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : e.message });
  res.writeHead(status, { 'content-type': 'application/json', 'x-should-retry': 'false', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ServiceError('invalid_request', 'invalid body', r.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.message })));
  return r.data;
}

type Merged = Record<string, unknown> & { otid?: string; message_type?: string };

/** With stream_tokens false, chunks of one part are sent as one message when the part is done. */
function mergeInto(into: Merged, f: Merged): void {
  if (typeof f.reasoning === 'string') into.reasoning = String(into.reasoning ?? '') + f.reasoning;
  if (f.signature) into.signature = f.signature;
  if (typeof f.content === 'string') into.content = String(into.content ?? '') + f.content;
  const call = f.tool_call as { arguments?: string | null } | undefined;
  const target = into.tool_call as { arguments?: string | null } | undefined;
  if (call?.arguments && target) {
    target.arguments = (target.arguments ?? '') + call.arguments;
    into.tool_calls = target;
  }
}

/** Writes a run's log as Letta's SSE: `data: {json}` per frame, `event: error` on failure, `data: [DONE]`. */
function streamLog(
  service: AgentService,
  log: RunLog,
  res: ServerResponse,
  o: { after: number; tokens: boolean; types: Set<string> | null; pingMs?: number; maxBufferedBytes: number },
): void {
  const runId = log.runId;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders(); // the client's create() resolves on the headers, even while the model is silent
  let pending: Merged | null = null;
  let lastWrite = Date.now();
  const write = (json: string) => {
    lastWrite = Date.now();
    res.write(`data: ${json}\n\n`);
  };
  // A reader that does not keep up must not hold the run's frames in this process: it is told
  // where to resume and the stream ends (the run goes on).
  const dropSlowReader = (lastDelivered: number) => {
    if (pinger) clearInterval(pinger);
    // Resume before a merged message that was never written out whole.
    const after = pending ? Number(pending.seq_id) - 1 : lastDelivered;
    const message = `too slow: the stream was dropped; resume with POST /v1/runs/${runId}/stream and starting_after ${after}`;
    res.end(`event: error\ndata: ${JSON.stringify({ message_type: 'error_message', run_id: runId, error_type: 'slow_reader', message, seq_id: after })}\n\n`);
  };
  // include_pings: keep the connection alive while the model is silent.
  const pinger = o.pingMs
    ? setInterval(() => {
        if (Date.now() - lastWrite >= (o.pingMs ?? 0)) write(JSON.stringify({ message_type: 'ping', id: `ping-${Date.now()}`, date: new Date().toISOString(), run_id: runId }));
      }, o.pingMs)
    : null;
  const flush = () => {
    if (pending) write(JSON.stringify(pending));
    pending = null;
  };
  const unsubscribe = followPaced(
    log,
    o.after,
    {
      frame: (entry: LogEntry) => {
        // Token streaming needs no parse, except for the stop reason (an error is announced first).
        if (o.tokens && !o.types && !entry.json.startsWith('{"message_type":"stop_reason"')) return write(entry.json);
        const f = JSON.parse(entry.json) as Merged & LettaFrame;
        if (o.types && f.otid && !o.types.has(String(f.message_type))) return;
        if (f.message_type === 'stop_reason' && f.stop_reason !== 'end_turn' && f.stop_reason !== 'requires_approval' && f.stop_reason !== 'max_steps' && f.stop_reason !== 'cancelled') {
          flush();
          res.write(`event: error\ndata: ${JSON.stringify({ message_type: 'error_message', run_id: runId, error_type: f.stop_reason, message: log.error ?? String(f.stop_reason), seq_id: f.seq_id })}\n\n`);
        }
        if (o.tokens) return write(entry.json);
        if (pending && f.otid && pending.otid === f.otid) return mergeInto(pending, f);
        flush();
        if (f.otid) pending = { ...f, ...('tool_call' in f ? { tool_call: { ...(f.tool_call as object) } } : {}) };
        else write(entry.json);
      },
      end: (_end: RunEnd) => {
        if (pinger) clearInterval(pinger);
        flush();
        res.end('data: [DONE]\n\n');
      },
    },
    { buffered: () => res.writableLength, closed: () => res.destroyed || res.writableEnded },
    { maxBufferedBytes: o.maxBufferedBytes, onTooSlow: dropSlowReader },
  );
  res.on('close', () => {
    if (pinger) clearInterval(pinger);
    unsubscribe();
    // A client that hangs up does not cancel the run, background or not, as on Letta (its
    // StreamingResponseWithStatusCode goes on "without sending more data"): the run ends on its
    // own, or when the client cancels it (Letta's clients abort the stream, then cancel).
  });
}

/** How often `include_pings` sends a ping while nothing else was sent (ms). */
export const DEFAULT_PING_MS = 10_000;

export async function handleLettaTurn(
  service: AgentService,
  agentId: string,
  req: IncomingMessage,
  res: ServerResponse,
  readBody: () => Promise<unknown>,
  o: { pingMs?: number; maxBufferedBytes: number },
): Promise<void> {
  try {
    const body = parseBody(lettaTurnBody, (await readBody()) ?? {});
    const streaming = body.streaming ?? req.url?.endsWith('/messages/stream') ?? false;
    await runTurn(service, { agentId, conversationId: null }, body, streaming, res, o);
  } catch (err) {
    sendDetail(res, err);
  }
}

const conversationTurnBody = lettaTurnBody.extend({ agent_id: z.string().min(1).nullish() });

/**
 * Which history a conversation path names: `default` with `agent_id` is the agent's own
 * (Letta's agent-direct mode); an agent id in its place is the deprecated form of the same.
 */
export async function conversationTarget(service: AgentService, conversationId: string, agentId: string | null | undefined): Promise<{ agentId: string; conversationId: string | null }> {
  if (conversationId === 'default') {
    if (!agentId) throw new ServiceError('invalid_request', 'the default conversation is an agent\'s: send agent_id with it');
    return { agentId: (await service.getAgent(agentId)).id, conversationId: null };
  }
  const c = await service.store.getConversation(conversationId);
  if (c) return { agentId: c.agentId, conversationId: c.id };
  const agent = await service.store.getAgent(conversationId);
  if (agent) return { agentId: agent.id, conversationId: null };
  throw new ServiceError('not_found', `no conversation "${conversationId}"`);
}

/** Letta's `POST /v1/conversations/:id/messages`: a turn in that conversation, streamed unless `streaming: false`. */
export async function handleConversationTurn(
  service: AgentService,
  conversationId: string,
  res: ServerResponse,
  readBody: () => Promise<unknown>,
  o: { pingMs?: number; maxBufferedBytes: number },
): Promise<void> {
  try {
    const body = parseBody(conversationTurnBody, (await readBody()) ?? {});
    await runTurn(service, await conversationTarget(service, conversationId, body.agent_id), body, body.streaming ?? true, res, o);
  } catch (err) {
    sendDetail(res, err);
  }
}

async function runTurn(
  service: AgentService,
  target: { agentId: string; conversationId: string | null },
  body: z.infer<typeof lettaTurnBody>,
  streaming: boolean,
  res: ServerResponse,
  o: { pingMs?: number; maxBufferedBytes: number },
): Promise<void> {
  const { runId, log } = await service.startRun(target.agentId, turnRequest(body), body.max_steps, body.client_tools ?? [], target.conversationId);
  const types = body.include_return_message_types ? new Set(body.include_return_message_types) : null;
  if (streaming) {
    streamLog(service, log, res, {
      after: 0,
      tokens: body.stream_tokens ?? true,
      types,
      maxBufferedBytes: o.maxBufferedBytes,
      ...(body.include_pings ? { pingMs: o.pingMs ?? DEFAULT_PING_MS } : {}),
    });
    return;
  }
  // Not streamed: Letta's LettaResponse once the run has ended.
  const frames: LettaFrame[] = [];
  await new Promise<void>((resolve) => log.subscribe({ frame: (e) => frames.push(JSON.parse(e.json) as LettaFrame), end: () => resolve() }));
  const stop = frames.find((f): f is StopReasonFrame => f.message_type === 'stop_reason');
  // A failed turn is an error answer with Letta's status for it, never a 200 with nothing in it.
  if (stop && runStatusFor(stop.stop_reason) === 'failed') {
    const detail = log.error ?? `the run ended with ${stop.stop_reason}`;
    const json = JSON.stringify({ detail, run_id: runId, stop_reason: stop.stop_reason });
    res.writeHead(failedTurnStatus(stop.stop_reason, detail), { 'content-type': 'application/json', 'x-should-retry': 'false', 'content-length': Buffer.byteLength(json) });
    return void res.end(json);
  }
  // The response: what the agent said, not the turn's input (user, approval and input assistant messages).
  const hidden = new Set(['user_message', 'approval_response_message']);
  const isInput = (m: LettaMessage) => hidden.has(m.message_type) || (m.message_type === 'assistant_message' && m.step_id === null);
  const messages = (await service.store.listRunMessages(runId)).filter((m) => !isInput(m) && (!types || types.has(m.message_type)));
  const json = JSON.stringify({
    messages: messages.map(completeMessage),
    stop_reason: stop,
    usage: frames.find((f) => f.message_type === 'usage_statistics'),
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/**
 * Letta's status for a failed turn: the model provider's overload 503, its rate limit 429, its
 * timeout 504, another answer of the model API 502; any other failure 500.
 */
export function failedTurnStatus(reason: StopReasonType, detail: string): number {
  if (reason !== 'llm_api_error') return 500;
  const upstream = Number(/HTTP (\d{3})/.exec(detail)?.[1]);
  if (upstream === 529 || upstream === 503) return 503;
  if (upstream === 429) return 429;
  if (upstream === 408 || upstream === 504) return 504;
  return 502;
}

const conversationResumeBody = z
  .looseObject({ agent_id: z.string().min(1).nullish(), run_id: z.string().min(1).nullish(), starting_after: z.number().int().min(0).nullish() })
  .nullish();

/**
 * Letta's `POST /v1/conversations/:id/stream`: the stream of `run_id`, or of the conversation's
 * newest run (its active one while there is one), from `starting_after`.
 */
export async function handleConversationResume(service: AgentService, conversationId: string, res: ServerResponse, readBody: () => Promise<unknown>, maxBufferedBytes: number): Promise<void> {
  try {
    const body = parseBody(conversationResumeBody, await readBody());
    const target = await conversationTarget(service, conversationId, body?.agent_id);
    let runId = body?.run_id ?? null;
    if (runId) {
      const run = await service.getRun(runId);
      if (run.agentId !== target.agentId || (run.conversationId ?? null) !== target.conversationId) throw new ServiceError('not_found', `run ${runId} is not of conversation ${conversationId}`);
    } else {
      runId = (await service.store.listRuns(target.agentId, 1, target.conversationId))[0]?.id ?? null;
      if (!runId) throw new ServiceError('not_found', `conversation ${conversationId} has no run to stream`);
    }
    const log = await service.streamableLog(runId); // 404 with the reason before any header
    streamLog(service, log, res, { after: body?.starting_after ?? 0, tokens: true, types: null, maxBufferedBytes });
  } catch (err) {
    sendDetail(res, err);
  }
}

export async function handleRunResume(service: AgentService, runId: string, res: ServerResponse, readBody: () => Promise<unknown>, maxBufferedBytes: number): Promise<void> {
  try {
    const body = parseBody(resumeBody, await readBody());
    const log = await service.streamableLog(runId); // 404 with the reason before any header
    streamLog(service, log, res, { after: body?.starting_after ?? 0, tokens: true, types: null, maxBufferedBytes });
  } catch (err) {
    sendDetail(res, err);
  }
}
