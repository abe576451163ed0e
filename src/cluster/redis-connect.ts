import { Redis } from 'ioredis';

export type RedisErrorCode = 'redis_url_invalid' | 'redis_unreachable';

/** A Redis set-up error with a message meant for the operator (never the password). */
export class RedisConfigError extends Error {
  constructor(
    readonly code: RedisErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RedisConfigError';
  }
}

export interface ConnectRedisOptions {
  /** How long the first connection and PING may take before giving up (ms). */
  timeoutMs?: number;
  /** Client name (CLIENT SETNAME), to tell instances apart in CLIENT LIST. */
  name?: string;
  /** Connection errors after start-up (ioredis reconnects by itself). */
  warn?: (message: string) => void;
}

/** The URL without its credentials, for messages (also when it is not quite a URL: user:password@host). */
function redact(url: string): string {
  const shown = url.replace(/^([^@]*\/\/)?[^@/]*@/, '$1***@');
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}

function parse(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisConfigError('redis_url_invalid', `the Redis URL "${redact(url)}" is not a URL: use redis://host:6379 or rediss://host:6380`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new RedisConfigError('redis_url_invalid', `the Redis URL "${redact(url)}" must start with redis:// or rediss:// (not ${u.protocol}//)`);
  }
  if (!u.hostname) throw new RedisConfigError('redis_url_invalid', `the Redis URL "${redact(url)}" has no host`);
  return u;
}

/**
 * Connects to Redis once, or fails fast with a coded error: a wrong URL or an unreachable server
 * is an operator's mistake to report at start, not something to retry forever. Once connected,
 * the client reconnects with backoff on its own (a blip must not stop the service).
 */
export async function connectRedis(url: string, opts: ConnectRedisOptions = {}): Promise<Redis> {
  parse(url);
  const timeoutMs = opts.timeoutMs ?? 3000;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // At start: no reconnect loop and no queued command waiting for one.
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectionName: opts.name,
  });
  let lastError: Error | null = null;
  const onError = (e: Error): void => {
    lastError = e;
  };
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    redis.disconnect();
    const cause = lastError ?? (e instanceof Error ? e : new Error(String(e)));
    throw new RedisConfigError('redis_unreachable', `cannot reach Redis at ${redact(url)}: ${cause.message}`);
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
  // Running: reconnect with backoff; a command fails after a few reconnect attempts instead of
  // waiting forever (callers buffer and retry where it matters).
  redis.options.retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);
  redis.options.maxRetriesPerRequest = 3;
  redis.on('error', (e: Error) => opts.warn?.(`redis: ${e.message}`));
  return redis;
}
