import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, ProtocolError, type LettaStreamClient, type RunFrame } from '../src/transport/client.js';
import { contractProblem } from './support/contract.js';
import { startHarness, type Harness } from './support/service-harness.js';

/** The typed client over real sockets. */
let h: Harness;
let c: LettaStreamClient;
beforeEach(async () => {
  h = await startHarness();
  c = await connect(h.server.wsUrl);
});
afterEach(async () => {
  c.close();
  await h.close();
});

async function all(run: AsyncIterable<RunFrame>): Promise<RunFrame[]> {
  const out: RunFrame[] = [];
  for await (const f of run) out.push(f);
  return out;
}

describe('letta-stream/client', () => {
  it('start, iterate, end', async () => {
    const run = c.start('demo', [{ role: 'user', content: 'hello client' }]);
    const frames = await all(run);
    expect(run.end).toEqual({ status: 'completed', stop_reason: 'end_turn' });
    expect(frames.map((f) => f.seq_id)).toEqual(frames.map((_, i) => i + 1));
    expect(frames.map(contractProblem).filter(Boolean)).toEqual([]);
  });

  it('cancel, and approve a pending tool call', async () => {
    const slow = c.start('demo', [{ role: 'user', content: '#stall 10000\nslow' }]);
    await slow.started;
    await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
    await slow.cancel();
    await all(slow);
    expect(slow.end?.stop_reason).toBe('cancelled');

    const ask = c.start('demo', [{ role: 'user', content: '#tool write_file {"path": "t.txt", "content": "typed"}' }]);
    const frames = await all(ask);
    const req = frames.find((f) => f.message_type === 'approval_request_message') as RunFrame & { tool_call: { tool_call_id: string } };
    const approved = c.approve('demo', req.tool_call.tool_call_id);
    const after = await all(approved);
    expect(after.find((f) => f.message_type === 'tool_return_message')).toMatchObject({ status: 'success' });
  });

  it('client tools and conversations: a client tool call waits for toolReturn; the run was in the conversation', async () => {
    const agent = await h.service.ensureDemoAgent();
    const conv = await h.service.createConversation(agent.id, null);
    const ask = { name: 'ask_user', parameters: { type: 'object' as const, properties: { q: { type: 'string' } } } };
    const first = c.start(agent.id, [{ role: 'user', content: '#tool ask_user {"q": "name?"}' }], { clientTools: [ask], conversationId: conv.id });
    const frames = await all(first);
    expect(first.end).toEqual({ status: 'completed', stop_reason: 'requires_approval' });
    const call = frames.find((f) => f.message_type === 'approval_request_message') as unknown as { tool_call: { tool_call_id: string } };
    const next = c.toolReturn(agent.id, call.tool_call.tool_call_id, 'Ada', { conversationId: conv.id, clientTools: [ask] });
    const after = await all(next);
    expect(after.filter((f) => f.message_type === 'tool_return_message')).toEqual([expect.objectContaining({ tool_return: 'Ada', status: 'success' })]);
    expect(next.end).toEqual({ status: 'completed', stop_reason: 'end_turn' });
    expect(await h.store.getHistory(agent.id)).toEqual([]);
  });

  it('errors reject with a code', async () => {
    const run = c.start('agent-nope', [{ role: 'user', content: 'x' }]);
    await expect(run.started).rejects.toBeInstanceOf(ProtocolError);
    await expect(all(run)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a dropped connection reconnects and resumes: no frame lost, none repeated', async () => {
    const run = c.start('demo', [{ role: 'user', content: '#tokens 400\n#delay 3\nkeep going' }]);
    const frames: RunFrame[] = [];
    let dropped = false;
    for await (const f of run) {
      frames.push(f);
      if (!dropped && f.message_type === 'assistant_message') {
        dropped = true;
        c._dropConnection();
      }
    }
    expect(dropped).toBe(true);
    expect(frames.map((f) => f.seq_id)).toEqual(frames.map((_, i) => i + 1));
    expect(run.end?.stop_reason).toBe('end_turn');
  });
});
