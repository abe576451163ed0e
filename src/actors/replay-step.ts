import { createActor } from 'xstate';
import { toStreamEvent, UpstreamEventError, type StreamEvent } from '../letta/anthropic-events.js';
import type { StreamedMessage } from '../letta/frames.js';
import { SseFormatError, sseRecords, type SseRecord } from '../letta/sse.js';
import type { StepOptions, StepResult } from '../letta/step-builder.js';
import { streamMachine } from '../machines/stream.machine.js';
import { ReplayInputError } from './replay-input-error.js';

export { ReplayInputError };

/** Parse a recorded SSE text into machine events; input errors name the line. */
export function eventsFromSse(text: string): StreamEvent[] {
  return [...streamEventsFromSse(text)];
}

/** The same, one event at a time: a replay never holds the whole recording as objects. */
export function* streamEventsFromSse(text: string): Generator<StreamEvent, void, undefined> {
  const records = sseRecords(text);
  for (;;) {
    let r: IteratorResult<SseRecord, void>;
    try {
      r = records.next();
    } catch (err) {
      if (err instanceof SseFormatError) throw new ReplayInputError(err.code, err.message);
      throw err;
    }
    if (r.done) return;
    let event: StreamEvent;
    try {
      event = toStreamEvent(r.value.data);
    } catch (err) {
      if (err instanceof UpstreamEventError) throw new ReplayInputError(err.code, `line ${r.value.line}: ${err.message}`);
      throw err;
    }
    yield event;
  }
}

/**
 * Drive one stream machine through a finished list of events, as the live upstream actor does
 * event by event. A stream that ends without `message_stop` fails (it was cut off). Events after
 * the end are still read (a lazy source still validates them) but not sent.
 */
export function replayStep(
  events: Iterable<StreamEvent>,
  options: StepOptions,
  onFrame: (frame: StreamedMessage) => void,
): StepResult {
  const actor = createActor(streamMachine, { input: { ...options, frames: onFrame } });
  actor.start();
  let active = true;
  for (const event of events) {
    if (!active) continue;
    actor.send(event);
    active = actor.getSnapshot().status === 'active';
  }
  if (actor.getSnapshot().status === 'active') {
    actor.send({ type: 'UPSTREAM_CLOSED', code: 'stream_ended', message: 'the stream ended before message_stop' });
  }
  const snapshot = actor.getSnapshot();
  if (snapshot.status !== 'done') throw new Error(`stream machine did not finish (status ${snapshot.status})`);
  return snapshot.output;
}
