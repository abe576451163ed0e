import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromCallback, fromPromise, type AnyEventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import type { StopReasonType } from '../src/letta/frames.js';
import type { StepOptions, StepResult } from '../src/letta/step-builder.js';
import { runMachine, type RunIO } from '../src/machines/run.machine.js';
import { quietStoppedActorWarnings } from './support/quiet-stopped-actor.js';

/**
 * Model-based tests of the run machine: xstate/graph generates a shortest path to every
 * (state, event) pair over the step outcomes a stream can have, tool-phase outcomes, and CANCEL;
 * each path is driven through a real actor whose children are stand-ins (the stream machine
 * and the upstream have their own tests), and then CANCEL is sent. The run finalizer must run
 * exactly once with the status the final state says.
 */
quietStoppedActorWarnings();
const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 };
const result = (over: Partial<StepResult>): StepResult => ({
  outcome: 'completed',
  cancelled: false,
  messageId: 'message-00000000-0000-4000-8000-000000000000',
  upstreamMessageId: 'msg_1',
  model: 'claude',
  upstreamStopReason: 'end_turn',
  content: [],
  approvalRequested: false,
  usage,
  error: null,
  ...over,
});
const toolUse = (requiresApproval: boolean) => ({ type: 'tool_use' as const, id: 'toolu_1', name: 'get_time', input: {}, rawInput: '{}', complete: true, requiresApproval, error: null });

const stepDone = (name: string, output: StepResult) => ({ type: 'xstate.done.actor.step', output, sample: name }) as AnyEventObject;
const samples: AnyEventObject[] = [
  stepDone('end_turn', result({ content: [{ type: 'text', text: 'hi', complete: true }] })),
  stepDone('max_tokens', result({ upstreamStopReason: 'max_tokens' })),
  stepDone('tool', result({ content: [toolUse(false)], upstreamStopReason: 'tool_use' })),
  stepDone('approval', result({ content: [toolUse(true)], approvalRequested: true, upstreamStopReason: 'tool_use' })),
  stepDone('failed', result({ outcome: 'failed', error: { code: 'upstream_error', message: 'HTTP 529' } })),
  stepDone('cancelled', result({ outcome: 'cancelled', cancelled: true })),
  { type: 'xstate.done.actor.tools', output: { endsTurn: false }, sample: 'tools' },
  { type: 'xstate.done.actor.tools', output: { endsTurn: true }, sample: 'send_message' },
  { type: 'xstate.error.actor.tools', error: new Error('boom'), sample: 'tools error' },
  { type: 'CANCEL' },
];

class FakeIO implements RunIO {
  finalizations: Array<{ status: string; stopReason: StopReasonType }> = [];
  steps = 0;
  /** Set: recording the next step is refused by the store. */
  refuseWrites = false;
  fault: string | null = null;
  beginStep(): void {
    this.steps++;
  }
  stepOptions(): StepOptions {
    return { interface: 'simple', runId: 'run-x', stepId: `step-${this.steps}` };
  }
  upstreamInput() {
    return {} as never;
  }
  recordStep(): void {
    if (this.refuseWrites) this.fault = 'the store write failed (storing the step): database or disk is full';
  }
  storeFailure(): string | null {
    return this.fault;
  }
  stops = 0;
  private settle: (() => void) | null = null;
  /** A tool phase that settles only when told to stop (like a tool that runs until cancelled). */
  toolInput() {
    return { run: () => new Promise<{ endsTurn: boolean }>((resolve) => (this.settle = () => resolve({ endsTurn: false }))) };
  }
  stopTools(): void {
    this.stops++;
    this.settle?.();
  }
  finalize(status: 'completed' | 'failed' | 'cancelled', stopReason: StopReasonType): void {
    this.finalizations.push({ status, stopReason });
  }
}

/** Stand-in children: a step that ends cancelled on CANCEL, an idle upstream, the FakeIO's tool phase. */
const testMachine = runMachine.provide({
  actors: {
    stream: createMachine({
      initial: 'streaming',
      states: { streaming: { on: { CANCEL: 'cancelled' } }, cancelled: { type: 'final' } },
      output: () => result({ outcome: 'cancelled', cancelled: true }),
    }) as never,
    upstream: fromCallback(() => () => {}) as never,
    tools: fromPromise<{ endsTurn: boolean }, { run(signal: AbortSignal): Promise<{ endsTurn: boolean }> }>(({ input, signal }) => input.run(signal)) as never,
  },
});

