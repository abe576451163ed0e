import type { AnyActorRef, InspectionEvent, StateValue } from 'xstate';
import type { RunTransition, Store } from '../store/types.js';
import { JOURNAL_FLUSH_MS } from './frame-journal.js';
import { BatchWriter } from './batch-writer.js';
import { FlushTimer } from './flush-timer.js';
import type { RunLog, RunState } from './run-log.js';

/** `{streaming: 'text'}` → `streaming.text`. */
export function statePath(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    // The first key only (no `Object.entries` array: this runs for every snapshot of a step).
    for (const k in value) {
      const rest = statePath((value as Record<string, unknown>)[k]);
      return rest ? `${k}.${rest}` : k;
    }
  }
  return null;
}

/** `streaming.text` → `{streaming: 'text'}` (what `machine.resolveState` takes). */
export function stateValue(path: string): StateValue {
  const [head, ...rest] = path.split('.');
  return rest.length === 0 ? (head as string) : { [head as string]: stateValue(rest.join('.')) };
}

/** The run chart's final states: a run in one of them has ended. */
export const FINAL_RUN_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/**
 * The run's and its step's active states from XState inspection (`@xstate.snapshot` of the run
 * actor — the inspected root — and of its `step` child), reported whenever either changes. The
 * step's state counts only while the run is `streaming`; nothing is reported before the run
 * actor's first snapshot (its children start first).
 */
export function runStateInspector(onState: (state: RunState) => void): (ev: InspectionEvent) => void {
  let run: string | null = null;
  let step: string | null = null;
  return (ev) => {
    if (ev.type !== '@xstate.snapshot') return;
    const value = statePath((ev.snapshot as { value?: unknown }).value);
    if (value === null) return;
    if (ev.actorRef.sessionId === ev.rootId) run = value;
    else if ((ev.actorRef as { id?: string }).id === 'step') step = value;
    else return;
    if (run !== null) onState({ run, step: run === 'streaming' ? step : null });
  };
}

type Snap = { status?: string; value?: unknown; children?: Record<string, AnyActorRef | undefined> };

/**
 * The same states as `runStateInspector`, in the same order, from snapshot subscriptions to the
 * run actor and its `step` child instead of inspection: an inspection observer makes XState build
 * and copy an event for every event, action, microstep and snapshot of every actor (several per
 * streamed delta), where a subscription costs one call per snapshot. Call before `run.start()`.
 *
 * Two places where inspection's order differs from the observers' are mirrored here:
 * - a step child starts (and may move) inside the run's update, before the run's snapshot: its
 *   state is read when the run's snapshot shows it, as inspection reports nothing new before that;
 * - a step that reaches its final state tells its observers before its parent gets the done event,
 *   but inspection reports that snapshot after: when the run took the done event at once (the step
 *   ended on an upstream event), the run has left `streaming` and the final step state is never
 *   reported; when the run was busy (a CANCEL it forwarded), it is reported before the run's
 *   snapshot, which is still `streaming`. So the final step state waits for the run's next snapshot.
 */
export function trackRunStates(run: AnyActorRef, onState: (state: RunState) => void): void {
  let runState: string | null = null;
  let step: string | null = null;
  let stepRef: AnyActorRef | undefined;
  let finalStep: string | null = null;
  let last: RunState | null = null;
  const report = () => {
    if (runState === null) return;
    const s = runState === 'streaming' ? step : null;
    if (last && last.run === runState && last.step === s) return;
    last = { run: runState, step: s };
    onState(last);
  };
  const onStep = (ref: AnyActorRef) => {
    // A delta's transition has no target: XState hands observers the same snapshot object again.
    // Its state was taken from it already, and the run's own changes report themselves.
    let seen: Snap | null = null;
    return (snap: Snap) => {
      if (ref !== stepRef || snap === seen) return;
      seen = snap;
      onStepSnapshot(snap);
    };
  };
  const onStepSnapshot = (snap: Snap) => {
    const value = statePath(snap.value);
    if (value === null) return;
    if (snap.status === 'done') finalStep = value;
    else {
      step = value;
      report();
    }
  };
  run.subscribe({
    next: (snap: Snap) => {
      const value = statePath(snap.value);
      if (value === null) return;
      if (finalStep !== null) {
        if (value === 'streaming') {
          step = finalStep;
          report();
        }
        finalStep = null;
      }
      const child = snap.children?.step;
      if (child !== undefined && child !== stepRef) {
        stepRef = child;
        const current = statePath((child.getSnapshot() as Snap).value);
        if (current !== null) step = current;
        child.subscribe({ next: onStep(child), error: () => {} });
      }
      runState = value;
      report();
    },
    // A run that throws is handled by its owner; its snapshot's state does not change.
    error: () => {},
  });
}

/**
 * Writes a run's state changes (the log's transitions) to the store in batches, like the frame
 * journal: a timer after the first unwritten change, and at once when the run reaches a final
 * state. They are inspection data: a refused write is reported and recording stops, the run goes on.
 */
export class TransitionJournal {
  private readonly timer = new FlushTimer(JOURNAL_FLUSH_MS, () => this.flush());
  private readonly batches: BatchWriter<RunTransition>;

  constructor(store: Store, log: RunLog, warn: (message: string) => void) {
    this.batches = new BatchWriter(
      (written) => log.transitionsAfter(written),
      (batch) => store.appendRunTransitions(log.runId, batch),
      (err) => warn(`run ${log.runId}: recording its state changes failed (its replay will be incomplete): ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** A change was recorded in the log. */
  changed(state: RunState): void {
    if (this.batches.stopped) return;
    if (FINAL_RUN_STATES.has(state.run)) return this.flush();
    this.timer.arm();
  }

  flush(): void {
    this.timer.disarm();
    this.batches.flush();
  }

  /** Resolves once every batch taken so far is written (or refused, and reported). Never rejects. */
  settled(): Promise<void> {
    return this.batches.settled();
  }
}
