import { STOP_REASONS, type LettaMessage, type RunStatus, type StopReasonType } from '../letta/frames.js';
import type { InterfaceMode } from '../letta/step-builder.js';
import type { AgentRecord, AgentState, ConversationRecord, HistoryTurn, MemoryBlock, PageRequest, PendingToolCall, RunRecord, RunTransition, UsageTotals } from './types.js';

/**
 * What the SQLite and PostgreSQL stores share: their error class, row shapes, and the checked
 * conversions from a row to a record (a row that does not parse is a `store_corrupt` error naming
 * table, row and column), so both stores return the same records from the same rows.
 */

export type StoreErrorCode = 'store_version' | 'store_corrupt' | 'store_not_found' | 'store_invalid';

/** The PostgreSQL store's own codes besides the shared ones: the database cannot be used. */
export type DatabaseErrorCode = 'database_url_invalid' | 'database_unreachable' | 'database_auth' | 'database_missing';

/** Errors raised by a store itself (the database's own errors pass through unchanged). */
export class StoreError<C extends StoreErrorCode | DatabaseErrorCode = StoreErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export const DEFAULT_RUN_LIMIT = 100;
export const DEFAULT_AGENT_MESSAGE_LIMIT = 1000;

export function now(): string {
  return new Date().toISOString();
}

export function checkLimit(limit: number, what: string): number {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new StoreError('store_invalid', `store: ${what} limit must be a non-negative integer, got ${String(limit)}`);
  }
  return limit;
}

/**
 * Where a page lies in ascending key order: above `lo`, below `hi` (exclusive, either open), and
 * which end is taken first (the cursor `before` names: the items nearest to it). `after`/`before`
 * mean after/before in the page's order, so for `desc` they swap sides. `after`/`before` are the
 * keys of the page's cursors: undefined where the page names none, null where its cursor is unknown.
 */
export function cursorBounds<K>(
  page: PageRequest,
  after: K | null | undefined,
  before: K | null | undefined,
): { lo: K | null; hi: K | null; nearestFirst: 'ASC' | 'DESC' } | { unknownCursor: string } {
  if (page.after !== undefined && after == null) return { unknownCursor: page.after };
  if (page.before !== undefined && before == null) return { unknownCursor: page.before };
  const asc = page.order === 'asc';
  const lo = (asc ? after : before) ?? null;
  const hi = (asc ? before : after) ?? null;
  // Forward in the page's order from `after`, or backward from `before` (its nearest items).
  const forwardAsc = asc === (page.before === undefined);
  return { lo, hi, nearestFirst: forwardAsc ? 'ASC' : 'DESC' };
}

// ---- row shapes -------------------------------------------------------------------------------

export interface AgentRow {
  id: string;
  name: string;
  model: string;
  system: string;
  tools: string;
  requires_approval_tools: string;
  tags: string;
  interface_mode: string;
  max_steps: number;
  state: string;
  active_run_id: string | null;
  pending_tool_calls: string;
  created_at: string;
  updated_at: string;
}

/** `read_only` is an INTEGER 0/1 in SQLite, a BOOLEAN in PostgreSQL. */
export interface BlockRow {
  id: string;
  agent_id: string;
  label: string;
  value: string;
  char_limit: number;
  description: string | null;
  read_only: number | boolean;
  created_at: string;
  updated_at: string;
}

export interface ConversationRow {
  id: string;
  agent_id: string;
  summary: string | null;
  state: string;
  active_run_id: string | null;
  pending_tool_calls: string;
  created_at: string;
  updated_at: string;
}

export interface RunRow {
  id: string;
  agent_id: string;
  conversation_id: string | null;
  status: string;
  stop_reason: string | null;
  usage: string | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
  owner_id: string | null;
  cancel_requested_at: string | null;
}

/** `position` is an INTEGER in SQLite; a BIGINT in PostgreSQL, which pg hands over as a string. */
export interface MessageRow {
  position: number | string;
  message: string;
}

export interface HistoryRow {
  position: number | string;
  role: string;
  content: string;
}

export interface TransitionRow {
  seq: number;
  at: string;
  run_state: string;
  step_state: string | null;
  seq_id: number;
}

