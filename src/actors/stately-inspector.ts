import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';

/**
 * Forwards the actors' inspection events to a Stately inspector listening at `url` (WebSocket),
 * for users who run one. Per-delta events are dropped: 100,000 text deltas would flood it, and
 * the modes they do not change are all the chart shows anyway.
 */
export function statelyInspector(url: string): { inspect: (event: InspectionEvent) => void; stop(): void } {
  const inspector = createWebSocketInspector({
    url,
    filter: (e) => (e as { event?: { type?: string } }).event?.type !== 'CONTENT_BLOCK_DELTA',
  });
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}
