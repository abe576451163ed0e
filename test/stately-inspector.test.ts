import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AgentService } from '../src/actors/agent-service.js';
import { statelyInspector } from '../src/actors/stately-inspector.js';
import { startAnthropicServer } from '../src/anthropic-server/index.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

/** --inspect: the actors' inspection events reach a Stately-inspector WebSocket, without per-delta floods. */
describe('forwarding to a Stately inspector', () => {
  it('sends the run and step actors with their machine definitions, and no CONTENT_BLOCK_DELTA events', async () => {
    const received: Array<{ type: string; event?: { type?: string }; definition?: string }> = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => ws.on('message', (d) => received.push(JSON.parse(d.toString()))));
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-insp-'));
    const anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
    const store = new SqliteStore({ file: path.join(dir, 'db') });
    const stately = statelyInspector(`ws://127.0.0.1:${port}`);
    const service = new AgentService({ store, client: new Anthropic({ apiKey: 'x', baseURL: anthropic.url, maxRetries: 0 }), dataDir: dir, inspect: stately.inspect });
    try {
      const { log } = await service.startRun((await service.ensureDemoAgent()).id, { kind: 'user', text: '#tokens 50\nhi' });
      await new Promise((r) => log.subscribe({ frame: () => {}, end: r }));
      // the inspector sends on timers: wait until the step's last block has come through
      await expect.poll(() => received.some((e) => e.event?.type === 'MESSAGE_STOP'), { timeout: 10_000 }).toBe(true);
      const definitions = received.filter((e) => e.type === '@xstate.actor' && e.definition).map((e) => JSON.parse(e.definition!).id);
      expect(definitions).toEqual(expect.arrayContaining(['run', 'stream']));
      expect(received.some((e) => e.event?.type === 'CONTENT_BLOCK_DELTA')).toBe(false);
      expect(received.some((e) => e.event?.type === 'CONTENT_BLOCK_START')).toBe(true);
    } finally {
      stately.stop();
      wss.close();
      await anthropic.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
