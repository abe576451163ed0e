import { createActor } from 'xstate';
import { toStreamEvent, UpstreamEventError, type StreamEvent } from '../letta/anthropic-events.js';
import type { StreamedMessage } from '../letta/frames.js';
import { parseSse, SseFormatError } from '../letta/sse.js';
import type { StepOptions, StepResult } from '../letta/step-builder.js';
import { streamMachine } from '../machines/stream.machine.js';
import { ReplayInputError } from './replay-input-error.js';

export { ReplayInputError };

/** Parse a recorded SSE text into machine events; input errors name the line. */
export function eventsFromSse(text: string): StreamEvent[] {
  let records;
  try {
    records = parseSse(text);
  } catch (err) {
    if (err instanceof SseFormatError) throw new ReplayInputError(err.code, err.message);
    throw err;
  }
  return records.map((r) => {
    try {
      return toStreamEvent(r.data);
    } catch (err) {
      if (err instanceof UpstreamEventError) throw new ReplayInputError(err.code, `line ${r.line}: ${err.message}`);
      throw err;
    }
  });
}

/**
 * Drive one stream machine through a finished list of events, as the live upstream actor does
 * event by event. A stream that ends without `message_stop` fails (it was cut off).
 */
export function replayStep(
  events: Iterable<StreamEvent>,
  options: StepOptions,
  onFrame: (frame: StreamedMessage) => void,
): StepResult {
  const actor = createActor(streamMachine, { input: options });
  actor.on('letta.frame', (e) => onFrame(e.frame));
  actor.start();
  for (const event of events) {
    if (actor.getSnapshot().status !== 'active') break;
    actor.send(event);
  }
  if (actor.getSnapshot().status === 'active') {
    actor.send({ type: 'UPSTREAM_CLOSED', code: 'stream_ended', message: 'the stream ended before message_stop' });
  }
  const snapshot = actor.getSnapshot();
  if (snapshot.status !== 'done') throw new Error(`stream machine did not finish (status ${snapshot.status})`);
  return snapshot.output;
}
