import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LettaMessage, RunStatus, StopReasonType } from '../letta/frames.js';
import { FifoLock } from './fifo-lock.js';
import { batchText, consecutiveRuns, uncovered, unpackBatches, type ConsecutiveFrames, type FrameBatchRow, type SeqRange } from './frame-batches.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import {
  BLOCK_COLS,
  DEFAULT_AGENT_MESSAGE_LIMIT,
  DEFAULT_RUN_LIMIT,
  StoreError,
  TERMINAL_STATUSES,
  agentFromRow,
  agentToRow,
  blockFromRow,
  checkLimit,
  conversationFromRow,
  cursorBounds,
  historyFromRow,
  isRole,
  messageFromRow,
  now,
  runFromRow,
  transitionFromRow,
  callsTools,
  type AgentRow,
  type BlockRow,
  type ConversationRow,
  type HistoryRow,
  type MessageRow,
  type RunRow,
  type TransitionRow,
} from './records.js';
import type {
  AgentFilter,
  AgentRecord,
  ConversationRecord,
  HistoryTurn,
  MemoryBlock,
  MessageScope,
  Page,
  PageRequest,
  PendingToolCall,
  RunFilter,
  RunRecord,
  RunTransition,
  Store,
  StoredFrame,
  TurnExpectation,
  TurnScope,
  UserTurnStart,
  TurnState,
  UsageTotals,
} from './types.js';

export { StoreError, type StoreErrorCode } from './records.js';

export interface SqliteStoreOptions {
  /** file path; ':memory:' allowed for tests */
  file: string;
  /** How long a write waits for another connection's lock before SQLITE_BUSY (ms). */
  busyTimeoutMs?: number;
  /** CPU time one turn of the event loop may spend from its first store call before the next call waits for the next turn (ms; default `SLICE_MS`). */
  sliceMs?: number;
}

/** The file name `openSqliteStore` uses inside the data directory. */
export const SQLITE_FILE_NAME = 'letta-stream.db';

/**
 * How long a statement waits for a lock another connection holds (retried on a timer: the event
 * loop goes on meanwhile); the SQLITE_BUSY that follows is a store error like a full disk.
 */
export const BUSY_TIMEOUT_MS = 2000;

// ---- row shapes -------------------------------------------------------------------------------

interface IdRow {
  id: string;
}

/** `keyOf` for both cursors of a page (only those given are looked up). */
function cursorKeys<K>(page: PageRequest, keyOf: (cursor: string) => K | null): [K | null | undefined, K | null | undefined] {
  return [page.after === undefined ? undefined : keyOf(page.after), page.before === undefined ? undefined : keyOf(page.before)];
}

// ---- the store --------------------------------------------------------------------------------

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface Statements {
  insertAgent: Stmt<[AgentRow]>;
  getAgent: Stmt<[string], AgentRow>;
  getAgentByName: Stmt<[string], AgentRow>;
  listAgents: Stmt<[], AgentRow>;
  casAgent: Stmt<[CasParams]>;
  releaseAgent: Stmt<[{ id: string; run_id: string; state: string; active_run_id: string | null; pending_tool_calls: string; updated_at: string }]>;

  insertRun: Stmt<[RunRow]>;
  getRun: Stmt<[string], RunRow>;
  listRuns: Stmt<[string, number], RunRow>;
  listConversationRuns: Stmt<[{ agent_id: string; conversation_id: string | null; limit: number }], RunRow>;
  runConversation: Stmt<[string], { conversation_id: string | null }>;
  insertConversation: Stmt<[ConversationRow]>;
  getConversation: Stmt<[string], ConversationRow>;
  casConversation: Stmt<[CasParams]>;
  releaseConversation: Stmt<[{ id: string; run_id: string; state: string; active_run_id: string | null; pending_tool_calls: string; updated_at: string }]>;
  releaseOrphanedConversations: Stmt<[string]>;
  finishRun: Stmt<[{ id: string; status: string; stop_reason: string; usage: string | null; error: string | null; completed_at: string }]>;
  runningRunIds: Stmt<[string | null], IdRow>;
  failRunning: Stmt<[{ error: string; completed_at: string; owner_id: string | null }]>;
  releaseOrphanedAgents: Stmt<[string]>;
  runningOwners: Stmt<[], { owner_id: string | null }>;
  requestCancel: Stmt<[string, string]>;
  holdRun: Stmt<[string, string], { id: string }>;
  renewLease: Stmt<[string, string]>;
  cancelsOf: Stmt<[string], { id: string }>;
  claimSetting: Stmt<[string, string]>;
  getSetting: Stmt<[string], { value: string }>;
  expiredOwners: Stmt<[string], { owner_id: string }>;
  dropLease: Stmt<[string]>;

  insertMessage: Stmt<[string, string, string, string, string, string, string]>;
  setGroupPos: Stmt<[number | bigint]>;
  listRunMessages: Stmt<[string], MessageRow>;
  listAgentMessages: Stmt<[string, number], MessageRow>;

  insertHistory: Stmt<[string, string, string, string, string]>;
  getHistory: Stmt<[string, string | null], HistoryRow>;
  lastHistory: Stmt<[string, string | null], HistoryRow>;

  insertBatchIfFree: Stmt<[BatchParams]>;
  insertBatch: Stmt<[BatchParams]>;
  overlappingBatches: Stmt<[string, number, number], SeqRange>;
  listBatches: Stmt<[string], FrameBatchRow>;
  deleteBatches: Stmt<[string]>;
  pruneBatches: Stmt<[string], { n: number }>;

  insertTransition: Stmt<[TransitionRow & { run_id: string }]>;
  listTransitions: Stmt<[string], TransitionRow>;
}

/** One row of run_frame_batches. */
interface BatchParams {
  run_id: string;
  first: number;
  last: number;
  json: string;
}

/** A compare-and-set of a conversation's turn state: `from_*` is what it must be, the rest what it becomes. */
interface CasParams {
  id: string;
  agent_id: string;
  from_state: string;
  from_run_id: string | null;
  state: string;
  active_run_id: string | null;
  pending_tool_calls: string;
  updated_at: string;
}

