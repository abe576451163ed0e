import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCases } from './support/cases.js';

/** The real command line, as a user (and the conformance checker) runs it: the built bin. */
const bin = path.resolve('bin/letta-stream.js');
const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, 'replay', ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('letta-stream replay', () => {
  const cases = loadCases();
  const simple = cases.find((x) => x.c.name === 'p-simple-thinking-tool')!;
  const broken = cases.find((x) => x.c.name === 'p-simple-integrity-error')!;

  it('prints one JSON frame per line, then stop_reason and usage_statistics; exit 0', async () => {
    const r = await replay([file('ok.sse', simple.c.sse), '--run-id', 'run-1', '--step-id', 'step-1']);
    expect(r.code).toBe(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(frames.at(-2)).toEqual({ message_type: 'stop_reason', stop_reason: 'end_turn' });
    expect(frames.at(-1)).toMatchObject({ message_type: 'usage_statistics', prompt_tokens: 4109, completion_tokens: 263, total_tokens: 4372, step_count: 1 });
    expect(frames.every((f) => f.message_type === 'stop_reason' || f.message_type === 'usage_statistics' || (f.run_id === 'run-1' && f.step_id === 'step-1'))).toBe(true);
  });

  it('exit 1 after stop_reason "error" when the stream breaks an integrity rule, saying what arrived where', async () => {
    const r = await replay([file('bad.sse', broken.c.sse)]);
    expect(r.code).toBe(1);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(frames.at(-2)).toEqual({ message_type: 'stop_reason', stop_reason: 'error' });
    expect(r.stderr).toContain('text_delta arrived in tool_use mode');
  });

  it('an approval tool ends with requires_approval; max_tokens with max_tokens_exceeded', async () => {
    const approval = cases.find((x) => x.c.name === 'p-simple-approval')!;
    const r1 = await replay([file('a.sse', approval.c.sse), '--approval-tool', 'run_shell']);
    expect(r1.stdout).toContain('"stop_reason":"requires_approval"');
    const max = cases.find((x) => x.c.name === 'p-simple-max-tokens')!;
    const r2 = await replay([file('m.sse', max.c.sse)]);
    expect(r2.stdout).toContain('"stop_reason":"max_tokens_exceeded"');
  });

  it('exit 2 with a clear message: missing file, invalid SSE, invalid JSON (with the line), bad flags', async () => {
    const missing = await replay([path.join(dir, 'nope.sse')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const sse = await replay([file('x.sse', 'event: ping\ndata: {"type": "ping"}\n\ngarbage line\n')]);
    expect(sse.code).toBe(2);
    expect(sse.stderr).toContain('line 4');
    const json = await replay([file('j.sse', 'event: ping\ndata: {"type": "ping"}\n\nevent: message_stop\ndata: {nope\n\n')]);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/line 5: data is not valid JSON/);
    const event = await replay([file('e.sse', 'data: {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}\n\n')]);
    expect(event.code).toBe(2);
    expect(event.stderr).toMatch(/line 1: invalid Anthropic stream event "content_block_delta": index/);
    const flag = await replay([file('f.sse', ''), '--interface', 'fancy']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--interface must be "simple" or "kwargs"');
    expect(r0(await replay([]))).toBe(2);
  });

  it('a stream cut off before message_stop fails as llm_api_error (exit 0: not an integrity failure)', async () => {
    const text = simple.c.sse.split('event: message_delta')[0]!;
    const r = await replay([file('cut.sse', text)]);
    expect(r.stdout).toContain('"stop_reason":"llm_api_error"');
    expect(r.stderr).toContain('ended before message_stop');
  });
});

const r0 = (r: { code: number }) => r.code;

describe('letta-stream serve', () => {
  it('starts on its embedded defaults, says it uses the built-in Anthropic server, stops cleanly on SIGTERM', async () => {
    const data = path.join(dir, 'data');
    const env = { ...process.env, ANTHROPIC_API_KEY: '', LETTA_STREAM_TOKEN: '' };
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', data], { env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await expect.poll(() => out, { timeout: 10_000 }).toContain('demo agent:');
    expect(out).toContain('built-in local server');
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const agents = (await (await fetch(`${url}/v1/agents`)).json()) as Array<{ name: string }>;
    expect(agents.map((a) => a.name)).toContain('demo');
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
  });

  it('a restart keeps conversations valid: the built-in server signs with a key kept in the data dir', async () => {
    const data = path.join(dir, 'restart');
    const env = { ...process.env, ANTHROPIC_API_KEY: '', LETTA_STREAM_TOKEN: '' };
    for (const word of ['first', 'second']) {
      const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', data], { env });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await expect.poll(() => out, { timeout: 10_000 }).toContain('demo agent:');
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      const r = (await (await fetch(`${url}/v1/agents/demo/messages`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: word }] }) })).json()) as {
        stop_reason: { stop_reason: string };
      };
      expect(r.stop_reason.stop_reason, word).toBe('end_turn');
      child.kill('SIGTERM');
      await new Promise((res) => child.on('exit', res));
    }
  });

  it('refuses to bind beyond loopback without a token', async () => {
    const env = { ...process.env, LETTA_STREAM_TOKEN: '' };
    const r = await run(process.execPath, [bin, 'serve', '--host', '0.0.0.0', '--port', '0'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('requires LETTA_STREAM_TOKEN');
  });
});
