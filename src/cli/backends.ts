import type { Store } from '../store/types.js';
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
export async function closeAll(parts: Array<{ close(): Promise<void> } | Store | null | undefined>): Promise<void> {
  for (const p of parts.reverse()) {
    try {
      await p?.close();
    } catch {
      // closing on the way out of a failed start: the start error is the one to report
    }
  }
}
