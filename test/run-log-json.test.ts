import { describe, expect, it } from 'vitest';
import { eventsFromSse, replayStep } from '../src/actors/replay-step.js';
import { RunLog } from '../src/actors/run-log.js';
import type { LettaFrame } from '../src/letta/frames.js';
import { stopReasonFor, usageFrame } from '../src/letta/step-outcome.js';
import { loadCases, stepOptionsOf } from './support/cases.js';

/** What the run log sends for a frame: its JSON with this run's id and the frame's seq_id. */
const expected = (log: RunLog, frame: LettaFrame, seq: number) => JSON.stringify({ ...frame, run_id: log.runId, seq_id: seq });
const entries = (log: RunLog) => Array.from({ length: log.lastSeq }, (_, i) => log.entry(i + 1)!.json);

/** The run log serializes a part's deltas reusing their JSON head: the text must stay JSON.stringify's. */
describe('the run log JSON of every frame', () => {
  it('is JSON.stringify of the stamped frame, for every frame of every conformance case', () => {
    for (const { c } of loadCases()) {
      const options = stepOptionsOf(c);
      const log = new RunLog(options.runId, 'agent-x');
      const frames: LettaFrame[] = [];
      const result = replayStep(eventsFromSse(c.sse), options, (f) => frames.push(f));
      frames.push({ message_type: 'stop_reason', stop_reason: stopReasonFor(result) }, usageFrame(result.usage, 1, [options.runId]));
      for (const f of frames) log.append(f);
      expect(entries(log), c.name).toEqual(frames.map((f, i) => expected(log, f, i + 1)));
      for (const json of entries(log)) expect(JSON.parse(json).run_id).toBe(options.runId);
    }
  });

  it('is JSON.stringify of the stamped frame for frames not built by FrameWriter', () => {
    const log = new RunLog('run-1', 'agent-x');
    // FrameWriter's key order: id, date, message_type, otid, run_id, step_id, then the payload
    const head = (otid: string, message_type: string) => ({ id: 'message-1', date: 'd', message_type, otid, run_id: 'run-1', step_id: null });
    const base = { id: 'message-1', date: 'd', otid: 'o1', run_id: 'run-1', step_id: null };
    const call = { name: 'f', arguments: '{"a"', tool_call_id: 't1' };
    const frames = [
      // FrameWriter's order: the part's head is reused
      { ...head('o1', 'assistant_message'), content: 'a "quoted"\n' },
      { ...head('o1', 'assistant_message'), content: 'b' },
      { ...head('o1b', 'reasoning_message'), source: 'reasoner_model', reasoning: 'r', signature: null },
      { ...head('o1b', 'reasoning_message'), source: 'reasoner_model', reasoning: '', signature: 'sig' },
      // a part whose first frame has its keys in another order (stringified throughout)
      { content: 'x', ...base, otid: 'o2', message_type: 'assistant_message' },
      { ...base, otid: 'o2', message_type: 'assistant_message', content: 'y' },
      // an extra key, another run's id, no run id, a seq_id already set, an undefined seq_id
      { ...base, otid: 'o3', message_type: 'reasoning_message', source: 'reasoner_model', reasoning: 'r', signature: null, extra: 1 },
      { ...base, otid: 'o4', run_id: 'run-2', message_type: 'assistant_message', content: 'z' },
      { id: 'message-2', date: 'd', message_type: 'assistant_message', otid: 'o5', content: 'no run id' },
      { ...base, otid: 'o6', message_type: 'assistant_message', content: 'z', seq_id: 99 },
      { ...base, otid: 'o7', message_type: 'assistant_message', seq_id: undefined, content: 'z' },
      // tool calls: FrameWriter's shape, then one whose tool_calls is another object
      { ...head('o8', 'tool_call_message'), tool_call: call, tool_calls: call },
      { ...head('o8', 'tool_call_message'), tool_call: { ...call, arguments: ':1}' }, tool_calls: { ...call } },
      { ...head('o8b', 'approval_request_message'), tool_call: call, tool_calls: call },
      { ...base, otid: 'o9', message_type: 'tool_return_message', tool_return: 'ok', status: 'success', tool_call_id: 't1', stdout: null, stderr: null },
      { message_type: 'ping' },
    ] as unknown as LettaFrame[];
    for (const f of frames) log.append(f);
    expect(entries(log)).toEqual(frames.map((f, i) => expected(log, f, i + 1)));
  });
});
