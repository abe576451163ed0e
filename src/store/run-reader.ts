import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LettaMessage } from '../letta/frames.js';
import { unpackBatches, type FrameBatchRow } from './frame-batches.js';
import { transitionFromRow } from './records.js';
import { LIST_FRAME_BATCHES_SQL, LIST_TRANSITIONS_SQL, SQLITE_FILE_NAME } from './sqlite-store.js';
import type { RunTransition, StoredFrame } from './types.js';

/** A run as `replay-run` prints it. */
export interface RunSummary {
  id: string;
  agentId: string;
  status: string;
  stopReason: string | null;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

export class RunReaderError extends Error {}

/**
 * Reads one data directory's runs without taking it over: the SQLite file opened read-only, no
 * migration, no instance lock, so it works while a server holds the directory (WAL readers do
 * not block the writer, nor it them).
 */
export class RunReader {
  private readonly db: Database.Database;
  private readonly version: number;

  constructor(dataDir: string) {
    const file = path.join(dataDir, SQLITE_FILE_NAME);
    if (!existsSync(file)) throw new RunReaderError(`no database at ${file} (is --data-dir the directory serve uses?)`);
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 2000');
    this.version = Number(this.db.pragma('user_version', { simple: true }));
  }

  /** By id, or by a unique prefix of it (with or without `run-`), as the inspector shows it. */
  run(idOrPrefix: string): RunSummary | null {
    const cols = 'id, agent_id AS agentId, status, stop_reason AS stopReason, error, created_at AS createdAt, completed_at AS completedAt';
    const exact = this.db.prepare<[string], RunSummary>(`SELECT ${cols} FROM runs WHERE id = ?`).get(idOrPrefix);
    if (exact) return exact;
    const prefix = idOrPrefix.startsWith('run-') ? idOrPrefix : `run-${idOrPrefix}`;
    const like = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const found = this.db.prepare<[string], RunSummary>(`SELECT ${cols} FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2`).all(like);
    if (found.length > 1) throw new RunReaderError(`"${idOrPrefix}" names more than one run: give more of its id`);
    return found[0] ?? null;
  }

  /** In seq order; none for a database older than schema v3 (no transitions were recorded). */
  transitions(runId: string): RunTransition[] {
    if (this.version < 3) return [];
    return this.db.prepare<[string], Parameters<typeof transitionFromRow>[0]>(LIST_TRANSITIONS_SQL).all(runId).map(transitionFromRow);
  }

  /** The journaled frames (kept for the grace period after the run ended). */
  frames(runId: string): StoredFrame[] {
    if (this.version < 2) return [];
    // Not migrated here: a file older than v8 still has one row per frame.
    if (this.version < 8) return this.db.prepare<[string], StoredFrame>('SELECT seq, json FROM run_frames WHERE run_id = ? ORDER BY seq').all(runId);
    return unpackBatches(runId, this.db.prepare<[string], FrameBatchRow>(LIST_FRAME_BATCHES_SQL).all(runId));
  }

  messages(runId: string): LettaMessage[] {
    return this.db
      .prepare<[string], { message: string }>('SELECT message FROM messages WHERE run_id = ? ORDER BY position')
      .all(runId)
      .map((r) => JSON.parse(r.message) as LettaMessage);
  }

  close(): void {
    this.db.close();
  }
}
