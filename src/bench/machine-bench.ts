import { createActor, emit, enqueueActions, setup, type AnyStateMachine } from 'xstate';
import type { StreamEvent } from '../letta/anthropic-events.js';
import type { StreamedMessage } from '../letta/frames.js';
import type { StepOptions } from '../letta/step-builder.js';
import { streamMachine } from '../machines/stream.machine.js';
import { measure } from './harness.js';

/**
 * What one text delta costs inside XState, beside the real stream machine, in the same run:
 * bare `setup` machines of the stream machine's shape (root → streaming → text; the delta picks
 * the first of two guarded transitions) that differ only in the per-delta action.
 */

type Delta = Extract<StreamEvent, { type: 'CONTENT_BLOCK_DELTA' }>;
type Ctx = { sink: (frame: StreamedMessage) => void };

const frameOf = (text: string): StreamedMessage => ({
  id: 'message-bench',
  date: '2026-01-01T00:00:00+00:00',
  message_type: 'assistant_message',
  otid: 'otid-bench',
  run_id: 'run-bench',
  step_id: 'step-bench',
  content: text,
});
const textOf = (event: StreamEvent): string => (event as Delta & { delta: { kind: 'text_delta'; text: string } }).delta.text;

function shaped(appendText: 'none' | 'plain' | 'emit' | 'enqueue', flat = false): AnyStateMachine {
  const actions = {
    none: () => {},
    plain: ({ context, event }: { context: Ctx; event: StreamEvent }) => context.sink(frameOf(textOf(event))),
    emit: emit(({ event }: { event: StreamEvent }) => ({ type: 'letta.frame' as const, frame: frameOf(textOf(event)) })),
    enqueue: enqueueActions(({ event, enqueue }: { event: StreamEvent; enqueue: { emit(e: { type: 'letta.frame'; frame: StreamedMessage }): void } }) => {
      enqueue.emit({ type: 'letta.frame', frame: frameOf(textOf(event)) });
    }),
  };
  const s = setup({
    types: { context: {} as Ctx, events: {} as StreamEvent, emitted: {} as { type: 'letta.frame'; frame: StreamedMessage } },
    guards: {
      isTextDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind === 'text_delta',
      isKnownDelta: ({ event }) => event.type === 'CONTENT_BLOCK_DELTA' && event.delta.kind !== 'other',
    },
    actions: { appendText: actions[appendText] as () => void, recordIntegrityViolation: () => {} },
  });
  const text = {
    on: {
      CONTENT_BLOCK_DELTA: [
        { guard: 'isTextDelta' as const, actions: 'appendText' as const },
        { guard: 'isKnownDelta' as const, target: '#bare.failed', actions: 'recordIntegrityViolation' as const },
      ],
      CONTENT_BLOCK_STOP: { target: 'text' },
    },
  };
  // No `streaming` parent: its transitions copied into the one mode (what flattening the chart means).
  if (flat) {
    return s.createMachine({
      id: 'bare',
      context: { sink: () => {} },
      initial: 'text',
      states: {
        text: { on: { ...text.on, PING: {}, CANCEL: { target: 'cancelled' } } },
        failed: { type: 'final' },
        cancelled: { type: 'final' },
      },
    });
  }
  return s.createMachine({
    id: 'bare',
    context: { sink: () => {} },
    initial: 'streaming',
    states: {
      streaming: {
        initial: 'text',
        on: { PING: {}, CANCEL: { target: 'cancelled' } },
        states: {
          text: {
            on: {
              CONTENT_BLOCK_DELTA: [
                { guard: 'isTextDelta', actions: 'appendText' },
                { guard: 'isKnownDelta', target: '#bare.failed', actions: 'recordIntegrityViolation' },
              ],
              CONTENT_BLOCK_STOP: { target: 'text' },
            },
          },
        },
      },
      failed: { type: 'final' },
      cancelled: { type: 'final' },
    },
  });
}

const WORDS = ['the ', 'agent ', 'streams ', 'café ', 'tokens ', '"quoted" ', 'to ', 'clients ', '東京 '];

export interface MachineBenchRow {
  name: string;
  usPerEvent: number;
}

export async function runMachineBench(quick = false): Promise<MachineBenchRow[]> {
  const n = quick ? 20_000 : 100_000;
  const deltas: StreamEvent[] = Array.from({ length: n }, (_, i) => ({ type: 'CONTENT_BLOCK_DELTA', index: 0, delta: { kind: 'text_delta', text: WORDS[i % WORDS.length]! } }));
  let bytes = 0;
  const count = (e: { frame: StreamedMessage }) => {
    bytes += (e.frame as { content?: string }).content?.length ?? 0;
  };
  const bare = (kind: 'none' | 'plain' | 'emit' | 'enqueue', flat = false) => {
    const machine = shaped(kind, flat);
    return () => {
      const actor = createActor(machine);
      actor.on('letta.frame', count);
      actor.start();
      (actor.getSnapshot().context as Ctx).sink = (frame) => count({ frame });
      for (let i = 0; i < deltas.length; i++) actor.send(deltas[i]!);
    };
  };
  const simple: StepOptions = { interface: 'simple', runId: 'run-bench', stepId: 'step-bench' };
  const real = () => {
    const actor = createActor(streamMachine, { input: { ...simple, frames: (frame) => count({ frame }) } });
    actor.start();
    actor.send({ type: 'CONTENT_BLOCK_START', index: 0, block: { kind: 'text' } });
    for (let i = 0; i < deltas.length; i++) actor.send(deltas[i]!);
  };
  const cases: Array<[string, () => void]> = [
    ['bare machine, no action', bare('none')],
    ['bare, plain action → sink (now)', bare('plain')],
    ['bare, one emit(fn) per delta (before)', bare('emit')],
    ['bare, enqueueActions + emit (first)', bare('enqueue')],
    ['bare flat (no streaming parent), sink', bare('plain', true)],
    ['real stream machine (simple, text)', real],
  ];
  const rows: MachineBenchRow[] = [];
  for (const [name, fn] of cases) {
    const m = await measure(name, fn, quick ? 3 : 7);
    rows.push({ name, usPerEvent: (m.medianMs * 1000) / n });
  }
  if (bytes < 0) console.log(bytes); // keep the work observable
  return rows;
}
