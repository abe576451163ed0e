import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTool } from '../../src/tools/registry.js';
import { TestClient } from '../support/service-harness.js';
import { BIN, startServerProcess } from '../support/server-process.js';

/** `letta-stream serve` run to completion: exit code and output. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, ANTHROPIC_API_KEY: '', LETTA_STREAM_TOKEN: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at [\w.<]+ \(|node:internal/);

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-inst-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Item 10 of the hardening issue: two instances on one data dir corrupted each other (the second's
 * start-up recovery failed the first's live run, and it took a parallel turn on the same agent).
 */
describe('one instance per data directory', () => {
  it('a second instance refuses to start with a clear message; the first one\'s live run is untouched', async () => {
    const dir = path.join(root, 'shared');
    const first = await startServerProcess({ dataDir: dir });
    try {
      const c = await TestClient.connect(first.wsUrl);
      const runId = await c.start('demo', 'take your time\n#stall 1500');
      const second = await serve(['--port', '0', '--data-dir', dir]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`another letta-stream instance \\(pid ${first.child.pid}\\) is using the data directory`));
      noStack(second.stderr);
      const end = await c.waitFor((f) => f.type === 'run.end' && f.run_id === runId, 20_000);
      expect(end).toMatchObject({ status: 'completed', stop_reason: 'end_turn' });
      const run = (await (await fetch(`${first.url}/v1/runs/${runId}`)).json()) as { status: string };
      expect(run.status).toBe('completed');
      c.close();
    } finally {
      await first.stop();
    }
  });

  it('the lock goes with the process: after kill -9, a new instance starts on the same directory', async () => {
    const dir = path.join(root, 'killed');
    const first = await startServerProcess({ dataDir: dir });
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    const next = await startServerProcess({ dataDir: dir });
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
    await next.stop();
  });
});

/** Item 13 of the hardening issue: start-up errors are one clear line, never a stack trace. */
describe('start-up errors', () => {
  it('an unresolvable --host', async () => {
    const r = await serve(['--host', 'no-such-host.invalid', '--port', '0', '--data-dir', path.join(root, 'h1')], { LETTA_STREAM_TOKEN: 't' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot resolve --host no-such-host\.invalid/);
    noStack(r.stderr);
  });

  it('a host name that merely starts with "127." is not loopback, so it needs a token', async () => {
    const r = await serve(['--host', '127.attacker.example', '--port', '0', '--data-dir', path.join(root, 'h2')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/binding 127\.attacker\.example \(not loopback\) requires LETTA_STREAM_TOKEN/);
  });

  it('a port in use', async () => {
    const first = await startServerProcess({ dataDir: path.join(root, 'p1') });
    try {
      const port = new URL(first.url).port;
      const r = await serve(['--port', port, '--data-dir', path.join(root, 'p2')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
      noStack(r.stderr);
    } finally {
      await first.stop();
    }
  });
});

describe('tool errors', () => {
  it('never show where the workspace lives on this machine', async () => {
    const workspaceDir = mkdtempSync(path.join(root, 'ws-'));
    const ctx = { signal: new AbortController().signal, workspaceDir };
    for (const [name, args] of [
      ['read_file', { path: 'a'.repeat(300) }],
      ['write_file', { path: `${'b'.repeat(300)}/c`, content: 'x' }],
      ['list_dir', { path: 'nope' }],
      ['read_file', { path: '../outside' }],
    ] as const) {
      const out = await executeTool(name, args, ctx);
      expect(out.status, name).toBe('error');
      expect(out.output, name).not.toContain(workspaceDir);
      expect(out.output, name).not.toContain(root);
    }
  });
});
