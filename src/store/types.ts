import type { LettaMessage, RunStatus, StopReasonType, UsageStatisticsFrame } from '../letta/frames.js';
import type { InterfaceMode } from '../letta/step-builder.js';

/**
 * Persistence behind one interface: the embedded SQLite store implements it now, a PostgreSQL
 * store later. Synchronous on purpose for the embedded default (better-sqlite3); a server
 * database implementation can batch behind the same calls.
 */

export type AgentState = 'idle' | 'running' | 'awaitingApproval';

export interface AgentRecord {
  id: string; // agent-<uuid>
  name: string;
  model: string;
  system: string;
  tools: string[];
  requiresApprovalTools: string[];
  /** Letta's agent tags (for filtering lists). */
  tags: string[];
  interfaceMode: InterfaceMode;
  maxSteps: number;
  state: AgentState;
  /** The run that holds the agent (running) or that asked for approval (awaitingApproval). */
  activeRunId: string | null;
  /** awaitingApproval: the tool calls of the assistant turn that wait for a decision or a client result. */
  pendingToolCalls: PendingToolCall[];
  createdAt: string; // ISO 8601
  updatedAt: string;
}

export interface PendingToolCall {
  toolCallId: string;
  name: string;
  input: Record<string, unknown>;
  requiresApproval: boolean;
  /**
   * Set when the call was denied while others of its turn still await a decision (its tool was
   * removed from the agent): the error tool return it gets when the turn goes on.
   */
  denied?: string;
  /** A call to one of the turn's client tools: only the client's tool return settles it, never a server run. */
  clientTool?: true;
}

/**
 * One of an agent's conversations besides its default one (the agent's own history, whose turn
 * state is the agent's): its own history, messages and runs, one run at a time, the same
 * tools, system prompt and memory.
 */
export interface ConversationRecord {
  id: string; // conv-<uuid>
  agentId: string;
  summary: string | null;
  state: AgentState;
  activeRunId: string | null;
  pendingToolCalls: PendingToolCall[];
  createdAt: string;
  updatedAt: string;
}

/** One of an agent's core memory blocks (Letta's Block): unique per agent by label, in creation order. */
export interface MemoryBlock {
  id: string; // block-<uuid>
  agentId: string;
  label: string;
  value: string;
  /** Letta's `limit`: the most characters the value may hold. */
  limit: number;
  description: string | null;
  readOnly: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A run's usage as stored: the fields of its usage_statistics frame. */
export type UsageTotals = Pick<
  UsageStatisticsFrame,
  'prompt_tokens' | 'completion_tokens' | 'total_tokens' | 'step_count' | 'cached_input_tokens' | 'cache_write_tokens'
>;

export interface RunRecord {
  id: string; // run-<uuid>
  agentId: string;
  /** The conversation the run's turn belongs to; absent: the agent's default conversation. */
  conversationId?: string;
  status: RunStatus;
  stopReason: StopReasonType | null;
  usage: UsageTotals | null;
  /** Human reason for failed runs (e.g. "the server stopped while the run was in progress"). */
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** One streamed frame of a run as sent: its seq_id and its JSON text. */
export interface StoredFrame {
  seq: number;
  json: string;
}

/**
 * One change of a run's active states (the run chart's and, while streaming, its step's), as
 * XState inspection saw it: when, and after which frame (`seqId`: the run's last seq_id then).
 */
export interface RunTransition {
  /** 1, 2, 3, … per run. */
  seq: number;
  /** ISO 8601 with milliseconds. */
  at: string;
  run: string;
  step: string | null;
  seqId: number;
}

/** One turn of the agent's conversation in Anthropic's format (content blocks as the API takes them). */
export interface HistoryTurn {
  role: 'user' | 'assistant';
  content: unknown[];
}

/**
 * One page of a list, Letta's way: `after`/`before` name an item (a cursor) and mean after/before
 * it in the listing's `order`; with `before` the page is the `limit` items nearest to it.
 */
export interface PageRequest {
  limit: number;
  order: 'asc' | 'desc';
  after?: string | undefined;
  before?: string | undefined;
}

/** A page, or the cursor that names nothing in the listing. */
export type Page<T> = { items: T[] } | { unknownCursor: string };

export interface AgentFilter {
  /** Exactly this name. */
  name?: string | undefined;
  /** The name contains it (case-insensitive). */
  queryText?: string | undefined;
  /** Has any of these tags (all of them with `matchAllTags`). */
  tags?: readonly string[] | undefined;
  matchAllTags?: boolean | undefined;
}

export interface RunFilter {
  agentIds?: readonly string[] | undefined;
  statuses?: readonly string[] | undefined;
  stopReason?: string | undefined;
  /** Runs of this conversation (not of the agent's default one). */
  conversationId?: string | undefined;
}

/** Whose messages: an agent's default conversation's, another conversation's, or a run's. */
export type MessageScope = { agentId: string } | { conversationId: string } | { runId: string };

export interface Store {
  createAgent(agent: AgentRecord): void;
  getAgent(id: string): AgentRecord | null;
  getAgentByName(name: string): AgentRecord | null;
  listAgents(): AgentRecord[];
  /** Writes an agent's configuration (name, model, system, tools, approval tools, tags, interface, max steps). */
  updateAgentConfig(agent: AgentRecord): void;
  /** Deletes an agent with its runs, messages and history; false when there was none. */
  deleteAgent(id: string): boolean;
  /** Updates state, activeRunId, pendingToolCalls and updatedAt. */
  setAgentState(id: string, state: AgentState, activeRunId: string | null, pending: PendingToolCall[]): void;
  /**
   * A run's end lets go of its agent: `idle`, or `awaitingApproval` with `pending` (held by the
   * same run). Only while the agent is `running` that run; false (and nothing changed) otherwise.
   * A run of another conversation lets go of that conversation instead.
   */
  releaseAgent(id: string, runId: string, pending: PendingToolCall[] | null): boolean;