export const AGENT_COLS =
  'id, name, model, system, tools, requires_approval_tools, tags, interface_mode, max_steps, state, active_run_id, pending_tool_calls, created_at, updated_at';
export const BLOCK_COLS = 'id, agent_id, label, value, char_limit, description, read_only, created_at, updated_at';
export const CONVERSATION_COLS = 'id, agent_id, summary, state, active_run_id, pending_tool_calls, created_at, updated_at';
export const RUN_COLS = 'id, agent_id, conversation_id, status, stop_reason, usage, error, created_at, completed_at, owner_id, cancel_requested_at';

// ---- value sets for defensive parsing --------------------------------------------------------

const AGENT_STATES: ReadonlySet<string> = new Set<AgentState>(['idle', 'running', 'awaitingApproval']);
const INTERFACE_MODES: ReadonlySet<string> = new Set<InterfaceMode>(['simple', 'kwargs']);
const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(['created', 'running', 'completed', 'failed', 'cancelled']);
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set<RunStatus>(['completed', 'failed', 'cancelled']);
const STOP_REASON_SET: ReadonlySet<string> = new Set<StopReasonType>(STOP_REASONS);
const ROLES: ReadonlySet<string> = new Set<HistoryTurn['role']>(['user', 'assistant']);

const isAgentState = (v: string): v is AgentState => AGENT_STATES.has(v);
const isInterfaceMode = (v: string): v is InterfaceMode => INTERFACE_MODES.has(v);
const isRunStatus = (v: string): v is RunStatus => RUN_STATUSES.has(v);
const isStopReason = (v: string): v is StopReasonType => STOP_REASON_SET.has(v);
export const isRole = (v: string): v is HistoryTurn['role'] => ROLES.has(v);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
function isPendingToolCall(v: unknown): v is PendingToolCall {
  return (
    isRecord(v) &&
    typeof v.toolCallId === 'string' &&
    typeof v.name === 'string' &&
    isRecord(v.input) &&
    typeof v.requiresApproval === 'boolean' &&
    (v.denied === undefined || typeof v.denied === 'string') &&
    (v.clientTool === undefined || v.clientTool === true)
  );
}
const isPendingList = (v: unknown): v is PendingToolCall[] => Array.isArray(v) && v.every(isPendingToolCall);
function isNullableNumber(v: unknown): v is number | null {
  return v === null || typeof v === 'number';
}
function isUsageTotals(v: unknown): v is UsageTotals {
  return (
    isRecord(v) &&
    typeof v.prompt_tokens === 'number' &&
    typeof v.completion_tokens === 'number' &&
    typeof v.total_tokens === 'number' &&
    typeof v.step_count === 'number' &&
    isNullableNumber(v.cached_input_tokens) &&
    isNullableNumber(v.cache_write_tokens)
  );
}
function isLettaMessage(v: unknown): v is LettaMessage {
  return isRecord(v) && typeof v.message_type === 'string' && typeof v.id === 'string';
}

function corrupt(table: string, id: string | number, what: string): StoreError {
  return new StoreError('store_corrupt', `store: ${table} row ${String(id)}: ${what}`);
}

/** Parse a JSON column and check its shape; throws naming the table, row and column otherwise. */
function parseJson<T>(table: string, id: string | number, column: string, text: string, guard: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw corrupt(table, id, `column ${column} is not valid JSON (${detail})`);
  }
  if (!guard(value)) throw corrupt(table, id, `column ${column} has an unexpected shape`);
  return value;
}

function checkEnum<T extends string>(table: string, id: string | number, column: string, value: string, guard: (v: string) => v is T): T {
  if (!guard(value)) throw corrupt(table, id, `column ${column} has unknown value ${JSON.stringify(value)}`);
  return value;
}

// ---- conversions ------------------------------------------------------------------------------