/** A run's frame batches, for `unpackBatches` (and readers that open the file themselves). */
export const LIST_FRAME_BATCHES_SQL = 'SELECT first_seq, last_seq, json FROM run_frame_batches WHERE run_id = ? ORDER BY first_seq';

/** The columns of run_transitions, for readers that open the file themselves (`replay-run`). */
export const LIST_TRANSITIONS_SQL = 'SELECT seq, at, run_state, step_state, seq_id FROM run_transitions WHERE run_id = ? ORDER BY seq';

/** `Store` with synchronous methods: what one better-sqlite3 connection does, statement by statement. */
type Synchronous<T> = { [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never };
type SyncStore = Synchronous<Omit<Store, 'transaction' | 'close'>>;

/** One connection's synchronous statements; `SqliteStore` serializes and awaits them. */
class SqliteConnection implements SyncStore {
  readonly file: string;
  readonly db: Database.Database;
  private readonly stmts: Statements;
  private readonly appendMessagesTx: (runId: string, agentId: string, messages: readonly LettaMessage[]) => void;
  private readonly appendHistoryTx: (agentId: string, runId: string, turns: readonly HistoryTurn[]) => void;
  private readonly failInterruptedTx: (reason: string, ownerId: string | null) => string[];
  private readonly appendFramesTx: { immediate: (runId: string, runs: readonly ConsecutiveFrames[]) => void };
  private readonly appendTransitionsTx: (runId: string, transitions: readonly RunTransition[]) => void;
  private readonly startUserTurnTx: (start: UserTurnStart) => boolean;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    this.db = new Database(options.file);
    try {
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
      // Refuse a newer file before touching it (journal mode included).
      const version = checkVersion(this.db, options.file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db, version);
      this.stmts = prepareStatements(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }

    const s = this.stmts;
    this.appendMessagesTx = this.db.transaction((runId: string, agentId: string, messages: readonly LettaMessage[]) => {
      for (const m of messages) {
        const { lastInsertRowid } = s.insertMessage.run(runId, agentId, JSON.stringify(m), m.id, m.message_type, m.id, runId);
        s.setGroupPos.run(lastInsertRowid);
      }
    });
    this.appendHistoryTx = this.db.transaction((agentId: string, runId: string, turns: readonly HistoryTurn[]) => {
      for (const turn of turns) {
        if (!isRole(turn.role)) throw new StoreError('store_invalid', `store: history role ${JSON.stringify(turn.role)} is not user or assistant`);
        s.insertHistory.run(agentId, runId, turn.role, JSON.stringify(turn.content), runId);
      }
    });
    // Under the write lock (immediate): what it reads of the run's rows holds until it writes.
    this.appendFramesTx = this.db.transaction((runId: string, runs: readonly ConsecutiveFrames[]) => {
      for (const run of runs) {
        for (const free of uncovered(run.first, run.last, s.overlappingBatches.all(runId, run.last, run.first))) {
          s.insertBatch.run({ run_id: runId, first: free.first, last: free.last, json: batchText(run, free.first, free.last) });
        }
      }
    });
    this.appendTransitionsTx = this.db.transaction((runId: string, transitions: readonly RunTransition[]) => {
      for (const t of transitions) s.insertTransition.run({ run_id: runId, seq: t.seq, at: t.at, run_state: t.run, step_state: t.step, seq_id: t.seqId });
    });
    this.startUserTurnTx = this.db.transaction((start: UserTurnStart): boolean => {
      const { agentId, conversationId } = start.scope;
      const last = this.lastHistoryTurn(agentId, conversationId);
      if (last && callsTools(last)) return false;
      if (!this.casTurnState(start.scope, start.from, start.to)) return false;
      this.createRun(start.run);
      this.appendMessages(start.run.id, agentId, start.messages);
      this.appendHistory(agentId, start.run.id, start.history);
      return true;
    });
    this.failInterruptedTx = this.db.transaction((reason: string, ownerId: string | null): string[] => {
      const at = now();
      const ids = s.runningRunIds.all(ownerId).map((r) => r.id);
      s.failRunning.run({ error: reason, completed_at: at, owner_id: ownerId });
      s.releaseOrphanedAgents.run(at);
      s.releaseOrphanedConversations.run(at);
      return ids;
    });
  }

  // agents

  createAgent(agent: AgentRecord): void {
    this.stmts.insertAgent.run(agentToRow(agent));
  }

  getAgent(id: string): AgentRecord | null {
    const row = this.stmts.getAgent.get(id);
    return row === undefined ? null : agentFromRow(row);
  }

  getAgentByName(name: string): AgentRecord | null {
    const row = this.stmts.getAgentByName.get(name);
    return row === undefined ? null : agentFromRow(row);
  }

  listAgents(): AgentRecord[] {
    return this.stmts.listAgents.all().map(agentFromRow);
  }

  // memory blocks

  listBlocks(agentId: string): MemoryBlock[] {
    return this.db.prepare<[string], BlockRow>(`SELECT ${BLOCK_COLS} FROM blocks WHERE agent_id = ? ORDER BY rowid`).all(agentId).map(blockFromRow);
  }

  getBlock(agentId: string, label: string): MemoryBlock | null {
    const row = this.db.prepare<[string, string], BlockRow>(`SELECT ${BLOCK_COLS} FROM blocks WHERE agent_id = ? AND label = ?`).get(agentId, label);
    return row === undefined ? null : blockFromRow(row);
  }

  putBlock(b: MemoryBlock): void {
    this.db
      .prepare(
        `INSERT INTO blocks (${BLOCK_COLS}) VALUES (@id, @agent_id, @label, @value, @char_limit, @description, @read_only, @created_at, @updated_at)
         ON CONFLICT (agent_id, label) DO UPDATE SET value = excluded.value, char_limit = excluded.char_limit, description = excluded.description,
         read_only = excluded.read_only, updated_at = excluded.updated_at`,
      )
      .run({
        id: b.id,
        agent_id: b.agentId,
        label: b.label,
        value: b.value,
        char_limit: b.limit,
        description: b.description,
        read_only: b.readOnly ? 1 : 0,
        created_at: b.createdAt,
        updated_at: b.updatedAt,
      });
  }

  updateAgentConfig(agent: AgentRecord): void {
    // Only the configuration columns: turn state belongs to casTurnState and the run's end.
    const result = this.db
      .prepare(
        `UPDATE agents SET name = @name, model = @model, system = @system, tools = @tools, requires_approval_tools = @requires_approval_tools, tags = @tags,
         interface_mode = @interface_mode, max_steps = @max_steps, updated_at = @updated_at WHERE id = @id`,
      )
      .run({ ...agentToRow(agent), updated_at: now() });
    if (result.changes === 0) throw new StoreError('store_not_found', `store: no agent ${agent.id}`);
  }

  deleteAgent(id: string): boolean {
    // runs, messages and history go with it (ON DELETE CASCADE)
    return this.db.prepare('DELETE FROM agents WHERE id = ?').run(id).changes > 0;
  }

  casTurnState(scope: TurnScope, from: TurnExpectation, to: TurnState): boolean {
    const params: CasParams = {
      id: scope.conversationId ?? scope.agentId,
      agent_id: scope.agentId,
      from_state: from.state,
      from_run_id: from.activeRunId,
      state: to.state,
      active_run_id: to.activeRunId,
      pending_tool_calls: JSON.stringify(to.pendingToolCalls),
      updated_at: now(),
    };
    return (scope.conversationId === null ? this.stmts.casAgent : this.stmts.casConversation).run(params).changes > 0;
  }

  releaseAgent(id: string, runId: string, pending: PendingToolCall[] | null): boolean {
    const conversationId = this.stmts.runConversation.get(runId)?.conversation_id ?? null;
    const result = (conversationId ? this.stmts.releaseConversation : this.stmts.releaseAgent).run({
      id: conversationId ?? id,
      run_id: runId,
      state: pending ? 'awaitingApproval' : 'idle',
      active_run_id: pending ? runId : null,
      pending_tool_calls: JSON.stringify(pending ?? []),
      updated_at: now(),
    });
    return result.changes > 0;
  }

  // runs

  createRun(run: RunRecord): void {
    this.stmts.insertRun.run({
      id: run.id,
      agent_id: run.agentId,
      conversation_id: run.conversationId ?? null,
      status: run.status,
      stop_reason: run.stopReason,
      usage: run.usage === null ? null : JSON.stringify(run.usage),
      error: run.error,
      created_at: run.createdAt,
      completed_at: run.completedAt,
      owner_id: run.ownerId ?? null,
      cancel_requested_at: run.cancelRequestedAt ?? null,
    });
  }

  getRun(id: string): RunRecord | null {
    const row = this.stmts.getRun.get(id);
    return row === undefined ? null : runFromRow(row);
  }

  listRuns(agentId: string, limit: number = DEFAULT_RUN_LIMIT, conversationId?: string | null): RunRecord[] {
    checkLimit(limit, 'listRuns');
    const rows =
      conversationId === undefined
        ? this.stmts.listRuns.all(agentId, limit)
        : this.stmts.listConversationRuns.all({ agent_id: agentId, conversation_id: conversationId, limit });
    return rows.map(runFromRow);
  }

  // conversations

  createConversation(c: ConversationRecord): void {
    this.stmts.insertConversation.run({
      id: c.id,
      agent_id: c.agentId,
      summary: c.summary,
      state: c.state,
      active_run_id: c.activeRunId,
      pending_tool_calls: JSON.stringify(c.pendingToolCalls),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    });
  }

  getConversation(id: string): ConversationRecord | null {
    const row = this.stmts.getConversation.get(id);
    return row === undefined ? null : conversationFromRow(row);
  }

  pageConversations(page: PageRequest, filter: { agentId?: string | undefined; summaryText?: string | undefined } = {}): Page<ConversationRecord> {
    const rows = this.pageByCreation<ConversationRow>('conversations', CONVERSATION_COLS, page, [
      ['agent_id = @agent_id', { agent_id: filter.agentId ?? null }],
      ['instr(lower(summary), lower(@summary_text)) > 0', { summary_text: filter.summaryText ?? null }],
    ]);
    return 'unknownCursor' in rows ? rows : { items: rows.items.map(conversationFromRow) };
  }

  updateConversationSummary(id: string, summary: string | null): void {
    const result = this.db.prepare('UPDATE conversations SET summary = ?, updated_at = ? WHERE id = ?').run(summary, now(), id);
    if (result.changes === 0) throw new StoreError('store_not_found', `store: no conversation ${id}`);
  }

  deleteConversation(id: string): boolean {
    // runs go with it (ON DELETE CASCADE), and their messages and history with them
    return this.db.prepare('DELETE FROM conversations WHERE id = ?').run(id).changes > 0;
  }

  finishRun(id: string, status: RunStatus, stopReason: StopReasonType, usage: UsageTotals | null, error: string | null): boolean {
    if (!TERMINAL_STATUSES.has(status)) {
      throw new StoreError('store_invalid', `store: finishRun needs a terminal status, got ${JSON.stringify(status)}`);
    }
    const result = this.stmts.finishRun.run({
      id,
      status,
      stop_reason: stopReason,
      usage: usage === null ? null : JSON.stringify(usage),
      error,
      completed_at: now(),
    });
    return result.changes > 0;
  }

  failInterruptedRuns(reason: string, ownerId: string | null): string[] {
    return this.failInterruptedTx(reason, ownerId);
  }

  /** The owners of running runs (null: runs from before ownership), for start-up recovery. */
  runningOwners(): Array<string | null> {
    return this.stmts.runningOwners.all().map((r) => r.owner_id);
  }

  requestCancel(runId: string): boolean {
    return this.stmts.requestCancel.run(now(), runId).changes > 0;
  }

  /** A transaction here is `BEGIN IMMEDIATE`: nobody else writes until it ends, so a read holds. */
  holdRun(runId: string, ownerId: string): boolean {
    return this.stmts.holdRun.get(runId, ownerId) !== undefined;
  }

  // instance leases

  renewLease(instanceId: string, leaseUntil: string): string[] {
    this.stmts.renewLease.run(instanceId, leaseUntil);
    return this.stmts.cancelsOf.all(instanceId).map((r) => r.id);
  }

  claimSetting(key: string, value: string): string {
    this.stmts.claimSetting.run(key, value);
    const row = this.stmts.getSetting.get(key);
    if (!row) throw new StoreError('store_corrupt', `store: setting ${key} vanished after it was written`);
    return row.value;
  }

  /** Owners of running runs whose lease ended, or that have none (nobody vouches for their runs). */
  expiredOwners(at: string): string[] {
    return this.stmts.expiredOwners.all(at).map((r) => r.owner_id);
  }

  dropLease(instanceId: string): void {
    this.stmts.dropLease.run(instanceId);
  }

  // messages

  appendMessages(runId: string, agentId: string, messages: LettaMessage[]): void {
    if (messages.length === 0) return;
    this.appendMessagesTx(runId, agentId, messages);
  }

  listRunMessages(runId: string): LettaMessage[] {
    return this.stmts.listRunMessages.all(runId).map(messageFromRow);
  }

  listAgentMessages(agentId: string, limit: number = DEFAULT_AGENT_MESSAGE_LIMIT): LettaMessage[] {
    return this.stmts.listAgentMessages.all(agentId, checkLimit(limit, 'listAgentMessages')).map(messageFromRow);
  }

  pageMessages(scope: MessageScope, page: PageRequest, types?: readonly string[]): Page<LettaMessage> {
    // An agent's messages are its default conversation's; another conversation's are its own.
    const [column, value] =
      'agentId' in scope
        ? (['agent_id', scope.agentId] as const)
        : 'conversationId' in scope
          ? (['conversation_id', scope.conversationId] as const)
          : (['run_id', scope.runId] as const);
    const inScope = (param: string) => `${column} = ${param}${'agentId' in scope ? ' AND conversation_id IS NULL' : ''}`;
    const groupOf = (cursor: string): number | null => {
      const byId = this.db.prepare<[string, string], { g: number }>(`SELECT group_pos AS g FROM messages WHERE ${inScope('?')} AND message_id = ? LIMIT 1`).get(value, cursor);
      if (byId) return byId.g;
      // An otid names its message (a scan of this agent's or run's rows, only for a cursor that is no id).
      const byOtid = this.db
        .prepare<[string, string], { g: number }>(`SELECT group_pos AS g FROM messages WHERE ${inScope('?')} AND json_extract(message, '$.otid') = ? LIMIT 1`)
        .get(value, cursor);
      return byOtid ? byOtid.g : null;
    };
    const bounds = cursorBounds(page, ...cursorKeys(page, groupOf));
    if ('unknownCursor' in bounds) return bounds;
    const typeList = types ? JSON.stringify(types) : null;
    const typed = '(@types IS NULL OR message_type IN (SELECT value FROM json_each(@types)))';
    const rows = this.db
      .prepare<[{ scope: string; lo: number; hi: number; limit: number; types: string | null }], MessageRow>(
        `SELECT position, message FROM messages WHERE ${inScope('@scope')} AND ${typed} AND group_pos IN (
           SELECT DISTINCT group_pos FROM messages WHERE ${inScope('@scope')} AND group_pos > @lo AND group_pos < @hi AND ${typed}
           ORDER BY group_pos ${bounds.nearestFirst} LIMIT @limit
         ) ORDER BY group_pos, position`,
      )
      .all({ scope: value, lo: bounds.lo ?? -1, hi: bounds.hi ?? Number.MAX_SAFE_INTEGER, limit: checkLimit(page.limit, 'pageMessages'), types: typeList });
    const items = rows.map(messageFromRow);
    return { items: page.order === 'desc' ? items.reverse() : items };
  }

  pageAgents(page: PageRequest, filter: AgentFilter = {}): Page<AgentRecord> {
    const tagList = filter.tags?.length ? JSON.stringify(filter.tags) : null;
    const rows = this.pageByCreation<AgentRow>('agents', AGENT_COLS, page, [
      ['name = @name', { name: filter.name ?? null }],
      ['instr(lower(name), lower(@query_text)) > 0', { query_text: filter.queryText ?? null }],
      filter.matchAllTags
        ? ['NOT EXISTS (SELECT 1 FROM json_each(@tags) w WHERE w.value NOT IN (SELECT value FROM json_each(agents.tags)))', { tags: tagList }]
        : ['EXISTS (SELECT 1 FROM json_each(agents.tags) t WHERE t.value IN (SELECT value FROM json_each(@tags)))', { tags: tagList }],
    ]);
    return 'unknownCursor' in rows ? rows : { items: rows.items.map(agentFromRow) };
  }

  pageRuns(page: PageRequest, filter: RunFilter = {}): Page<RunRecord> {
    const list = (v: readonly string[] | undefined) => (v ? JSON.stringify(v) : null);
    const rows = this.pageByCreation<RunRow>('runs', RUN_COLS, page, [
      ['agent_id IN (SELECT value FROM json_each(@agent_ids))', { agent_ids: list(filter.agentIds) }],
      ['status IN (SELECT value FROM json_each(@statuses))', { statuses: list(filter.statuses) }],
      ['stop_reason = @stop_reason', { stop_reason: filter.stopReason ?? null }],
      ['conversation_id = @conversation_id', { conversation_id: filter.conversationId ?? null }],
    ]);
    return 'unknownCursor' in rows ? rows : { items: rows.items.map(runFromRow) };
  }

  /** A page of `table` by (created_at, rowid); each condition applies when its parameter is not null. */
  private pageByCreation<Row>(table: 'agents' | 'runs' | 'conversations', cols: string, page: PageRequest, conditions: Array<[string, Record<string, string | null>]>): Page<Row> {
    const keyOf = (id: string) => this.db.prepare<[string], { c: string; r: number }>(`SELECT created_at AS c, rowid AS r FROM ${table} WHERE id = ?`).get(id) ?? null;
    const bounds = cursorBounds(page, ...cursorKeys(page, keyOf));
    if ('unknownCursor' in bounds) return bounds;
    const params: Record<string, string | number | null> = { limit: checkLimit(page.limit, `page ${table}`) };
    const where: string[] = [];
    for (const [sql, p] of conditions) {
      const [name, v] = Object.entries(p)[0] as [string, string | null];
      params[name] = v;
      where.push(`(@${name} IS NULL OR ${sql})`);
    }
    if (bounds.lo) {
      where.push('(created_at, rowid) > (@lo_c, @lo_r)');
      Object.assign(params, { lo_c: bounds.lo.c, lo_r: bounds.lo.r });
    }
    if (bounds.hi) {
      where.push('(created_at, rowid) < (@hi_c, @hi_r)');
      Object.assign(params, { hi_c: bounds.hi.c, hi_r: bounds.hi.r });
    }
    const dir = bounds.nearestFirst;
    const rows = this.db
      .prepare<[Record<string, string | number | null>], Row>(
        `SELECT ${cols} FROM ${table} WHERE ${where.join(' AND ') || '1'} ORDER BY created_at ${dir}, rowid ${dir} LIMIT @limit`,
      )
      .all(params);
    // Selected nearest the cursor first: ascending in time when that is ASC.
    const ascending = dir === 'ASC' ? rows : rows.reverse();
    return { items: page.order === 'desc' ? ascending.reverse() : ascending };
  }

  // history

  appendHistory(agentId: string, runId: string, turns: HistoryTurn[]): void {
    if (turns.length === 0) return;
    this.appendHistoryTx(agentId, runId, turns);
  }

  getHistory(agentId: string, conversationId: string | null = null): HistoryTurn[] {
    return this.stmts.getHistory.all(agentId, conversationId).map(historyFromRow);
  }

  lastHistoryTurn(agentId: string, conversationId: string | null = null): HistoryTurn | null {
    const row = this.stmts.lastHistory.get(agentId, conversationId);
    return row ? historyFromRow(row) : null;
  }

  startUserTurn(start: UserTurnStart): boolean {
    return this.startUserTurnTx(start);
  }

  // frames

  /**
   * The journal's batch (consecutive seqs after the run's last row) is one statement, autocommit:
   * the row goes in unless a row of the run holds one of its seqs. Else (a replay of frames partly
   * stored, or a write with gaps) only the seqs no row holds, in a transaction.
   */
  appendRunFrames(runId: string, frames: readonly StoredFrame[]): void {
    const runs = consecutiveRuns(frames);
    if (runs.length === 0) return;
    const [only] = runs as [ConsecutiveFrames];
    if (runs.length === 1 && this.stmts.insertBatchIfFree.run({ run_id: runId, first: only.first, last: only.last, json: batchText(only) }).changes === 1) return;
    this.appendFramesTx.immediate(runId, runs);
  }

  listRunFrames(runId: string): StoredFrame[] {
    return unpackBatches(runId, this.stmts.listBatches.all(runId));
  }

  deleteRunFrames(runId: string): void {
    this.stmts.deleteBatches.run(runId);
  }

  pruneRunFrames(endedBefore: string): number {
    return this.stmts.pruneBatches.all(endedBefore).reduce((sum, r) => sum + r.n, 0);
  }

  // transitions

  appendRunTransitions(runId: string, transitions: readonly RunTransition[]): void {
    if (transitions.length === 0) return;
    this.appendTransitionsTx(runId, transitions);
  }

  listRunTransitions(runId: string): RunTransition[] {
    return this.stmts.listTransitions.all(runId).map(transitionFromRow);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** better-sqlite3's error for a lock another connection holds (SQLITE_BUSY and its extended codes). */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The async `Store` over one connection's synchronous statements. `run` decides how a statement
 * is run: here (a transaction's view) at once, inside the transaction; `SqliteStore`'s own calls
 * wait for an open transaction to end first.
 */
class SqliteView implements Store {
  constructor(protected readonly conn: SqliteConnection) {}

  protected async run<T>(statement: () => T): Promise<T> {
    return statement();
  }

  createAgent(agent: AgentRecord) { return this.run(() => this.conn.createAgent(agent)); }
  getAgent(id: string) { return this.run(() => this.conn.getAgent(id)); }
  getAgentByName(name: string) { return this.run(() => this.conn.getAgentByName(name)); }
  listAgents() { return this.run(() => this.conn.listAgents()); }
  updateAgentConfig(agent: AgentRecord) { return this.run(() => this.conn.updateAgentConfig(agent)); }
  deleteAgent(id: string) { return this.run(() => this.conn.deleteAgent(id)); }
  casTurnState(scope: TurnScope, from: TurnExpectation, to: TurnState) { return this.run(() => this.conn.casTurnState(scope, from, to)); }
  releaseAgent(id: string, runId: string, pending: PendingToolCall[] | null) { return this.run(() => this.conn.releaseAgent(id, runId, pending)); }
  listBlocks(agentId: string) { return this.run(() => this.conn.listBlocks(agentId)); }
  getBlock(agentId: string, label: string) { return this.run(() => this.conn.getBlock(agentId, label)); }
  putBlock(block: MemoryBlock) { return this.run(() => this.conn.putBlock(block)); }
  createConversation(c: ConversationRecord) { return this.run(() => this.conn.createConversation(c)); }
  getConversation(id: string) { return this.run(() => this.conn.getConversation(id)); }
  pageConversations(page: PageRequest, filter?: { agentId?: string | undefined; summaryText?: string | undefined }) {
    return this.run(() => this.conn.pageConversations(page, filter));
  }
  updateConversationSummary(id: string, summary: string | null) { return this.run(() => this.conn.updateConversationSummary(id, summary)); }
  deleteConversation(id: string) { return this.run(() => this.conn.deleteConversation(id)); }
  createRun(run: RunRecord) { return this.run(() => this.conn.createRun(run)); }
  getRun(id: string) { return this.run(() => this.conn.getRun(id)); }
  listRuns(agentId: string, limit?: number, conversationId?: string | null) { return this.run(() => this.conn.listRuns(agentId, limit, conversationId)); }
  finishRun(id: string, status: RunStatus, stopReason: StopReasonType, usage: UsageTotals | null, error: string | null) {
    return this.run(() => this.conn.finishRun(id, status, stopReason, usage, error));
  }
  failInterruptedRuns(reason: string, ownerId: string | null) { return this.run(() => this.conn.failInterruptedRuns(reason, ownerId)); }
  runningOwners() { return this.run(() => this.conn.runningOwners()); }
  requestCancel(runId: string) { return this.run(() => this.conn.requestCancel(runId)); }
  holdRun(runId: string, ownerId: string) { return this.run(() => this.conn.holdRun(runId, ownerId)); }
  renewLease(instanceId: string, leaseUntil: string) { return this.run(() => this.conn.renewLease(instanceId, leaseUntil)); }
  claimSetting(key: string, value: string) { return this.run(() => this.conn.claimSetting(key, value)); }
  expiredOwners(at: string) { return this.run(() => this.conn.expiredOwners(at)); }
  dropLease(instanceId: string) { return this.run(() => this.conn.dropLease(instanceId)); }
  appendMessages(runId: string, agentId: string, messages: LettaMessage[]) { return this.run(() => this.conn.appendMessages(runId, agentId, messages)); }
  listRunMessages(runId: string) { return this.run(() => this.conn.listRunMessages(runId)); }
  listAgentMessages(agentId: string, limit?: number) { return this.run(() => this.conn.listAgentMessages(agentId, limit)); }
  pageMessages(scope: MessageScope, page: PageRequest, types?: readonly string[]) { return this.run(() => this.conn.pageMessages(scope, page, types)); }
  pageAgents(page: PageRequest, filter?: AgentFilter) { return this.run(() => this.conn.pageAgents(page, filter)); }
  pageRuns(page: PageRequest, filter?: RunFilter) { return this.run(() => this.conn.pageRuns(page, filter)); }
  appendHistory(agentId: string, runId: string, turns: HistoryTurn[]) { return this.run(() => this.conn.appendHistory(agentId, runId, turns)); }
  getHistory(agentId: string, conversationId?: string | null) { return this.run(() => this.conn.getHistory(agentId, conversationId)); }
  lastHistoryTurn(agentId: string, conversationId?: string | null) { return this.run(() => this.conn.lastHistoryTurn(agentId, conversationId)); }
  startUserTurn(start: UserTurnStart) { return this.run(() => this.conn.startUserTurn(start)); }
  appendRunFrames(runId: string, frames: readonly StoredFrame[]) { return this.run(() => this.conn.appendRunFrames(runId, frames)); }
  listRunFrames(runId: string) { return this.run(() => this.conn.listRunFrames(runId)); }
  deleteRunFrames(runId: string) { return this.run(() => this.conn.deleteRunFrames(runId)); }
  pruneRunFrames(endedBefore: string) { return this.run(() => this.conn.pruneRunFrames(endedBefore)); }
  appendRunTransitions(runId: string, transitions: readonly RunTransition[]) { return this.run(() => this.conn.appendRunTransitions(runId, transitions)); }
  listRunTransitions(runId: string) { return this.run(() => this.conn.listRunTransitions(runId)); }

  /** Inside a transaction already (the view): nested, it just runs inline. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return fn(this);
  }

  /** A transaction's view does not close the connection. */
  async close(): Promise<void> {}
}

/**
 * The embedded default `Store`: one SQLite file (WAL) through better-sqlite3, whose calls are
 * synchronous. A transaction spans awaits (`BEGIN IMMEDIATE` … `COMMIT` on the connection), so
 * while one is open every other call on this store waits for its end (an async mutex, `FifoLock`:
 * first come, first served, and time-sliced so a burst of calls does not hold the event loop), and
 * transactions run one after another. A lock held by another connection (another store on the
 * same file) is waited for without blocking the event loop: the connection's busy timeout is 0
 * and a busy statement is retried on a timer, up to `busyTimeoutMs`.
 */
export class SqliteStore extends SqliteView {
  readonly file: string;
  /** Held while a transaction is open; calls that find it held wait their turn, in order. */
  private readonly lock: FifoLock;
  private readonly busyTimeoutMs: number;
  private readonly txView: SqliteView;
  /** Prepared once: a run makes a few transactions, parsing these each time shows in profiles. */
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  constructor(options: SqliteStoreOptions) {
    const conn = new SqliteConnection(options);
    super(conn);
    this.file = conn.file;
    this.busyTimeoutMs = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
    this.lock = new FifoLock(options.sliceMs);
    // Opened and migrated with a blocking wait; from now on a lock is waited for on a timer.
    conn.db.pragma('busy_timeout = 0');
    this.txView = new SqliteView(conn);
    this.begin = conn.db.prepare('BEGIN IMMEDIATE');
    this.commit = conn.db.prepare('COMMIT');
    this.rollback = conn.db.prepare('ROLLBACK');
  }

  /** A statement outside any transaction: after the open one ends; a busy lock is retried. */
  protected override async run<T>(statement: () => T): Promise<T> {
    // The usual case first: no transaction open (nor a call waiting), no lock held elsewhere.
    if (this.lock.tryNow()) {
      try {
        return statement();
      } catch (err) {
        if (!isBusy(err)) throw err;
      }
    }
    return this.retryBusy(async () => {
      await this.lock.acquire();
      try {
        return statement();
      } finally {
        this.lock.release();
      }
    });
  }

  /** Runs `attempt` again while another connection holds the lock, backing off, up to the busy timeout. */
  private async retryBusy<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        return await attempt();
      } catch (err) {
        if (!isBusy(err) || Date.now() >= deadline) throw err;
      }
      await sleep(delay);
    }
  }

  override async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    await this.retryBusy(async () => {
      await this.lock.acquire();
      try {
        this.begin.run();
      } catch (err) {
        this.lock.release(); // a busy file is waited for without holding up this store's other calls
        throw err;
      }
    });
    try {
      const result = await fn(this.txView);
      this.commit.run();
      return result;
    } catch (err) {
      // A failed COMMIT may have ended the transaction already.
      if (this.conn.db.inTransaction) this.rollback.run();
      throw err;
    } finally {
      this.lock.release();
    }
  }

  override async close(): Promise<void> {
    await this.lock.acquire();
    try {
      this.conn.close();
    } finally {
      this.lock.release();
    }
  }
}

