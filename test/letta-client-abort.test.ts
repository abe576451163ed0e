import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';
import { collect, type Chunk } from './support/letta-stream-chunks.js';

/**
 * Ctrl-C as Letta's own clients do it, through `@letta-ai/letta-client` 1.12.1: the stream's
 * request is aborted, then the run is cancelled by a request of its own (Letta Code's TUI:
 * `abortController.abort()` then `conversations.cancel`; its listener: `agents.messages.cancel`
 * with the run id). A hang-up alone does not cancel a run, background or not, as on Letta.
 */
let h: Harness;
let letta: Letta;
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
});
afterEach(() => h.close());

/** Reads a stream until it ends (the client's iteration just stops on an abort) or fails. */
async function readUntilAborted(stream: AsyncIterable<unknown>, into: Chunk[]): Promise<unknown> {
  try {
    for await (const c of stream) into.push(c as Chunk);
    return null;
  } catch (err) {
    return err;
  }
}

const stopReasons = (frames: ReadonlyArray<{ message_type?: string; stop_reason?: string }>) =>
  frames.filter((f) => f.message_type === 'stop_reason').map((f) => f.stop_reason);

describe('Letta client: abort, then cancel (Ctrl-C)', () => {
  for (const way of ['agents.messages.stream + agents.messages.cancel(run_ids)', 'conversations.messages.create (streaming) + conversations.cancel'] as const) {
    it(`while the model is stalled, via ${way}: the run ends cancelled, one stop_reason cancelled stored, the agent takes a new turn`, async () => {
      const agent = await h.service.ensureDemoAgent();
      const conversation = way.startsWith('conversations') ? await letta.conversations.create({ agent_id: agent.id }) : null;
      const controller = new AbortController();
      const body = { messages: [{ role: 'user' as const, content: '#stall 10000\nlong wait' }] };
      const stream = conversation
        ? await letta.conversations.messages.create(conversation.id, { ...body, streaming: true }, { signal: controller.signal })
        : await letta.agents.messages.stream(agent.id, body, { signal: controller.signal });
      const seen: Chunk[] = [];
      const reading = readUntilAborted(stream, seen);
      await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
      const runId = (await h.store.listRuns(agent.id, 1, conversation?.id ?? null))[0]!.id;

      controller.abort(); // Ctrl-C: the client stops reading
      expect(await reading).toBeNull();
      expect(stopReasons(seen)).toEqual([]);
      await new Promise((r) => setTimeout(r, 200));
      expect((await letta.runs.retrieve(runId)).status).toBe('running'); // a hang-up alone cancels nothing

      if (conversation) {
        expect(await letta.conversations.cancel(conversation.id)).toMatchObject({ [runId]: 'cancelled' });
      } else {
        expect(await letta.agents.messages.cancel(agent.id, { run_ids: [runId] })).toMatchObject({ [runId]: 'cancelled' });
      }
      await expect.poll(async () => (await letta.runs.retrieve(runId)).status).toBe('cancelled');
      expect(await letta.runs.retrieve(runId)).toMatchObject({ stop_reason: 'cancelled' });
      await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(0);
      // its frames, as stored and as a resume reads them: exactly one stop_reason, cancelled
      const stored = (await h.store.listRunFrames(runId)).map((f) => JSON.parse(f.json) as Chunk);
      expect(stopReasons(stored)).toEqual(['cancelled']);
      const replayed = await collect(await letta.runs.messages.stream(runId, { starting_after: 0 } as never));
      expect(stopReasons(replayed)).toEqual(['cancelled']);
      expect(replayed.map((c) => c.seq_id)).toEqual(replayed.map((_, i) => i + 1));

      // the agent (and that conversation) takes a new turn
      const next = conversation
        ? await collect(await letta.conversations.messages.create(conversation.id, { messages: [{ role: 'user', content: 'after the cancel' }], streaming: true }))
        : await collect(await letta.agents.messages.stream(agent.id, { messages: [{ role: 'user', content: 'after the cancel' }] }));
      expect(stopReasons(next)).toEqual(['end_turn']);
      expect(next.filter((c) => c.message_type === 'assistant_message').map((c) => c.content).join('')).toContain('after the cancel');
    });
  }

  it('a foreground (non-background) stream whose client hangs up: the run goes on and completes, as on Letta', async () => {
    const agent = await h.service.ensureDemoAgent();
    const controller = new AbortController();
    const stream = await letta.agents.messages.stream(agent.id, { messages: [{ role: 'user', content: '#stall 500\nfinish without me' }] }, { signal: controller.signal });
    const seen: Chunk[] = [];
    const reading = readUntilAborted(stream, seen);
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    const runId = (await h.store.listRuns(agent.id, 1))[0]!.id;
    controller.abort();
    expect(await reading).toBeNull();
    expect(stopReasons(seen)).toEqual([]);
    await expect.poll(async () => (await letta.runs.retrieve(runId)).status, { timeout: 5_000 }).toBe('completed');
    expect(await letta.runs.retrieve(runId)).toMatchObject({ stop_reason: 'end_turn' });
    const replayed = await collect(await letta.runs.messages.stream(runId, { starting_after: 0 } as never));
    expect(stopReasons(replayed)).toEqual(['end_turn']);
    const answer = replayed.filter((c) => c.message_type === 'assistant_message').map((c) => c.content).join('');
    expect(answer).toContain('finish without me');
    const stored = (await letta.runs.messages.list(runId)).getPaginatedItems().find((m) => m.message_type === 'assistant_message') as unknown as { content: string };
    expect(stored.content).toBe(answer);
  });
});
