import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLettaCode, lettaCodeHeadless, LETTA_CODE_VERSION } from './support/letta-code.js';
import { startHarness, type Harness } from './support/service-harness.js';

/** Letta Code itself, headless, against letta-stream (installed under .letta-code/, or skipped saying why). */
const installed = await ensureLettaCode();
if ('reason' in installed) console.warn(`letta-code.test.ts skipped: @letta-ai/letta-code@${LETTA_CODE_VERSION} could not be installed (${installed.reason})`);

describe.skipIf('reason' in installed)(`Letta Code ${LETTA_CODE_VERSION} against letta-stream`, () => {
  let h: Harness;
  let home: string;
  let cwd: string;
  beforeAll(async () => {
    h = await startHarness();
    home = mkdtempSync(path.join(os.tmpdir(), 'letta-code-home-'));
    cwd = mkdtempSync(path.join(os.tmpdir(), 'letta-code-cwd-'));
  });
  afterAll(async () => {
    await h.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });
  const bin = 'bin' in installed ? installed.bin : '';

  it('letta -p runs a turn in a conversation of the agent', async () => {
    const agent = h.service.ensureDemoAgent();
    const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, agentId: agent.id, prompt: 'hello from letta code', home, cwd });
    expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: agent.id, conversation_id: expect.stringMatching(/^conv-/) });
    expect(String(r.result)).toContain('hello from letta code');
    expect(h.service.getConversation(String(r.conversation_id))).toMatchObject({ agentId: agent.id, state: 'idle' });
  }, 120_000);

  it('with no -a, a first run creates Letta Code\'s default agent (its tools, tags, memory blocks) and a conversation, and answers', async () => {
    const firstHome = mkdtempSync(path.join(os.tmpdir(), 'letta-code-first-'));
    try {
      const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'hello on a first run', home: firstHome, cwd });
      expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: expect.stringMatching(/^agent-/), conversation_id: expect.stringMatching(/^conv-/) });
      expect(String(r.result)).toContain('hello on a first run');
      const agent = h.service.getAgent(String(r.agent_id));
      expect(agent).toMatchObject({ name: 'Letta Code', tags: expect.arrayContaining(['origin:letta-code']), tools: expect.arrayContaining(['web_search', 'fetch_webpage']) });
      expect(h.service.listBlocks(agent.id).map((b) => b.label)).toEqual(expect.arrayContaining(['persona', 'human']));
      expect(h.service.getConversation(String(r.conversation_id))).toMatchObject({ agentId: agent.id, state: 'idle' });
    } finally {
      rmSync(firstHome, { recursive: true, force: true });
    }
  }, 120_000);

  it('two Letta Code installs (separate homes) against one server each create an agent named "Letta Code" and run their turns', async () => {
    const homes = [0, 1].map((i) => mkdtempSync(path.join(os.tmpdir(), `letta-code-install${i}-`)));
    try {
      const before = h.store.listAgents().filter((a) => a.name === 'Letta Code').map((a) => a.id);
      const first = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'hello from install one', home: homes[0]!, cwd });
      const second = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'hello from install two', home: homes[1]!, cwd });
      for (const [r, said] of [[first, 'install one'], [second, 'install two']] as const) {
        expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: expect.stringMatching(/^agent-/) });
        expect(String(r.result)).toContain(said);
      }
      expect(first.agent_id).not.toBe(second.agent_id);
      const named = h.store.listAgents().filter((a) => a.name === 'Letta Code').map((a) => a.id);
      expect(named).toEqual([...before, first.agent_id, second.agent_id]);
      // Each install goes on with its own agent.
      const again = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'install two again', home: homes[1]!, cwd });
      expect(again).toMatchObject({ is_error: false, agent_id: second.agent_id });
      expect(String(again.result)).toContain('install two again');
    } finally {
      for (const home of homes) rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);

  it('a call to Letta Code\'s Read (a client tool) runs on its side; the model sees what it read', async () => {
    const agent = h.service.ensureDemoAgent();
    const file = path.join(cwd, 'notes.txt');
    writeFileSync(file, 'read by letta code\n');
    const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, agentId: agent.id, prompt: `\n#tool Read ${JSON.stringify({ file_path: file })}`, home, cwd });
    expect(r).toMatchObject({ is_error: false, num_turns: 2 });
    expect(String(r.result)).toContain('The tool returned:');
    expect(String(r.result)).toContain('read by letta code');
  }, 120_000);
});
