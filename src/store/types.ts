import type { LettaMessage, RunStatus, StopReasonType, UsageStatisticsFrame } from '../letta/frames.js';
import type { InterfaceMode } from '../letta/step-builder.js';

/**
 * Persistence behind one asynchronous interface, two implementations: the embedded SQLite store
 * (better-sqlite3, the default) and PostgreSQL (many instances share one database). Every state
 * change that other instances may race is a compare-and-set in the database: no correctness
 * argument rests on one process.
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
  /** The instance that runs it (its lease in `instances`); null once it ended, or for old rows. */
  ownerId?: string | null;
  /** When a cancel was asked for (any instance); the owner cancels at its next step boundary at the latest. */
  cancelRequestedAt?: string | null;
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

/** Whose turn state: an agent's default conversation (conversationId null) or one of its others. */
export interface TurnScope {
  agentId: string;
  conversationId: string | null;
}

/** What `Store.startUserTurn` writes. */
export interface UserTurnStart {
  /** Of `scope`'s agent and conversation. */
  run: RunRecord;
  scope: TurnScope;
  from: TurnExpectation;
  to: TurnState;
  /** The turn's input messages, each with a new id, in order. */
  messages: LettaMessage[];
  /** Its history turns, in order. */
  history: HistoryTurn[];
}

/** A conversation's turn state as the agent chart keeps it. */
export interface TurnState {
  state: AgentState;
  activeRunId: string | null;
  pendingToolCalls: PendingToolCall[];
}

/** What a compare-and-set expects to find: the state and the run that holds it. */
export type TurnExpectation = Pick<TurnState, 'state' | 'activeRunId'>;

