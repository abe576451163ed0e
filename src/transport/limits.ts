import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * What one client may hold of the server. Checked at start (a bad value is a usage error, not a
 * surprise later); every bound ends in a clear refusal rather than a stuck socket.
 */
export const serverLimits = z.object({
  /** Open TCP connections (HTTP and WebSocket); past it a new one gets 503 and is closed. */
  maxConnections: z.number().int().min(1).max(1_000_000).default(4096),
  /** Time to receive a request's headers (slowloris). */
  headersTimeoutMs: z.number().int().min(1000).max(3_600_000).default(10_000),
  /** Time to receive a whole request, body included (a never-ending body). Responses may stream longer. */
  requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(30_000),
  /** Largest request body; past it: 413. */
  maxBodyBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(1024 * 1024),
  /** Bytes queued for one slow reader (WebSocket or SSE) before it is dropped with a resumable end. */
  maxBufferedBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
  /** WebSocket ping interval; a peer that has not answered the previous ping is closed. */
  heartbeatMs: z.number().int().min(100).max(3_600_000).default(30_000),
});

export type ServerLimits = z.infer<typeof serverLimits>;
export type ServerLimitsInput = z.input<typeof serverLimits>;

/** Leaves room for the database, the upstream requests and the log under the process's file limit. */
const RESERVED_FDS = 256;

/** The soft limit on open files (Linux), or null where it cannot be read. */
function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The limits with defaults applied. The connection cap is lowered below the process's file
 * limit, so the cap (a clear 503) is what a flood meets, never EMFILE.
 */
export function resolveLimits(input: ServerLimitsInput = {}, warn?: (m: string) => void): ServerLimits {
  const r = serverLimits.safeParse(input);
  if (!r.success) throw new Error(`server limits: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const limits = r.data;
  const fds = openFileLimit();
  if (fds !== null && limits.maxConnections > fds - RESERVED_FDS) {
    const lowered = Math.max(1, fds - RESERVED_FDS);
    warn?.(`connection cap lowered from ${limits.maxConnections} to ${lowered}: the open-file limit is ${fds} (raise it with ulimit -n)`);
    limits.maxConnections = lowered;
  }
  return limits;
}
