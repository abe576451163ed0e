/** Errors every transport maps the same way: a code for programs, a message for people. */
export type ErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'request_timeout'
  | 'unavailable'
  | 'internal';

export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Array<{ path: string; message: string }>,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const httpStatusFor = (code: ErrorCode): number =>
  ({ invalid_request: 400, unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409, payload_too_large: 413, headers_too_large: 431, request_timeout: 408, unavailable: 503, internal: 500 })[code];

/** SQLite's answers when it cannot take a write now (full disk, a lock held elsewhere, I/O): worth a retry later. */
const STORE_UNAVAILABLE = /^SQLITE_(FULL|BUSY|LOCKED|IOERR|READONLY|CANTOPEN)/;

/**
 * Any thrown value as a ServiceError: a store that cannot write now is `unavailable` (503), other
 * unknown faults `internal`; never a crash.
 */
export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STORE_UNAVAILABLE.test(code)) {
    return new ServiceError('unavailable', `the database cannot take the write now (${code}: ${(err as Error).message}); nothing was changed, try again later`);
  }
  return new ServiceError('internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}
