import type { ToolReturnMessage } from '../letta/frames.js';
import type { ToolResultBlock } from '../letta/history.js';
import { isoSeconds, newMessageId, otidFor } from '../letta/ids.js';
import type { Store } from '../store/types.js';

/** A tool call settled outside a run's tool phase (denied, or closed after a crash). */
export interface ClosedCall {
  toolCallId: string;
  output: string;
  status: 'success' | 'error';
  /** Its tool_return message is stored already (only the history still lacks the result). */
  told?: boolean;
}

export function toolReturnMessage(runId: string, call: Pick<ClosedCall, 'toolCallId' | 'output' | 'status'>): ToolReturnMessage {
  const id = newMessageId();
  return {
    id,
    date: isoSeconds(),
    message_type: 'tool_return_message',
    otid: otidFor(id, 0),
    run_id: runId,
    step_id: null,
    tool_return: call.output,
    status: call.status,
    tool_call_id: call.toolCallId,
    stdout: null,
    stderr: null,
  };
}

/**
 * Closes an assistant turn's tool calls outside the tool phase: a tool_return message for each
 * call not yet told, and one user turn with every tool_result, so the Letta messages and the
 * Anthropic history both answer each call exactly once.
 */
export function closeToolCalls(store: Store, agentId: string, runId: string, calls: readonly ClosedCall[]): void {
  if (calls.length === 0) return;
  store.appendMessages(runId, agentId, calls.filter((c) => !c.told).map((c) => toolReturnMessage(runId, c)));
  const content: ToolResultBlock[] = calls.map((c) => ({ type: 'tool_result', tool_use_id: c.toolCallId, content: c.output, ...(c.status === 'error' ? { is_error: true } : {}) }));
  store.appendHistory(agentId, runId, [{ role: 'user', content }]);
}
