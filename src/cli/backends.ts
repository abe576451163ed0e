import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SharedRuns } from '../cluster/shared-runs.js';
import type { Store } from '../store/types.js';
import { countingStore, type StoreCounters } from './debug-stats.js';
import { StartError } from './errors.js';

/** Where state and run logs live: chosen by flags or environment, checked before anything starts. */
export interface BackendChoice {
  /** postgres://… or postgresql://…; absent: the embedded SQLite file in the data directory. */
  databaseUrl: string | null;
  /** redis://… or rediss://…; absent: run logs and cancels stay in this process. */
  redisUrl: string | null;
  /** Key prefix in Redis (several deployments may share one server). */
  redisPrefix: string;
}

export const DEFAULT_REDIS_PREFIX = 'letta-stream:';

/** Flags first, then LETTA_STREAM_DATABASE_URL / LETTA_STREAM_REDIS_URL; a wrong scheme is refused with a sentence. */
export function chooseBackends(flags: { 'database-url'?: string | undefined; 'redis-url'?: string | undefined }, env: NodeJS.ProcessEnv): BackendChoice {
  const databaseUrl = flags['database-url']?.trim() || env.LETTA_STREAM_DATABASE_URL?.trim() || null;
  const redisUrl = flags['redis-url']?.trim() || env.LETTA_STREAM_REDIS_URL?.trim() || null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    throw new StartError(`--database-url / LETTA_STREAM_DATABASE_URL must be a PostgreSQL URL (postgres://user@host:5432/db), got "${redact(databaseUrl)}"; leave it unset for the embedded SQLite file`);
  }
  if (redisUrl !== null && !/^rediss?:\/\//i.test(redisUrl)) {
    throw new StartError(`--redis-url / LETTA_STREAM_REDIS_URL must be a Redis URL (redis://host:6379), got "${redact(redisUrl)}"`);
  }
  if (redisUrl !== null && databaseUrl === null) {
    throw new StartError('--redis-url needs --database-url: instances share run logs through Redis and their state through PostgreSQL (the embedded SQLite file belongs to one instance)');
  }
  const redisPrefix = env.LETTA_STREAM_REDIS_PREFIX?.trim() || DEFAULT_REDIS_PREFIX;
  return { databaseUrl, redisUrl, redisPrefix };
}

/** A URL as it may be printed: without its password. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** Closes what was opened so far when a later part fails to start. */
export async function closeAll(parts: ReadonlyArray<{ close(): Promise<void> } | null | undefined>): Promise<void> {
  for (const p of [...parts].reverse()) {
    try {
      await p?.close();
    } catch {
      // closing on the way out of a failed start: the start error is the one to report
    }
  }
}

export interface Backends {
  store: Store;
  shared: SharedRuns | null;
  kind: 'sqlite' | 'postgres';
  /** Owner id of this instance's runs: kept in the data directory, so a restart finds its own runs. */
  instanceId: string;
  workspaceDir: string;
  /** For the start-up lines (no password). */
  describe: string;
  close(): Promise<void>;
}

/** Errors of the store and Redis that are the user's to fix, as the one line `serve` prints. */
const CONFIG_CODES = /^(database_|redis_|store_version|store_corrupt)/;

/**
 * Opens the store (and Redis), each checked before anything starts: a bad URL, an unreachable
 * server or a database of a newer version ends the start with one sentence, never a hang.
 */
export async function openBackends(
  choice: BackendChoice,
  dataDir: string,
  workspaceFlag: string | undefined,
  warn: (m: string) => void,
  /** Opt-in benchmark counters (`LETTA_STREAM_DEBUG_STATS`): store calls and PostgreSQL statements. */
  counters?: StoreCounters,
): Promise<Backends> {
  const instanceId = instanceIdOf(dataDir);
  const workspaceDir = path.resolve(workspaceFlag ?? path.join(dataDir, 'workspace'));
  if (choice.databaseUrl === null) {
    const { openSqliteStore } = await import('../store/sqlite-store.js');
    const sqlite = openSqliteStore(dataDir);
    const store = counters ? countingStore(sqlite, counters) : sqlite;
    return { store, shared: null, kind: 'sqlite', instanceId, workspaceDir, describe: dataDir, close: () => store.close() };
  }
  const { openPgStore } = await import('../store/pg-store.js');
  const pgStore = await asStartError(() => openPgStore(choice.databaseUrl!, { onIdleError: (e) => warn(`PostgreSQL: ${e.message}`), ...(counters ? { queryCounter: counters } : {}) }));
  const store: Store = counters ? countingStore(pgStore, counters) : pgStore;
  const opened: Array<Store | SharedRuns> = [store];
  try {
    // Tools must see one workspace whichever instance runs them: the first instance's path is
    // the database's, and an instance on another path refuses to start.
    const agreed = await store.claimSetting('workspace_dir', workspaceDir);
    if (agreed !== workspaceDir) {
      throw new StartError(`the tool workspace of this database is ${agreed}; every instance must use that same path (a directory they all share): pass --workspace-dir ${agreed}`);
    }
    let shared: SharedRuns | null = null;
    if (choice.redisUrl !== null) {
      const { connectRedis } = await import('../cluster/redis-connect.js');
      const { RedisSharedRuns } = await import('../cluster/shared-runs.js');
      const redis = await asStartError(() => connectRedis(choice.redisUrl!, { name: `letta-stream-${instanceId}`, warn }));
      const r = new RedisSharedRuns(redis, { prefix: choice.redisPrefix, warn });
      opened.push(r);
      await r.ready();
      shared = r;
    }
    const describe = `PostgreSQL ${redact(choice.databaseUrl)}${choice.redisUrl ? ` · Redis ${redact(choice.redisUrl)} (prefix ${choice.redisPrefix})` : ' · no Redis: run logs and cancels stay in this instance'}`;
    return { store, shared, kind: 'postgres', instanceId, workspaceDir, describe, close: () => closeAll(opened) };
  } catch (err) {
    await closeAll(opened);
    throw err;
  }
}

async function asStartError<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CONFIG_CODES.test(code)) throw new StartError((err as Error).message);
    throw err;
  }
}

/** `inst-<uuid>`, made once per data directory (whose lock makes it one live process's). */
function instanceIdOf(dataDir: string): string {
  const file = path.join(dataDir, 'instance-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (/^inst-[0-9a-f-]{36}$/.test(id)) return id;
  }
  const id = `inst-${randomUUID()}`;
  writeFileSync(file, id + '\n');
  return id;
}
