import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/** The inspector page in a real browser (Debian's chromium, driven by playwright-core). */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
let h: Harness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // The test set-up installs the browser when the machine has none (a new CI machine).
    execSync('(apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) > /dev/null', { stdio: 'inherit', timeout: 900_000 });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await startHarness();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${h.server.url}/inspect`);
  await page.waitForSelector('#agents .item');
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const active = (state: string) => `g.state.active[data-state="${state}"]`;
/** `executingTools.running` → both groups the page marks active. */
const prefixes = (p: string | null) => (p ? p.split('.').map((_, i, all) => all.slice(0, i + 1).join('.')) : []);
const activeStates = (chart: string) => page.$$eval(`#${chart}-chart g.state.active`, (gs) => gs.map((g) => g.getAttribute('data-state')).sort());
const lastRunId = async () => ((await (await fetch(`${h.server.url}/v1/runs?agent_id=demo&limit=1`)).json()) as Array<{ id: string }>)[0]!.id;
/** Sends a chat message from the page and waits for its run to be the selected one. */
async function sendAndSelect(text: string): Promise<void> {
  const before = await page.textContent('#run-id');
  await page.fill('#message', text);
  await page.click('#send');
  await page.waitForFunction(`document.querySelector('#run-id').textContent !== ${JSON.stringify(before)}`, null, { timeout: 10_000 });
}

