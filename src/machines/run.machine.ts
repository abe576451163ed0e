import { assign, sendTo, setup, stateIn, type ActorRefFrom } from 'xstate';
import type { StopReasonType } from '../letta/frames.js';
import { runnableToolCalls } from '../letta/history.js';
import type { StepOptions, StepResult } from '../letta/step-builder.js';
import { stopReasonFor } from '../letta/step-outcome.js';
import { upstreamStep, type UpstreamInput } from '../actors/upstream.js';
import { toolRunner, type ToolRunnerInput, type ToolRunnerOutput } from '../actors/tool-runner.js';
import { streamMachine, type FrameSink } from './stream.machine.js';

/**
 * What a run does to the world, behind one interface, so that the chart stays data and the
 * model-based tests can drive it with a fake world. The real one is RunDriver.
 */
export interface RunIO {
  /** A new step begins: a new step id and message id. */
  beginStep(): void;
  /** Options for the current step's stream machine (ids, interface mode, approval tools). */
  stepOptions(): StepOptions;
  /** Where the step machine's actions hand its frames (the run log and what records the step). */
  readonly frames: FrameSink;
  /** The upstream actor's input for the current step: Anthropic client and request. */
  upstreamInput(): Omit<UpstreamInput, 'run'>;
  /** Persist what the step showed and append its assistant turn to the history. */
  recordStep(result: StepResult): void;
  /** Why a store write of this run failed (full disk, locked database), or null: such a run ends `failed`. */
  storeFailure(): string | null;
  /** Input for the tool phase: the calls of the last step (or the approval decisions). */
  toolInput(): ToolRunnerInput;
  /**
   * A cancel arrived during the tool phase: stop what can still be stopped. The phase then
   * settles with every call's true outcome (a write already under way finishes and is reported).
   */
  stopTools(): void;
  /** The one run finalizer: idempotent, never throws. */
  finalize(status: 'completed' | 'failed' | 'cancelled', stopReason: StopReasonType): void;
}

export interface RunInput {
  runId: string;
  maxSteps: number;
  /** The run starts by executing decided tool calls (an approval or a client tool return). */
  resumesWithTools: boolean;
  io: RunIO;
}

export interface RunContext extends RunInput {
  stepCount: number;
  lastStep: StepResult | null;
  stopReason: StopReasonType | null;
}

export type RunEvent = { type: 'CANCEL'; reason?: string };

/**
 * One agent turn: steps of (Anthropic stream → tools) until end_turn, requires_approval,
 * max_steps, an error (a refused store write included), or cancel. The stream machine runs as the `step` child; the upstream
 * actor feeds it and is aborted when the run leaves `streaming`. CANCEL is accepted in every
 * non-final state (in the tool phase it stops the tools, and the run ends once they settled);
 * every final state's entry runs the run finalizer, once.
 */