/** Opens (creating if needed) `${dataDir}/letta-stream.db`; creates `dataDir` recursively. */
export function openSqliteStore(dataDir: string): SqliteStore {
  fs.mkdirSync(dataDir, { recursive: true });
  return new SqliteStore({ file: path.join(dataDir, SQLITE_FILE_NAME) });
}

// ---- schema -----------------------------------------------------------------------------------

function userVersion(db: Database.Database): number {
  const v = db.pragma('user_version', { simple: true });
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new StoreError('store_corrupt', `store: unreadable user_version ${JSON.stringify(v)}`);
  }
  return v;
}

/** Refuse files written by newer code (a schema this code cannot know); returns the file's version. */
function checkVersion(db: Database.Database, file: string): number {
  const current = userVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new StoreError(
      'store_version',
      `store: ${file} has schema version ${current}, newer than the ${SCHEMA_VERSION} this version of letta-stream knows; ` +
        'upgrade letta-stream or point it at another data directory',
    );
  }
  return current;
}

/** Bring a file at version `current` up to SCHEMA_VERSION, one transaction per migration. */
function migrate(db: Database.Database, current: number): void {
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}

const AGENT_COLS =
  'id, name, model, system, tools, requires_approval_tools, tags, interface_mode, max_steps, state, active_run_id, pending_tool_calls, created_at, updated_at';
