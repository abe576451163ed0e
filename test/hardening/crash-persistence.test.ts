import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lettaFrames, ofType, TestClient, type Frame } from '../support/service-harness.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Item 7: what a client has seen survives a `kill -9`. The real command line (dist/, via
 * bin/letta-stream.js: run `npm run build` first), killed with SIGKILL while steps stream.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-kill-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function serve(data: string): Promise<ServerProcess> {
  const s = await startServerProcess({ dataDir: data });
  children.push(s.child);
  return s;
}

type Json = Record<string, any>;
const getJson = async (url: string, init?: RequestInit): Promise<Json> => (await (await fetch(url, init)).json()) as Json;
const joined = (frames: Frame[], t: 'assistant_message' | 'reasoning_message') =>
  ofType(frames, t)
    .map((f) => (t === 'assistant_message' ? f.content : f.reasoning))
    .join('');

describe('a crash mid-step (SIGKILL)', () => {
  it('keeps what the clients saw: messages after a restart, resume with the same seq_ids ending in the failure, a valid history', async () => {
    const data = path.join(dir, 'data');
    const first = await serve(data);
    const c = await TestClient.connect(first.wsUrl);
    const tools = (await getJson(`${first.url}/v1/agents`, {
      method: 'POST',
      body: JSON.stringify({ name: 'tools', tools: ['read_file'] }),
    })) as Json;
    // One agent mid-answer, one mid tool-call arguments, both streaming slowly when the kill lands.
    const textRun = await c.start('demo', '#tokens 600\n#delay 15\ntell me a long story');
    const toolRun = await c.start(tools.id, `#delay 15\n#tool read_file {"path": "${'x'.repeat(1500)}"}`);
    const seenOf = (runId: string) => lettaFrames(c.frames.filter((f) => f.run_id === runId));
    await c.waitFor(() => ofType(seenOf(textRun), 'assistant_message').length >= 60 && ofType(seenOf(toolRun), 'tool_call_message').length >= 20, 30_000);
    // Frames seen this long before the kill are journaled (batches are written every 100 ms).
    const earlier = { text: seenOf(textRun), tool: seenOf(toolRun) };
    await new Promise((r) => setTimeout(r, 600));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const seen = { text: seenOf(textRun), tool: seenOf(toolRun) };
    c.close();
    expect(ofType(seen.text, 'stop_reason')).toEqual([]); // the kill did land mid-step
    expect(ofType(seen.tool, 'stop_reason')).toEqual([]);

    const second = await serve(data);
    for (const runId of [textRun, toolRun]) {
      expect(await getJson(`${second.url}/v1/runs/${runId}`)).toMatchObject({ status: 'failed', stop_reason: 'error', error: 'the server stopped while the run was in progress' });
    }

    // Its replay: the state changes journaled before the kill (streaming text), then `failed`,
    // recorded by the recovery after the frames that close the run.
    const transitions = (await getJson(`${second.url}/v1/runs/${textRun}/transitions`)) as unknown as Array<{ run: string; step: string | null; seq_id: number }>;
    expect(transitions.some((t) => t.step === 'streaming.text')).toBe(true);
    expect(transitions.at(-1)).toMatchObject({ run: 'failed', step: null });
    expect(transitions.at(-1)!.seq_id).toBe(Math.max(...transitions.map((t) => t.seq_id)));

    // The messages: consolidated per part, holding at least what was seen before the last batch.
    const textMessages = (await getJson(`${second.url}/v1/runs/${textRun}/messages`)) as unknown as Frame[];
    expect(textMessages.map((m) => m.message_type)).toEqual(['user_message', 'reasoning_message', 'assistant_message']);
    const stored = String(textMessages[2]!.content);
    expect(stored.startsWith(joined(earlier.text, 'assistant_message'))).toBe(true);
    expect(joined(seen.text, 'assistant_message').startsWith(stored)).toBe(true);
    console.log(`kill -9 mid-step: the client saw ${seen.text.length} frames (${joined(seen.text, 'assistant_message').length} characters of answer); after the restart ${stored.length} characters are stored`);
    expect(textMessages[1]!.reasoning).toBe(joined(seen.text, 'reasoning_message').trim());
    const agentMessages = (await getJson(`${second.url}/v1/agents/demo/messages`)) as unknown as Frame[];
    expect(agentMessages.map((m) => m.id)).toEqual(expect.arrayContaining(textMessages.map((m) => m.id)));

    const toolMessages = (await getJson(`${second.url}/v1/runs/${toolRun}/messages`)) as unknown as Frame[];
    expect(toolMessages.map((m) => m.message_type)).toEqual(['user_message', 'reasoning_message', 'tool_call_message', 'tool_return_message']);
    const call = toolMessages[2]!.tool_call as { arguments: string; tool_call_id: string };
    const args = ofType(earlier.tool, 'tool_call_message').map((f) => (f.tool_call as { arguments: string }).arguments).join('');
    expect(call.arguments.startsWith(args)).toBe(true);
    expect(toolMessages[3]).toMatchObject({ tool_call_id: call.tool_call_id, status: 'error', tool_return: expect.stringContaining('the server stopped') });

    // Resume over WebSocket: the same frames with the same seq_ids, then the failure.
    const r = await TestClient.connect(second.wsUrl);
    r.send({ type: 'run.subscribe', request_id: 'sub', run_id: textRun, after_seq_id: 10 });
    const replay = lettaFrames(await r.runFrames(textRun));
    expect(replay[0]!.seq_id).toBe(11);
    expect(replay.map((f) => f.seq_id)).toEqual(replay.map((_, i) => i + 11));
    const common = replay.filter((f) => (f.seq_id as number) <= seen.text.length && f.message_type !== 'stop_reason' && f.message_type !== 'usage_statistics');
    expect(common.length).toBeGreaterThanOrEqual(earlier.text.length - 10);
    expect(common).toEqual(seen.text.slice(10, 10 + common.length));
    expect(replay.slice(-2).map((f) => f.message_type)).toEqual(['stop_reason', 'usage_statistics']);
    expect(replay.at(-2)!.stop_reason).toBe('error');
    expect(r.frames.find((f) => f.type === 'run.end')).toEqual({ type: 'run.end', run_id: textRun, status: 'failed', stop_reason: 'error' });

    // Resume over Letta's HTTP endpoint: SSE from starting_after, the error, [DONE].
    const sse = await (await fetch(`${second.url}/v1/runs/${toolRun}/stream`, { method: 'POST', body: JSON.stringify({ starting_after: 5 }) })).text();
    const events = sse.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const datas = events.filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as Frame);
    expect(datas[0]!.seq_id).toBe(6);
    expect(ofType(datas, 'tool_return_message')).toHaveLength(1);
    expect(datas.at(-2)).toMatchObject({ message_type: 'stop_reason', stop_reason: 'error' });
    expect(events.some((e) => e.startsWith('event: error') && e.includes('the server stopped'))).toBe(true);

    // The histories are valid: both agents take new turns.
    for (const agent of ['demo', 'tools']) {
      const next = await r.start(agent, 'hello again');
      const frames = await r.runFrames(next);
      expect(ofType(frames, 'stop_reason').map((f) => f.stop_reason), agent).toEqual(['end_turn']);
    }
    r.close();
    second.child.kill('SIGTERM');
    await new Promise((res) => second.child.once('exit', res));
  });
});

