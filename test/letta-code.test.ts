import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLettaCode, lettaCodeHeadless, LETTA_CODE_VERSION } from './support/letta-code.js';
import { startHarness, TestClient, type Harness } from './support/service-harness.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

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
    const agent = await h.service.ensureDemoAgent();
    const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, agentId: agent.id, prompt: 'hello from letta code', home, cwd });
    expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: agent.id, conversation_id: expect.stringMatching(/^conv-/) });
    expect(String(r.result)).toContain('hello from letta code');
    expect(await h.service.getConversation(String(r.conversation_id))).toMatchObject({ agentId: agent.id, state: 'idle' });
  }, 120_000);

  it('with no -a, a first run creates Letta Code\'s default agent (its tools, tags, memory blocks) and a conversation, and answers', async () => {
    const firstHome = mkdtempSync(path.join(os.tmpdir(), 'letta-code-first-'));
    try {
      const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'hello on a first run', home: firstHome, cwd });
      expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: expect.stringMatching(/^agent-/), conversation_id: expect.stringMatching(/^conv-/) });
      expect(String(r.result)).toContain('hello on a first run');
      const agent = await h.service.getAgent(String(r.agent_id));
      expect(agent).toMatchObject({ name: 'Letta Code', tags: expect.arrayContaining(['origin:letta-code']), tools: expect.arrayContaining(['web_search', 'fetch_webpage']) });
      expect((await h.service.listBlocks(agent.id)).map((b) => b.label)).toEqual(expect.arrayContaining(['persona', 'human']));
      expect(await h.service.getConversation(String(r.conversation_id))).toMatchObject({ agentId: agent.id, state: 'idle' });
    } finally {
      rmSync(firstHome, { recursive: true, force: true });
    }
  }, 120_000);

  it('two Letta Code installs (separate homes) against one server each create an agent named "Letta Code" and run their turns', async () => {
    const homes = [0, 1].map((i) => mkdtempSync(path.join(os.tmpdir(), `letta-code-install${i}-`)));
    try {
      const before = (await h.store.listAgents()).filter((a) => a.name === 'Letta Code').map((a) => a.id);
      const first = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'hello from install one', home: homes[0]!, cwd });
      const second = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'hello from install two', home: homes[1]!, cwd });
      for (const [r, said] of [[first, 'install one'], [second, 'install two']] as const) {
        expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: expect.stringMatching(/^agent-/) });
        expect(String(r.result)).toContain(said);
      }
      expect(first.agent_id).not.toBe(second.agent_id);
      const named = (await h.store.listAgents()).filter((a) => a.name === 'Letta Code').map((a) => a.id);
      expect(named).toEqual([...before, first.agent_id, second.agent_id]);
      // Each install goes on with its own agent.
      const again = await lettaCodeHeadless(bin, { baseUrl: h.server.url, prompt: 'install two again', home: homes[1]!, cwd });
      expect(again).toMatchObject({ is_error: false, agent_id: second.agent_id });
      expect(String(again.result)).toContain('install two again');
    } finally {
      for (const home of homes) rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);

  it('-a on an agent whose own conversation is running: its start-up PATCH is taken (as on Letta) and its turn runs beside', async () => {
    const agent = await h.service.createAgent({ name: 'letta-code-busy' });
    const ws = await TestClient.connect(h.server.wsUrl);
    try {
      const held = await ws.start(agent.id, '#stall 20000\nhold the agent\'s own conversation');
      await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(1);
      const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, agentId: agent.id, prompt: 'while the agent is busy', home, cwd });
      expect(r).toMatchObject({ type: 'result', is_error: false, agent_id: agent.id, conversation_id: expect.stringMatching(/^conv-/) });
      expect(String(r.result)).toContain('while the agent is busy');
      expect((await h.store.getRun(held))?.status).toBe('running'); // untouched by the PATCH
      await h.service.cancelAgent(agent.id);
      await expect.poll(async () => (await h.store.getRun(held))?.status).toBe('cancelled');
    } finally {
      ws.close();
    }
  }, 120_000);

  it.skipIf(!hasTmux)('interactive, in a terminal (tmux): Escape while the model is stalled cancels the run; the next message is answered', async () => {
    const agent = await h.service.createAgent({ name: 'letta-code-tui' });
    const tuiHome = mkdtempSync(path.join(os.tmpdir(), 'letta-code-tui-'));
    const tuiCwd = mkdtempSync(path.join(os.tmpdir(), 'letta-code-tui-cwd-'));
    const session = `letta-code-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', session);
    const newest = async () => (await h.store.listRuns(agent.id, 1))[0];
    /** Types a message as a person would, once the prompt shows it (keys sent while it is busy are lost), then Enter. */
    const type = async (text: string) => {
      const before = (await h.store.listRuns(agent.id, 100)).length;
      for (let attempt = 0; ; attempt++) {
        tmux('send-keys', '-t', session, '-l', text);
        const shown = await expect.poll(() => screen().split('\n').some((l) => l.startsWith(`› ${text}`)), { timeout: 3_000, interval: 100 }).toBe(true).then(() => true, () => false);
        if (shown) break;
        if (attempt === 5) throw new Error(`the prompt never showed "${text}"`);
      }
      tmux('send-keys', '-t', session, 'Enter');
      await expect.poll(async () => (await h.store.listRuns(agent.id, 100)).length, { timeout: 10_000, interval: 100 }).toBe(before + 1);
    };
    const env = `env -i PATH=${process.env.PATH ?? ''} HOME=${tuiHome} TERM=xterm-256color LETTA_BASE_URL=${h.server.url} LETTA_API_KEY=local`;
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', '-c', tuiCwd, `${env} ${process.execPath} ${bin} -a ${agent.id}; sleep 30`);
    try {
      await expect.poll(screen, { timeout: 30_000, interval: 250 }).toContain('letta-code-tui · ');
      // The first message of a session carries Letta Code's system reminders on its first line; a
      // warm-up turn lets the next one start with the script's directive.
      await type('warm up');
      await expect.poll(async () => (await newest())?.status, { timeout: 30_000, interval: 250 }).toBe('completed');
      await type('#stall 6000 wait for escape');
      await expect.poll(async () => (await newest())?.status, { timeout: 30_000, interval: 100 }).toBe('running');
      await expect.poll(() => h.anthropic.stats.streamsOpen, { timeout: 10_000 }).toBe(1);
      const runId = (await newest())!.id;
      await expect.poll(screen, { timeout: 10_000, interval: 100 }).toContain('esc to interrupt');
      tmux('send-keys', '-t', session, 'Escape');
      await expect.poll(async () => (await h.store.getRun(runId))?.status, { timeout: 10_000, interval: 100 }).toBe('cancelled');
      expect(await h.store.getRun(runId)).toMatchObject({ stopReason: 'cancelled' });
      await expect.poll(screen, { timeout: 10_000, interval: 100 }).toContain('Interrupted');
      await expect.poll(() => h.anthropic.stats.streamsOpen).toBe(0);
      const stored = (await h.store.listRunFrames(runId)).map((f) => JSON.parse(f.json) as { message_type?: string; stop_reason?: string });
      expect(stored.filter((f) => f.message_type === 'stop_reason').map((f) => f.stop_reason)).toEqual(['cancelled']);
      await type('after the escape');
      await expect.poll(async () => { const n = await newest(); return n?.id !== runId ? n?.status : null; }, { timeout: 30_000, interval: 250 }).toBe('completed');
      const answer = (await h.store.listRunMessages((await newest())!.id)).find((m) => m.message_type === 'assistant_message') as { content: string } | undefined;
      expect(answer?.content).toContain('after the escape');
      // Letta Code sends the interrupted message again with the new one (so it stalls once more, 6 s)
      const sent = (await h.store.listRunMessages((await newest())!.id)).find((m) => m.message_type === 'user_message') as { content: string } | undefined;
      expect(sent?.content).toContain('The user interrupted the active stream.');
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- the terminal:\n${screen()}`);
    } finally {
      tmux('kill-session', '-t', session);
      for (const dir of [tuiHome, tuiCwd]) rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('a call to Letta Code\'s Read (a client tool) runs on its side; the model sees what it read', async () => {
    const agent = await h.service.ensureDemoAgent();
    const file = path.join(cwd, 'notes.txt');
    writeFileSync(file, 'read by letta code\n');
    const r = await lettaCodeHeadless(bin, { baseUrl: h.server.url, agentId: agent.id, prompt: `\n#tool Read ${JSON.stringify({ file_path: file })}`, home, cwd });
    expect(r).toMatchObject({ is_error: false, num_turns: 2 });
    expect(String(r.result)).toContain('The tool returned:');
    expect(String(r.result)).toContain('read by letta code');
  }, 120_000);
});
