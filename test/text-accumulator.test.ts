import { describe, expect, it } from 'vitest';
import { replayStep } from '../src/actors/replay-step.js';
import type { StreamEvent } from '../src/letta/anthropic-events.js';
import { TextAccumulator } from '../src/letta/text-accumulator.js';

describe('TextAccumulator', () => {
  it('gives back every delta in order, across chunk boundaries', () => {
    for (const n of [0, 1, 255, 256, 257, 513, 1000]) {
      const acc = new TextAccumulator();
      const all: string[] = [];
      for (let i = 0; i < n; i++) {
        const s = `${i}é,`;
        acc.push(s);
        all.push(s);
      }
      expect(acc.join()).toBe(all.join(''));
    }
  });

  it("keeps a long block's whole text in the step's content", () => {
    const deltas = Array.from({ length: 1000 }, (_, i) => `w${i} `);
    const events: StreamEvent[] = [
      { type: 'MESSAGE_START', messageId: 'msg_1', model: 'm', usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 } },
      { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'text' } },
      ...deltas.map((text): StreamEvent => ({ type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'text_delta', text } })),
      { type: 'CONTENT_BLOCK_STOP', index: 0 },
      { type: 'MESSAGE_STOP' },
    ];
    const result = replayStep(events, { interface: 'simple', runId: 'run-t', stepId: 'step-t' }, () => {});
    expect(result.content).toEqual([{ type: 'text', text: deltas.join(''), complete: true }]);
  });
});
