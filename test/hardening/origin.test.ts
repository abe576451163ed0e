import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpRequest, jsonOf, rawRequest } from '../support/raw-http.js';
import { startHarness, TestClient, type Harness } from '../support/service-harness.js';

/**
 * Item 2 of the hardening issue: any web page the user visits could drive a loopback instance
 * (a cross-site WebSocket or text/plain POST, or DNS rebinding with a foreign Host). Clients that
 * send no Origin (CLIs, SDKs) must keep working.
 */

/** Opens a socket with these headers: 'open' or the HTTP status the upgrade was refused with. */
function upgrade(url: string, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

const agentCount = async (h: Harness) => (await h.store.listAgents()).length;

describe('a token-less loopback instance and browsers', () => {
  let h: Harness;
  let host: string;
  beforeAll(async () => {
    h = await startHarness({ allowedOrigins: ['http://localhost:5173'] });
    host = new URL(h.server.url).host;
  });
  afterAll(() => h.close());

  it('refuses a WebSocket from a foreign origin, before it can start a run', async () => {
    expect(await upgrade(h.server.wsUrl, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(h.server.wsUrl, { origin: 'null' })).toBe(403);
    expect(h.service.liveRunCount).toBe(0);
  });

  it('accepts WebSockets with no Origin (CLIs, SDKs), its own origin, and an --allow-origin one', async () => {
    expect(await upgrade(h.server.wsUrl, {})).toBe('open');
    expect(await upgrade(h.server.wsUrl, { origin: `http://${host}` })).toBe('open');
    expect(await upgrade(h.server.wsUrl, { origin: 'http://localhost:5173' })).toBe('open');
    // and such a socket really runs turns
    const c = await TestClient.connect(h.server.wsUrl, { origin: `http://${host}` });
    const runId = await c.start('demo', 'hello');
    expect((await c.waitFor((f) => f.type === 'run.end' && f.run_id === runId)).status).toBe('completed');
    c.close();
  });

  it('refuses a cross-site text/plain POST (no agent is created) and cross-site reads', async () => {
    const before = await agentCount(h);
    const r = await fetch(`${h.server.url}/v1/agents`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: JSON.stringify({ name: 'planted' }) });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/origin https:\/\/evil\.example/);
    expect(await agentCount(h)).toBe(before);
    const turn = await fetch(`${h.server.url}/v1/agents/demo/messages`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }) });
    expect(turn.status).toBe(403);
    const read = await fetch(`${h.server.url}/v1/agents`, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(read.status).toBe(403);
  });

  it('refuses a foreign Host (DNS rebinding) on HTTP and WebSocket alike', async () => {
    const a = await rawRequest(h.server.url, httpRequest('GET', '/v1/agents', { host: 'evil.example:8283' }));
    expect(a.status).toBe(403);
    expect(jsonOf(a).detail).toMatch(/loopback host names/);
    expect(await upgrade(h.server.wsUrl, { host: 'evil.example' })).toBe(403);
    expect(await upgrade(h.server.wsUrl, { host: '127.evil.example' })).toBe(403);
    for (const ok of ['localhost:1', '127.0.0.1', '[::1]:8283', 'app.localhost']) {
      expect((await rawRequest(h.server.url, httpRequest('GET', '/healthz', { host: ok }))).status, ok).toBe(200);
    }
  });

  it('gives an --allow-origin origin CORS answers, including the preflight, and no one else', async () => {
    const pre = await fetch(`${h.server.url}/v1/agents`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const r = await fetch(`${h.server.url}/v1/agents`, { headers: { origin: 'http://localhost:5173' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const other = await fetch(`${h.server.url}/v1/agents`, { headers: { origin: `http://${host}` } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('an instance with a token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ token: 'tok' });
  });
  afterAll(() => h.close());

  it('answers any Host with the token (it may sit behind a proxy), but still refuses foreign origins', async () => {
    const a = await rawRequest(h.server.url, httpRequest('GET', '/v1/agents', { host: 'letta.example.com', authorization: 'Bearer tok' }));
    expect(a.status).toBe(200);
    expect(await upgrade(`${h.server.wsUrl}?token=tok`, { origin: 'https://evil.example' })).toBe(403);
  });

  it('takes the bearer scheme in any case (RFC 9110)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await fetch(`${h.server.url}/v1/agents`, { headers: { authorization: `${scheme} tok` } })).status, scheme).toBe(200);
    }
    expect((await fetch(`${h.server.url}/v1/agents`, { headers: { authorization: 'Basic tok' } })).status).toBe(401);
  });
});
