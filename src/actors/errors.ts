/** Errors every transport maps the same way: a code for programs, a message for people. */
export type ErrorCode = 'invalid_request' | 'not_found' | 'conflict' | 'unauthorized' | 'internal';

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
  ({ invalid_request: 400, unauthorized: 401, not_found: 404, conflict: 409, internal: 500 })[code];