describe('inspector page', () => {
  it('draws the agent, run and stream charts from the machine definitions, nested as agent ⊃ run ⊃ step', async () => {
    expect(await page.locator('#agent-chart g[data-state="awaitingApproval"]').count()).toBe(1);
    expect(await page.locator('#run-chart g[data-state="executingTools"]').count()).toBe(1);
    expect(await page.locator('#stream-chart g[data-state="streaming.tool_use"]').count()).toBe(1);
    expect(await page.locator('#agent-nest #run-nest #step-nest #stream-chart').count()).toBe(1);
    await page.waitForSelector(`#agent-chart ${active('idle')}`);
  });

  it('no two labels of a chart overlap', async () => {
    for (const chart of ['agent', 'run', 'stream']) {
      const boxes = await page.$$eval(`#${chart}-chart g.transition text`, (ts) =>
        ts.map((t) => {
          const r = t.getBoundingClientRect();
          return { x: r.x, y: r.y, w: r.width, h: r.height, text: t.textContent };
        }),
      );
      expect(boxes.length, chart).toBeGreaterThan(0);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]!, b = boxes[j]!;
          const overlap = a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;
          expect(overlap, `${chart}: "${a.text}" and "${b.text}"`).toBe(false);
        }
      }
    }
  });

  it('a run started from the chat box moves the highlight through thinking → text, streaming its frames', async () => {
    await page.fill('#message', '#tokens 200\n#delay 25\nhello from the page');
    await page.click('#send');
    await page.waitForSelector(`#stream-chart ${active('streaming.thinking')}`, { timeout: 15_000 });
    await page.waitForSelector(`#stream-chart ${active('streaming.text')}`, { timeout: 15_000 });
    // the live run's timeline grows as it streams: a span per state change so far
    expect(await page.locator('#timeline rect.span[y="6"]').count()).toBeGreaterThanOrEqual(2);
    await page.waitForSelector('#frames .stop', { timeout: 15_000 });
    expect(await page.textContent('#frames')).toContain('You said: hello from the page');
    expect(await page.textContent('#frames .stop')).toBe('stop: end_turn');
    await page.waitForSelector(`#run-chart ${active('completed')}`);
  });

  it('while a run streams the agent chart shows running; a message sent then is refused on screen; Cancel ends the run', async () => {
    await page.fill('#message', '#stall 10000\nwait for it');
    await page.click('#send');
    await expect.poll(() => h.anthropic.stats.streamsOpen, { timeout: 10_000 }).toBe(1);
    await page.waitForSelector(`#agent-chart ${active('running')}`, { timeout: 10_000 });
    expect(await page.getAttribute('#run-nest', 'class')).toContain('now');
    await page.fill('#message', 'are you there?');
    await page.click('#send');
    await page.waitForSelector('#errors .error', { timeout: 10_000 });
    expect(await page.textContent('#errors')).toContain('The agent is busy with run');
    expect(await page.textContent('#errors')).toContain('wait for it to end, or press Cancel');
    await page.click('#cancel');
    await page.waitForSelector(`#run-chart ${active('cancelled')}`, { timeout: 10_000 });
    expect(await page.textContent('#frames .stop')).toBe('stop: cancelled');
    await page.waitForSelector(`#agent-chart ${active('idle')}`, { timeout: 10_000 });
  });

  it('a pending approval: the agent chart shows awaitingApproval, a chat message is refused with its reason, approving runs the tool', async () => {
    await page.click('#errors .dismiss').catch(() => {});
    await page.fill('#message', '#tool write_file {"path": "page.txt", "content": "from the browser"}');
    await page.click('#send');
    await page.waitForSelector(`#agent-chart ${active('awaitingApproval')}`, { timeout: 15_000 });
    expect(await page.textContent('#pending')).toContain('write_file');
    expect(await activeStates('run')).toEqual(['completed']);
    await page.screenshot({ path: `${ARTIFACTS}/inspector-awaiting-approval.png`, fullPage: true });

    await page.fill('#message', 'hello?');
    await page.click('#send');
    await page.waitForSelector('#errors .error', { timeout: 10_000 });
    expect(await page.textContent('#errors')).toContain('approve or deny the pending write_file call first');
    expect(await page.inputValue('#message')).toBe('hello?'); // not lost
    await page.screenshot({ path: `${ARTIFACTS}/inspector-refused-message.png`, fullPage: true });

    await page.click('.approval .approve', { timeout: 15_000 });
    await page.waitForSelector('#frames .return.success', { timeout: 15_000 });
    expect(await page.textContent('#frames .return.success')).toContain('wrote 16 bytes to page.txt');
    await page.waitForSelector(`#agent-chart ${active('idle')}`, { timeout: 10_000 });
    expect(await page.locator('#errors .error').count()).toBe(0); // the run started: the refusal is gone
    await page.screenshot({ path: `${ARTIFACTS}/inspector.png`, fullPage: true });
  });

  it('a finished run replayed: at each recorded transition the charts highlight exactly that state and the frames pane shows exactly the frames up to it', async () => {
    await sendAndSelect('#tool calculator {"expression": "6*7"}');
    await page.waitForSelector('#frames .stop', { timeout: 15_000 });
    await page.waitForSelector(`#run-chart ${active('completed')}`);
    const runId = await lastRunId();
    const transitions = (await (await fetch(`${h.server.url}/v1/runs/${runId}/transitions`)).json()) as Array<{ run: string; step: string | null; seq_id: number }>;
    const frames = (await h.store.listRunFrames(runId)).map((f) => JSON.parse(f.json) as { seq_id: number; message_type: string; tool_call?: { tool_call_id: string } });
    const path = transitions.map((t) => t.step ?? t.run);
    for (const s of ['streaming.thinking', 'streaming.tool_use', 'executingTools.running', 'streaming.text', 'completed']) expect(path).toContain(s);
    expect(await page.getAttribute('#scrubber', 'max')).toBe(String(transitions.length - 1));

    for (let i = 0; i < transitions.length; i++) {
      const t = transitions[i]!;
      await page.$eval('#scrubber', (el, v) => {
        (el as unknown as { value: string }).value = String(v);
        el.dispatchEvent(new Event('input'));
      }, i);
      const where = `transition ${i + 1}: ${t.run} ${t.step ?? ''}`;
      expect(await activeStates('run'), where).toEqual(prefixes(t.run).sort());
      expect(await activeStates('stream'), where).toEqual(prefixes(t.step).sort());
      expect(await activeStates('agent'), where).toEqual([['completed', 'failed', 'cancelled'].includes(t.run) ? 'idle' : 'running']);
      const upTo = frames.filter((f) => f.seq_id <= t.seq_id);
      expect(Number(await page.getAttribute('#frames', 'data-upto')), where).toBe(t.seq_id);
      const shownTypes = await page.$$eval('#frames > div[data-type]', (ds) => [...new Set(ds.map((d) => d.getAttribute('data-type')))].sort());
      expect(shownTypes, where).toEqual([...new Set(upTo.map((f) => f.message_type))].sort());
      const calls = new Set(upTo.filter((f) => f.message_type === 'tool_call_message').map((f) => f.tool_call!.tool_call_id));
      expect(await page.locator('#frames .tool').count(), where).toBe(calls.size);
      const lastShown = await page.$$eval('#frames > div[data-last]', (ds) => Math.max(0, ...ds.map((d) => Number(d.getAttribute('data-last')))));
      expect(lastShown, where).toBe(t.seq_id);
      if (t.step === 'streaming.tool_use') await page.screenshot({ path: `${ARTIFACTS}/inspector-replay-tool-use.png`, fullPage: true });
    }

    // keyboard: ← and → step through the changes, End returns to now
    await page.focus('#timeline-box');
    await page.keyboard.press('Home');
    expect(await page.inputValue('#scrubber')).toBe('0');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await page.inputValue('#scrubber')).toBe('2');
    await page.keyboard.press('ArrowLeft');
    expect(await page.inputValue('#scrubber')).toBe('1');
    expect(await activeStates('stream')).toEqual(prefixes(transitions[1]!.step).sort());
    await page.keyboard.press('End');
    expect(await activeStates('run')).toEqual(['completed']);
    expect(await page.textContent('#frames .stop')).toBe('stop: end_turn');
    // the timeline: a span per state change in the run lane, a tick per frame
    expect(await page.locator('#timeline rect.span[y="6"]').count()).toBe(transitions.length);
    expect(await page.locator('#timeline line.tick').count()).toBe(frames.length);
  });

  it('the runs list keeps each run on one line, and the page fits at 1280×800 and in a narrow window', async () => {
    for (const viewport of [{ width: 1280, height: 800 }, { width: 600, height: 900 }]) {
      await page.setViewportSize(viewport);
      const heights = await page.$$eval('#runs .item', (items) => items.map((i) => i.getBoundingClientRect().height));
      expect(heights.length).toBeGreaterThan(2);
      for (const ht of heights) expect(ht).toBeLessThan(30);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, `${viewport.width}px`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${ARTIFACTS}/inspector-${viewport.width}x${viewport.height}.png`, fullPage: viewport.width >= 1280 });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe('inspector page, a run whose stream is no longer kept', () => {
  let g: Harness;
  afterAll(async () => g?.close());

  it('says so on screen (the 404 of its subscription), shows its stored messages, and still replays its timeline', async () => {
    g = await startHarness({ graceMs: 200 });
    const r = await fetch(`${g.server.url}/v1/agents/demo/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: '#tool calculator {"expression": "2+2"}' }] }),
    });
    const runId = ((await r.json()) as { messages: Array<{ run_id: string }> }).messages[0]!.run_id;
    await expect.poll(() => g.service.runLog(runId), { timeout: 10_000 }).toBeNull(); // its grace period is over
    const transitions = (await (await fetch(`${g.server.url}/v1/runs/${runId}/transitions`)).json()) as unknown[];
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await p.goto(`${g.server.url}/inspect`);
    await p.waitForSelector(`#runs [data-run="${runId}"]`);
    await p.click(`#runs [data-run="${runId}"]`);
    await p.waitForSelector('#errors .error', { timeout: 10_000 });
    expect(await p.textContent('#errors')).toContain("This run's frames are no longer kept");
    await p.waitForSelector('#frames .return.success', { timeout: 10_000 });
    expect(await p.textContent('#frames')).toContain('stored messages');
    expect(await p.locator('#timeline rect.span[y="6"]').count()).toBe(transitions.length);
    await p.keyboard.press('Home');
    expect(await p.$$eval('#run-chart g.state.active', (gs) => gs.map((x) => x.getAttribute('data-state')))).toEqual(['streaming']);
    await p.screenshot({ path: `${ARTIFACTS}/inspector-frames-gone.png`, fullPage: true });
    await p.close();
  }, 60_000);
});

