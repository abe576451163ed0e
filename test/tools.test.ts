import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate } from '../src/tools/calculator.js';
import { executeTool, toolDefinitions, withInnerThoughts } from '../src/tools/registry.js';

const workspaceDir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-tools-'));
const outside = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-outside-'));
afterAll(() => {
  rmSync(workspaceDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});
const ctx = () => ({ signal: new AbortController().signal, workspaceDir });
const run = (name: string, input: unknown) => executeTool(name, input, ctx());

describe('calculator', () => {
  it('follows precedence, right-associative power, unary minus, functions and constants', () => {
    expect(evaluate('2 + 3 * 4')).toBe(14);
    expect(evaluate('(2 + 3) * 4')).toBe(20);
    expect(evaluate('2 ^ 3 ^ 2')).toBe(512);
    expect(evaluate('-2 ^ 2')).toBe(4);
    expect(evaluate('10 % 4 - -1')).toBe(3);
    expect(evaluate('sqrt(16) + max(1, 7, 3) + round(2.5) + abs(-1)')).toBe(15);
    expect(evaluate('floor(pi) + ceil(e)')).toBe(6);
    expect(evaluate('.5 + 1e3')).toBe(1000.5);
  });

  it('reports division by zero and bad syntax with a position; never evaluates code', async () => {
    expect((await run('calculator', { expression: '1/0' })).output).toContain('division by zero');
    const bad = await run('calculator', { expression: '2 +* 3' });
    expect(bad).toMatchObject({ status: 'error', output: expect.stringContaining('position 4') });
    expect((await run('calculator', { expression: 'process.exit(1)' })).output).toContain('unknown name "process"');
    expect((await run('calculator', { expression: 'x'.repeat(1001) })).status).toBe('error');
  });
});

describe('get_time', () => {
  it('answers in UTC and in a valid zone; an invalid zone is an error', async () => {
    expect((await run('get_time', {})).output).toMatch(/^UTC: \d{4}-/);
    expect((await run('get_time', { timezone: 'Asia/Tokyo' })).output).toContain('Asia/Tokyo:');
    expect(await run('get_time', { timezone: 'Mars/Olympus' })).toMatchObject({ status: 'error', output: expect.stringContaining('unknown time zone') });
  });
});

describe('file tools, confined to the workspace', () => {
  it('write, append, read and list, creating folders', async () => {
    expect(await run('write_file', { path: 'notes/a.txt', content: 'hello' })).toMatchObject({ status: 'success', output: 'wrote 5 bytes to notes/a.txt' });
    await run('write_file', { path: 'notes/a.txt', content: ' world', append: true });
    expect((await run('read_file', { path: 'notes/a.txt' })).output).toBe('hello world');
    expect((await run('read_file', { path: 'notes/a.txt', max_bytes: 5 })).output).toContain('[truncated');
    expect((await run('list_dir', {})).output.split('\n')).toContain('notes/');
    expect((await run('list_dir', { path: 'notes' })).output).toBe('a.txt');
  });

  it('refuses escapes: .., absolute paths elsewhere, and links that lead out', async () => {
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    symlinkSync(outside, path.join(workspaceDir, 'link'));
    for (const p of ['../x.txt', '/etc/passwd', 'link/secret.txt']) {
      const r = await run('read_file', { path: p });
      expect(r.status, p).toBe('error');
      expect(r.output, p).toMatch(/escapes the workspace|leads out of the workspace/);
    }
    expect((await run('write_file', { path: 'link/new.txt', content: 'x' })).output).toContain('leads out');
  });

  it('a missing file is not_found, a directory is not a file', async () => {
    expect((await run('read_file', { path: 'nope.txt' })).output).toContain('no such file');
    mkdirSync(path.join(workspaceDir, 'dir'), { recursive: true });
    expect((await run('read_file', { path: 'dir' })).status).toBe('error');
  });
});

describe('executeTool', () => {
  it('never throws: unknown tool, bad arguments, an aborted signal', async () => {
    expect(await run('nope', {})).toMatchObject({ status: 'error', output: 'Error: unknown tool "nope"' });
    expect(await run('calculator', { expression: 5 })).toMatchObject({ status: 'error', output: expect.stringContaining('invalid arguments') });
    const c = new AbortController();
    c.abort();
    expect(await executeTool('get_time', {}, { signal: c.signal, workspaceDir })).toMatchObject({ status: 'error', output: 'cancelled' });
  });

  it('ignores an extra `thinking` argument (kwargs mode)', async () => {
    expect(await run('calculator', { thinking: 'hm', expression: '1+1' })).toMatchObject({ status: 'success', output: '2' });
  });

  it('kwargs tools put `thinking` first and add send_message; unknown tools are named', () => {
    const tools = withInnerThoughts(toolDefinitions(['calculator']));
    expect(Object.keys(tools[0]!.input_schema.properties)[0]).toBe('thinking');
    expect(tools[0]!.input_schema.required).toEqual(['thinking', 'expression']);
    expect(tools.map((t) => t.name)).toEqual(['calculator', 'send_message']);
    expect(() => toolDefinitions(['calculator', 'rm_rf'])).toThrow('unknown tool "rm_rf"');
  });
});
