import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpRequest, jsonOf, rawRequest } from '../support/raw-http.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Item 1 of the hardening issue: one malformed request used to kill the process (and every live
 * run with it), before any auth check. Each target here goes to a real server process over a raw
 * socket (fetch would refuse to send most of them).
 */
const CRASHERS: Array<[string, string]> = [
  ['GET', '/v1/agents/%'],
  ['GET', '//'],
  ['GET', '//v1/agents'],
  ['GET', '/v1/agents/%zz/messages'],
  ['POST', '/v1/agents/%/messages'],
  ['POST', '/v1/agents/%E0%A4%A/messages/stream'],
  ['POST', '/v1/runs/%/stream'],
  ['PATCH', '/v1/agents/%ff'],
  ['DELETE', '/v1/agents/%'],
  ['GET', '/v1/runs/%%'],
  ['GET', 'http://127.0.0.1/v1/agents'],
  ['GET', '*'],
];

async function healthy(s: ServerProcess, token: string | undefined): Promise<boolean> {
  const r = await fetch(`${s.url}/healthz`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch(() => null);
  return r?.status === 200;
}

describe.each([
  ['without a token', undefined],
  ['with a token, the attacker sending none', 's3cret-token'],
])('malformed requests against a real process, %s', (_label, token) => {
  let dir: string;
  let s: ServerProcess;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-req-'));
    s = await startServerProcess({ dataDir: dir, env: token ? { LETTA_STREAM_TOKEN: token } : {} });
  });
  afterAll(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every one with a 4xx and a {detail}, and the process stays up', async () => {
    for (const [method, target] of CRASHERS) {
      const a = await rawRequest(s.url, httpRequest(method, target, {}, method === 'POST' ? '{}' : ''));
      expect(a.status, `${method} ${target}`).toBeGreaterThanOrEqual(400);
      expect(a.status, `${method} ${target}`).toBeLessThan(500);
      if (a.body) expect(typeof jsonOf(a).detail, `${method} ${target}`).toBe('string');
      expect(s.alive(), `${method} ${target} killed the process:\n${s.stderr}`).toBe(true);
    }
    expect(await healthy(s, token)).toBe(true);
    expect(s.stderr).not.toMatch(/\n\s+at /); // no stack trace printed
  });

  it('answers malformed WebSocket upgrades with a 4xx, and a live run finishes meanwhile', async () => {
    const auth = token ? { authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(s.wsUrl, { headers: auth });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const frames: Array<{ type?: string; status?: string }> = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as { type?: string }));
    ws.send(JSON.stringify({ type: 'run.start', request_id: 'r1', agent_id: 'demo', messages: [{ role: 'user', content: 'hi\n#stall 1500' }] }));

    const upgrade = (target: string) =>
      httpRequest('GET', target, { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' });
    for (const target of ['//', '/%', '//v1/ws', '/v1/ws/%zz', '/nope']) {
      const a = await rawRequest(s.url, upgrade(target));
      expect(a.status, target).toBeGreaterThanOrEqual(400);
      expect(a.status, target).toBeLessThan(500);
    }
    // Garbage that is not HTTP at all.
    for (const bytes of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nhost: x\r\n\r\n`, '\u0000\u0001\u0002\r\n\r\n']) {
      const a = await rawRequest(s.url, bytes);
      expect(a.status === null || (a.status >= 400 && a.status < 500)).toBe(true);
    }
    expect(s.alive()).toBe(true);
    await expect.poll(() => frames.find((f) => f.type === 'run.end'), { timeout: 15_000 }).toMatchObject({ status: 'completed' });
    ws.close();
  });
});
