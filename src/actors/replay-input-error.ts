/** Bad replay input (unreadable file, broken SSE or JSON, an invalid event): exit 2, with the line. */
export class ReplayInputError extends Error {
  constructor(
    readonly code: 'invalid_sse' | 'invalid_json' | 'invalid_upstream_event',
    message: string,
  ) {
    super(message);
    this.name = 'ReplayInputError';
  }
}
