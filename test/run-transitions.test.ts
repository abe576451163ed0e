import { describe, expect, it } from 'vitest';
import { createActor, type AnyEventObject } from 'xstate';
import { RunLog } from '../src/actors/run-log.js';
import { FINAL_RUN_STATES, runStateInspector, stateValue, statePath, trackRunStates, TransitionJournal } from '../src/actors/run-transitions.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { quietStoppedActorWarnings } from './support/quiet-stopped-actor.js';
import { FakeIO, inTools, key, runModelPaths, testMachine } from './support/run-model.js';

/**
 * The transition log of a run, on the run machine's model-generated paths (the same paths as the
 * model-based tests, each ended with a CANCEL): what XState inspection records, journaled through
 * a real store, replayed in order, reproduces every state the actor went through and its final
 * snapshot's value.
 */
quietStoppedActorWarnings();

async function storeWithRun(): Promise<SqliteStore> {
  const store = new SqliteStore({ file: ':memory:' });
  const now = new Date().toISOString();
  await store.createAgent({ id: 'agent-x', name: 'x', model: 'm', system: '', tools: [], requiresApprovalTools: [], interfaceMode: 'simple', maxSteps: 3, state: 'running', activeRunId: 'run-x', pendingToolCalls: [], tags: [], createdAt: now, updatedAt: now });
  await store.createRun({ id: 'run-x', agentId: 'agent-x', status: 'running', stopReason: null, usage: null, error: null, createdAt: now, completedAt: null });
  return store;
}

for (const resumesWithTools of [false, true]) {
  describe(`run transitions, model-based (${resumesWithTools ? 'approval run' : 'user message run'})`, () => {
    const { input, paths } = runModelPaths(resumesWithTools);

    it(`replayed in order, the stored transitions reproduce every state and the final snapshot (${paths.length} paths)`, async () => {
      for (const path of paths) {
        const io = new FakeIO();
        const store = await storeWithRun();
        const log = new RunLog('run-x', 'agent-x');
        const warnings: string[] = [];
        const journal = new TransitionJournal(store, log, (m) => warnings.push(m));
        const seen: string[] = []; // the run actor's own snapshots, consecutive repeats dropped
        const actor = createActor(testMachine, {
          input: { ...input, io },
          inspect: runStateInspector((state) => {
            if (log.setState(state)) journal.changed(state);
          }),
        });
        // The service's subscription-based tracking reports the same states as inspection.
        const subscribed: Array<{ run: string; step: string | null }> = [];
        trackRunStates(actor, (state) => subscribed.push({ ...state }));
        actor.subscribe((snap) => {
          const value = statePath(snap.value) as string;
          if (seen.at(-1) !== value) seen.push(value);
        });
        actor.start();
        const events = path.steps.map((s) => s.event as AnyEventObject).filter((e) => e.type !== 'xstate.init');
        const where = events.map(key).join(' → ');
        for (const e of events) {
          log.append({ message_type: 'ping' } as never); // a frame per event: transitions carry the seq_id they came after
          actor.send(e as never);
        }
        const wasInTools = actor.getSnapshot().status === 'active' && inTools(actor.getSnapshot().value);
        actor.send({ type: 'CANCEL' });
        if (wasInTools) await new Promise((r) => setTimeout(r, 0));
        const snap = actor.getSnapshot();
        expect(snap.status, where).toBe('done');

        expect(subscribed, where).toEqual(log.transitions.map((t) => ({ run: t.run, step: t.step })));
        await journal.settled(); // written in batches, asynchronously
        const stored = await store.listRunTransitions('run-x');
        expect(stored, where).toEqual(log.transitions); // all written, the last at the final state
        expect(warnings, where).toEqual([]);
        // Replayed in order: the run's states are the ones its actor went through, in that order…
        const runStates = stored.map((t) => t.run).filter((s, i, all) => i === 0 || all[i - 1] !== s);
        expect(runStates, where).toEqual(seen);
        // …every one is a state of the chart, and the last one is the final snapshot's value.
        for (const t of stored) expect(testMachine.resolveState({ value: stateValue(t.run), context: snap.context }).value, where).toEqual(stateValue(t.run));
        const last = stored.at(-1)!;
        expect(stateValue(last.run), where).toEqual(snap.value);
        expect(FINAL_RUN_STATES.has(last.run), where).toBe(true);
        // Numbered 1, 2, 3, …; seq_ids never go back; a step state only while streaming.
        expect(stored.map((t) => t.seq), where).toEqual(stored.map((_, i) => i + 1));
        for (let i = 1; i < stored.length; i++) expect(stored[i]!.seqId, where).toBeGreaterThanOrEqual(stored[i - 1]!.seqId);
        for (const t of stored) expect(t.step === null, where).toBe(t.run !== 'streaming');
        await store.close();
      }
    });
  });
}

describe('RunLog.setState', () => {
  it('records a transition only when the run or step state changes, with the seq_id it came after', async () => {
    const log = new RunLog('run-x', 'agent-x');
    expect(log.setState({ run: 'streaming', step: 'streaming.betweenBlocks' })).not.toBeNull();
    log.append({ message_type: 'ping' } as never);
    expect(log.setState({ run: 'streaming', step: 'streaming.betweenBlocks' })).toBeNull();
    const t = log.setState({ run: 'streaming', step: 'streaming.text' });
    expect(t).toMatchObject({ seq: 2, run: 'streaming', step: 'streaming.text', seqId: 1 });
    expect(log.transitions).toHaveLength(2);
  });
});
