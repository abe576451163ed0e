import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';

/** The inspector page in a real browser (Debian's chromium, driven by playwright-core). */
const CHROMIUM = '/usr/bin/chromium';
let h: Harness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // The test set-up installs the browser when the machine has none (a new CI machine).
    execSync('(apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) > /dev/null', { stdio: 'inherit', timeout: 900_000 });
  }
  h = await startHarness();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`${h.server.url}/inspect`);
  await page.waitForSelector('#agents .item');
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const active = (state: string) => `g.state.active[data-state="${state}"]`;

describe('inspector page', () => {
  it('draws both charts from the machine definitions', async () => {
    expect(await page.locator('#run-chart g[data-state="executingTools"]').count()).toBe(1);
    expect(await page.locator('#stream-chart g[data-state="streaming.tool_use"]').count()).toBe(1);
  });

  it('a run started from the chat box moves the highlight through thinking → text, streaming its frames', async () => {
    await page.fill('#message', '#tokens 200\n#delay 25\nhello from the page');
    await page.click('#send');
    await page.waitForSelector(`#stream-chart ${active('streaming.thinking')}`, { timeout: 15_000 });
    await page.waitForSelector(`#stream-chart ${active('streaming.text')}`, { timeout: 15_000 });
    await page.waitForSelector('#frames .stop', { timeout: 15_000 });
    expect(await page.textContent('#frames')).toContain('You said: hello from the page');
    expect(await page.textContent('#frames .stop')).toBe('stop: end_turn');
    await page.waitForSelector(`#run-chart ${active('completed')}`);
  });

  it('the Cancel button cancels a stalled run and the chart shows cancelled', async () => {
    await page.fill('#message', '#stall 10000\nwait for it');
    await page.click('#send');
    await expect.poll(() => h.anthropic.stats.streamsOpen, { timeout: 10_000 }).toBe(1);
    await page.click('#cancel');
    await page.waitForSelector(`#run-chart ${active('cancelled')}`, { timeout: 10_000 });
    expect(await page.textContent('#frames .stop')).toBe('stop: cancelled');
  });

  it('approving a write_file request from the page runs the tool', async () => {
    await page.fill('#message', '#tool write_file {"path": "page.txt", "content": "from the browser"}');
    await page.click('#send');
    await page.click('.approval .approve', { timeout: 15_000 });
    await page.waitForSelector('#frames .return.success', { timeout: 15_000 });
    expect(await page.textContent('#frames .return.success')).toContain('wrote 16 bytes to page.txt');
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/inspector.png', fullPage: true });
  });
});
