import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { LettaMessage, RunStatus, StopReasonType } from '../letta/frames.js';
import { batchText, consecutiveRuns, uncovered, unpackBatches, type ConsecutiveFrames, type FrameBatchRow, type SeqRange } from './frame-batches.js';
import { SchemaTooNewError, migratePg } from './pg-migrations.js';
import { WriteCoalescer } from './write-coalescer.js';
import {
  AGENT_COLS,
  BLOCK_COLS,
  CONVERSATION_COLS,
  DEFAULT_AGENT_MESSAGE_LIMIT,
  DEFAULT_RUN_LIMIT,
  RUN_COLS,
  StoreError,
  TERMINAL_STATUSES,
  agentFromRow,
  agentValues,
  blockFromRow,
  checkLimit,
  conversationFromRow,
  cursorBounds,
  historyFromRow,
  isRole,
  messageFromRow,
  now,
  runRecord,
  transitionFromRow,
  type AgentRow,
  type BlockRow,
  type ConversationRow,
  type DatabaseErrorCode,
  type HistoryRow,
  type MessageRow,
  type RunRow,
  type StoreErrorCode,
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

export type PgStoreErrorCode = DatabaseErrorCode | StoreErrorCode;
/** The PostgreSQL store's errors: the shared `StoreError`, with the `database_*` codes besides. */
export type PgStoreError = StoreError<PgStoreErrorCode>;
export const PgStoreError = StoreError;

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Above every BIGSERIAL value: the open upper bound of a message page. */
const MAX_BIGINT = '9223372036854775807';

type Param = string | number | boolean | null | readonly (string | null)[] | readonly number[];

/** A pool (each statement on any free connection) or one checked-out client (a transaction). */
interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: Param[]): Promise<pg.QueryResult<R>>;
}

export interface PgStoreOptions {
  /**
   * How long connecting may take before `database_unreachable` (ms). pg applies it to waiting for
   * a free pooled connection too: a statement queued that long behind `maxConnections` busy ones fails.
   */
  connectTimeoutMs?: number;
  /** Connections in the pool. */
  maxConnections?: number;
  /** Errors of idle pooled connections (the server restarted, …); pg would otherwise crash the process. */
  onIdleError?: (err: Error) => void;
  /** Opt-in (the benchmark's `LETTA_STREAM_DEBUG_STATS`): counts every SQL statement sent, on any connection. */
  queryCounter?: { queries: number; queryMs?: number };
}

/**
 * Connections apart from the pool, one each: the journals' group commit (one statement in flight
 * at a time) and the lease heartbeat. A burst of statements queued for the pool (hundreds of
 * starts at once) then delays neither the frames being journaled — a write that waits longer than
 * the connect timeout fails its runs — nor the heartbeat — a lease not renewed for 5 s makes
 * another instance fail all of this instance's runs.
 */
interface Lanes {
  journal: pg.Pool;
  lease: pg.Pool;
}

/** Journal rows of one run (frames, state changes or both). */
interface JournalWrite {
  runId: string;
  frames: readonly StoredFrame[];
  transitions: readonly RunTransition[];
}

/** One row of run_frame_batches to write: seqs first … last of `frames`. */
interface BatchRow extends SeqRange {
  runId: string;
  frames: ConsecutiveFrames;
}

/**
 * The batch rows of these writes, in order. A seq that two of them write (one statement does not
 * see its own rows) goes with the first, as it would have were they written one after the other.
 */
function batchRows(writes: readonly JournalWrite[]): BatchRow[] {
  const rows: BatchRow[] = [];
  const claimed = new Map<string, SeqRange[]>();
  for (const w of writes) {
    if (w.frames.length === 0) continue;
    let mine = claimed.get(w.runId);
    if (!mine) claimed.set(w.runId, (mine = []));
    for (const run of consecutiveRuns(w.frames)) {
      const free = mine.length === 0 ? [run] : uncovered(run.first, run.last, mine);
      for (const f of free) {
        rows.push({ runId: w.runId, first: f.first, last: f.last, frames: run });
        mine.push({ first: f.first, last: f.last });
      }
    }
  }
  return rows;
}

/**
 * Inserts the batch rows given as four arrays (run ids, first and last seqs, texts) whose seqs no
 * row of their run holds yet, and returns the ones inserted. Two index seeks per row: no row
 * starts within it, and the row before it ends before it (rows do not overlap).
 */
function insertFreeBatchesSql(runIds: string, firsts: string, lasts: string, texts: string): string {
  return `INSERT INTO run_frame_batches (run_id, first_seq, last_seq, json)
    SELECT b.run_id, b.first_seq, b.last_seq, b.json
      FROM unnest(${runIds}::text[], ${firsts}::int[], ${lasts}::int[], ${texts}::text[]) AS b(run_id, first_seq, last_seq, json)
     WHERE NOT EXISTS (SELECT 1 FROM run_frame_batches x WHERE x.run_id = b.run_id AND x.first_seq BETWEEN b.first_seq AND b.last_seq)
       AND NOT EXISTS (SELECT 1 FROM (SELECT x.last_seq FROM run_frame_batches x WHERE x.run_id = b.run_id AND x.first_seq < b.first_seq ORDER BY x.first_seq DESC LIMIT 1) prev
                        WHERE prev.last_seq >= b.first_seq)
    ON CONFLICT (run_id, first_seq) DO NOTHING
    RETURNING run_id, first_seq`;
}