  /** An agent's core memory blocks, in creation order. */
  listBlocks(agentId: string): MemoryBlock[];
  getBlock(agentId: string, label: string): MemoryBlock | null;
  /** Inserts a block, or replaces the agent's block of the same label (keeping its id and place). */
  putBlock(block: MemoryBlock): void;

  createConversation(c: ConversationRecord): void;
  getConversation(id: string): ConversationRecord | null;
  /** By creation time; cursors are conversation ids. */
  pageConversations(page: PageRequest, filter?: { agentId?: string | undefined; summaryText?: string | undefined }): Page<ConversationRecord>;
  updateConversationSummary(id: string, summary: string | null): void;
  /** With its runs, messages and history; false when there was none. */
  deleteConversation(id: string): boolean;
  /** Its turn state, as setAgentState for the default conversation. */
  setConversationState(id: string, state: AgentState, activeRunId: string | null, pending: PendingToolCall[]): void;

  createRun(run: RunRecord): void;
  getRun(id: string): RunRecord | null;
  /** Newest first; of one conversation when `conversationId` is given (null: the default one). */
  listRuns(agentId: string, limit?: number, conversationId?: string | null): RunRecord[];
  /**
   * Write the terminal status once: returns false (and changes nothing) when the run is not
   * `running` any more, so a second finalizer can never overwrite the first.
   */
  finishRun(id: string, status: RunStatus, stopReason: StopReasonType, usage: UsageTotals | null, error: string | null): boolean;
  /** On start: runs left `running` by a crash become `failed` with `reason`; their agents become idle. Returns their ids. */
  failInterruptedRuns(reason: string): string[];

  /** Letta messages as the client saw them, consolidated (one row per message part), in order; in their run's conversation. */
  appendMessages(runId: string, agentId: string, messages: LettaMessage[]): void;
  listRunMessages(runId: string): LettaMessage[];
  listAgentMessages(agentId: string, limit?: number): LettaMessage[];
  /**
   * A page of messages, counted in stored messages (the parts that share a message id): the parts
   * of one stored message are on one page, in their order (reversed with the rest for `desc`).
   * Cursors are message ids (an otid names its message). `types`: only parts of these types, and
   * only stored messages that have one.
   */
  pageMessages(scope: MessageScope, page: PageRequest, types?: readonly string[]): Page<LettaMessage>;
  /** Agents by creation time; cursors are agent ids. */
  pageAgents(page: PageRequest, filter?: AgentFilter): Page<AgentRecord>;
  /** Runs by creation time; cursors are run ids. */
  pageRuns(page: PageRequest, filter?: RunFilter): Page<RunRecord>;

  /** The conversation for the next Anthropic request; turns join the conversation of their run. */
  appendHistory(agentId: string, runId: string, turns: HistoryTurn[]): void;
  /** The default conversation's history, or `conversationId`'s. */
  getHistory(agentId: string, conversationId?: string | null): HistoryTurn[];

  /**
   * The frames a run streamed, journaled in batches while it runs, so a crash loses at most the
   * last batch, and a stream can be resumed after a restart. Idempotent per (run, seq).
   */
  appendRunFrames(runId: string, frames: readonly StoredFrame[]): void;
  /** In seq order. */
  listRunFrames(runId: string): StoredFrame[];
  deleteRunFrames(runId: string): void;
  /** Deletes the frames of runs that ended before `endedBefore` (ISO 8601); returns how many frames went. */
  pruneRunFrames(endedBefore: string): number;

  /**
   * A run's state changes, written in batches with its frames; kept with the run (deleted with it)
   * so any finished run can be replayed. Idempotent per (run, seq).
   */
  appendRunTransitions(runId: string, transitions: readonly RunTransition[]): void;
  /** In seq order. */
  listRunTransitions(runId: string): RunTransition[];

  /** Runs `fn` as one transaction: every write in it is stored, or none (it rethrows). */
  transaction<T>(fn: () => T): T;

  close(): void;
}