const RUN_COLS = 'id, agent_id, conversation_id, status, stop_reason, usage, error, created_at, completed_at, owner_id, cancel_requested_at';
const CONVERSATION_COLS = 'id, agent_id, summary, state, active_run_id, pending_tool_calls, created_at, updated_at';

function prepareStatements(db: Database.Database): Statements {
  const agentCols = AGENT_COLS;
  const runCols = RUN_COLS;
  return {
    insertAgent: db.prepare<[AgentRow]>(
      `INSERT INTO agents (${agentCols}) VALUES (@id, @name, @model, @system, @tools, @requires_approval_tools, @tags,
         @interface_mode, @max_steps, @state, @active_run_id, @pending_tool_calls, @created_at, @updated_at)`,
    ),
    getAgent: db.prepare<[string], AgentRow>(`SELECT ${agentCols} FROM agents WHERE id = ?`),
    getAgentByName: db.prepare<[string], AgentRow>(
      `SELECT ${agentCols} FROM agents WHERE name = ? ORDER BY created_at, rowid LIMIT 1`,
    ),
    listAgents: db.prepare<[], AgentRow>(`SELECT ${agentCols} FROM agents ORDER BY created_at, rowid`),
    // IS: NULL matches NULL (an idle conversation has no run).
    casAgent: db.prepare<[CasParams]>(
      `UPDATE agents SET state = @state, active_run_id = @active_run_id, pending_tool_calls = @pending_tool_calls,
         updated_at = @updated_at WHERE id = @id AND @agent_id = @id AND state = @from_state AND active_run_id IS @from_run_id`,
    ),
    releaseAgent: db.prepare<[{ id: string; run_id: string; state: string; active_run_id: string | null; pending_tool_calls: string; updated_at: string }]>(
      `UPDATE agents SET state = @state, active_run_id = @active_run_id, pending_tool_calls = @pending_tool_calls,
         updated_at = @updated_at WHERE id = @id AND state = 'running' AND active_run_id = @run_id`,
    ),

    insertRun: db.prepare<[RunRow]>(
      `INSERT INTO runs (${runCols}) VALUES (@id, @agent_id, @conversation_id, @status, @stop_reason, @usage, @error, @created_at, @completed_at,
         @owner_id, @cancel_requested_at)`,
    ),
    getRun: db.prepare<[string], RunRow>(`SELECT ${runCols} FROM runs WHERE id = ?`),
    listRuns: db.prepare<[string, number], RunRow>(
      `SELECT ${runCols} FROM runs WHERE agent_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ),
    listConversationRuns: db.prepare<[{ agent_id: string; conversation_id: string | null; limit: number }], RunRow>(
      `SELECT ${runCols} FROM runs WHERE agent_id = @agent_id AND conversation_id IS @conversation_id ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
    ),
    runConversation: db.prepare<[string], { conversation_id: string | null }>('SELECT conversation_id FROM runs WHERE id = ?'),
    insertConversation: db.prepare<[ConversationRow]>(
      `INSERT INTO conversations (${CONVERSATION_COLS}) VALUES (@id, @agent_id, @summary, @state, @active_run_id, @pending_tool_calls, @created_at, @updated_at)`,
    ),
    getConversation: db.prepare<[string], ConversationRow>(`SELECT ${CONVERSATION_COLS} FROM conversations WHERE id = ?`),
    casConversation: db.prepare<[CasParams]>(
      `UPDATE conversations SET state = @state, active_run_id = @active_run_id, pending_tool_calls = @pending_tool_calls,
         updated_at = @updated_at WHERE id = @id AND agent_id = @agent_id AND state = @from_state AND active_run_id IS @from_run_id`,
    ),
    releaseConversation: db.prepare<[{ id: string; run_id: string; state: string; active_run_id: string | null; pending_tool_calls: string; updated_at: string }]>(
      `UPDATE conversations SET state = @state, active_run_id = @active_run_id, pending_tool_calls = @pending_tool_calls,
         updated_at = @updated_at WHERE id = @id AND state = 'running' AND active_run_id = @run_id`,
    ),
    // Held by a run that is not running (any more): let go.
    releaseOrphanedConversations: db.prepare<[string]>(
      `UPDATE conversations SET state = 'idle', active_run_id = NULL, pending_tool_calls = '[]', updated_at = ?
         WHERE state = 'running' AND (active_run_id IS NULL OR active_run_id NOT IN (SELECT id FROM runs WHERE status = 'running'))`,
    ),
    finishRun: db.prepare<[{ id: string; status: string; stop_reason: string; usage: string | null; error: string | null; completed_at: string }]>(
      `UPDATE runs SET status = @status, stop_reason = @stop_reason, usage = @usage, error = @error,
         completed_at = @completed_at, owner_id = NULL WHERE id = @id AND status = 'running'`,
    ),
    runningRunIds: db.prepare<[string | null], IdRow>(`SELECT id FROM runs WHERE status = 'running' AND owner_id IS ? ORDER BY created_at, rowid`),
    failRunning: db.prepare<[{ error: string; completed_at: string; owner_id: string | null }]>(
      `UPDATE runs SET status = 'failed', stop_reason = 'error', error = @error, completed_at = @completed_at, owner_id = NULL
         WHERE status = 'running' AND owner_id IS @owner_id`,
    ),
    releaseOrphanedAgents: db.prepare<[string]>(
      `UPDATE agents SET state = 'idle', active_run_id = NULL, pending_tool_calls = '[]', updated_at = ?
         WHERE state = 'running' AND (active_run_id IS NULL OR active_run_id NOT IN (SELECT id FROM runs WHERE status = 'running'))`,
    ),
    runningOwners: db.prepare<[], { owner_id: string | null }>(`SELECT DISTINCT owner_id FROM runs WHERE status = 'running'`),
    holdRun: db.prepare<[string, string], { id: string }>(`SELECT id FROM runs WHERE id = ? AND status = 'running' AND owner_id = ?`),
    requestCancel: db.prepare<[string, string]>(
      `UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE id = ? AND status = 'running'`,
    ),
    renewLease: db.prepare<[string, string]>(
      'INSERT INTO instances (id, lease_until) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until',
    ),
    cancelsOf: db.prepare<[string], { id: string }>(
      `SELECT id FROM runs WHERE owner_id = ? AND status = 'running' AND cancel_requested_at IS NOT NULL`,
    ),
    claimSetting: db.prepare<[string, string]>('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
    expiredOwners: db.prepare<[string], { owner_id: string }>(
      `SELECT DISTINCT r.owner_id FROM runs r LEFT JOIN instances i ON i.id = r.owner_id
         WHERE r.status = 'running' AND r.owner_id IS NOT NULL AND (i.id IS NULL OR i.lease_until < ?) ORDER BY r.owner_id`,
    ),
    dropLease: db.prepare<[string]>('DELETE FROM instances WHERE id = ?'),

    // A part joins its stored message's group; the first part of a message starts one (setGroupPos).
    // A message and a history turn join their run's conversation.
    insertMessage: db.prepare<[string, string, string, string, string, string, string]>(
      `INSERT INTO messages (run_id, agent_id, message, message_id, message_type, group_pos, conversation_id)
         VALUES (?, ?, ?, ?, ?, (SELECT g.group_pos FROM messages g WHERE g.message_id = ? LIMIT 1), (SELECT r.conversation_id FROM runs r WHERE r.id = ?))`,
    ),
    setGroupPos: db.prepare<[number | bigint]>('UPDATE messages SET group_pos = position WHERE position = ? AND group_pos IS NULL'),
    listRunMessages: db.prepare<[string], MessageRow>(
      'SELECT position, message FROM messages WHERE run_id = ? ORDER BY position',
    ),
    listAgentMessages: db.prepare<[string, number], MessageRow>(
      `SELECT position, message FROM (
         SELECT position, message FROM messages WHERE agent_id = ? ORDER BY position DESC LIMIT ?
       ) ORDER BY position`,
    ),

    insertHistory: db.prepare<[string, string, string, string, string]>(
      'INSERT INTO history (agent_id, run_id, role, content, conversation_id) VALUES (?, ?, ?, ?, (SELECT r.conversation_id FROM runs r WHERE r.id = ?))',
    ),
    getHistory: db.prepare<[string, string | null], HistoryRow>(
      'SELECT position, role, content FROM history WHERE agent_id = ? AND conversation_id IS ? ORDER BY position',
    ),
    lastHistory: db.prepare<[string, string | null], HistoryRow>(
      'SELECT position, role, content FROM history WHERE agent_id = ? AND conversation_id IS ? ORDER BY position DESC LIMIT 1',
    ),

    // Two index seeks, not a scan of the run's rows: no row starts within the batch, and the row
    // before it (rows do not overlap) ends before it.
    insertBatchIfFree: db.prepare<[BatchParams]>(
      `INSERT INTO run_frame_batches (run_id, first_seq, last_seq, json)
       SELECT @run_id, @first, @last, @json
        WHERE NOT EXISTS (SELECT 1 FROM run_frame_batches WHERE run_id = @run_id AND first_seq BETWEEN @first AND @last)
          AND NOT EXISTS (SELECT 1 FROM (SELECT last_seq FROM run_frame_batches WHERE run_id = @run_id AND first_seq < @first ORDER BY first_seq DESC LIMIT 1)
                           WHERE last_seq >= @first)`,
    ),
    insertBatch: db.prepare<[BatchParams]>('INSERT INTO run_frame_batches (run_id, first_seq, last_seq, json) VALUES (@run_id, @first, @last, @json)'),
    overlappingBatches: db.prepare<[string, number, number], SeqRange>(
      'SELECT first_seq AS first, last_seq AS last FROM run_frame_batches WHERE run_id = ? AND first_seq <= ? AND last_seq >= ? ORDER BY first_seq',
    ),
    listBatches: db.prepare<[string], FrameBatchRow>(LIST_FRAME_BATCHES_SQL),
    deleteBatches: db.prepare<[string]>('DELETE FROM run_frame_batches WHERE run_id = ?'),
    pruneBatches: db.prepare<[string], { n: number }>(
      `DELETE FROM run_frame_batches WHERE run_id IN (
         SELECT id FROM runs WHERE status <> 'running' AND completed_at IS NOT NULL AND completed_at < ?
       ) RETURNING last_seq - first_seq + 1 AS n`,
    ),

    insertTransition: db.prepare<[TransitionRow & { run_id: string }]>(
      `INSERT OR IGNORE INTO run_transitions (run_id, seq, at, run_state, step_state, seq_id)
         VALUES (@run_id, @seq, @at, @run_state, @step_state, @seq_id)`,
    ),
    listTransitions: db.prepare<[string], TransitionRow>(LIST_TRANSITIONS_SQL),
  };
}
