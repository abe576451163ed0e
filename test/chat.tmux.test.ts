import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';

/** The terminal chat client driven as a person would: in tmux, with keys, reading the screen. */
const session = `letta-chat-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
const alive = () => {
  try {
    tmux('has-session', '-t', session);
    return true;
  } catch {
    return false;
  }
};
const type = (text: string) => {
  tmux('send-keys', '-t', session, '-l', text);
  tmux('send-keys', '-t', session, 'Enter');
};
/** Each test starts when the previous turn is over, so keys never reach a busy prompt. */
const idle = () => expect.poll(() => h.service.liveRunCount, { timeout: 10_000 }).toBe(0);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const bin = path.resolve('bin/letta-stream.js');
  tmux('new-session', '-d', '-s', session, '-x', '220', '-y', '60', `${process.execPath} ${bin} chat --url ${h.server.wsUrl}; sleep 30`);
  for (const deadline = Date.now() + 10_000; !screen().includes('you>'); ) {
    if (Date.now() > deadline) throw new Error(`chat did not start:\n${screen()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});
afterAll(async () => {
  if (alive()) tmux('kill-session', '-t', session);
  await h.close();
});

describe('letta-stream chat in a terminal', () => {
  it('streams an answer', async () => {
    type('hello from tmux');
    await expect.poll(screen, { timeout: 10_000 }).toContain('You said: hello from tmux');
    await idle();
  });

  it('shows tool calls and returns', async () => {
    type('#tool calculator {"expression": "7*6"}');
    await expect.poll(screen, { timeout: 10_000 }).toContain('← 42');
    expect(screen()).toContain('→ calculator({"expression":"7*6"})');
    await idle();
  });

  it('Ctrl-C cancels the running turn and says so', async () => {
    type('#stall 10000 wait for it');
    await expect.poll(() => h.anthropic.stats.streamsOpen, { timeout: 10_000 }).toBe(1);
    tmux('send-keys', '-t', session, 'C-c');
    await expect.poll(screen, { timeout: 5_000 }).toContain('(cancelled)');
    expect((await h.store.listRuns((await h.service.ensureDemoAgent()).id, 1))[0]?.status).toBe('cancelled');
    await idle();
  });

  it('asks approve? [y/n/reason] and runs the approved tool', async () => {
    type('#tool write_file {"path": "tmux.txt", "content": "hi"}');
    await expect.poll(screen, { timeout: 10_000 }).toContain('approve write_file');
    type('y');
    await expect.poll(screen, { timeout: 10_000 }).toContain('← wrote 2 bytes to tmux.txt');
    await idle();
  });

  it('Ctrl-C twice at the prompt exits', async () => {
    tmux('send-keys', '-t', session, 'C-c');
    await expect.poll(screen, { timeout: 5_000 }).toContain('press Ctrl-C again to exit');
    tmux('send-keys', '-t', session, 'C-c');
    // the shell line then sleeps; the chat process itself has exited
    await expect.poll(() => h.service.liveRunCount).toBe(0);
    const chatRunning = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .some((l) => l.startsWith(process.execPath) && l.includes(`chat --url ${h.server.wsUrl}`));
    await expect.poll(chatRunning, { timeout: 5_000 }).toBe(false);
  });
});
