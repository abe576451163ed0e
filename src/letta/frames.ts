/**
 * The Letta frames this service emits, typed after the contract in test/fixtures/contract
 * (generated from Letta's pydantic models). Outbound only: we build these, so plain types suffice;
 * tests validate them against the JSON Schema.
 */
/** Letta's stop reasons, as a list for parsers and the type below. */
export const STOP_REASONS = [
  'end_turn',
  'error',
  'llm_api_error',
  'invalid_llm_response',
  'invalid_tool_call',
  'max_steps',
  'max_tokens_exceeded',
  'no_tool_call',
  'tool_rule',
  'cancelled',
  'requires_approval',
  'context_window_overflow_in_system_prompt',
] as const;

export type StopReasonType = (typeof STOP_REASONS)[number];

export type RunStatus = 'created' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Letta's mapping from stop reason to run status. */
export function runStatusFor(reason: StopReasonType): RunStatus {
  switch (reason) {
    case 'end_turn':
    case 'max_steps':
    case 'tool_rule':
    case 'requires_approval':
      return 'completed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

interface MessageBase {
  id: string;
  date: string;
  otid: string;
  run_id: string | null;
  step_id: string | null;
  seq_id?: number;
}

export interface ToolCallDelta {
  name: string | null;
  arguments: string | null;
  tool_call_id: string | null;
}

export interface ReasoningMessage extends MessageBase {
  message_type: 'reasoning_message';
  source: 'reasoner_model' | 'non_reasoner_model';
  reasoning: string;
  signature: string | null;
}
export interface HiddenReasoningMessage extends MessageBase {
  message_type: 'hidden_reasoning_message';
  state: 'redacted' | 'omitted';
  hidden_reasoning: string | null;
}
export interface AssistantMessage extends MessageBase {
  message_type: 'assistant_message';
  content: string;
}
export interface ToolCallMessage extends MessageBase {
  message_type: 'tool_call_message';
  tool_call: ToolCallDelta;
  tool_calls: ToolCallDelta;
}
export interface ApprovalRequestMessage extends MessageBase {
  message_type: 'approval_request_message';
  tool_call: ToolCallDelta;
  tool_calls: ToolCallDelta;
}
export interface ToolReturnMessage extends MessageBase {
  message_type: 'tool_return_message';
  /** The tool's name (Letta's clients label the result with it); absent in rows stored before it was. */
  name?: string | null;
  tool_return: string;
  status: 'success' | 'error';
  tool_call_id: string;
  stdout: string[] | null;
  stderr: string[] | null;
}
export interface ApprovalResponseMessage extends MessageBase {
  message_type: 'approval_response_message';
  approvals: Array<
    | { type: 'approval'; tool_call_id: string; approve: boolean; reason: string | null }
    | { type: 'tool'; tool_call_id: string; tool_return: string; status: 'success' | 'error' }
  >;
}
export interface UserMessage extends MessageBase {
  message_type: 'user_message';
  content: string;
}

/** The messages a step streams out (one part each run of a type, or each tool call). */
export type StreamedMessage =
  | ReasoningMessage
  | HiddenReasoningMessage
  | AssistantMessage
  | ToolCallMessage
  | ApprovalRequestMessage;

export type LettaMessage = StreamedMessage | ToolReturnMessage | ApprovalResponseMessage | UserMessage;

export interface StopReasonFrame {
  message_type: 'stop_reason';
  stop_reason: StopReasonType;
  run_id?: string;
  seq_id?: number;
}

export interface UsageStatisticsFrame {
  message_type: 'usage_statistics';
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  step_count: number;
  cached_input_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  run_ids: string[] | null;
  run_id?: string;
  seq_id?: number;
}

export interface PingFrame {
  message_type: 'ping';
  id: string;
  date: string;
}

export type LettaFrame = LettaMessage | StopReasonFrame | UsageStatisticsFrame | PingFrame;
