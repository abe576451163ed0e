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

/** Any thrown value as a ServiceError: unknown faults become `internal`, never a crash. */
export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new ServiceError('internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}
