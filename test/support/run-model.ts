import { createMachine, fromCallback, fromPromise, type AnyEventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import type { StopReasonType } from '../../src/letta/frames.js';
import type { StepOptions, StepResult } from '../../src/letta/step-builder.js';
import { runMachine, type RunIO } from '../../src/machines/run.machine.js';

/**
 * The run machine's model: sample events (step outcomes, tool-phase outcomes, CANCEL), a fake
 * world (FakeIO) and stand-in children, and the shortest paths xstate/graph generates over them.
 */
export const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 };
export const result = (over: Partial<StepResult>): StepResult => ({
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
export const samples: AnyEventObject[] = [
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

export class FakeIO implements RunIO {
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
  readonly frames = (): void => {};
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
export const testMachine = runMachine.provide({
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

export const inTools = (value: unknown) => typeof value === 'object' && value !== null && 'executingTools' in value;
export const key = (e: AnyEventObject | undefined) => (e ? `${e.type}:${(e as { sample?: string }).sample ?? ''}` : '');


/** Shortest paths to every (state, event) pair, for a user message run or an approval run. */
export function runModelPaths(resumesWithTools: boolean) {
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
  return { input, paths };
}