/** A free loopback port, so a restarted server is found where the page left it. */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('inspector page against `letta-stream serve`, across a restart', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-inspect-restart-'));
  let server: ServerProcess | null = null;
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a lost connection on screen, and the timeline of a run survives the restart', async () => {
    const port = await freePort();
    server = await startServerProcess({ dataDir: dir, args: ['--port', String(port)] });
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await p.goto(`${server.url}/inspect`);
    await p.waitForSelector('#agents .item');
    await p.fill('#message', '#tool calculator {"expression": "1+1"}');
    await p.click('#send');
    await p.waitForSelector('#frames .stop', { timeout: 15_000 });
    await p.waitForSelector(`#run-chart ${active('completed')}`);
    const runs = (await (await fetch(`${server.url}/v1/runs?agent_id=demo&limit=1`)).json()) as Array<{ id: string }>;
    const runId = runs[0]!.id;
    const before = (await (await fetch(`${server.url}/v1/runs/${runId}/transitions`)).json()) as Array<{ run: string; step: string | null; seq_id: number }>;
    const spans = await p.locator('#timeline rect.span').count();

    await server.stop();
    await p.waitForSelector('#errors .error', { timeout: 10_000 });
    expect(await p.textContent('#errors')).toMatch(/connection to the server was lost|Cannot reach the letta-stream server/);
    await p.screenshot({ path: `${ARTIFACTS}/inspector-connection-lost.png`, fullPage: true });

    server = await startServerProcess({ dataDir: dir, args: ['--port', String(port)] });
    await p.waitForFunction("document.querySelectorAll('#errors .error').length === 0", null, { timeout: 15_000 });
    expect(await (await fetch(`${server.url}/v1/runs/${runId}/transitions`)).json()).toEqual(before);
    // a fresh page after the restart: the run's timeline and its moments as before
    await p.reload();
    await p.waitForSelector(`#runs [data-run="${runId}"]`);
    await p.click(`#runs [data-run="${runId}"]`);
    await p.waitForFunction(`document.querySelectorAll('#timeline rect.span').length === ${spans}`, null, { timeout: 10_000 });
    await p.keyboard.press('Home');
    await p.keyboard.press('ArrowRight');
    const t1 = before[1]!;
    const states = await p.$$eval('#run-chart g.state.active', (gs) => gs.map((g) => g.getAttribute('data-state')).sort());
    expect(states).toEqual(prefixes(t1.run).sort());
    expect(Number(await p.getAttribute('#frames', 'data-upto'))).toBe(t1.seq_id);
    await p.screenshot({ path: `${ARTIFACTS}/inspector-after-restart.png`, fullPage: true });
    await p.close();
  }, 120_000);
});