export interface Store {
  createAgent(agent: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | null>;
  /** The oldest agent of that name (names need not be unique, as in Letta). */
  getAgentByName(name: string): Promise<AgentRecord | null>;
  listAgents(): Promise<AgentRecord[]>;
  /** Writes an agent's configuration (name, model, system, tools, approval tools, tags, interface, max steps). */
  updateAgentConfig(agent: AgentRecord): Promise<void>;
  /** Deletes an agent with its runs, messages and history; false when there was none. */
  deleteAgent(id: string): Promise<boolean>;

  /**
   * The only writer of turn state: sets `to` when the scope's turn state is `from` (state and
   * active run, `IS NOT DISTINCT FROM`), in one conditional write; false (nothing changed) when
   * another writer got there first. The agent chart computes `to`.
   */
  casTurnState(scope: TurnScope, from: TurnExpectation, to: TurnState): Promise<boolean>;
  /**
   * A run's end lets go of its conversation: `idle`, or `awaitingApproval` with `pending` (held by
   * the same run). Only while it is `running` that run; false (and nothing changed) otherwise.
   */
  releaseAgent(id: string, runId: string, pending: PendingToolCall[] | null): Promise<boolean>;

  /** An agent's core memory blocks, in creation order. */
  listBlocks(agentId: string): Promise<MemoryBlock[]>;
  getBlock(agentId: string, label: string): Promise<MemoryBlock | null>;
  /** Inserts a block, or replaces the agent's block of the same label (keeping its id and place). */
  putBlock(block: MemoryBlock): Promise<void>;

  createConversation(c: ConversationRecord): Promise<void>;
  getConversation(id: string): Promise<ConversationRecord | null>;
  /** By creation time; cursors are conversation ids. */
  pageConversations(page: PageRequest, filter?: { agentId?: string | undefined; summaryText?: string | undefined }): Promise<Page<ConversationRecord>>;
  updateConversationSummary(id: string, summary: string | null): Promise<void>;
  /** With its runs, messages and history; false when there was none. */
  deleteConversation(id: string): Promise<boolean>;

  createRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | null>;
  /** Newest first; of one conversation when `conversationId` is given (null: the default one). */
  listRuns(agentId: string, limit?: number, conversationId?: string | null): Promise<RunRecord[]>;
  /**
   * Write the terminal status once: returns false (and changes nothing) when the run is not
   * `running` any more, so a second finalizer can never overwrite the first.
   */
  finishRun(id: string, status: RunStatus, stopReason: StopReasonType, usage: UsageTotals | null, error: string | null): Promise<boolean>;
  /**
   * Runs left `running` by an instance that is gone become `failed` with `reason`, and their
   * conversations are released; only runs owned by `ownerId` (null: runs with no owner, from
   * before ownership). Returns their ids.
   */
  failInterruptedRuns(reason: string, ownerId: string | null): Promise<string[]>;
  /** The owners of runs that are `running` (null: runs with no owner), e.g. for start-up recovery. */
  runningOwners(): Promise<Array<string | null>>;
  /** Records that a cancel was asked for while the run is `running`; false when it is not. */
  requestCancel(runId: string): Promise<boolean>;
  /**
   * The fence of a run's own writes: true while the run is `running` under `ownerId`. Inside a
   * transaction it also holds the run's row until the transaction ends (PostgreSQL: FOR SHARE), so
   * an instance failing the run as lost waits for those writes. An owner whose lease lapsed (a
   * long pause) then writes nothing into a history another instance has closed and moved on from.
   */
  holdRun(runId: string, ownerId: string): Promise<boolean>;

  /**
   * An instance's lease: inserted or renewed until `leaseUntil` (ISO 8601). Answers the ids of its
   * running runs whose cancel was requested (one round trip per heartbeat: a cancel whose push
   * was missed is still seen within a beat).
   */
  renewLease(instanceId: string, leaseUntil: string): Promise<string[]>;
  /** The distinct owners of running runs (null: runs from before ownership). */
  runningOwners(): Promise<Array<string | null>>;
  /**
   * A setting every instance must agree on (the tool workspace's path): stored when absent;
   * answers the stored value, so a caller can tell that it differs from its own.
   */
  claimSetting(key: string, value: string): Promise<string>;
  /** Instances whose lease ended before `now` and that still own a running run. */
  expiredOwners(now: string): Promise<string[]>;
  /** Forgets an instance's lease (a clean stop). */
  dropLease(instanceId: string): Promise<void>;

  /** Letta messages as the client saw them, consolidated (one row per message part), in order; in their run's conversation. */
  appendMessages(runId: string, agentId: string, messages: LettaMessage[]): Promise<void>;
  listRunMessages(runId: string): Promise<LettaMessage[]>;
  listAgentMessages(agentId: string, limit?: number): Promise<LettaMessage[]>;
  /**
   * A page of messages, counted in stored messages (the parts that share a message id): the parts
   * of one stored message are on one page, in their order (reversed with the rest for `desc`).
   * Cursors are message ids (an otid names its message). `types`: only parts of these types, and
   * only stored messages that have one.
   */
  pageMessages(scope: MessageScope, page: PageRequest, types?: readonly string[]): Promise<Page<LettaMessage>>;
  /** Agents by creation time; cursors are agent ids. */
  pageAgents(page: PageRequest, filter?: AgentFilter): Promise<Page<AgentRecord>>;
  /** Runs by creation time; cursors are run ids. */
  pageRuns(page: PageRequest, filter?: RunFilter): Promise<Page<RunRecord>>;

  /** The conversation for the next Anthropic request; turns join the conversation of their run. */
  appendHistory(agentId: string, runId: string, turns: HistoryTurn[]): Promise<void>;
  /** The default conversation's history, or `conversationId`'s. */
  getHistory(agentId: string, conversationId?: string | null): Promise<HistoryTurn[]>;
  /** The last turn `getHistory` would end with (null: none), without reading the others. */
  lastHistoryTurn(agentId: string, conversationId?: string | null): Promise<HistoryTurn | null>;

  /**
   * A user turn started in one step when nothing stands in its way: the compare-and-set of the
   * turn state, the run, its input messages and history turns, all or nothing (on PostgreSQL one
   * statement, one round trip). False, and nothing written, when the turn state is not
   * `start.from`, or the conversation's last turn is an assistant turn with tool calls (they may
   * lack results: the caller closes them), or (PostgreSQL) the conversation's row changed while
   * this was checked: the caller then does it step by step in a transaction, which tells a
   * conflict from the rest.
   */
  startUserTurn(start: UserTurnStart): Promise<boolean>;

  /**
   * The frames a run streamed, journaled in batches while it runs, so a crash loses at most the
   * last batch, and a stream can be resumed after a restart. Idempotent per (run, seq).
   */
  appendRunFrames(runId: string, frames: readonly StoredFrame[]): Promise<void>;
  /** In seq order. */
  listRunFrames(runId: string): Promise<StoredFrame[]>;
  deleteRunFrames(runId: string): Promise<void>;
  /** Deletes the frames of runs that ended before `endedBefore` (ISO 8601); returns how many frames went. */
  pruneRunFrames(endedBefore: string): Promise<number>;

  /**
   * A run's state changes, written in batches with its frames; kept with the run (deleted with it)
   * so any finished run can be replayed. Idempotent per (run, seq).
   */
  appendRunTransitions(runId: string, transitions: readonly RunTransition[]): Promise<void>;
  /** In seq order. */
  listRunTransitions(runId: string): Promise<RunTransition[]>;

  /**
   * Runs `fn` as one transaction on `tx` (a view of this store bound to the transaction; use it,
   * not this store, inside): every write in it is stored, or none (it rethrows). Other callers'
   * statements wait for it or see it whole.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  /** Idempotent. */
  close(): Promise<void>;
}