describe('recovery of a run whose earlier steps were stored', () => {
  it('adds only the step in flight (no duplicates of stored parts), and the history stays valid', async () => {
    const { SqliteStore } = await import('../../src/store/sqlite-store.js');
    const { AgentService } = await import('../../src/actors/agent-service.js');
    const { startAnthropicServer } = await import('../../src/anthropic-server/index.js');
    const Anthropic = (await import('@anthropic-ai/sdk')).default;
    const data = mkdtempSync(path.join(dir, 'inproc-'));
    const file = path.join(data, 'db.sqlite');
    const anthropic = await startAnthropicServer({ defaultDelayMs: 10 });
    const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
    try {
      const s1 = new SqliteStore({ file });
      const first = new AgentService({ store: s1, client, dataDir: data });
      const agent = await first.ensureDemoAgent();
      // Step 1: a tool call (stored with its return); step 2: the answer, streaming when the "crash" comes.
      // (after a tool result the built-in server answers in about 20 tokens: slow it down instead)
      const { runId, log } = await first.startRun(agent.id, { kind: 'user', text: '#delay 40\n#tool calculator {"expression": "6*7"}' });
      const seen: Frame[] = [];
      log.subscribe({ frame: (e) => seen.push(JSON.parse(e.json) as Frame), end: () => {} });
      await expect.poll(() => ofType(seen, 'assistant_message').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
      await new Promise((r) => setTimeout(r, 150));
      expect(ofType(seen, 'stop_reason')).toEqual([]); // still mid-step
      await s1.close(); // the process dies: nothing more reaches the file
      await first.shutdown();

      const s2 = new SqliteStore({ file });
      const second = new AgentService({ store: s2, client, dataDir: data });
      expect(await second.recover()).toEqual([runId]);
      const messages = await s2.listRunMessages(runId);
      expect(messages.map((m) => m.message_type)).toEqual([
        'user_message',
        'reasoning_message',
        'tool_call_message',
        'tool_return_message',
        'reasoning_message',
        'assistant_message',
      ]);
      expect(new Set(messages.map((m) => m.otid)).size).toBe(messages.length);
      expect(messages[3]).toMatchObject({ status: 'success', tool_return: expect.stringContaining('42') });
      expect(joined(seen, 'assistant_message').startsWith(String((messages[5] as { content: string }).content))).toBe(true);
      const replay: Frame[] = [];
      await new Promise<void>((resolve) => second.subscribe(runId, { frame: (e) => replay.push(JSON.parse(e.json) as Frame), end: () => resolve() }));
      expect(replay.map((f) => f.seq_id)).toEqual(replay.map((_, i) => i + 1));
      expect(replay.slice(-2).map((f) => f.message_type)).toEqual(['stop_reason', 'usage_statistics']);
      expect(replay.at(-1)).toMatchObject({ step_count: 2 });
      const next = await second.startRun(agent.id, { kind: 'user', text: 'and now?' });
      const end = await new Promise((resolve) => next.log.subscribe({ frame: () => {}, end: resolve }));
      expect(end).toMatchObject({ status: 'completed', stop_reason: 'end_turn' });
      await second.shutdown();
      await s2.close();
    } finally {
      await anthropic.close();
    }
  });
});
