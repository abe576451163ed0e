import type BetterSqlite3 from 'better-sqlite3';
import { regroupFramesSql } from './frame-batches.js';

/**
 * Schema migrations of the embedded SQLite store. The file's `PRAGMA user_version` is the number
 * of migrations applied; migration N (1-based) takes a file from version N-1 to N. Append new
 * migrations at the end, never edit or reorder shipped ones.
 */
export interface Migration {
  /** The user_version the file has after this migration. */
  version: number;
  description: string;
  up(db: BetterSqlite3.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'agents, runs, messages, history',
    up(db) {
      db.exec(`
        CREATE TABLE agents (
          id                      TEXT PRIMARY KEY,
          name                    TEXT NOT NULL,
          model                   TEXT NOT NULL,
          system                  TEXT NOT NULL,
          tools                   TEXT NOT NULL,            -- JSON string[]
          requires_approval_tools TEXT NOT NULL,            -- JSON string[]
          interface_mode          TEXT NOT NULL,
          max_steps               INTEGER NOT NULL,
          state                   TEXT NOT NULL,
          active_run_id           TEXT,
          pending_tool_calls      TEXT NOT NULL,            -- JSON PendingToolCall[]
          created_at              TEXT NOT NULL,
          updated_at              TEXT NOT NULL
        );
        CREATE INDEX agents_name ON agents (name);
        CREATE INDEX agents_created_at ON agents (created_at);
        CREATE INDEX agents_state ON agents (state);

        CREATE TABLE runs (
          id           TEXT PRIMARY KEY,
          agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
          status       TEXT NOT NULL,
          stop_reason  TEXT,
          usage        TEXT,                                -- JSON UsageTotals | NULL
          error        TEXT,
          created_at   TEXT NOT NULL,
          completed_at TEXT
        );
        CREATE INDEX runs_agent_created ON runs (agent_id, created_at);
        CREATE INDEX runs_status ON runs (status);

        CREATE TABLE messages (
          position INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id   TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
          message  TEXT NOT NULL                            -- JSON LettaMessage
        );
        CREATE INDEX messages_run ON messages (run_id, position);
        CREATE INDEX messages_agent ON messages (agent_id, position);

        CREATE TABLE history (
          position INTEGER PRIMARY KEY AUTOINCREMENT,
          agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
          run_id   TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          role     TEXT NOT NULL,
          content  TEXT NOT NULL                            -- JSON unknown[]
        );
        CREATE INDEX history_agent ON history (agent_id, position);
        CREATE INDEX history_run ON history (run_id);
      `);
    },
  },
  {
    version: 2,
    description: 'run_frames: the streamed frames of recent runs, for crash recovery and resume',
    up(db) {
      db.exec(`
        CREATE TABLE run_frames (
          run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          seq    INTEGER NOT NULL,                          -- the frame's seq_id
          json   TEXT NOT NULL,                             -- the frame as sent (run_id and seq_id stamped)
          PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 3,
    description: 'run_transitions: every change of a run\'s and its step\'s active states, for replay',
    up(db) {
      db.exec(`
        CREATE TABLE run_transitions (
          run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          seq        INTEGER NOT NULL,                      -- 1, 2, 3, … per run
          at         TEXT NOT NULL,                         -- ISO 8601 with milliseconds
          run_state  TEXT NOT NULL,                         -- dotted path in the run chart
          step_state TEXT,                                  -- dotted path in the stream chart (while streaming)
          seq_id     INTEGER NOT NULL,                      -- the last frame's seq_id when it happened
          PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 4,
    description: 'messages_paging_agent_tags: each message row names its stored message (message_id), its type and its group\'s position; agents have tags',
    up(db) {
      // A stored message's parts share its id; paging keeps them together. group_pos is the
      // position of the first part of the row's message, so groups sort by it and parts by position.
      db.exec(`
        ALTER TABLE messages ADD COLUMN message_id TEXT;
        ALTER TABLE messages ADD COLUMN message_type TEXT;
        ALTER TABLE messages ADD COLUMN group_pos INTEGER;
        UPDATE messages SET message_id = json_extract(message, '$.id'), message_type = json_extract(message, '$.message_type');
        CREATE INDEX messages_message_id ON messages (message_id, position); -- before the backfill: one index seek per row
        UPDATE messages SET group_pos = (SELECT MIN(m.position) FROM messages m WHERE m.message_id = messages.message_id);
        CREATE INDEX messages_agent_group ON messages (agent_id, group_pos, position);
        CREATE INDEX messages_run_group ON messages (run_id, group_pos, position);
        CREATE INDEX runs_created ON runs (created_at);
        ALTER TABLE agents ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';   -- JSON string[]
      `);
    },
  },
  {
    version: 5,
    description: 'conversations: an agent\'s other conversations, each with its own history, messages, runs and turn state; NULL conversation_id = the agent\'s default conversation',
    up(db) {
      // Existing rows keep conversation_id NULL: the agent's own history is its default conversation,
      // whose turn state stays on the agent row.
      db.exec(`
        CREATE TABLE conversations (
          id                 TEXT PRIMARY KEY,
          agent_id           TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
          summary            TEXT,
          state              TEXT NOT NULL,
          active_run_id      TEXT,
          pending_tool_calls TEXT NOT NULL,                 -- JSON PendingToolCall[]
          created_at         TEXT NOT NULL,
          updated_at         TEXT NOT NULL
        );
        CREATE INDEX conversations_agent_created ON conversations (agent_id, created_at);
        CREATE INDEX conversations_created ON conversations (created_at);
        ALTER TABLE runs ADD COLUMN conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE;
        ALTER TABLE messages ADD COLUMN conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE;
        ALTER TABLE history ADD COLUMN conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE;
        CREATE INDEX runs_conversation_created ON runs (conversation_id, created_at);
        CREATE INDEX messages_conversation_group ON messages (conversation_id, group_pos, position);
        CREATE INDEX history_conversation ON history (conversation_id, position);
      `);
    },
  },
  {
    version: 6,
    description: 'blocks: an agent\'s core memory blocks (Letta\'s memory_blocks), one per label, rendered into its system prompt',
    up(db) {
      db.exec(`
        CREATE TABLE blocks (
          id          TEXT PRIMARY KEY,
          agent_id    TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
          label       TEXT NOT NULL,
          value       TEXT NOT NULL,
          char_limit  INTEGER NOT NULL,                     -- Letta's \`limit\`
          description TEXT,
          read_only   INTEGER NOT NULL,                     -- 0 | 1
          created_at  TEXT NOT NULL,
          updated_at  TEXT NOT NULL,
          UNIQUE (agent_id, label)
        );
      `);
    },
  },
  {
    version: 7,
    description: 'run owners and cancel requests; instances: the leases of the instances that own running runs; settings',
    up(db) {
      db.exec(`
        ALTER TABLE runs ADD COLUMN owner_id TEXT;
        ALTER TABLE runs ADD COLUMN cancel_requested_at TEXT;
        CREATE TABLE instances (
          id          TEXT PRIMARY KEY,
          lease_until TEXT NOT NULL
        );
        CREATE INDEX runs_running_owner ON runs (owner_id) WHERE status = 'running';
        -- what every instance must agree on (the tool workspace's path), first writer wins
        CREATE TABLE settings (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 8,
    description: 'run_frame_batches: the journaled frames one row per batch (their JSON texts joined by newlines), not one per frame; run_frames regrouped',
    up(db) {
      // A rowid table, not WITHOUT ROWID: a batch is tens of kilobytes, and a WITHOUT ROWID
      // b-tree keeps rows in its interior pages (SQLite advises it for rows under ~1/20 page).
      db.exec(`
        CREATE TABLE run_frame_batches (
          run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          first_seq INTEGER NOT NULL,                       -- the first frame's seq_id
          last_seq  INTEGER NOT NULL,                       -- the last one's: the seqs between are all here
          json      TEXT NOT NULL,                          -- the frames as sent, joined by newlines
          PRIMARY KEY (run_id, first_seq)
        );
        ${regroupFramesSql("group_concat(json, char(10) ORDER BY seq)")};
        DROP TABLE run_frames;
      `);
    },
  },
];

/** The schema version this code writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;
