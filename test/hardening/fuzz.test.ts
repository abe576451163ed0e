import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawRequest } from '../support/raw-http.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Fuzzing a real server process over raw sockets: request lines, headers and bodies, then
 * WebSocket frames. The process must stay up, every request must get an answer that is not a
 * server fault, and its memory must stay bounded.
 */

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

const segment = fc.oneof(
  fc.constantFrom('demo', '%', '%zz', '%E0%A4%A', '..', '.', '%2F', '%00', 'agent-00000000-0000-0000-0000-000000000000', 'run-x', '\u00e9', '😀', '%F0%9F%98', ''),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: fc.constantFrom('%', 'a', '/', '?', '#', ';', '=', '&', '\\'), maxLength: 12 }),
);
const target = fc.oneof(
  fc
    .tuple(fc.constantFrom('/v1/agents/:x', '/v1/agents/:x/messages', '/v1/agents/:x/messages/stream', '/v1/runs/:x', '/v1/runs/:x/stream', '/v1/runs/:x/messages', '/v1/agents/:x/tools/approval/:x', '/inspect/charts/:x', '/v1/ws', '/:x', '/healthz'), segment, segment, fc.string({ maxLength: 20 }))
    .map(([t, a, b, q]) => t.replace(':x', a).replace(':x', b) + (q ? `?${q.replace(/[\s\r\n]/g, '')}` : '')),
  fc.constantFrom('//', '///x', '*', 'http://127.0.0.1/v1/agents', '/v1/agents?limit=-1', '/v1/agents?limit=1e9&order=sideways', '/v1/runs?after=nope', '/%', '/?token=%'),
);
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD', 'TRACE', 'FOO');
const body = fc.oneof(
  fc.constant(''),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.record({ messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'tool', 'x'), content: fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 2 })) }), { maxLength: 3 }) }).map((o) => JSON.stringify(o)),
  fc.record({ name: fc.string({ maxLength: 30 }), tools: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), max_steps: fc.integer() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.constantFrom('{"messages":[{"role":"user","content":"\\ud800"}]}', '{"starting_after":-5}', '{"run_ids":[1,2]}', '[]', 'null', '{"__proto__":{"x":1}}'),
);
const headerValue = fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ''));
const headers = fc.record(
  {
    origin: fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1', 'file://', 'not a url'),
    host: fc.constantFrom('127.0.0.1', 'localhost:1', 'evil.example', '', '[::1]', '127.0.0.1.nip.io'),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', ''),
    authorization: fc.oneof(fc.constantFrom('Bearer', 'bearer x', 'Basic Zm9v'), headerValue),
    'sec-fetch-site': fc.constantFrom('cross-site', 'same-origin', 'none'),
    'x-junk': headerValue,
  },
  { requiredKeys: [] },
);

function request(m: string, t: string, h: Record<string, string>, b: string): Buffer {
  const all = { host: '127.0.0.1', ...h, connection: 'close', ...(b ? { 'content-length': String(Buffer.byteLength(b)) } : {}) };
  return Buffer.from(`${m} ${t} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${b}`, 'utf8');
}

describe('fuzzing a real process', () => {
  let dir: string;
  let s: ServerProcess;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-fuzz-'));
    s = await startServerProcess({ dataDir: dir });
  });
  afterAll(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP: every request gets an answer that is not a server fault, and the process stays up', async () => {
    const rss0 = rssKb(s.child.pid!);
    await fc.assert(
      fc.asyncProperty(method, target, headers, body, async (m, t, h, b) => {
        const a = await rawRequest(s.url, request(m, t, h, b), 10_000);
        expect(s.alive(), `${m} ${t} killed the process: ${s.stderr}`).toBe(true);
        expect(a.status, `${m} ${t} ${JSON.stringify(h)} ${b.slice(0, 80)}\n${a.head}`).not.toBeNull();
        // 501 is the answer for Letta endpoints this service does not serve: an answer, not a fault.
        expect(a.status! < 500 || a.status === 501, `${m} ${t} → ${a.status} ${a.body.slice(0, 200)}`).toBe(true);
      }),
      { numRuns: 400 },
    );
    // Raw garbage too: random bytes as a request.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const a = await rawRequest(s.url, Buffer.concat([Buffer.from(bytes), Buffer.from('\r\n\r\n')]), 5000);
        expect(a.status === null || a.status < 500 || a.status === 501).toBe(true);
        expect(s.alive()).toBe(true);
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect(rssKb(s.child.pid!) - rss0).toBeLessThan(150 * 1024);
  });

  it('WebSocket: every frame is answered or ignored, the socket stays open, the process stays up', async () => {
    const ws = new WebSocket(s.wsUrl);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const answers: Array<{ type?: string; code?: string }> = [];
    ws.on('message', (d) => answers.push(JSON.parse(d.toString()) as { type?: string }));
    const frame = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ maxLength: 100 }),
      fc
        .record(
          {
            type: fc.constantFrom('run.start', 'run.cancel', 'agent.cancel', 'run.subscribe', 'run.unsubscribe', 'nope'),
            request_id: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
            agent_id: fc.oneof(fc.constantFrom('demo', '%', ''), fc.string({ maxLength: 10 })),
            run_id: fc.string({ maxLength: 10 }),
            after_seq_id: fc.oneof(fc.integer(), fc.double()),
            max_steps: fc.integer(),
            messages: fc.array(fc.oneof(fc.record({ role: fc.constant('user'), content: fc.string({ maxLength: 30 }) }), fc.record({ type: fc.constant('approval'), approvals: fc.array(fc.json({ maxDepth: 2 }), { maxLength: 2 }) }), fc.json({ maxDepth: 2 })), { maxLength: 3 }),
          },
          { requiredKeys: ['type'] },
        )
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (text) => {
        ws.send(text);
        await new Promise((r) => setImmediate(r));
      }),
      { numRuns: 500 },
    );
    ws.send(JSON.stringify({ type: 'run.cancel', request_id: 'last', run_id: 'run-none' }));
    await expect.poll(() => answers.some((a) => (a as { request_id?: string }).request_id === 'last'), { timeout: 10_000 }).toBe(true);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(answers.filter((a) => a.type === 'error' && a.code === 'internal')).toEqual([]);
    expect(s.alive()).toBe(true);
    ws.close();
  });
});
