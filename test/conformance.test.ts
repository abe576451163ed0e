import { describe, expect, it } from 'vitest';
import { eventsFromSse, replayStep } from '../src/actors/replay-step.js';
import type { LettaFrame } from '../src/letta/frames.js';
import { stopReasonFor, usageFrame } from '../src/letta/step-outcome.js';
import { loadCases, stepOptionsOf } from './support/cases.js';
import { contractProblem } from './support/contract.js';
import { messageProblems } from './support/invariants.js';
import { transcript } from './support/transcript.js';

const cases = loadCases();

describe('conformance: recorded Anthropic streams replayed through the stream machine', () => {
  it('has every case from ../shared/conformance', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  for (const { c, expected } of cases) {
    it(c.name, () => {
      const frames: LettaFrame[] = [];
      const options = stepOptionsOf(c);
      const result = replayStep(eventsFromSse(c.sse), options, (f) => frames.push(f));
      frames.push({ message_type: 'stop_reason', stop_reason: stopReasonFor(result) });
      frames.push(usageFrame(result.usage, 1, [options.runId]));

      const got = transcript(frames as unknown as Array<Record<string, unknown>>);
      expect(got.segments).toEqual(expected.segments);
      expect(got.usage).toEqual(expected.usage);
      if (expected.stop_reason === 'error') expect(got.stop_reason).toBe('error');
      else expect(got.stop_reason).not.toBe('error');

      expect(frames.map(contractProblem).filter(Boolean)).toEqual([]);
      expect(messageProblems(frames as unknown as Array<Record<string, unknown>>, c.options)).toEqual([]);
    });
  }
});
