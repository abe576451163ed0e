import { afterAll, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import type { StreamEvent } from '../src/letta/anthropic-events.js';
import type { StreamedMessage } from '../src/letta/frames.js';
import { StepBuilder, type StepOptions } from '../src/letta/step-builder.js';
import { streamMachine, type FrameSink, type StreamInput } from '../src/machines/stream.machine.js';
import { messageProblems } from './support/invariants.js';
import { quietStoppedActorWarnings } from './support/quiet-stopped-actor.js';
import { contractProblem } from './support/contract.js';

/**
 * Model-based tests: xstate/graph walks the real stream machine with a sample of every event
 * (each block type, each delta type, CANCEL, upstream failures) and yields a shortest path to
 * every (state, incoming event) pair — transition coverage. Each path is then driven through a
 * real actor, then cancelled if still streaming, and the finalizer invariants are checked.
 */
quietStoppedActorWarnings();
const usage = { inputTokens: 10, outputTokens: 1, cacheReadTokens: 2, cacheCreationTokens: 3 };
const samples: StreamEvent[] = [
  { type: 'MESSAGE_START', messageId: 'msg_1', model: 'claude', usage },
  { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'text' } },
  { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'thinking' } },
  { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'redacted_thinking', data: 'EqRedacted==' } },
  { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'tool_use', id: 'toolu_a', name: 'get_time' } },
  { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'tool_use', id: 'toolu_b', name: 'write_file' } },
  { type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'other', type: 'server_tool_use' } },
  { type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'text_delta', text: 'Hello </thinking> wor' } },
  { type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'input_json_delta', json: '{"thinking": "hm", "path": "a\\u00e9' } },
  { type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'thinking_delta', thinking: 'Let me think' } },
  { type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'signature_delta', signature: 'EqSig==' } },
  { type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'other', type: 'citations_delta' } },
  { type: 'CONTENT_BLOCK_STOP', index: 0 },
  { type: 'MESSAGE_DELTA', stopReason: 'end_turn', outputTokens: 42 },
  { type: 'MESSAGE_STOP' },
  { type: 'PING' },
  { type: 'ERROR', errorType: 'overloaded_error', message: 'Overloaded' },
  { type: 'UPSTREAM_CLOSED', code: 'connection_error', message: 'socket hang up' },
  { type: 'CANCEL', reason: 'user' },
];

const sampleKey = (e: StreamEvent): string =>
  e.type === 'CONTENT_BLOCK_START'
    ? `${e.type}:${e.block.kind}:${e.block.kind === 'tool_use' ? e.block.name : ''}`
    : e.type === 'CONTENT_BLOCK_DELTA'
      ? `${e.type}:${e.delta.kind}`
      : e.type;

const modes: Array<Pick<StepOptions, 'interface' | 'innerThoughtsInKwargs' | 'useAssistantMessage'>> = [
  { interface: 'simple' },
  { interface: 'kwargs', innerThoughtsInKwargs: true, useAssistantMessage: true },
  { interface: 'kwargs', innerThoughtsInKwargs: false, useAssistantMessage: false },
];

function optionsFor(mode: (typeof modes)[number], frames: FrameSink = () => {}): StreamInput {
  return { ...mode, runId: 'run-model', stepId: 'step-model', requiresApprovalTools: ['write_file'], frames };
}

// Count real finalizations: calls of the builder's finalizer while it was not finalized yet.
let finalizations = 0;
const realFinalize = StepBuilder.prototype.finalize;
StepBuilder.prototype.finalize = function (this: StepBuilder, outcome) {
  if (!this.finalized) finalizations++;
  return realFinalize.call(this, outcome);
};
afterAll(() => {
  StepBuilder.prototype.finalize = realFinalize;
});

const paths = getShortestPaths(streamMachine, {
  events: samples,
  input: optionsFor(modes[0]!),
  // value + incoming event: one path per transition, and no context in the key (it is mutable).
  serializeState: (snapshot, event) => `${JSON.stringify(snapshot.value)}|${event ? sampleKey(event) : ''}`,
});

const stateIds = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [k, ...stateIds(v).map((s) => `${k}.${s}`)]);

