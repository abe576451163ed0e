import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/pg.js';
import { lettaFrames, ofType, TestClient } from '../support/service-harness.js';
import { BIN, startServerProcess, type ServerProcess } from '../support/server-process.js';

/** `serve` with bad backends says what is wrong in one line and exits 1; SIGTERM lets runs finish. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-config-'));
let db: { url: string; drop(): Promise<void> };
const running: ServerProcess[] = [];
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  for (const p of running) if (p.alive()) p.child.kill('SIGKILL');
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function serveFails(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', mkdtempSync(path.join(dir, 'd-')), ...args], {
    env: { ...process.env, ANTHROPIC_API_KEY: '', LETTA_STREAM_TOKEN: '', LETTA_STREAM_DATABASE_URL: '', LETTA_STREAM_REDIS_URL: '', ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stderr, ms: Date.now() - started };
}

describe('bad backends: one clear line, exit 1, never a hang or a stack trace', () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['a database URL of another scheme', ['--database-url', 'mysql://root@127.0.0.1/x'], {}, /must be a PostgreSQL URL/],
    ['the same from the environment', [], { LETTA_STREAM_DATABASE_URL: 'sqlite:///tmp/x.db' }, /must be a PostgreSQL URL/],
    ['an unreachable database', ['--database-url', 'postgres://postgres@127.0.0.1:1/x'], {}, /127\.0\.0\.1:1/],
    ['a database that does not exist', ['--database-url', 'postgres://postgres@127.0.0.1:5432/no_such_db_here'], {}, /no_such_db_here/],
    ['a Redis URL of another scheme', ['--database-url', 'DB', '--redis-url', 'http://127.0.0.1:6379'], {}, /must be a Redis URL/],
    ['an unreachable Redis', ['--database-url', 'DB', '--redis-url', 'redis://127.0.0.1:1'], {}, /127\.0\.0\.1:1/],
    ['Redis without a database', ['--redis-url', 'redis://127.0.0.1:6379'], {}, /needs --database-url/],
    ['a password is never printed', ['--database-url', 'postgres://postgres:s3cret@127.0.0.1:1/x'], {}, /^(?![\s\S]*s3cret)/],
  ];
  for (const [what, args, env, says] of cases) {
    it(what, async () => {
      const r = await serveFails(args.map((a) => (a === 'DB' ? db.url : a)), env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(says);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.ms).toBeLessThan(15_000);
    });
  }
});

describe('graceful stop (SIGTERM)', () => {
  it('takes no new turn, lets a live run finish within the grace period, exits 0', async () => {
    const p = await startServerProcess({ dataDir: path.join(dir, 'grace'), args: ['--shutdown-grace', '20'] });
    running.push(p);
    const c = await TestClient.connect(p.wsUrl);
    const runId = await c.start('demo', '#tokens 40\n#delay 40\na short story');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    c.send({ type: 'run.start', request_id: 'late', agent_id: 'demo', messages: [{ role: 'user', content: 'too late' }] });
    const refused = await c.waitFor((f) => f.request_id === 'late');
    expect(refused).toMatchObject({ type: 'error', code: 'unavailable' });
    const frames = lettaFrames(await c.runFrames(runId));
    expect(ofType(frames, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
    expect(await p.exited).toBe(0);
    expect(p.stdout).toMatch(/waiting up to 20 s for 1 live run/);
  });

  it('cancels what is still running when the grace period ends: one stop_reason cancelled', async () => {
    const p = await startServerProcess({ dataDir: path.join(dir, 'grace-short'), args: ['--shutdown-grace', '1'] });
    running.push(p);
    const c = await TestClient.connect(p.wsUrl);
    const runId = await c.start('demo', '#stall 60000\nnever mind');
    await new Promise((r) => setTimeout(r, 200));
    const sent = Date.now();
    p.child.kill('SIGTERM');
    const frames = lettaFrames(await c.runFrames(runId, 15_000));
    expect(ofType(frames, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'cancelled' })]);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900); // it waited for the grace period first
    expect(await p.exited).toBe(0);
  });
});
