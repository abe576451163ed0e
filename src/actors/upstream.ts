import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsStreaming } from '@anthropic-ai/sdk/resources/messages';
import { fromCallback, type AnyActorRef, type EventObject } from 'xstate';
import { toStreamEvent, UpstreamEventError, type StreamEvent } from '../letta/anthropic-events.js';

export type UpstreamRequest = Omit<MessageCreateParamsStreaming, 'stream'>;

export interface UpstreamInput {
  client: Anthropic;
  /**
   * The step's request, built when the stream opens: it needs the history, which the run's
   * earlier writes (awaited first) complete. A rejection ends the step like a broken stream.
   */
  request: () => Promise<UpstreamRequest>;
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
 * The reason the upstream request is aborted with: built once, without a stack. An abort reason
 * lives as long as its signal, and a fresh one's captured stack keeps every frame's receiver and
 * closure alive — when the abort comes from the run stopping this actor, that is the run actor,
 * its inspection closure and its log.
 */
const STOPPED: DOMException = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DOMException('the run stopped streaming', 'AbortError');
  } finally {
    Error.stackTraceLimit = limit;
  }
})();

/**
 * What the pump shares with its actor. The actor empties it when stopped, so a pump (or an SDK
 * stream left waiting) reaches neither the run nor the request.
 */
interface Link {
  request: UpstreamInput['request'] | null;
  deliver: ((event: StreamEvent) => void) | null;
  /** The pump is inside `deliver`: a stop now comes from the run reacting to this very event. */
  delivering: boolean;
  /** The pump has ended (the stream was read to its end, or failed): there is nothing to abort. */
  done: boolean;
}

/** Hands one event to the actor; false once the actor has stopped (possibly during this call). */
function deliver(link: Link, event: StreamEvent): boolean {
  const target = link.deliver;
  if (!target) return false;
  link.delivering = true;
  try {
    target(event);
  } finally {
    link.delivering = false;
  }
  return link.deliver !== null;
}

/** Module-level, so its suspended frame holds only its arguments, not the actor's scope. */
async function pump(client: Anthropic, link: Link, signal: AbortSignal): Promise<void> {
  try {
    const build = link.request;
    link.request = null;
    if (!build) return;
    const request = await build();
    // Stopped while the request was being built: no stream to open.
    if (link.deliver === null || signal.aborted) return;
    const stream = await client.messages.create({ ...request, stream: true }, { signal });
    for await (const raw of stream) {
      // Leaving the loop closes the SDK stream: it aborts its own request and drops its listener.
      if (!deliver(link, toStreamEvent(raw))) return;
    }
    deliver(link, { type: 'UPSTREAM_CLOSED', code: 'stream_ended', message: 'the Anthropic stream ended before message_stop' });
  } catch (err) {
    deliver(link, upstreamFailure(err));
  } finally {
    link.done = true;
  }
}

/**
 * One step's Anthropic call: iterates the SDK stream and sends each event, parsed, to the step
 * machine (the run's `step` child, invoked beside this actor). Stopping this actor — the run leaving
 * `streaming`, for any reason — ends the HTTP request.
 */
export const upstreamStep = fromCallback<EventObject, UpstreamInput>(({ input }) => {
  // Children start after the run's snapshot is committed, so the sibling is there by now.
  const step = (input.run.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children.step;
  if (!step) throw new Error('upstream: no step actor in this run');
  const controller = new AbortController();
  const link: Link = {
    request: input.request,
    deliver: (event) => {
      if (step.getSnapshot().status === 'active') step.send(event);
    },
    delivering: false,
    done: false,
  };
  void pump(input.client, link, controller.signal);

  return () => {
    const { delivering, done } = link;
    link.deliver = null;
    link.request = null;
    // A stop from inside a delivery (the step ended on message_stop, or a frame listener
    // cancelled) is left to the pump, which leaves its loop as soon as the delivery returns. Our
    // signal must not fire then: undici may have the whole body already, and an abort at that
    // point leaves the SDK's next read pending for ever — its listener on our signal, and all
    // that reaches, never released. Otherwise (a cancel while the pump waits on the network)
    // abort now, in a microtask so that no frame of this stop (the run's actors) is on the
    // stack the SDK's own abort error captures.
    if (!delivering && !done) queueMicrotask(controller.abort.bind(controller, STOPPED));
  };
});