export function agentFromRow(row: AgentRow): AgentRecord {
  const t = 'agents';
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    system: row.system,
    tools: parseJson(t, row.id, 'tools', row.tools, isStringArray),
    requiresApprovalTools: parseJson(t, row.id, 'requires_approval_tools', row.requires_approval_tools, isStringArray),
    tags: parseJson(t, row.id, 'tags', row.tags, isStringArray),
    interfaceMode: checkEnum(t, row.id, 'interface_mode', row.interface_mode, isInterfaceMode),
    maxSteps: row.max_steps,
    state: checkEnum(t, row.id, 'state', row.state, isAgentState),
    activeRunId: row.active_run_id,
    pendingToolCalls: parseJson(t, row.id, 'pending_tool_calls', row.pending_tool_calls, isPendingList),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** An agent as a row, its keys in AGENT_COLS order. */
export function agentToRow(agent: AgentRecord): AgentRow {
  return {
    id: agent.id,
    name: agent.name,
    model: agent.model,
    system: agent.system,
    tools: JSON.stringify(agent.tools),
    requires_approval_tools: JSON.stringify(agent.requiresApprovalTools),
    tags: JSON.stringify(agent.tags),
    interface_mode: agent.interfaceMode,
    max_steps: agent.maxSteps,
    state: agent.state,
    active_run_id: agent.activeRunId,
    pending_tool_calls: JSON.stringify(agent.pendingToolCalls),
    created_at: agent.createdAt,
    updated_at: agent.updatedAt,
  };
}

/** The values of AGENT_COLS, in order (for positional parameters). */
export function agentValues(agent: AgentRecord): Array<string | number | null> {
  return Object.values(agentToRow(agent));
}

export function blockFromRow(r: BlockRow): MemoryBlock {
  return {
    id: r.id,
    agentId: r.agent_id,
    label: r.label,
    value: r.value,
    limit: r.char_limit,
    description: r.description,
    readOnly: typeof r.read_only === 'boolean' ? r.read_only : r.read_only !== 0,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function conversationFromRow(row: ConversationRow): ConversationRecord {
  const t = 'conversations';
  return {
    id: row.id,
    agentId: row.agent_id,
    summary: row.summary,
    state: checkEnum(t, row.id, 'state', row.state, isAgentState),
    activeRunId: row.active_run_id,
    pendingToolCalls: parseJson(t, row.id, 'pending_tool_calls', row.pending_tool_calls, isPendingList),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * A run's record. `nulls`: whether `ownerId` and `cancelRequestedAt` are left out while NULL
 * (`'omit'`, SQLite's store) or set to null (`'keep'`, PostgreSQL's store).
 */
export function runRecord(row: RunRow, nulls: 'omit' | 'keep'): RunRecord {
  const t = 'runs';
  return {
    id: row.id,
    agentId: row.agent_id,
    ...(row.conversation_id ? { conversationId: row.conversation_id } : {}),
    status: checkEnum(t, row.id, 'status', row.status, isRunStatus),
    stopReason: row.stop_reason === null ? null : checkEnum(t, row.id, 'stop_reason', row.stop_reason, isStopReason),
    usage: row.usage === null ? null : parseJson(t, row.id, 'usage', row.usage, isUsageTotals),
    error: row.error,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    ...(nulls === 'keep' || row.owner_id !== null ? { ownerId: row.owner_id } : {}),
    ...(nulls === 'keep' || row.cancel_requested_at !== null ? { cancelRequestedAt: row.cancel_requested_at } : {}),
  };
}

/** A run's record with `ownerId` and `cancelRequestedAt` left out while NULL. */
export function runFromRow(row: RunRow): RunRecord {
  return runRecord(row, 'omit');
}

export function messageFromRow(row: MessageRow): LettaMessage {
  return parseJson('messages', row.position, 'message', row.message, isLettaMessage);
}

/** An assistant turn that called tools: its calls may lack results (`Store.startUserTurn`). */
export function callsTools(turn: HistoryTurn): boolean {
  return turn.role === 'assistant' && turn.content.some((b) => typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'tool_use');
}

export function historyFromRow(row: HistoryRow): HistoryTurn {
  return {
    role: checkEnum('history', row.position, 'role', row.role, isRole),
    content: parseJson('history', row.position, 'content', row.content, (v): v is unknown[] => Array.isArray(v)),
  };
}

export function transitionFromRow(r: TransitionRow): RunTransition {
  return { seq: r.seq, at: r.at, run: r.run_state, step: r.step_state, seqId: r.seq_id };
}