describe('stream machine, model-based (xstate/graph)', () => {
  it('the generated paths reach every state and take every event in every state', () => {
    const reached = new Set(paths.flatMap((p) => stateIds(p.state.value)));
    for (const s of ['streaming.betweenBlocks', 'streaming.text', 'streaming.thinking', 'streaming.redacted_thinking', 'streaming.tool_use', 'streaming.otherBlock', 'done', 'failed', 'cancelled']) {
      expect(reached, s).toContain(s);
    }
    // every sample event is tried from every streaming state
    const fromStreaming = new Set(paths.flatMap((p) => p.steps.map((s, i) => (i > 0 ? `${JSON.stringify(p.steps[i - 1]!.state.value)}|${sampleKey(s.event)}` : ''))));
    expect(fromStreaming.size).toBeGreaterThan(6 * samples.length - samples.length);
  });

  for (const mode of modes) {
    const label = `${mode.interface}${mode.innerThoughtsInKwargs ? ' + inner thoughts' : ''}`;
    it(`${label}: on every path the finalizer runs exactly once and nothing follows it (${paths.length} paths)`, () => {
      for (const path of paths) {
        const events = path.steps.map((s) => s.event).filter((e) => (e.type as string) !== 'xstate.init');
        const where = events.map(sampleKey).join(' → ');
        const frames: StreamedMessage[] = [];
        let framesAtDone = -1;
        const actor = createActor(streamMachine, { input: optionsFor(mode, (f) => frames.push(f)) });
        finalizations = 0;
        actor.subscribe({
          next: (s) => {
            if (s.status === 'done' && framesAtDone < 0) framesAtDone = frames.length;
          },
          error: (err) => {
            throw err;
          },
        });
        actor.start();
        for (const e of events) actor.send(e);
        const wasActive = actor.getSnapshot().status === 'active';
        if (wasActive) actor.send({ type: 'CANCEL' });
        // Everything after the end is ignored: no frame, no second finalizer, no error.
        for (const e of samples) actor.send(e);

        const snapshot = actor.getSnapshot();
        expect(snapshot.status, where).toBe('done');
        expect(finalizations, where).toBe(1);
        expect(frames.length, where).toBe(framesAtDone);
        const result = snapshot.output!;
        if (wasActive || snapshot.value === 'cancelled') {
          expect(result.cancelled, where).toBe(snapshot.value === 'cancelled');
        }
        expect(result.cancelled, where).toBe(snapshot.value === 'cancelled');
        expect(result.outcome, where).toBe(snapshot.value === 'done' ? 'completed' : snapshot.value);
        if (snapshot.value === 'failed') expect(result.error?.message, where).toBeTruthy();
        expect(messageProblems(frames as unknown as Array<Record<string, unknown>>, { run_id: 'run-model', step_id: 'step-model' }), where).toEqual([]);
        expect(frames.map(contractProblem).filter(Boolean), where).toEqual([]);
        // Only complete tool calls count as an approval request.
        const approval = result.content.some((p) => p.type === 'tool_use' && p.requiresApproval && p.complete && p.input !== null);
        expect(result.approvalRequested, where).toBe(approval);
      }
    });
  }

  it('an integrity violation names what arrived in which mode', () => {
    const actor = createActor(streamMachine, { input: optionsFor(modes[0]!) }).start();
    actor.send({ type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'tool_use', id: 'toolu_x', name: 'x' } });
    actor.send({ type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'text_delta', text: 'oops' } });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().output?.error).toEqual({ code: 'integrity_error', message: 'stream integrity failed: text_delta arrived in tool_use mode' });
  });

  it('a cancel mid-tool-call keeps the partial call marked incomplete and never parsed', () => {
    const actor = createActor(streamMachine, { input: optionsFor(modes[0]!) }).start();
    actor.send({ type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'tool_use', id: 'toolu_x', name: 'write_file' } });
    actor.send({ type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'input_json_delta', json: '{"path": "a.txt", "content": "hel' } });
    actor.send({ type: 'CANCEL' });
    const result = actor.getSnapshot().output!;
    expect(result.cancelled).toBe(true);
    expect(result.approvalRequested).toBe(false);
    expect(result.content).toEqual([
      expect.objectContaining({ type: 'tool_use', id: 'toolu_x', complete: false, input: null, rawInput: '{"path": "a.txt", "content": "hel' }),
    ]);
  });
});
