import { describe, expect, it } from 'vitest';
import { RunLog, type LogEntry } from '../src/actors/run-log.js';
import { followPaced } from '../src/transport/paced-follow.js';

/** A reader whose queue the test sets, as a socket's bufferedAmount would be. */
function reader() {
  const got: number[] = [];
  const state = { queued: 0, closed: false, tooSlowAt: null as number | null, ended: false };
  return {
    got,
    state,
    listener: { frame: (e: LogEntry) => got.push(e.seq), end: () => (state.ended = true) },
    outlet: { buffered: () => state.queued, closed: () => state.closed },
  };
}

function logWith(n: number): RunLog {
  const log = new RunLog('run-1', 'agent-1');
  for (let i = 0; i < n; i++) log.append({ message_type: 'assistant_message', id: `m${i}`, date: '', content: 'x', otid: 'o', run_id: 'run-1', step_id: null } as never);
  return log;
}

describe('following a run log at the reader\'s pace', () => {
  it('hands over from backlog to live frames without a gap or a duplicate', () => {
    const log = logWith(5);
    const r = reader();
    followPaced(log, 2, r.listener, r.outlet, { maxBufferedBytes: 100, onTooSlow: () => {} });
    log.append({ message_type: 'stop_reason', stop_reason: 'end_turn' });
    log.close({ type: 'run.end', run_id: 'run-1', status: 'completed', stop_reason: 'end_turn' });
    expect(r.got).toEqual([3, 4, 5, 6]);
    expect(r.state.ended).toBe(true);
  });

  it('drops a live reader past the bound once, saying the last seq it was given', () => {
    const log = logWith(3);
    const r = reader();
    followPaced(log, 0, r.listener, r.outlet, { maxBufferedBytes: 100, onTooSlow: (seq) => (r.state.tooSlowAt = seq) });
    expect(r.got).toEqual([1, 2, 3]);
    r.state.queued = 101;
    log.append({ message_type: 'stop_reason', stop_reason: 'end_turn' });
    log.append({ message_type: 'stop_reason', stop_reason: 'end_turn' });
    expect(r.state.tooSlowAt).toBe(4);
    expect(r.got).toEqual([1, 2, 3, 4]);
  });

  it('pauses a backlog while the reader is full, goes on when it drains, and drops it after the stall time', async () => {
    const log = logWith(50);
    const r = reader();
    let stall: number | null = null;
    // Every frame queues 10 bytes until the reader "reads".
    const outlet = { buffered: () => r.state.queued, closed: () => false };
    const listener = { ...r.listener, frame: (e: LogEntry) => (r.got.push(e.seq), (r.state.queued += 10)) };
    followPaced(log, 0, listener, outlet, { maxBufferedBytes: 100, stallMs: 200, onTooSlow: (seq) => (stall = seq) });
    expect(r.got.length).toBe(11); // just past the bound, then it waits
    r.state.queued = 0; // the reader took it all
    await expect.poll(() => r.got.length).toBe(22);
    await expect.poll(() => stall, { timeout: 2000 }).toBe(22); // never read again: dropped with where to resume
    expect(r.got.length).toBe(22);
  });
});
