import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * A run's state changes as programs get them: GET /v1/runs/:id/transitions, and `letta-stream
 * replay-run` reading the database of a server that holds the data directory; after a restart too.
 */
const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-replay-run-'));
let server: ServerProcess | null = null;
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const json = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init);
  return { status: r.status, body: (await r.json()) as any };
};

async function replayRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, 'replay-run', ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('a run replayed by programs', () => {
  let runId = '';
  let transitions: any[] = [];

  it('GET /v1/runs/:id/transitions: thinking → tool call → tool phase → text, each with its time and seq_id', async () => {
    server = await startServerProcess({ dataDir: dir });
    const turn = await json(`${server.url}/v1/agents/demo/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: '#tool calculator {"expression": "6*7"}' }] }),
    });
    expect(turn.status).toBe(200);
    runId = turn.body.messages[0].run_id;
    const r = await json(`${server.url}/v1/runs/${runId}/transitions`);
    expect(r.status).toBe(200);
    transitions = r.body;
    const path = transitions.map((t) => (t.step ? `${t.run} › ${t.step}` : t.run));
    const at = (s: string) => path.indexOf(s);
    expect(at('streaming › streaming.thinking')).toBeGreaterThanOrEqual(0);
    expect(at('streaming › streaming.tool_use')).toBeGreaterThan(at('streaming › streaming.thinking'));
    expect(at('executingTools.running')).toBeGreaterThan(at('streaming › streaming.tool_use'));
    expect(path.lastIndexOf('streaming › streaming.text')).toBeGreaterThan(at('executingTools.running'));
    expect(path.at(-1)).toBe('completed');
    expect(transitions.map((t) => t.seq)).toEqual(transitions.map((_, i) => i + 1));
    for (let i = 1; i < transitions.length; i++) {
      expect(transitions[i].seq_id).toBeGreaterThanOrEqual(transitions[i - 1].seq_id);
      expect(Date.parse(transitions[i].at)).toBeGreaterThanOrEqual(Date.parse(transitions[i - 1].at));
    }
    expect((await json(`${server.url}/v1/runs/run-nope/transitions`)).status).toBe(404);
  }, 60_000);

  it('replay-run prints the same transitions and every frame in order, while the server holds the data directory', async () => {
    const r = await replayRun([runId, '--data-dir', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'run', id: runId, status: 'completed', stop_reason: 'end_turn' });
    expect(lines.filter((l) => l.type === 'transition').map(({ type: _t, ...t }) => t)).toEqual(transitions);
    // in order: each transition comes after the frames up to its seq_id and before the next ones
    let lastFrame = 0;
    for (const l of lines.slice(1)) {
      if (l.type === 'frame') {
        expect(l.seq_id).toBe(lastFrame + 1);
        expect(l.frame.seq_id).toBe(l.seq_id);
        lastFrame = l.seq_id;
      } else expect(l.seq_id).toBe(lastFrame);
    }
    expect(lines.some((l) => l.type === 'frame' && l.frame.message_type === 'tool_return_message')).toBe(true);
    const human = await replayRun([runId.slice(4, 12), '--data-dir', dir]); // a prefix, as the page shows it
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('state streaming › streaming.tool_use');
    const missing = await replayRun(['run-nope', '--data-dir', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no run "run-nope"');
  }, 60_000);

  it('the transitions survive a restart', async () => {
    await server!.stop();
    server = await startServerProcess({ dataDir: dir });
    expect((await json(`${server.url}/v1/runs/${runId}/transitions`)).body).toEqual(transitions);
  }, 60_000);
});
