import { describe, expect, it } from 'vitest';
import { eventsFromSse, replayStep } from '../src/actors/replay-step.js';
import { FrameSerializer } from '../src/letta/frame-json.js';
import type { LettaFrame } from '../src/letta/frames.js';
import { stopReasonFor, usageFrame } from '../src/letta/step-outcome.js';
import { loadCases, stepOptionsOf } from './support/cases.js';

/** The replay's serializer reuses each part's JSON head: it must give exactly JSON.stringify's bytes. */
describe('FrameSerializer', () => {
  it('gives JSON.stringify of every frame of every conformance case, in order', () => {
    for (const { c } of loadCases()) {
      const frames: LettaFrame[] = [];
      const options = stepOptionsOf(c);
      const result = replayStep(eventsFromSse(c.sse), options, (f) => frames.push(f));
      frames.push({ message_type: 'stop_reason', stop_reason: stopReasonFor(result) }, usageFrame(result.usage, 1, [options.runId]));
      const s = new FrameSerializer();
      for (const f of frames) expect(s.json(f), c.name).toBe(JSON.stringify(f));
    }
  });

  it('notices a change of part, call, source or a seq_id', () => {
    // Keys in FrameWriter's order (the serializer's claim is about the frames it builds).
    const base = { id: 'message-1', date: 'd', message_type: '', otid: 'o1', run_id: 'r', step_id: null };
    const call = (name: string, id: string, args: string | null) => ({ name, arguments: args, tool_call_id: id });
    const c1 = call('a', 't1', '{"x"');
    const c2 = call('b', 't1', ':1}');
    const c3 = call('b', 't1', null);
    const frames: LettaFrame[] = [
      { ...base, message_type: 'assistant_message', content: 'he said "hi"\n' },
      { ...base, message_type: 'assistant_message', content: '東京 \u2028' },
      { ...base, message_type: 'reasoning_message', source: 'reasoner_model', reasoning: 'x', signature: null },
      { ...base, message_type: 'reasoning_message', source: 'non_reasoner_model', reasoning: 'y', signature: 'sig' },
      { ...base, otid: 'o2', message_type: 'tool_call_message', tool_call: c1, tool_calls: c1 },
      { ...base, otid: 'o2', message_type: 'tool_call_message', tool_call: c2, tool_calls: c2 },
      { ...base, otid: 'o2', message_type: 'approval_request_message', tool_call: c3, tool_calls: c3 },
      { ...base, otid: 'o2', message_type: 'assistant_message', content: 'z', seq_id: 4 },
      { ...base, date: 'e', otid: 'o2', message_type: 'assistant_message', content: 'z' },
    ];
    const s = new FrameSerializer();
    for (const f of frames) expect(s.json(f)).toBe(JSON.stringify(f));
  });
});
