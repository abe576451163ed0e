import { describe, expect, it } from 'vitest';
import { createActor, type AnyEventObject } from 'xstate';
import { quietStoppedActorWarnings } from './support/quiet-stopped-actor.js';
import { FakeIO, inTools, key, runModelPaths, samples, testMachine } from './support/run-model.js';

/**
 * Model-based tests of the run machine: xstate/graph generates a shortest path to every
 * (state, event) pair over the step outcomes a stream can have, tool-phase outcomes, and CANCEL;
 * each path is driven through a real actor whose children are stand-ins (the stream machine
 * and the upstream have their own tests), and then CANCEL is sent. The run finalizer must run
 * exactly once with the status the final state says.
 */
quietStoppedActorWarnings();
for (const resumesWithTools of [false, true]) {
  describe(`run machine, model-based (${resumesWithTools ? 'approval run' : 'user message run'})`, () => {
    const { input, paths } = runModelPaths(resumesWithTools);

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
