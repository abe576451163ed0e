import { z } from 'zod';
import type { ErrorCode } from '../actors/errors.js';
import type { RunStatus, StopReasonType } from '../letta/frames.js';
import { clientTools } from '../tools/client-tools.js';

/** The WebSocket protocol at /v1/ws (see docs/protocol.md). Every inbound frame is parsed here. */

const requestId = z.string().min(1).max(200);
const id = (prefix: string) => z.string().min(1).max(200).describe(`${prefix} id`);

const textContent = z.union([
  z.string().min(1, 'a user message needs content'),
  z.array(z.object({ type: z.literal('text'), text: z.string() })).min(1),
]);

export const userMessage = z.object({ role: z.literal('user'), content: textContent });

/** Letta's approval return entries (contract/letta-approval-return.schema.json). */
export const approvalEntry = z.discriminatedUnion('type', [
  z.object({ type: z.literal('approval'), tool_call_id: z.string().min(1), approve: z.boolean(), reason: z.string().nullish() }),
  z.object({
    type: z.literal('tool'),
    tool_call_id: z.string().min(1),
    tool_return: z.string(),
    status: z.enum(['success', 'error']),
    stdout: z.array(z.string()).nullish(),
    stderr: z.array(z.string()).nullish(),
  }),
]);

export const approvalMessage = z.object({ type: z.literal('approval'), approvals: z.array(approvalEntry).min(1) });

export const runMessages = z.array(z.union([userMessage, approvalMessage])).min(1, 'messages must not be empty');

export const clientFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('run.start'),
    request_id: requestId,
    agent_id: id('agent'),
    messages: runMessages,
    max_steps: z.number().int().min(1).max(100).optional(),
    /** Tools the client runs, for this run only (as Letta's `client_tools`). */
    client_tools: clientTools.optional(),
    /** One of the agent's conversations; absent: its default one (its own history). */
    conversation_id: id('conversation').optional(),
  }),
  z.object({ type: z.literal('run.cancel'), request_id: requestId, run_id: id('run') }),
  z.object({ type: z.literal('agent.cancel'), request_id: requestId, agent_id: id('agent'), conversation_id: id('conversation').optional() }),
  z.object({ type: z.literal('run.subscribe'), request_id: requestId, run_id: id('run'), after_seq_id: z.number().int().min(0).optional() }),
  z.object({ type: z.literal('run.unsubscribe'), request_id: requestId, run_id: id('run') }),
]);

export type ClientFrame = z.infer<typeof clientFrame>;

export type ServerFrame =
  | { type: 'run.started'; request_id: string; run_id: string; agent_id: string }
  | { type: 'run.subscribed'; request_id: string; run_id: string; after_seq_id: number }
  | { type: 'run.unsubscribed'; request_id: string; run_id: string }
  | { type: 'run.cancel.result'; request_id: string; run_id: string; cancelled: boolean; status: string }
  | { type: 'agent.cancel.result'; request_id: string; agent_id: string; cancelled_runs: string[]; denied_tool_calls: string[] }
  | { type: 'run.end'; run_id: string; status: RunStatus; stop_reason: StopReasonType }
  /** A change of the run's active states: the `seq`-th, at `at`, after the frame `seq_id`. */
  | { type: 'run.state'; run_id: string; run: string; step: string | null; seq: number; at: string; seq_id: number }
  | { type: 'error'; request_id?: string; code: ErrorCode; message: string; issues?: Array<{ path: string; message: string }> };

/** zod issues as `{path, message}` pairs a client can show next to a field. */
export function issuesOf(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(frame)', message: i.message }));
}
