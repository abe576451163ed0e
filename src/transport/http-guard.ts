import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import { ServiceError } from '../actors/errors.js';

/**
 * What a request must show before any route sees it: a request target that parses, a `Host`
 * this instance answers to, and — from a browser — an `Origin` it trusts. One place for HTTP
 * and WebSocket upgrades alike.
 */

/** The request's path and query. An unparsable target (`//`, `http://x`, garbage) is a 400, never a throw. */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '';
  if (!target.startsWith('/') || target.startsWith('//')) {
    throw new ServiceError('invalid_request', `the request target must be a path starting with a single "/" (got ${JSON.stringify(target.slice(0, 80))})`);
  }
  try {
    return new URL(target, 'http://localhost');
  } catch {
    throw new ServiceError('invalid_request', 'the request target is not a valid path');
  }
}

/** A percent-encoded path segment, decoded; malformed encoding (`%`, `%zz`) is a 400. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ServiceError('invalid_request', `the path segment ${JSON.stringify(segment.slice(0, 80))} is not valid percent-encoding`);
  }
}

/** Loopback names: `localhost` (and `*.localhost`), 127.0.0.0/8 as a real IPv4 address, `::1`. */
export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || (isIPv4(h) && h.startsWith('127.'));
}

/** `Host` header value without its port (`[::1]:8283` → `[::1]`). */
function hostName(hostHeader: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(hostHeader.trim());
  return m ? (m[1] ?? '') : '';
}

export interface OriginPolicy {
  /**
   * Token-less instances (always on loopback) answer only to loopback `Host` names: a page that
   * re-points its own domain at 127.0.0.1 (DNS rebinding) is refused.
   */
  loopbackHostsOnly: boolean;
  /** Browser origins trusted besides the page's own (`--allow-origin`), e.g. an inspector served elsewhere. */
  allowedOrigins: ReadonlySet<string>;
}

/** Normalizes an origin (`HTTP://Example.com:443/` → `http://example.com:443`) or returns null when it is not one. */
export function normalizeOrigin(origin: string): string | null {
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

export type OriginVerdict = { ok: true; corsOrigin: string | null } | { ok: false; error: ServiceError };

/**
 * Whether a request may go on. Clients that send no `Origin` (CLIs, SDKs, curl) pass; a browser's
 * request passes when it comes from the page's own origin or an allowed one. `corsOrigin` is set
 * for an allowed foreign origin, which gets CORS headers.
 */
export function checkOrigin(req: IncomingMessage, policy: OriginPolicy): OriginVerdict {
  const host = req.headers.host;
  if (policy.loopbackHostsOnly && host !== undefined && !isLoopbackName(hostName(host))) {
    return deny(`this instance answers only to loopback host names (localhost, 127.0.0.1, [::1]); got Host: ${host.slice(0, 100)}`);
  }
  const origin = req.headers.origin;
  if (origin === undefined) {
    // A browser that sends no Origin still says where the request came from.
    if (req.headers['sec-fetch-site'] === 'cross-site') return deny('cross-site requests are refused');
    return { ok: true, corsOrigin: null };
  }
  const normalized = normalizeOrigin(origin);
  if (normalized === null) return deny(`requests from origin ${origin.slice(0, 100)} are refused`);
  if (host !== undefined && new URL(normalized).host === host.trim().toLowerCase()) return { ok: true, corsOrigin: null };
  if (policy.allowedOrigins.has(normalized)) return { ok: true, corsOrigin: normalized };
  return deny(`requests from origin ${normalized} are refused: only the instance's own pages and --allow-origin origins may call it`);
}

function deny(message: string): OriginVerdict {
  return { ok: false, error: new ServiceError('forbidden', message) };
}

/** Headers that let an allowed foreign origin read answers and send authorized JSON requests. */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}
