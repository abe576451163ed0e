import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, jsonOf, rawRequest } from '../support/raw-http.js';
import { startHarness, TestClient, type Harness } from '../support/service-harness.js';

/**
 * Items 8 and 12 of the hardening issue: what one client may hold of the server. Bodies and
 * headers that never end, idle connections by the thousand, a 40 MB body, and readers that
 * never read an SSE stream.
 */

/** Resolves when the server closes the socket (true), or false after `ms`. */
function closedWithin(socket: net.Socket, ms: number): Promise<{ closed: boolean; data: string }> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    const t = setTimeout(() => resolve({ closed: false, data }), ms);
    socket.on('close', () => {
      clearTimeout(t);
      resolve({ closed: true, data });
    });
    socket.on('error', () => {});
  });
}

const connect = (url: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const s = net.connect(Number(port), hostname, () => resolve(s));
    s.once('error', reject);
  });

describe('request limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { headersTimeoutMs: 1000, requestTimeoutMs: 1500, maxConnections: 40 } });
  });
  afterAll(() => h.close());

  it('answers a 40 MB body with 413 and a {detail}, declared or not, instead of resetting the connection', async () => {
    const big = Buffer.alloc(40 * 1024 * 1024, 0x20);
    const declared = await rawRequest(h.server.url, Buffer.concat([Buffer.from(httpRequest('POST', '/v1/agents', { 'content-length': String(big.length), 'content-type': 'application/json' })), big]), 10_000);
    expect(declared.status).toBe(413);
    expect(jsonOf(declared).detail).toMatch(/larger than 1048576 bytes/);

    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const chunked = Buffer.concat([
      Buffer.from(httpRequest('POST', '/v1/agents/demo/messages', { 'transfer-encoding': 'chunked', 'content-type': 'application/json' })),
      ...Array.from({ length: 8 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])),
      Buffer.from('0\r\n\r\n'),
    ]);
    const undeclared = await rawRequest(h.server.url, chunked, 10_000);
    expect(undeclared.status).toBe(413);
    expect(h.service.liveRunCount).toBe(0);
  });

  it('closes a connection whose headers never end, or whose body never arrives', async () => {
    const slowHeaders = await connect(h.server.url);
    slowHeaders.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    const drip = setInterval(() => slowHeaders.writable && slowHeaders.write(`x-drip-${Date.now()}: 1\r\n`), 200);
    const stalledBody = await connect(h.server.url);
    stalledBody.write(httpRequest('POST', '/v1/agents', { 'content-length': '1000', connection: 'keep-alive' }) + '{"name":');
    const silent = await connect(h.server.url);
    const [a, b, c] = await Promise.all([closedWithin(slowHeaders, 15_000), closedWithin(stalledBody, 15_000), closedWithin(silent, 15_000)]);
    clearInterval(drip);
    expect(a.closed).toBe(true);
    expect(b.closed).toBe(true);
    expect(c.closed).toBe(true);
    expect(a.data).toMatch(/^HTTP\/1\.1 408/);
    expect(b.data).toMatch(/^HTTP\/1\.1 408/);
  });

  it('refuses connections past the cap with a clear 503, and serves again once they are gone', async () => {
    const held = await Promise.all(Array.from({ length: 40 }, () => connect(h.server.url)));
    const refused = await rawRequest(h.server.url, httpRequest('GET', '/healthz'));
    expect(refused.status).toBe(503);
    expect(jsonOf(refused).detail).toMatch(/too many connections \(limit 40\)/);
    for (const s of held) s.destroy();
    await expect.poll(async () => (await fetch(`${h.server.url}/healthz`).catch(() => null))?.status, { timeout: 5000 }).toBe(200);
  });
});

describe('slow readers of Letta SSE streams', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maxBufferedBytes: 64 * 1024 });
  });
  afterAll(() => h.close());

  it('20 never-reading resume streams: each holds at most the bound in the process, is dropped with a resumable end or paced', async () => {
    const bound = 64 * 1024;
    // Measure what the process queues for each SSE response right after every write (the kernel's
    // socket buffers are not the process's memory).
    let maxQueued = 0;
    h.server.http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!req.url?.endsWith('/stream')) return;
      const write = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        const ok = write(chunk);
        maxQueued = Math.max(maxQueued, res.writableLength);
        return ok;
      }) as typeof res.write;
    });

    const c = await TestClient.connect(h.server.wsUrl);
    const runId = await c.start('demo', 'a long answer\n#tokens 40000\n#delay 0');
    const readers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const s = await connect(h.server.url);
        s.pause();
        s.write(httpRequest('POST', `/v1/runs/${runId}/stream`, { 'content-type': 'application/json' }, '{}'));
        return s;
      }),
    );
    const frames = await c.runFrames(runId, 60_000);
    const last = Math.max(...frames.map((f) => f.seq_id ?? 0));
    expect(last).toBeGreaterThan(5000);
    expect(maxQueued).toBeLessThan(2 * bound);

    const texts = await Promise.all(
      readers.map(
        (s) =>
          new Promise<string>((resolve) => {
            let t = '';
            s.on('data', (d) => (t += d.toString()));
            s.on('close', () => resolve(t));
            s.on('error', () => resolve(t));
            s.resume();
            setTimeout(() => (s.end(), resolve(t)), 20_000);
          }),
      ),
    );
    // Each stream ended one of two ways: dropped with where to resume, or delivered whole at its pace.
    for (const t of texts) expect(t.includes('"error_type":"slow_reader"') !== t.includes('data: [DONE]')).toBe(true);
    // The run itself was not cancelled by the server dropping its readers.
    expect((await h.store.getRun(runId))?.status).toBe('completed');

    const dropped = texts.find((t) => t.includes('slow_reader'));
    if (dropped) {
      // Resume where the server said: every frame after that point, once, then [DONE].
      const after = Number(/starting_after (\d+)/.exec(dropped)![1]);
      const seen = [...dropped.matchAll(/"seq_id":(\d+)\}/g)].map((m) => Number(m[1])).filter((n) => n <= after);
      const r = await fetch(`${h.server.url}/v1/runs/${runId}/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ starting_after: after }) });
      const rest = await r.text();
      expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
      const resumed = [...rest.matchAll(/^data: (\{.*\})$/gm)].map((m) => (JSON.parse(m[1]!) as { seq_id: number }).seq_id);
      expect(resumed[0]).toBe(after + 1);
      expect([...seen, ...resumed]).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    }
    c.close();
  });
});