const inTools = (value: unknown) => typeof value === 'object' && value !== null && 'executingTools' in value;
const key = (e: AnyEventObject | undefined) => (e ? `${e.type}:${(e as { sample?: string }).sample ?? ''}` : '');

for (const resumesWithTools of [false, true]) {
  describe(`run machine, model-based (${resumesWithTools ? 'approval run' : 'user message run'})`, () => {
    const input = { runId: 'run-x', maxSteps: 3, resumesWithTools, io: new FakeIO() };
    const paths = getShortestPaths(testMachine, {
      // Traversal spawns no children, so `sendTo('step')` cannot be resolved there: CANCEL in
      // `streaming` is covered by driving the real actor (every path ends with a CANCEL).
      // A child's done/error events only happen while that child exists (streaming: the step;
      // executingTools: the tool phase).
      events: ((snapshot: { value: unknown }) =>
        snapshot.value === 'streaming'
          ? samples.filter((e) => e.type.endsWith('.step'))
          : inTools(snapshot.value)
            ? samples.filter((e) => e.type.endsWith('.tools') || e.type === 'CANCEL')
            : []) as never,
      input,
      serializeState: (s, e) => `${JSON.stringify(s.value)}|${(s.context as { stepCount: number }).stepCount}|${key(e as AnyEventObject)}`,
    });

    it('reaches every state', () => {
      const states = new Set(paths.map((p) => JSON.stringify(p.state.value)));
      for (const s of ['streaming', { executingTools: 'running' }, { executingTools: 'stopping' }, 'completed', 'failed', 'cancelled']) expect(states).toContain(JSON.stringify(s));
    });

    it(`finalizer exactly once on every path, CANCEL accepted everywhere (${paths.length} paths)`, async () => {
      for (const path of paths) {
        const io = new FakeIO();
        const actor = createActor(testMachine, { input: { ...input, io } });
        actor.start();
        const events = path.steps.map((s) => s.event as AnyEventObject).filter((e) => e.type !== 'xstate.init');
        const where = events.map(key).join(' → ');
        for (const e of events) actor.send(e as never);
        const wasActive = actor.getSnapshot().status === 'active';
        const wasInTools = wasActive && inTools(actor.getSnapshot().value);
        actor.send({ type: 'CANCEL' });
        actor.send({ type: 'CANCEL' });
        // In the tool phase a cancel stops the tools; the run ends once they have settled.
        if (wasInTools) {
          expect(io.finalizations, where).toHaveLength(0);
          expect(io.stops, where).toBeGreaterThanOrEqual(1);
          await new Promise((r) => setTimeout(r, 0));
        }
        const snap = actor.getSnapshot();
        expect(snap.status, where).toBe('done');
        expect(io.finalizations, where).toHaveLength(1);
        const f = io.finalizations[0]!;
        expect(f.status, where).toBe(snap.value);
        if (wasActive) expect(snap.value, where).toBe('cancelled');
        if (snap.value === 'cancelled') expect(f.stopReason, where).toBe('cancelled');
        const last = events[events.length - 1];
        if (!wasActive && (last as { sample?: string })?.sample === 'approval') expect(f.stopReason, where).toBe('requires_approval');
        if (!wasActive && (last as { sample?: string })?.sample === 'max_tokens') expect(f.stopReason, where).toBe('max_tokens_exceeded');
        if (!wasActive && (last as { sample?: string })?.sample === 'failed') expect(f.stopReason, where).toBe('llm_api_error');
      }
    });

    it('a step the store refused fails the run with error, whatever the step asked for next', () => {
      for (const sample of samples.slice(0, 6)) {
        const io = new FakeIO();
        io.refuseWrites = true;
        const actor = createActor(testMachine, { input: { ...input, resumesWithTools: false, io } }).start();
        actor.send(sample as never);
        expect(actor.getSnapshot().value, String(sample.sample)).toBe('failed');
        expect(io.finalizations, String(sample.sample)).toEqual([{ status: 'failed', stopReason: 'error' }]);
      }
    });

    it('stops with max_steps when the step limit is reached', () => {
      const io = new FakeIO();
      const actor = createActor(testMachine, { input: { ...input, maxSteps: 1, resumesWithTools: false, io } }).start();
      actor.send(samples[2] as never);
      actor.send(samples[6] as never);
      expect(io.finalizations).toEqual([{ status: 'completed', stopReason: 'max_steps' }]);
    });
  });
}
