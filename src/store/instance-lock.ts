import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** Why a data directory cannot be used: another live instance holds it. */
export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface InstanceLock {
  release(): void;
}

const LOCK_FILE = 'instance.lock';
const PID_FILE = 'instance.pid';

/**
 * One instance per data directory. The lock is an exclusive SQLite transaction held open on a
 * lock file: the operating system drops it when the process dies (even by `kill -9`), so there is
 * no stale lock to clean up and no pid to trust. A second instance would run start-up recovery
 * over the first's live runs and take turns in parallel on the same agents.
 */
export function lockDataDir(dataDir: string): InstanceLock {
  const db = new Database(path.join(dataDir, LOCK_FILE));
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new DataDirLockedError(
        `another letta-stream instance${holder(dataDir)} is using the data directory ${dataDir}; stop it, or start this one with another --data-dir`,
      );
    }
    throw err;
  }
  const pidFile = path.join(dataDir, PID_FILE);
  writeFileSync(pidFile, `${process.pid}\n`);
  return {
    release() {
      if (!db.open) return;
      rmSync(pidFile, { force: true });
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** " (pid N)" when the holder wrote its pid, for the message only. */
function holder(dataDir: string): string {
  try {
    const pid = Number(readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? ` (pid ${pid})` : '';
  } catch {
    return '';
  }
}
