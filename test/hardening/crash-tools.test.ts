import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { TestClient, type Frame } from '../support/service-harness.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Item 6: after `kill -9` mid-tool, recovery closes only the calls that have no stored result,
 * and every call ends with exactly one tool return in the Letta messages and exactly one
 * tool_result in the Anthropic history. The real `serve` process (built bin) on one data dir.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-crash-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serve = (data: string): Promise<ServerProcess> => startServerProcess({ dataDir: data });

// Test reads of our own JSON responses.
type Json = Record<string, any>;
const call = async (url: string, method = 'GET', body?: unknown): Promise<Json> =>
  (await (await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) })).json()) as Json;

type Block = { type: string; id?: string; tool_use_id?: string; content?: string; is_error?: boolean };
const callIdOf = (f: Frame) => (f.tool_call as { tool_call_id: string }).tool_call_id;
const nameOf = (f: Frame) => (f.tool_call as { name: string }).name;

/** Each tool call (streamed call or approval request) and the tool returns stored for it. */
function returnsPerCall(messages: Frame[]): Map<string, { name: string; returns: Frame[] }> {
  const calls = new Map<string, { name: string; returns: Frame[] }>();
  for (const m of messages) {
    if ((m.message_type === 'tool_call_message' || m.message_type === 'approval_request_message') && !calls.has(callIdOf(m))) calls.set(callIdOf(m), { name: nameOf(m), returns: [] });
  }
  for (const m of messages) if (m.message_type === 'tool_return_message') calls.get(m.tool_call_id as string)?.returns.push(m);
  return calls;
}

/** Each tool_use of the history and the tool_results that answer it. */
function resultsPerUse(history: Array<{ role: string; content: unknown[] }>): Map<string, Block[]> {
  const uses = new Map<string, Block[]>();
  for (const t of history) for (const b of t.content as Block[]) if (b.type === 'tool_use') uses.set(b.id!, []);
  for (const t of history) for (const b of t.content as Block[]) if (b.type === 'tool_result') uses.get(b.tool_use_id!)?.push(b);
  return uses;
}

describe('crash recovery tells the model what really ran', () => {
  it('kill -9 during the second tool of a step, and during an approved tool: stored results kept, the rest "not run"', async () => {
    const data = path.join(dir, 'data');
    const first = await serve(data);
    const c = await TestClient.connect(first.wsUrl);
    let plain: Json = {};
    let gated: Json = {};
    let runA = '';
    let runB = '';
    try {
      // Two slow tools: read_file on a FIFO blocks until the process dies.
      const workspace = path.join(data, 'workspace');
      execFileSync('mkfifo', [path.join(workspace, 'pipe1'), path.join(workspace, 'pipe2')]);
      plain = await call(`${first.url}/v1/agents`, 'POST', { name: 'plain', tools: ['calculator', 'read_file'] });
      gated = await call(`${first.url}/v1/agents`, 'POST', { name: 'gated', tools: ['calculator', 'read_file'], tool_rules: [{ type: 'requires_approval', tool_name: 'read_file' }] });

      // A: calculator runs, then read_file blocks.
      runA = await c.start(plain.id, '#tool calculator {"expression": "6*7"}\n#tool read_file {"path": "pipe1"}');
      await c.waitFor((f) => f.run_id === runA && f.message_type === 'tool_return_message');

      // B: both calls wait for approval; approving read_file runs calculator, then read_file blocks.
      const ask = await c.start(gated.id, '#tool calculator {"expression": "2+3"}\n#tool read_file {"path": "pipe2"}');
      const reqs = (await c.runFrames(ask)).filter((f) => f.message_type === 'approval_request_message');
      const readId = callIdOf(reqs.find((f) => nameOf(f) === 'read_file')!);
      runB = await c.approve(gated.id, [{ type: 'approval', tool_call_id: readId, approve: true }]);
      await c.waitFor((f) => f.run_id === runB && f.message_type === 'tool_return_message');

      // both calculator results are stored before the crash
      for (const run of [runA, runB]) {
        await expect.poll(async () => ((await call(`${first.url}/v1/runs/${run}/messages`)) as unknown as Frame[]).filter((m) => m.message_type === 'tool_return_message').length).toBe(1);
      }
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.on('exit', r));
    } finally {
      c.close();
    }

    const second = await serve(data);
    try {
      for (const [agent, run, expected] of [
        [plain.id, runA, '42'],
        [gated.id, runB, '5'],
      ] as const) {
        const runRecord = await call(`${second.url}/v1/runs/${run}`);
        expect(runRecord).toMatchObject({ status: 'failed', error: 'the server stopped while the run was in progress' });
        const messages = (await call(`${second.url}/v1/agents/${agent}/messages`)) as unknown as Frame[];
        const calls = returnsPerCall(messages);
        expect([...calls.values()].map((x) => x.name).sort()).toEqual(['calculator', 'read_file']);
        for (const [id, { name, returns }] of calls) {
          expect(returns, `${agent} ${name} ${id}: one tool return`).toHaveLength(1);
          if (name === 'calculator') expect(returns[0]).toMatchObject({ status: 'success', tool_return: expected });
          else expect(returns[0]).toMatchObject({ status: 'error', tool_return: expect.stringMatching(/^not run: the server stopped/) });
        }
        const agentJson = await call(`${second.url}/v1/agents/${agent}`);
        expect(agentJson).toMatchObject({ state: 'idle', pending_approvals: [] });
        // the model hears the same, and the next turn is a valid request
        const next = await call(`${second.url}/v1/agents/${agent}/messages`, 'POST', { messages: [{ role: 'user', content: 'what happened?' }] });
        expect(next.stop_reason?.stop_reason, JSON.stringify(next)).toBe('end_turn');
      }
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.on('exit', r));
    }

    const store = new SqliteStore({ file: path.join(data, 'letta-stream.db') });
    try {
      for (const [agent, expected] of [
        [plain.id, '42'],
        [gated.id, '5'],
      ] as const) {
        const messages = await store.listAgentMessages(agent) as unknown as Frame[];
        const names = new Map([...returnsPerCall(messages)].map(([id, x]) => [id, x.name]));
        const uses = resultsPerUse(await store.getHistory(agent));
        expect(uses.size).toBe(2);
        for (const [id, results] of uses) {
          expect(results, `${agent} ${names.get(id)}: one tool_result`).toHaveLength(1);
          if (names.get(id) === 'calculator') expect(results[0]).toMatchObject({ content: expected });
          else expect(results[0]).toMatchObject({ content: expect.stringMatching(/^not run: the server stopped/), is_error: true });
        }
      }
    } finally {
      await store.close();
    }
  });
});