/** A run's record as this store returns it: `ownerId` and `cancelRequestedAt` null, not left out, while NULL. */
function runFromRow(row: RunRow): RunRecord {
  return runRecord(row, 'keep');
}

/** `keyOf` for both cursors of a page (only those given are looked up). */
async function cursorKeys<K>(page: PageRequest, keyOf: (cursor: string) => Promise<K | null>): Promise<[K | null | undefined, K | null | undefined]> {
  const after = page.after === undefined ? undefined : await keyOf(page.after);
  const before = page.before === undefined ? undefined : await keyOf(page.before);
  return [after, before];
}

/** Placeholders for a growing parameter list: `p(value)` appends it and returns `$n`. */
function params(): { values: Param[]; p: (v: Param) => string } {
  const values: Param[] = [];
  return { values, p: (v) => (values.push(v), `$${values.length}`) };
}

/**
 * Texts as `ARRAY[$n, …]`, one parameter each. A JS array parameter would be sent as an array
 * literal, which `pg` builds by escaping every quote and backslash of every element in JS — for
 * frames' JSON (mostly quotes), most of the journal's CPU on the instance; a text parameter is
 * sent as it is. (The coalescer's at most 1,000 writes stay far below the 65,535 parameters.)
 */
function textArray(p: (v: Param) => string, texts: readonly string[]): string {
  return `ARRAY[${texts.map((t) => p(t)).join(', ')}]`;
}

/**
 * The PostgreSQL `Store`: many instances share one database. Every statement goes through a
 * `Queryable`: the pool, or inside `transaction` the one client that holds the transaction.
 * Races between instances are settled by conditional writes (`UPDATE … WHERE <expected>`): under
 * READ COMMITTED a second writer waits for the first's row lock, then re-checks the condition
 * on the committed row and changes nothing.
 */
export class PgStore implements Store {
  private closing: Promise<void> | null = null;
  /** The journals' group commit (the pool's store only: a transaction's view writes on its connection). */
  private readonly journal: WriteCoalescer<JournalWrite> | null;