export const runMachine = setup({
  types: {
    context: {} as RunContext,
    events: {} as RunEvent,
    input: {} as RunInput,
  },
  actors: { stream: streamMachine, upstream: upstreamStep, tools: toolRunner },
  guards: {
    resumesWithTools: ({ context }) => context.resumesWithTools,
    /** A write the run needed was refused: whatever the step did, the run fails. */
    storeFailed: ({ context }) => context.io.storeFailure() !== null,
    stepCancelled: ({ context }) => context.lastStep?.outcome === 'cancelled',
    stepFailed: ({ context }) => context.lastStep?.outcome === 'failed',
    stepRequestsApproval: ({ context }) => context.lastStep?.approvalRequested === true,
    stepCallsTools: ({ context }) => context.lastStep !== null && runnableToolCalls(context.lastStep).length > 0,
    stepLimitReached: ({ context }) => context.stepCount >= context.maxSteps,
    /** A cancel came during the tool phase: once the tools have settled, the run ends cancelled. */
    stopRequested: stateIn({ executingTools: 'stopping' }),
    /** A terminal tool (Letta's send_message) ends the turn once it has run. */
    toolsEndedTurn: ({ event }) => (event as { output?: ToolRunnerOutput }).output?.endsTurn === true,
  },
  actions: {
    beginStep: ({ context }) => context.io.beginStep(),
    countStep: assign({ stepCount: ({ context }) => context.stepCount + 1 }),
    /** Persist what the step showed (also a cancelled or failed one: nothing the client saw is lost). */
    recordStep: ({ context, event }) => {
      const result = (event as { output?: StepResult }).output;
      if (result) context.io.recordStep(result);
    },
    rememberStep: assign({ lastStep: ({ event }) => (event as { output?: StepResult }).output ?? null }),
    stopBecauseOfStep: assign({ stopReason: ({ context }) => (context.lastStep ? stopReasonFor(context.lastStep) : 'error') }),
    stopWith: assign({ stopReason: (_, params: { reason: StopReasonType }) => params.reason }),
    /** The step machine's own CANCEL transition finalizes the step; its done event then ends the run. */
    cancelStep: sendTo('step', { type: 'CANCEL' }),
    stopTools: ({ context }) => context.io.stopTools(),
    finalizeRun: ({ context }, params: { status: 'completed' | 'failed' | 'cancelled' }) => {
      const reason = params.status === 'cancelled' ? 'cancelled' : (context.stopReason ?? (params.status === 'failed' ? 'error' : 'end_turn'));
      context.io.finalize(params.status, reason);
    },
  },
}).createMachine({
  id: 'run',
  context: ({ input }) => ({ ...input, stepCount: 0, lastStep: null, stopReason: null }),
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'resumesWithTools', target: 'executingTools' }, { target: 'streaming' }],
    },
    streaming: {
      entry: ['beginStep', 'countStep'],
      invoke: [
        {
          id: 'step',
          src: 'stream',
          input: ({ context }) => ({ ...context.io.stepOptions(), frames: context.io.frames }),
          // Store first, then decide: whether the step could be stored is part of the decision.
          onDone: { target: 'stepEnded', actions: ['recordStep', 'rememberStep'] },
        },
        {
          id: 'upstream',
          src: 'upstream',
          input: ({ context, self }) => ({ ...context.io.upstreamInput(), run: self }),
        },
      ],
      on: { CANCEL: { actions: 'cancelStep' } },
    },
    stepEnded: {
      always: [
        { guard: 'storeFailed', target: 'failed', actions: { type: 'stopWith', params: { reason: 'error' } } },
        { guard: 'stepCancelled', target: 'cancelled' },
        { guard: 'stepFailed', target: 'failed', actions: 'stopBecauseOfStep' },
        { guard: 'stepRequestsApproval', target: 'completed', actions: { type: 'stopWith', params: { reason: 'requires_approval' } } },
        { guard: 'stepCallsTools', target: 'executingTools' },
        { target: 'completed', actions: 'stopBecauseOfStep' },
      ],
    },
    executingTools: {
      // Cancel does not leave this state at once: a tool that has begun changing the workspace
      // cannot be taken back, so its outcome is waited for and told before the run ends cancelled.
      initial: 'running',
      invoke: {
        id: 'tools',
        src: 'tools',
        input: ({ context }) => context.io.toolInput(),
        onDone: [
          // A refused write outranks a cancel: the run could not record what happened.
          { guard: 'storeFailed', target: 'failed', actions: { type: 'stopWith', params: { reason: 'error' } } },
          { guard: 'stopRequested', target: 'cancelled' },
          { guard: 'toolsEndedTurn', target: 'completed', actions: { type: 'stopWith', params: { reason: 'end_turn' } } },
          { guard: 'stepLimitReached', target: 'completed', actions: { type: 'stopWith', params: { reason: 'max_steps' } } },
          { target: 'streaming' },
        ],
        onError: [
          { guard: 'storeFailed', target: 'failed', actions: { type: 'stopWith', params: { reason: 'error' } } },
          { guard: 'stopRequested', target: 'cancelled' },
          { target: 'failed', actions: { type: 'stopWith', params: { reason: 'error' } } },
        ],
      },
      states: {
        running: { on: { CANCEL: { target: 'stopping', actions: 'stopTools' } } },
        stopping: {},
      },
    },
    completed: { type: 'final', entry: { type: 'finalizeRun', params: { status: 'completed' } } },
    failed: { type: 'final', entry: { type: 'finalizeRun', params: { status: 'failed' } } },
    cancelled: { type: 'final', entry: { type: 'finalizeRun', params: { status: 'cancelled' } } },
  },
});

export type RunActor = ActorRefFrom<typeof runMachine>;
