import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lettaFrames, startHarness, TestClient, type Harness } from './support/service-harness.js';

/**
 * Issue #13: the frames sent to one WebSocket client within one event-loop turn leave in one
 * socket write (the connection's socket is corked until the next `setImmediate`), not one system
 * call per frame. Counted on the server's side of the socket, so no timing is asserted.
 */
let h: Harness;
let c: TestClient;
const writes = { calls: 0 };

beforeEach(async () => {
  h = await startHarness();
  writes.calls = 0;
  h.server.http.on('connection', (s: Socket) => {
    // Every write that reaches the socket's handle is one of these two (one system call each).
    const single = s._write.bind(s);
    const vector = s._writev?.bind(s);
    s._write = (...a: Parameters<Socket['_write']>) => (writes.calls++, single(...a));
    if (vector) s._writev = (...a: Parameters<NonNullable<Socket['_writev']>>) => (writes.calls++, vector(...a));
  });
  c = await TestClient.connect(h.server.wsUrl);
});
afterEach(async () => {
  c.close();
  await h.close();
});

describe('WebSocket writes', () => {
  it('a ~1,000-frame run reaches the client in far fewer socket writes than frames, all of them, in order', async () => {
    const agent = (await h.service.ensureDemoAgent()).id;
    const runId = await c.start(agent, '#tokens 2000\n#delay 0\nmany frames');
    const frames = lettaFrames(await c.runFrames(runId));
    expect(frames.length).toBeGreaterThan(900);
    expect(frames.map((f) => f.seq_id)).toEqual(frames.map((_, i) => i + 1));
    // Before #13: one write per frame (≥ frames.length). Now one per event-loop turn.
    expect(writes.calls).toBeLessThan(frames.length / 4);
  });
});
