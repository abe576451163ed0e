import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsStreaming } from '@anthropic-ai/sdk/resources/messages';
import { fromCallback, type AnyActorRef, type EventObject } from 'xstate';
import { toStreamEvent, UpstreamEventError, type StreamEvent } from '../letta/anthropic-events.js';
import type { StreamedMessage } from '../letta/frames.js';

export interface UpstreamInput {
  client: Anthropic;
  request: Omit<MessageCreateParamsStreaming, 'stream'>;
  /** Where the step machine's frames go (the run log). */
  onFrame(frame: StreamedMessage): void;
  /** The run whose `step` child this feeds. */
  run: AnyActorRef;
}

type Closed = Extract<StreamEvent, { type: 'UPSTREAM_CLOSED' }>;

/** What went wrong upstream, as the step machine's UPSTREAM_CLOSED event. */
export function upstreamFailure(err: unknown): Closed {
  if (err instanceof UpstreamEventError) return { type: 'UPSTREAM_CLOSED', code: 'invalid_event', message: err.message };
  if (err instanceof Anthropic.APIConnectionError) {
    return { type: 'UPSTREAM_CLOSED', code: 'connection_error', message: `connection to the Anthropic API failed: ${err.message}` };
  }
  if (err instanceof Anthropic.APIError) {
    const status = err.status === undefined ? 'stream error' : `HTTP ${err.status}`;
    const type = (err.error as { error?: { type?: string } } | undefined)?.error?.type;
    return { type: 'UPSTREAM_CLOSED', code: 'http_error', message: `Anthropic API ${status}${type ? ` (${type})` : ''}: ${err.message}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'UPSTREAM_CLOSED', code: 'connection_error', message: `the Anthropic stream broke: ${message}` };
}

/**
 * One step's Anthropic call: iterates the SDK stream and sends each event, parsed, to the step
 * machine (the run's `step` child, invoked beside this actor). Stopping this actor — the run leaving
 * `streaming`, for any reason — aborts the HTTP request.
 */
export const upstreamStep = fromCallback<EventObject, UpstreamInput>(({ input }) => {
  // Children start after the run's snapshot is committed, so the sibling is there by now.
  const step = (input.run.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children.step;
  const controller = new AbortController();
  let stopped = false;
  if (!step) throw new Error('upstream: no step actor in this run');
  const frames = step.on('letta.frame', (e: { frame: StreamedMessage }) => input.onFrame(e.frame));
  const send = (event: StreamEvent) => {
    if (!stopped && step.getSnapshot().status === 'active') step.send(event);
  };

  void (async () => {
    try {
      const stream = await input.client.messages.create({ ...input.request, stream: true }, { signal: controller.signal });
      for await (const raw of stream) {
        if (stopped) return;
        send(toStreamEvent(raw));
      }
      send({ type: 'UPSTREAM_CLOSED', code: 'stream_ended', message: 'the Anthropic stream ended before message_stop' });
    } catch (err) {
      if (!stopped) send(upstreamFailure(err));
    }
  })();

  return () => {
    stopped = true;
    controller.abort();
    frames.unsubscribe();
  };
});
