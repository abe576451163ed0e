import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { AgentService } from '../src/actors/agent-service.js';
import { startAnthropicServer } from '../src/anthropic-server/index.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

/** A crash leaves runs `running` in the file: the next start fails them and makes the agents usable. */
describe('crash recovery', () => {
  it('runs left running are failed with a reason; dangling tool calls are closed; the agent runs again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-crash-'));
    const file = path.join(dir, 'db.sqlite');
    const anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
    const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
    try {
      // First life: a run is mid-tool-call when the process "dies" (the store is closed under it).
      const store1 = new SqliteStore({ file });
      const service1 = new AgentService({ store: store1, client, dataDir: dir });
      const agent = await service1.ensureDemoAgent();
      const { log } = await service1.startRun(agent.id, { kind: 'user', text: '#tool calculator {"expression": "1+1"}\n#delay 1' });
      const runId = log.runId;
      // simulate the crash as a history with an unanswered tool_use and a run still `running`
      await store1.appendHistory(agent.id, runId, [{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_crash', name: 'calculator', input: { expression: '1+1' } }] }]);
      await store1.close();

      const store2 = new SqliteStore({ file });
      const service2 = new AgentService({ store: store2, client, dataDir: dir });
      expect(await service2.recover()).toEqual([runId]);
      expect(await store2.getRun(runId)).toMatchObject({ status: 'failed', stopReason: 'error', error: 'the server stopped while the run was in progress' });
      expect((await store2.getAgent(agent.id))?.state).toBe('idle');
      const next = await service2.startRun(agent.id, { kind: 'user', text: 'hello again' });
      const end = await new Promise((resolve) => next.log.subscribe({ frame: () => {}, end: resolve }));
      expect(end).toMatchObject({ status: 'completed', stop_reason: 'end_turn' });
      await store2.close();
    } finally {
      await anthropic.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a conversation\'s run left running: failed, the conversation idle with its dangling call closed, the agent\'s own history untouched', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-crash-'));
    const file = path.join(dir, 'db.sqlite');
    const anthropic = await startAnthropicServer({ defaultDelayMs: 0 });
    const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
    try {
      const store1 = new SqliteStore({ file });
      const service1 = new AgentService({ store: store1, client, dataDir: dir });
      const agent = await service1.ensureDemoAgent();
      const conv = await service1.createConversation(agent.id, null);
      const { log } = await service1.startRun(agent.id, { kind: 'user', text: '#stall 10000\nwait' }, undefined, [], conv.id);
      await store1.appendHistory(agent.id, log.runId, [{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_conv_crash', name: 'calculator', input: { expression: '1+1' } }] }]);
      await store1.close();

      const store2 = new SqliteStore({ file });
      const service2 = new AgentService({ store: store2, client, dataDir: dir });
      expect(await service2.recover()).toEqual([log.runId]);
      expect(await store2.getConversation(conv.id)).toMatchObject({ state: 'idle', activeRunId: null });
      const history = await store2.getHistory(agent.id, conv.id);
      expect(history.at(-1)).toMatchObject({ role: 'user', content: [expect.objectContaining({ type: 'tool_result', tool_use_id: 'toolu_conv_crash', is_error: true })] });
      expect(await store2.getHistory(agent.id)).toEqual([]);
      const next = await service2.startRun(agent.id, { kind: 'user', text: 'hello again' }, undefined, [], conv.id);
      const end = await new Promise((resolve) => next.log.subscribe({ frame: () => {}, end: resolve }));
      expect(end).toMatchObject({ status: 'completed', stop_reason: 'end_turn' });
      await service2.whenIdle(5_000);
      await store2.close();
    } finally {
      await anthropic.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
