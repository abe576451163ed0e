import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The bearer token of a request: `Authorization: Bearer …` (the scheme is case-insensitive, RFC
 * 9110), or `?token=` (browsers cannot set headers on a WebSocket).
 */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const m = /^bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '');
  if (m) return m[1]!.trim();
  return url.searchParams.get('token');
}

export function tokenMatches(expected: string | null, req: IncomingMessage, url: URL): boolean {
  if (!expected) return true;
  const got = presentedToken(req, url);
  if (!got) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
