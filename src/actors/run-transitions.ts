import type { InspectionEvent, StateValue } from 'xstate';
import type { RunTransition, Store } from '../store/types.js';
import { JOURNAL_FLUSH_MS } from './frame-journal.js';
import { BatchWriter } from './batch-writer.js';
import { FlushTimer } from './flush-timer.js';
import type { RunLog, RunState } from './run-log.js';

/** `{streaming: 'text'}` → `streaming.text`. */
export function statePath(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [k, v] = Object.entries(value)[0] ?? [];
    if (k === undefined) return null;
    const rest = statePath(v);
    return rest ? `${k}.${rest}` : k;
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
