import type { ClientBase } from 'pg';
import { regroupFramesSql } from './frame-batches.js';

/**
 * Schema migrations of the PostgreSQL store, recorded one row per version in `schema_migrations`.
 * Append new migrations at the end, never edit or reorder shipped ones. They run at start, all in
 * one transaction under an advisory lock, so instances that start together migrate once.
 *
 * The schema mirrors SQLite's (see migrations.ts) so both stores return identical records:
 * - JSON columns are TEXT, not jsonb: jsonb reorders keys, and records must round-trip byte for byte.
 * - Timestamps are ISO 8601 TEXT in the "C" collation: ordering and cursor comparisons are then
 *   the same byte order as SQLite's. Only `instances.lease_until` is timestamptz (compared, never returned).
 * - `position` identity columns stand in for SQLite's rowid as the tie-break of equal timestamps.
 */
export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'agents, blocks, conversations, runs (owner, cancel request), messages, history, run frames and transitions, instance leases',
    sql: `
      CREATE TABLE agents (
        id                      TEXT PRIMARY KEY,
        position                BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        name                    TEXT NOT NULL,
        model                   TEXT NOT NULL,
        system                  TEXT NOT NULL,
        tools                   TEXT NOT NULL,              -- JSON string[]
        requires_approval_tools TEXT NOT NULL,              -- JSON string[]
        tags                    TEXT NOT NULL DEFAULT '[]', -- JSON string[]
        interface_mode          TEXT NOT NULL,
        max_steps               INTEGER NOT NULL,
        state                   TEXT NOT NULL,
        active_run_id           TEXT,
        pending_tool_calls      TEXT NOT NULL,              -- JSON PendingToolCall[]
        created_at              TEXT COLLATE "C" NOT NULL,
        updated_at              TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX agents_name ON agents (name, created_at, position);
      CREATE INDEX agents_created ON agents (created_at, position);
      CREATE INDEX agents_running ON agents (active_run_id) WHERE state = 'running';

      CREATE TABLE blocks (
        id          TEXT PRIMARY KEY,
        position    BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        agent_id    TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        label       TEXT NOT NULL,
        value       TEXT NOT NULL,
        char_limit  INTEGER NOT NULL,
        description TEXT,
        read_only   BOOLEAN NOT NULL,
        created_at  TEXT COLLATE "C" NOT NULL,
        updated_at  TEXT COLLATE "C" NOT NULL,
        UNIQUE (agent_id, label)
      );

      CREATE TABLE conversations (
        id                 TEXT PRIMARY KEY,
        position           BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        agent_id           TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        summary            TEXT,
        state              TEXT NOT NULL,
        active_run_id      TEXT,
        pending_tool_calls TEXT NOT NULL,                   -- JSON PendingToolCall[]
        created_at         TEXT COLLATE "C" NOT NULL,
        updated_at         TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX conversations_agent_created ON conversations (agent_id, created_at, position);
      CREATE INDEX conversations_created ON conversations (created_at, position);
      CREATE INDEX conversations_running ON conversations (active_run_id) WHERE state = 'running';

      CREATE TABLE runs (
        id                  TEXT PRIMARY KEY,
        position            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        agent_id            TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        conversation_id     TEXT REFERENCES conversations (id) ON DELETE CASCADE,
        status              TEXT NOT NULL,
        stop_reason         TEXT,
        usage               TEXT,                           -- JSON UsageTotals | NULL
        error               TEXT,
        created_at          TEXT COLLATE "C" NOT NULL,
        completed_at        TEXT COLLATE "C",
        owner_id            TEXT,                           -- the instance running it (instances.id); NULL once ended
        cancel_requested_at TEXT COLLATE "C"
      );
      CREATE INDEX runs_agent_created ON runs (agent_id, created_at, position);
      CREATE INDEX runs_conversation_created ON runs (conversation_id, created_at, position);
      CREATE INDEX runs_created ON runs (created_at, position);
      CREATE INDEX runs_running_owner ON runs (owner_id) WHERE status = 'running';

      CREATE TABLE messages (
        position        BIGSERIAL PRIMARY KEY,
        run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        agent_id        TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
        message         TEXT NOT NULL,                      -- JSON LettaMessage
        message_id      TEXT,
        message_type    TEXT,
        group_pos       BIGINT NOT NULL                     -- position of the first part of its stored message
      );
      CREATE INDEX messages_message_id ON messages (message_id, position);
      CREATE INDEX messages_agent_group ON messages (agent_id, group_pos, position);
      CREATE INDEX messages_run_group ON messages (run_id, group_pos, position);
      CREATE INDEX messages_conversation_group ON messages (conversation_id, group_pos, position);

      CREATE TABLE history (
        position        BIGSERIAL PRIMARY KEY,
        agent_id        TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
        role            TEXT NOT NULL,
        content         TEXT NOT NULL                       -- JSON unknown[]
      );
      CREATE INDEX history_agent ON history (agent_id, conversation_id, position);
      CREATE INDEX history_run ON history (run_id);

      CREATE TABLE run_frames (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq    INTEGER NOT NULL,
        json   TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      CREATE TABLE run_transitions (
        run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        at         TEXT NOT NULL,
        run_state  TEXT NOT NULL,
        step_state TEXT,
        seq_id     INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      CREATE TABLE instances (
        id          TEXT PRIMARY KEY,
        lease_until TIMESTAMPTZ NOT NULL
      );

      -- what every instance must agree on (the tool workspace's path), first writer wins
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'run_frame_batches: the journaled frames one row per batch (their JSON texts joined by newlines), not one per frame; run_frames regrouped',
    sql: `
      CREATE TABLE run_frame_batches (
        run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        first_seq INTEGER NOT NULL,
        last_seq  INTEGER NOT NULL,
        json      TEXT NOT NULL,
        PRIMARY KEY (run_id, first_seq)
      );
      ${regroupFramesSql("string_agg(json, E'\\n' ORDER BY seq)")};
      DROP TABLE run_frames;
    `,
  },
];

/** The schema version this code writes and understands. */
export const PG_SCHEMA_VERSION: number = PG_MIGRATIONS.length;

/** Held (per database) for the migrating transaction: instances starting together take turns. */
export const MIGRATION_LOCK_KEY = 0x6c657474_7374726dn; // "lettstrm"

/** The database is at a newer version than this code knows. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly known: number = PG_SCHEMA_VERSION,
  ) {
    super(
      `store: the database has schema version ${found}, newer than the ${known} this version of letta-stream knows; ` +
        'upgrade letta-stream or point it at another database',
    );
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Brings the database up to PG_SCHEMA_VERSION in one transaction under the advisory lock: a
 * second instance waits, then finds everything applied. Returns the versions it applied.
 * `migrations` is for tests; the store always applies PG_MIGRATIONS.
 */
export async function migratePg(client: ClientBase, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  const known = migrations.at(-1)?.version ?? 0;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     INTEGER PRIMARY KEY,
      description TEXT NOT NULL,
      applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > known) throw new SchemaTooNewError(current, known);
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [m.version, m.description]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
