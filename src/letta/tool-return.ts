import type { ToolReturnMessage } from './frames.js';
import { isoSeconds, newMessageId, otidFor } from './ids.js';

/** A tool call's answer as Letta streams and stores it: one message, a part of its own. */
export function toolReturnMessage(
  runId: string,
  stepId: string | null,
  call: { toolCallId: string; output: string; status: 'success' | 'error'; name: string | null },
): ToolReturnMessage {
  const id = newMessageId();
  return {
    id,
    date: isoSeconds(),
    message_type: 'tool_return_message',
    name: call.name,
    otid: otidFor(id, 0),
    run_id: runId,
    step_id: stepId,
    tool_return: call.output,
    status: call.status,
    tool_call_id: call.toolCallId,
    stdout: null,
    stderr: null,
  };
}