  /** Use `openPgStore`: it checks the URL, connects and migrates. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly db: Queryable = pool,
    private readonly inTransaction = false,
    /** Connections of their own (absent: the pool's). */
    private readonly lanes: Lanes | null = null,
  ) {
    const journalDb = lanes?.journal ?? pool;
    this.journal = inTransaction ? null : new WriteCoalescer<JournalWrite>((ws) => this.writeJournal(ws, journalDb), (w) => this.writeJournal([w], journalDb));
  }

  /** The heartbeat's statements: on their own connection outside a transaction, never queued behind the pool's. */
  private get leaseDb(): Queryable {
    return this.inTransaction ? this.db : (this.lanes?.lease ?? this.db);
  }

  private async rows<R extends pg.QueryResultRow>(sql: string, values: Param[] = []): Promise<R[]> {
    return (await this.db.query<R>(sql, values)).rows;
  }

  private async changed(sql: string, values: Param[]): Promise<number> {
    return (await this.db.query(sql, values)).rowCount ?? 0;
  }

  // agents

  async createAgent(agent: AgentRecord): Promise<void> {
    await this.db.query(`INSERT INTO agents (${AGENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, agentValues(agent));
  }

  async getAgent(id: string): Promise<AgentRecord | null> {
    const [row] = await this.rows<AgentRow>(`SELECT ${AGENT_COLS} FROM agents WHERE id = $1`, [id]);
    return row ? agentFromRow(row) : null;
  }

  async getAgentByName(name: string): Promise<AgentRecord | null> {
    const [row] = await this.rows<AgentRow>(`SELECT ${AGENT_COLS} FROM agents WHERE name = $1 ORDER BY created_at, position LIMIT 1`, [name]);
    return row ? agentFromRow(row) : null;
  }

  async listAgents(): Promise<AgentRecord[]> {
    return (await this.rows<AgentRow>(`SELECT ${AGENT_COLS} FROM agents ORDER BY created_at, position`)).map(agentFromRow);
  }

  async updateAgentConfig(agent: AgentRecord): Promise<void> {
    // Only the configuration columns: turn state belongs to casTurnState.
    const n = await this.changed(
      `UPDATE agents SET name = $2, model = $3, system = $4, tools = $5, requires_approval_tools = $6, tags = $7,
         interface_mode = $8, max_steps = $9, updated_at = $10 WHERE id = $1`,
      [
        agent.id,
        agent.name,
        agent.model,
        agent.system,
        JSON.stringify(agent.tools),
        JSON.stringify(agent.requiresApprovalTools),
        JSON.stringify(agent.tags),
        agent.interfaceMode,
        agent.maxSteps,
        now(),
      ],
    );
    if (n === 0) throw new PgStoreError('store_not_found', `store: no agent ${agent.id}`);
  }

  async deleteAgent(id: string): Promise<boolean> {
    // blocks, conversations, runs, messages, history, frames, transitions go with it (ON DELETE CASCADE)
    return (await this.changed('DELETE FROM agents WHERE id = $1', [id])) > 0;
  }

  // turn state

  async casTurnState(scope: TurnScope, from: TurnExpectation, to: TurnState): Promise<boolean> {
    const values: Param[] = [from.state, from.activeRunId, to.state, to.activeRunId, JSON.stringify(to.pendingToolCalls), now()];
    const set = 'SET state = $3, active_run_id = $4, pending_tool_calls = $5, updated_at = $6';
    const expected = 'state = $1 AND active_run_id IS NOT DISTINCT FROM $2::text';
    const n =
      scope.conversationId === null
        ? await this.changed(`UPDATE agents ${set} WHERE id = $7 AND ${expected}`, [...values, scope.agentId])
        : await this.changed(`UPDATE conversations ${set} WHERE id = $7 AND agent_id = $8 AND ${expected}`, [...values, scope.conversationId, scope.agentId]);
    return n > 0;
  }

  async releaseAgent(id: string, runId: string, pending: PendingToolCall[] | null): Promise<boolean> {
    // The run's conversation holds the turn (its agent's row for the default conversation).
    const [run] = await this.rows<{ conversation_id: string | null }>('SELECT conversation_id FROM runs WHERE id = $1', [runId]);
    const conversationId = run?.conversation_id ?? null;
    const n = await this.changed(
      `UPDATE ${conversationId ? 'conversations' : 'agents'} SET state = $3, active_run_id = $4, pending_tool_calls = $5, updated_at = $6
         WHERE id = $1 AND state = 'running' AND active_run_id = $2`,
      [conversationId ?? id, runId, pending ? 'awaitingApproval' : 'idle', pending ? runId : null, JSON.stringify(pending ?? []), now()],
    );
    return n > 0;
  }

  // memory blocks

  async listBlocks(agentId: string): Promise<MemoryBlock[]> {
    return (await this.rows<BlockRow>(`SELECT ${BLOCK_COLS} FROM blocks WHERE agent_id = $1 ORDER BY position`, [agentId])).map(blockFromRow);
  }

  async getBlock(agentId: string, label: string): Promise<MemoryBlock | null> {
    const [row] = await this.rows<BlockRow>(`SELECT ${BLOCK_COLS} FROM blocks WHERE agent_id = $1 AND label = $2`, [agentId, label]);
    return row ? blockFromRow(row) : null;
  }

  async putBlock(b: MemoryBlock): Promise<void> {
    // Replacing by label keeps the row, hence its id, position and created_at.
    await this.db.query(
      `INSERT INTO blocks (${BLOCK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (agent_id, label) DO UPDATE SET value = excluded.value, char_limit = excluded.char_limit,
         description = excluded.description, read_only = excluded.read_only, updated_at = excluded.updated_at`,
      [b.id, b.agentId, b.label, b.value, b.limit, b.description, b.readOnly, b.createdAt, b.updatedAt],
    );
  }

  // conversations

  async createConversation(c: ConversationRecord): Promise<void> {
    await this.db.query(`INSERT INTO conversations (${CONVERSATION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      c.id,
      c.agentId,
      c.summary,
      c.state,
      c.activeRunId,
      JSON.stringify(c.pendingToolCalls),
      c.createdAt,
      c.updatedAt,
    ]);
  }

  async getConversation(id: string): Promise<ConversationRecord | null> {
    const [row] = await this.rows<ConversationRow>(`SELECT ${CONVERSATION_COLS} FROM conversations WHERE id = $1`, [id]);
    return row ? conversationFromRow(row) : null;
  }

  async pageConversations(
    page: PageRequest,
    filter: { agentId?: string | undefined; summaryText?: string | undefined } = {},
  ): Promise<Page<ConversationRecord>> {
    const rows = await this.pageByCreation<ConversationRow>('conversations', CONVERSATION_COLS, page, [
      [filter.agentId, (p) => `agent_id = ${p}`],
      [filter.summaryText, (p) => `strpos(lower(summary), lower(${p})) > 0`],
    ]);
    return 'unknownCursor' in rows ? rows : { items: rows.items.map(conversationFromRow) };
  }

  async updateConversationSummary(id: string, summary: string | null): Promise<void> {
    const n = await this.changed('UPDATE conversations SET summary = $2, updated_at = $3 WHERE id = $1', [id, summary, now()]);
    if (n === 0) throw new PgStoreError('store_not_found', `store: no conversation ${id}`);
  }

  async deleteConversation(id: string): Promise<boolean> {
    return (await this.changed('DELETE FROM conversations WHERE id = $1', [id])) > 0;
  }

  // runs

  async createRun(run: RunRecord): Promise<void> {
    await this.db.query(`INSERT INTO runs (${RUN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, [
      run.id,
      run.agentId,
      run.conversationId ?? null,
      run.status,
      run.stopReason,
      run.usage === null ? null : JSON.stringify(run.usage),
      run.error,
      run.createdAt,
      run.completedAt,
      run.ownerId ?? null,
      run.cancelRequestedAt ?? null,
    ]);
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const [row] = await this.rows<RunRow>(`SELECT ${RUN_COLS} FROM runs WHERE id = $1`, [id]);
    return row ? runFromRow(row) : null;
  }

  async listRuns(agentId: string, limit: number = DEFAULT_RUN_LIMIT, conversationId?: string | null): Promise<RunRecord[]> {
    checkLimit(limit, 'listRuns');
    const rows =
      conversationId === undefined
        ? await this.rows<RunRow>(`SELECT ${RUN_COLS} FROM runs WHERE agent_id = $1 ORDER BY created_at DESC, position DESC LIMIT $2`, [agentId, limit])
        : await this.rows<RunRow>(
            `SELECT ${RUN_COLS} FROM runs WHERE agent_id = $1 AND conversation_id IS NOT DISTINCT FROM $3::text
               ORDER BY created_at DESC, position DESC LIMIT $2`,
            [agentId, limit, conversationId],
          );
    return rows.map(runFromRow);
  }

  async finishRun(id: string, status: RunStatus, stopReason: StopReasonType, usage: UsageTotals | null, error: string | null): Promise<boolean> {
    if (!TERMINAL_STATUSES.has(status)) {
      throw new PgStoreError('store_invalid', `store: finishRun needs a terminal status, got ${JSON.stringify(status)}`);
    }
    // An ended run has no owner any more (RunRecord.ownerId).
    const n = await this.changed(
      `UPDATE runs SET status = $2, stop_reason = $3, usage = $4, error = $5, completed_at = $6, owner_id = NULL
         WHERE id = $1 AND status = 'running'`,
      [id, status, stopReason, usage === null ? null : JSON.stringify(usage), error, now()],
    );
    return n > 0;
  }

  async failInterruptedRuns(reason: string, ownerId: string | null): Promise<string[]> {
    // One statement, so atomic without a transaction: a sweeper that races another waits on the
    // runs' row locks, re-checks `status = 'running'` and skips them; each run fails once, and
    // only the sweeper that failed a run releases the turn it held.
    const rows = await this.rows<{ id: string }>(
      `WITH failed AS (
         UPDATE runs SET status = 'failed', stop_reason = 'error', error = $1, completed_at = $2, owner_id = NULL
           WHERE status = 'running' AND owner_id IS NOT DISTINCT FROM $3::text
           RETURNING id, created_at, position
       ), agents_released AS (
         UPDATE agents SET state = 'idle', active_run_id = NULL, pending_tool_calls = '[]', updated_at = $2
           WHERE state = 'running' AND active_run_id IN (SELECT id FROM failed)
       ), conversations_released AS (
         UPDATE conversations SET state = 'idle', active_run_id = NULL, pending_tool_calls = '[]', updated_at = $2
           WHERE state = 'running' AND active_run_id IN (SELECT id FROM failed)
       )
       SELECT id FROM failed ORDER BY created_at, position`,
      [reason, now(), ownerId],
    );
    return rows.map((r) => r.id);
  }

  async holdRun(runId: string, ownerId: string): Promise<boolean> {
    // FOR SHARE: a sweeper's `UPDATE … SET status = 'failed'` waits for the transaction holding it.
    const rows = await this.rows<{ id: string }>(`SELECT id FROM runs WHERE id = $1 AND status = 'running' AND owner_id = $2 FOR SHARE`, [runId, ownerId]);
    return rows.length > 0;
  }

  async requestCancel(runId: string): Promise<boolean> {
    // The first request's time stays: a repeated cancel is no news.
    const n = await this.changed(
      `UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, $2) WHERE id = $1 AND status = 'running'`,
      [runId, now()],
    );
    return n > 0;
  }

  /** The distinct owners of running runs (null: runs from before ownership). */
  async runningOwners(): Promise<Array<string | null>> {
    const rows = await this.rows<{ owner_id: string | null }>(`SELECT DISTINCT owner_id FROM runs WHERE status = 'running' ORDER BY owner_id NULLS FIRST`);
    return rows.map((r) => r.owner_id);
  }

  // leases

  async renewLease(instanceId: string, leaseUntil: string): Promise<string[]> {
    // One round trip per heartbeat: the upsert runs whatever the outer query returns.
    const { rows } = await this.leaseDb.query<{ id: string }>(
      `WITH lease AS (
         INSERT INTO instances (id, lease_until) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until
       )
       SELECT id FROM runs WHERE owner_id = $1 AND status = 'running' AND cancel_requested_at IS NOT NULL`,
      [instanceId, leaseUntil],
    );
    return rows.map((r) => r.id);
  }

  async claimSetting(key: string, value: string): Promise<string> {
    await this.db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    // A separate statement: it sees a concurrent first writer's row once that committed.
    const [row] = await this.rows<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    if (!row) throw new PgStoreError('store_corrupt', `store: setting ${key} vanished after it was written`);
    return row.value;
  }

  /**
   * Owners of running runs whose lease ended before `now`, and owners with no lease row at all
   * (it was dropped or never written: nobody vouches for the runs, so the instance counts as gone).
   */
  async expiredOwners(nowIso: string): Promise<string[]> {
    const { rows } = await this.leaseDb.query<{ owner_id: string }>(
      `SELECT DISTINCT r.owner_id FROM runs r LEFT JOIN instances i ON i.id = r.owner_id
         WHERE r.status = 'running' AND r.owner_id IS NOT NULL AND (i.id IS NULL OR i.lease_until < $1::timestamptz)
         ORDER BY r.owner_id`,
      [nowIso],
    );
    return rows.map((r) => r.owner_id);
  }

  async dropLease(instanceId: string): Promise<void> {
    await this.leaseDb.query('DELETE FROM instances WHERE id = $1', [instanceId]);
  }

  // messages

  async appendMessages(runId: string, agentId: string, messages: LettaMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.atomically(async (s) => {
      for (const m of messages) {
        // A part joins its stored message's group; the first part of a message starts one at its own position.
        await s.db.query(
          `INSERT INTO messages (position, run_id, agent_id, message, message_id, message_type, group_pos, conversation_id)
           SELECT n.p, $1, $2, $3, $4::text, $5,
                  COALESCE((SELECT g.group_pos FROM messages g WHERE g.message_id = $4::text LIMIT 1), n.p),
                  (SELECT r.conversation_id FROM runs r WHERE r.id = $1)
             FROM (SELECT nextval(pg_get_serial_sequence('messages', 'position')) AS p) n`,
          [runId, agentId, JSON.stringify(m), m.id, m.message_type],
        );
      }
    });
  }

  async listRunMessages(runId: string): Promise<LettaMessage[]> {
    return (await this.rows<MessageRow>('SELECT position, message FROM messages WHERE run_id = $1 ORDER BY position', [runId])).map(messageFromRow);
  }

  async listAgentMessages(agentId: string, limit: number = DEFAULT_AGENT_MESSAGE_LIMIT): Promise<LettaMessage[]> {
    const rows = await this.rows<MessageRow>(
      `SELECT position, message FROM (
         SELECT position, message FROM messages WHERE agent_id = $1 ORDER BY position DESC LIMIT $2
       ) last ORDER BY position`,
      [agentId, checkLimit(limit, 'listAgentMessages')],
    );
    return rows.map(messageFromRow);
  }

  async pageMessages(scope: MessageScope, page: PageRequest, types?: readonly string[]): Promise<Page<LettaMessage>> {
    // An agent's messages are its default conversation's; another conversation's are its own.
    const [column, value] =
      'agentId' in scope ? ['agent_id', scope.agentId] : 'conversationId' in scope ? ['conversation_id', scope.conversationId] : ['run_id', scope.runId];
    const inScope = `${column} = $1${'agentId' in scope ? ' AND conversation_id IS NULL' : ''}`;
    const groupOf = async (cursor: string): Promise<string | null> => {
      const [byId] = await this.rows<{ g: string }>(`SELECT group_pos AS g FROM messages WHERE ${inScope} AND message_id = $2 LIMIT 1`, [value, cursor]);
      if (byId) return byId.g;
      // An otid names its message (a scan of the scope's rows, only for a cursor that is no id).
      const [byOtid] = await this.rows<{ g: string }>(
        `SELECT group_pos AS g FROM messages WHERE ${inScope} AND (message::jsonb ->> 'otid') = $2 LIMIT 1`,
        [value, cursor],
      );
      return byOtid ? byOtid.g : null;
    };
    const bounds = cursorBounds(page, ...(await cursorKeys(page, groupOf)));
    if ('unknownCursor' in bounds) return bounds;
    const typed = '($4::text[] IS NULL OR message_type = ANY($4::text[]))';
    const rows = await this.rows<MessageRow>(
      `SELECT position, message FROM messages WHERE ${inScope} AND ${typed} AND group_pos IN (
         SELECT DISTINCT group_pos FROM messages WHERE ${inScope} AND group_pos > $2::bigint AND group_pos < $3::bigint AND ${typed}
         ORDER BY group_pos ${bounds.nearestFirst} LIMIT $5
       ) ORDER BY group_pos, position`,
      [value, bounds.lo ?? '-1', bounds.hi ?? MAX_BIGINT, types ? [...types] : null, checkLimit(page.limit, 'pageMessages')],
    );
    const items = rows.map(messageFromRow);
    return { items: page.order === 'desc' ? items.reverse() : items };
  }

  async pageAgents(page: PageRequest, filter: AgentFilter = {}): Promise<Page<AgentRecord>> {
    // tags are JSON text (kept byte for byte); jsonb only to test membership.
    const tags = filter.tags?.length ? [...filter.tags] : undefined;
    const rows = await this.pageByCreation<AgentRow>('agents', AGENT_COLS, page, [
      [filter.name, (p) => `name = ${p}`],
      [filter.queryText, (p) => `strpos(lower(name), lower(${p})) > 0`],
      [tags, (p) => (filter.matchAllTags ? `tags::jsonb @> to_jsonb(${p}::text[])` : `tags::jsonb ?| ${p}::text[]`)],
    ]);
    return 'unknownCursor' in rows ? rows : { items: rows.items.map(agentFromRow) };
  }

  async pageRuns(page: PageRequest, filter: RunFilter = {}): Promise<Page<RunRecord>> {
    const list = (v: readonly string[] | undefined) => (v ? [...v] : undefined);
    const rows = await this.pageByCreation<RunRow>('runs', RUN_COLS, page, [
      [list(filter.agentIds), (p) => `agent_id = ANY(${p}::text[])`],
      [list(filter.statuses), (p) => `status = ANY(${p}::text[])`],
      [filter.stopReason, (p) => `stop_reason = ${p}`],
      [filter.conversationId, (p) => `conversation_id = ${p}`],
    ]);
    return 'unknownCursor' in rows ? rows : { items: rows.items.map(runFromRow) };
  }

  /** A page of `table` by (created_at, position); each condition applies when its value is given. */
  private async pageByCreation<Row extends pg.QueryResultRow>(
    table: 'agents' | 'runs' | 'conversations',
    cols: string,
    page: PageRequest,
    conditions: Array<[string | string[] | undefined, (placeholder: string) => string]>,
  ): Promise<Page<Row>> {
    const keyOf = async (id: string) => (await this.rows<{ c: string; r: string }>(`SELECT created_at AS c, position AS r FROM ${table} WHERE id = $1`, [id]))[0] ?? null;
    const bounds = cursorBounds(page, ...(await cursorKeys(page, keyOf)));
    if ('unknownCursor' in bounds) return bounds;
    const { values, p } = params();
    const where: string[] = [];
    for (const [value, sql] of conditions) if (value !== undefined) where.push(`(${sql(p(value))})`);
    if (bounds.lo) where.push(`(created_at, position) > (${p(bounds.lo.c)}::text COLLATE "C", ${p(bounds.lo.r)}::bigint)`);
    if (bounds.hi) where.push(`(created_at, position) < (${p(bounds.hi.c)}::text COLLATE "C", ${p(bounds.hi.r)}::bigint)`);
    const dir = bounds.nearestFirst;
    const rows = await this.rows<Row>(
      `SELECT ${cols} FROM ${table} WHERE ${where.join(' AND ') || 'TRUE'} ORDER BY created_at ${dir}, position ${dir} LIMIT ${p(checkLimit(page.limit, `page ${table}`))}`,
      values,
    );
    // Selected nearest the cursor first: ascending in time when that is ASC.
    const ascending = dir === 'ASC' ? rows : rows.reverse();
    return { items: page.order === 'desc' ? ascending.reverse() : ascending };
  }

  // history

  async appendHistory(agentId: string, runId: string, turns: HistoryTurn[]): Promise<void> {
    if (turns.length === 0) return;
    for (const turn of turns) {
      if (!isRole(turn.role)) throw new PgStoreError('store_invalid', `store: history role ${JSON.stringify(turn.role)} is not user or assistant`);
    }
    // One statement (atomic); positions follow the turns' order.
    await this.db.query(
      `INSERT INTO history (agent_id, run_id, role, content, conversation_id)
       SELECT $1, $2, t.role, t.content, (SELECT r.conversation_id FROM runs r WHERE r.id = $2)
         FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS t(role, content, n) ORDER BY t.n`,
      [agentId, runId, turns.map((t) => t.role), turns.map((t) => JSON.stringify(t.content))],
    );
  }

  async getHistory(agentId: string, conversationId: string | null = null): Promise<HistoryTurn[]> {
    const rows = await this.rows<HistoryRow>(
      'SELECT position, role, content FROM history WHERE agent_id = $1 AND conversation_id IS NOT DISTINCT FROM $2::text ORDER BY position',
      [agentId, conversationId],
    );
    return rows.map(historyFromRow);
  }

  async lastHistoryTurn(agentId: string, conversationId: string | null = null): Promise<HistoryTurn | null> {
    // `IS NULL` / `=` (not IS NOT DISTINCT FROM): the index on (agent_id, conversation_id, position) serves both, read backwards.
    const [row] =
      conversationId === null
        ? await this.rows<HistoryRow>('SELECT position, role, content FROM history WHERE agent_id = $1 AND conversation_id IS NULL ORDER BY position DESC LIMIT 1', [agentId])
        : await this.rows<HistoryRow>('SELECT position, role, content FROM history WHERE agent_id = $1 AND conversation_id = $2 ORDER BY position DESC LIMIT 1', [agentId, conversationId]);
    return row ? historyFromRow(row) : null;
  }

  async startUserTurn(start: UserTurnStart): Promise<boolean> {
    const { run, scope, from, to } = start;
    if (run.agentId !== scope.agentId || (run.conversationId ?? null) !== scope.conversationId) {
      throw new PgStoreError('store_invalid', 'store: startUserTurn: the run is not of the scope');
    }
    for (const turn of start.history) {
      if (!isRole(turn.role)) throw new PgStoreError('store_invalid', `store: history role ${JSON.stringify(turn.role)} is not user or assistant`);
    }
    const { values, p } = params();
    const agent = p(scope.agentId);
    const conversation = `${p(scope.conversationId)}::text`;
    const inScope = scope.conversationId === null ? 'conversation_id IS NULL' : `conversation_id = ${conversation}`;
    const [table, target] = scope.conversationId === null ? ['agents', `id = ${agent}`] : ['conversations', `id = ${conversation} AND agent_id = ${agent}`];
    const runValues = [run.id, run.agentId, run.conversationId ?? null, run.status, run.stopReason, run.usage === null ? null : JSON.stringify(run.usage), run.error, run.createdAt, run.completedAt, run.ownerId ?? null, run.cancelRequestedAt ?? null];
    // One statement, so all or nothing without BEGIN/COMMIT. Its reads (the last history turn, the
    // row's version) are of the statement's snapshot; the UPDATE re-checks its WHERE on the newest
    // row: `xmin` as in the snapshot means nobody took or changed the turn since, so nobody added
    // to this conversation's history either (only the turn's holder does) and the snapshot's last
    // turn is the last one. A conversation that changed meanwhile falls to the caller's transaction.
    const [row] = await this.rows<{ won: boolean }>(
      `WITH last AS (
         SELECT role, content FROM history WHERE agent_id = ${agent} AND ${inScope} ORDER BY position DESC LIMIT 1
       ), cas AS (
         UPDATE ${table} SET state = ${p(to.state)}, active_run_id = ${p(to.activeRunId)}, pending_tool_calls = ${p(JSON.stringify(to.pendingToolCalls))}, updated_at = ${p(now())}
          WHERE ${target} AND state = ${p(from.state)} AND active_run_id IS NOT DISTINCT FROM ${p(from.activeRunId)}::text
            AND xmin = (SELECT xmin FROM ${table} WHERE ${target})
            AND NOT EXISTS (SELECT 1 FROM last WHERE role = 'assistant' AND content::jsonb @> '[{"type":"tool_use"}]'::jsonb)
          RETURNING id
       ), run AS (
         INSERT INTO runs (${RUN_COLS}) SELECT ${runValues.map((v) => p(v)).join(', ')} WHERE EXISTS (SELECT 1 FROM cas) RETURNING id
       ), input AS (
         INSERT INTO messages (position, run_id, agent_id, message, message_id, message_type, group_pos, conversation_id)
         SELECT m.p, run.id, ${agent}, m.message, m.message_id, m.message_type, m.p, ${conversation}
           FROM run, (SELECT nextval(pg_get_serial_sequence('messages', 'position')) AS p, t.*
                        FROM unnest(${p(start.messages.map((m) => JSON.stringify(m)))}::text[], ${p(start.messages.map((m) => m.id))}::text[], ${p(start.messages.map((m) => m.message_type))}::text[])
                             WITH ORDINALITY AS t(message, message_id, message_type, n)
                       ORDER BY t.n) m
          ORDER BY m.p
       ), turns AS (
         INSERT INTO history (agent_id, run_id, role, content, conversation_id)
         SELECT ${agent}, run.id, t.role, t.content, ${conversation}
           FROM run, unnest(${p(start.history.map((t) => t.role))}::text[], ${p(start.history.map((t) => JSON.stringify(t.content)))}::text[]) WITH ORDINALITY AS t(role, content, n)
          ORDER BY t.n
       )
       SELECT EXISTS (SELECT 1 FROM run) AS won`,
      values,
    );
    return row?.won === true;
  }

  // frames

  async appendRunFrames(runId: string, frames: readonly StoredFrame[]): Promise<void> {
    if (frames.length === 0) return;
    await this.journalWrite({ runId, frames, transitions: [] });
  }

  async listRunFrames(runId: string): Promise<StoredFrame[]> {
    return unpackBatches(runId, await this.rows<FrameBatchRow>('SELECT first_seq, last_seq, json FROM run_frame_batches WHERE run_id = $1 ORDER BY first_seq', [runId]));
  }

  async deleteRunFrames(runId: string): Promise<void> {
    await this.db.query('DELETE FROM run_frame_batches WHERE run_id = $1', [runId]);
  }

  async pruneRunFrames(endedBefore: string): Promise<number> {
    const [row] = await this.rows<{ n: number }>(
      `WITH gone AS (
         DELETE FROM run_frame_batches WHERE run_id IN (
           SELECT id FROM runs WHERE status <> 'running' AND completed_at IS NOT NULL AND completed_at < $1
         ) RETURNING last_seq - first_seq + 1 AS n
       ) SELECT coalesce(sum(n), 0)::int AS n FROM gone`,
      [endedBefore],
    );
    return row?.n ?? 0;
  }

  // transitions

  async appendRunTransitions(runId: string, transitions: readonly RunTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    await this.journalWrite({ runId, frames: [], transitions });
  }

  /**
   * Outside a transaction the journal writes of all runs go together (`WriteCoalescer`: one
   * statement for what arrived while the last one was in flight); inside one, on its connection.
   */
  private journalWrite(w: JournalWrite): Promise<void> {
    return this.journal ? this.journal.submit(w) : this.writeJournal([w], this.db);
  }

  /**
   * Frames and transitions of any runs in one statement (idempotent per (run, seq): the first write
   * stays). Frames go as one row per batch; a batch that some stored row overlaps (a replay) is
   * written after, as the parts of it no row holds (`writeUncovered`).
   */
  private async writeJournal(writes: readonly JournalWrite[], db: Queryable): Promise<void> {
    const batches = batchRows(writes);
    const transitions = writes.flatMap((w) => w.transitions.map((t) => [w.runId, t] as const));
    const { values, p } = params();
    const inserts: string[] = [];
    if (transitions.length > 0) {
      const col = <V extends string | number | null>(f: (t: RunTransition) => V) => transitions.map(([, t]) => f(t));
      inserts.push(
        `INSERT INTO run_transitions (run_id, seq, at, run_state, step_state, seq_id)
         SELECT * FROM unnest(${p(transitions.map(([r]) => r))}::text[], ${p(col((t) => t.seq))}::int[], ${p(col((t) => t.at))}::text[],
                              ${p(col((t) => t.run))}::text[], ${p(col((t) => t.step))}::text[], ${p(col((t) => t.seqId))}::int[])
         ON CONFLICT (run_id, seq) DO NOTHING`,
      );
    }
    if (batches.length > 0) {
      inserts.push(
        insertFreeBatchesSql(
          p(batches.map((b) => b.runId)),
          p(batches.map((b) => b.first)),
          p(batches.map((b) => b.last)),
          textArray(p, batches.map((b) => batchText(b.frames, b.first, b.last))),
        ),
      );
    }
    if (inserts.length === 0) return;
    // Both tables in one round trip: a data-modifying WITH runs to completion whether or not it is read.
    const result = await db.query<{ run_id: string; first_seq: number }>(inserts.length === 1 ? inserts[0]! : `WITH t AS (${inserts[0]}) ${inserts[1]}`, values);
    if (batches.length === 0 || result.rows.length === batches.length) return;
    const inserted = new Set(result.rows.map((r) => `${r.first_seq} ${r.run_id}`));
    for (const b of batches) if (!inserted.has(`${b.first} ${b.runId}`)) await this.writeUncovered(b, db);
  }

  /**
   * The parts of a batch that no stored row holds. Again while another writer of the run (a
   * recoverer, or the owner it took the run from) stores an overlapping row meanwhile: each time
   * round fewer seqs are left, so it ends.
   */
  private async writeUncovered(batch: BatchRow, db: Queryable): Promise<void> {
    for (;;) {
      const taken = await db.query<SeqRange>(
        'SELECT first_seq AS first, last_seq AS last FROM run_frame_batches WHERE run_id = $1 AND first_seq <= $2 AND last_seq >= $3',
        [batch.runId, batch.last, batch.first],
      );
      const free = uncovered(batch.first, batch.last, taken.rows);
      if (free.length === 0) return;
      const { values, p } = params();
      const sql = insertFreeBatchesSql(
        p(free.map(() => batch.runId)),
        p(free.map((f) => f.first)),
        p(free.map((f) => f.last)),
        textArray(p, free.map((f) => batchText(batch.frames, f.first, f.last))),
      );
      const inserted = await db.query(sql, values);
      if (inserted.rows.length === free.length) return;
    }
  }

  async listRunTransitions(runId: string): Promise<RunTransition[]> {
    const rows = await this.rows<TransitionRow>('SELECT seq, at, run_state, step_state, seq_id FROM run_transitions WHERE run_id = $1 ORDER BY seq', [runId]);
    return rows.map(transitionFromRow);
  }

  // transactions

  /**
   * BEGIN … COMMIT on one checked-out client; `fn` gets a view bound to it. Nested calls (on the
   * view) join the enclosing transaction. READ COMMITTED: the conditional writes are safe at that
   * level, and a concurrent reader sees the transaction's writes only once committed.
   */
  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.atomically(fn);
  }

  private async atomically<T>(fn: (tx: PgStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(new PgStore(this.pool, client, true, this.lanes));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e)); // do not hand a broken connection back to the pool
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Ends the pool (idempotent). A transaction's view leaves that to the store it came from. */
  async close(): Promise<void> {
    if (this.inTransaction) return;
    this.closing ??= Promise.all([this.pool.end(), this.lanes?.journal.end(), this.lanes?.lease.end()]).then(() => undefined);
    await this.closing;
  }
}

// ---- opening ----------------------------------------------------------------------------------

/** The URL without its password, for messages. */
function describeUrl(u: URL): string {
  return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
}

function parseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PgStoreError('database_url_invalid', 'store: the database URL is not a URL; expected postgres://user:password@host:port/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new PgStoreError('database_url_invalid', `store: the database URL must start with postgres:// or postgresql://, not ${u.protocol}//`);
  }
  return u;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

/** A failed connect as a coded error with a message a human can act on. */
function connectError(err: unknown, where: string, timeoutMs: number): PgStoreError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const detail = err instanceof Error ? err.message : String(err);
  if (code === '28P01' || code === '28000') {
    return new PgStoreError('database_auth', `store: ${where} refused the login (${detail}); check the user and password in the URL`, { cause: err });
  }
  if (code === '3D000') {
    return new PgStoreError('database_missing', `store: ${where}: ${detail}; create it first (createdb)`, { cause: err });
  }
  const timedOut = /timeout/i.test(detail);
  if (timedOut || UNREACHABLE_CODES.has(code) || !code) {
    const why = timedOut ? `no answer within ${timeoutMs} ms` : detail;
    return new PgStoreError('database_unreachable', `store: cannot reach PostgreSQL at ${where} (${why}); is the server running and the host and port right?`, { cause: err });
  }
  return new PgStoreError('database_unreachable', `store: cannot connect to PostgreSQL at ${where} (${detail})`, { cause: err });
}

/**
 * Connects to `url` (postgres:// or postgresql://), applies pending migrations and returns the
 * store; fails within `connectTimeoutMs` with a coded `PgStoreError` when it cannot.
 */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
  const where = describeUrl(parseUrl(url));
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: timeoutMs, max: options.maxConnections ?? 10 });
  const lanes: Lanes = {
    journal: new pg.Pool({ connectionString: url, connectionTimeoutMillis: timeoutMs, max: 1 }),
    lease: new pg.Pool({ connectionString: url, connectionTimeoutMillis: timeoutMs, max: 1 }),
  };
  const pools = [pool, lanes.journal, lanes.lease];
  const endAll = () => Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  // An idle connection that fails (server restart) is dropped; the pool opens a new one on demand.
  const onIdleError = options.onIdleError ?? ((err: Error) => process.stderr.write(`warning: store: an idle PostgreSQL connection failed: ${err.message}\n`));
  for (const p of pools) p.on('error', onIdleError);
  const counter = options.queryCounter;
  if (counter) {
    for (const p of pools) p.on('connect', (c) => {
      const target = c as unknown as { query: (...args: unknown[]) => unknown };
      const query = target.query.bind(c);
      target.query = (...args: unknown[]) => {
        counter.queries++;
        const t0 = performance.now();
        const add = () => void (counter.queryMs = (counter.queryMs ?? 0) + performance.now() - t0);
        // the pool calls it with a callback, a transaction without
        const last = args.length - 1;
        const cb = args[last];
        if (typeof cb === 'function') args[last] = (...r: unknown[]) => (add(), (cb as (...a: unknown[]) => unknown)(...r));
        const result = query(...args);
        if (result instanceof Promise) result.then(add, add);
        return result;
      };
    });
  }
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await endAll();
    throw connectError(err, where, timeoutMs);
  }
  try {
    await migratePg(client);
  } catch (err) {
    client.release(true);
    await endAll();
    if (err instanceof SchemaTooNewError) throw new PgStoreError('store_version', err.message.replace('the database', `the database ${where}`), { cause: err });
    throw err;
  }
  client.release();
  return new PgStore(pool, pool, false, lanes);
}
