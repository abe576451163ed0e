import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate, formatNumber } from '../src/tools/calculator.js';
import { readFileTool } from '../src/tools/read-file.js';
import { anthropicTools, builtinTools, executeTool, toolDefinitions, withInnerThoughts } from '../src/tools/registry.js';
import { ToolError, type AgentMemory, type ToolContext } from '../src/tools/types.js';

const workspaceDir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-tools-'));
const outside = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-outside-'));
afterAll(() => {
  rmSync(workspaceDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const ctx = (extra: Partial<ToolContext> = {}): ToolContext => ({ signal: new AbortController().signal, workspaceDir, ...extra });
const run = (name: string, input: unknown, extra?: Partial<ToolContext>) => executeTool(name, input, ctx(extra));
/** The ToolError a tool's own `run` throws (executeTool turns it into text). */
async function toolError(name: string, input: unknown): Promise<ToolError> {
  const err = await builtinTools.get(name)!.run(input, ctx()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}
const syntaxError = (expression: string) => {
  try {
    evaluate(expression);
  } catch (err) {
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).code).toBe('invalid_arguments');
    return (err as ToolError).message;
  }
  throw new Error(`${expression} evaluated`);
};

describe('calculator', () => {
  it('follows precedence and parentheses', () => {
    expect(evaluate('2 + 3 * 4')).toBe(14);
    expect(evaluate('(2 + 3) * 4')).toBe(20);
    expect(evaluate('10 - 4 - 3')).toBe(3); // left-associative
    expect(evaluate('24 / 4 / 2')).toBe(3);
    expect(evaluate('10 % 4 + 1')).toBe(3);
    expect(evaluate('2 * 3 ^ 2')).toBe(18);
  });

  it('power is right-associative and binds tighter than unary minus', () => {
    expect(evaluate('2 ^ 3 ^ 2')).toBe(512);
    expect(evaluate('-2 ^ 2')).toBe(-4);
    expect(evaluate('(-2) ^ 2')).toBe(4);
    expect(evaluate('2 ^ -1')).toBe(0.5);
  });

  it('unary minus and plus, decimals, scientific notation', () => {
    expect(evaluate('--3')).toBe(3);
    expect(evaluate('10 - -1')).toBe(11);
    expect(evaluate('-(2 + 3) * +2')).toBe(-10);
    expect(evaluate('.5 + 1.25 + 1e3 + 2E-1')).toBe(1001.95);
  });

  it('functions and constants', () => {
    expect(evaluate('sqrt(16) + abs(-1)')).toBe(5);
    expect(evaluate('round(2.5) + round(-2.5) + floor(-1.5) + ceil(1.2)')).toBe(0); // 3 - 3 - 2 + 2
    expect(evaluate('min(4, 2, 8) + max(1, 7, 3)')).toBe(9);
    expect(evaluate('floor(pi * 100) + ceil(e)')).toBe(317);
    expect(evaluate('MAX(1, sqrt(81))')).toBe(9);
  });

  it('formats results without binary noise', async () => {
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(-0)).toBe('0');
    expect(await run('calculator', { expression: '6 * 7' })).toMatchObject({ status: 'success', output: '42' });
  });

  it('division by zero and non-real results are errors', () => {
    expect(syntaxError('1 / 0')).toBe('calculator: division by zero');
    expect(syntaxError('5 % (2 - 2)')).toBe('calculator: division by zero');
    expect(syntaxError('sqrt(-1)')).toContain('not a real number');
    expect(syntaxError('10 ^ 400')).toContain('too large');
  });

  it('reports bad syntax with its position', () => {
    expect(syntaxError('2 +* 3')).toBe('calculator: syntax error at position 4: unexpected "*"');
    expect(syntaxError('(1 + 2')).toContain("expected ')' but the expression ended");
    expect(syntaxError('1 2')).toContain('position 3');
    expect(syntaxError('')).toContain('unexpected end');
    expect(syntaxError('sqrt(1, 2)')).toContain('sqrt takes 1 argument');
    expect(syntaxError('sqrt 4')).toContain("expected '('");
    expect(syntaxError('2e')).toContain('position 2');
    expect(syntaxError('1.2.3')).toContain('unexpected "."');
  });

  it('never evaluates code: identifiers are unknown names, not JavaScript', () => {
    let exited = false;
    const exit = process.exit;
    process.exit = (() => {
      exited = true;
    }) as typeof process.exit;
    try {
      expect(syntaxError('process.exit()')).toBe('calculator: syntax error at position 1: unknown name "process"');
      expect(syntaxError('constructor.constructor("return 1")()')).toContain('unknown name "constructor"');
      expect(syntaxError('toString(1)')).toContain('unknown name "toString"');
      expect(syntaxError('1; 2')).toContain('unexpected ";"');
    } finally {
      process.exit = exit;
    }
    expect(exited).toBe(false);
  });

  it('limits length and nesting', async () => {
    expect(await run('calculator', { expression: '1+'.repeat(500) + '1' })).toMatchObject({ status: 'error', output: expect.stringContaining('expression') });
    expect(syntaxError('('.repeat(300) + '1' + ')'.repeat(300))).toContain('nested too deeply');
    expect(syntaxError('-'.repeat(300) + '1')).toContain('nested too deeply');
    expect(evaluate('('.repeat(50) + '1' + ')'.repeat(50))).toBe(1);
  });
});

describe('get_time', () => {
  const now = () => new Date('2024-01-15T12:34:56.789Z');

  it('answers in UTC (ISO 8601) and in a valid IANA zone with its offset', async () => {
    expect(await run('get_time', {}, { now })).toMatchObject({ status: 'success', output: 'UTC: 2024-01-15T12:34:56.789Z' });
    expect((await run('get_time', { timezone: 'Asia/Tokyo' }, { now })).output).toBe('UTC: 2024-01-15T12:34:56.789Z\nAsia/Tokyo: 2024-01-15T21:34:56+09:00 (Monday)');
    expect((await run('get_time', { timezone: 'America/St_Johns' }, { now })).output).toContain('America/St_Johns: 2024-01-15T09:04:56-03:30');
    expect((await run('get_time', { timezone: 'UTC' }, { now })).output).toContain('UTC: 2024-01-15T12:34:56+00:00');
  });

  it('uses the real clock by default', async () => {
    const { output } = await run('get_time', {});
    const at = Date.parse(output.replace(/^UTC: /, ''));
    expect(Math.abs(at - Date.now())).toBeLessThan(5_000);
  });

  it('an invalid zone is invalid_arguments', async () => {
    expect((await toolError('get_time', { timezone: 'Mars/Olympus' })).code).toBe('invalid_arguments');
    expect(await run('get_time', { timezone: 'Mars/Olympus' })).toMatchObject({ status: 'error', output: expect.stringContaining('unknown time zone "Mars/Olympus"') });
  });
});

describe('file tools, confined to the workspace', () => {
  it('write_file then read_file round-trips, creating nested directories', async () => {
    expect(await run('write_file', { path: 'notes/deep/er/a.txt', content: 'héllo' })).toMatchObject({ status: 'success', output: 'wrote 6 bytes to notes/deep/er/a.txt' });
    expect(readFileSync(path.join(workspaceDir, 'notes/deep/er/a.txt'), 'utf8')).toBe('héllo');
    expect(await run('read_file', { path: 'notes/deep/er/a.txt' })).toMatchObject({ status: 'success', output: 'héllo' });
    expect((await run('read_file', { path: path.join(workspaceDir, 'notes/deep/er/a.txt') })).output).toBe('héllo'); // absolute, inside
  });

  it('append adds to the file; without it the file is replaced', async () => {
    await run('write_file', { path: 'log.txt', content: 'one' });
    expect(await run('write_file', { path: 'log.txt', content: ' two', append: true })).toMatchObject({ output: 'wrote 4 bytes to log.txt' });
    expect((await run('read_file', { path: 'log.txt' })).output).toBe('one two');
    await run('write_file', { path: 'log.txt', content: 'fresh' });
    expect((await run('read_file', { path: 'log.txt' })).output).toBe('fresh');
    await run('write_file', { path: 'new/appended.txt', content: 'x', append: true });
    expect((await run('read_file', { path: 'new/appended.txt' })).output).toBe('x');
  });

  it('read_file truncates at max_bytes, says so, and never splits a character', async () => {
    await run('write_file', { path: 'long.txt', content: 'abcdefghij' });
    const r = await run('read_file', { path: 'long.txt', max_bytes: 4 });
    expect(r.output).toMatch(/^abcd\n\[truncated: showing the first 4 of 10 bytes/);
    await run('write_file', { path: 'utf8.txt', content: 'aé' }); // é is 2 bytes
    expect((await run('read_file', { path: 'utf8.txt', max_bytes: 2 })).output).toMatch(/^a\n\[truncated/);
    expect((await run('read_file', { path: 'long.txt', max_bytes: 10 })).output).toBe('abcdefghij');
    expect((await run('read_file', { path: 'long.txt', max_bytes: 2 * 1024 * 1024 })).status).toBe('error');
  });

  it('list_dir lists sorted, one per line, directories with a trailing slash', async () => {
    mkdirSync(path.join(workspaceDir, 'listing/sub'), { recursive: true });
    for (const f of ['b.txt', 'a.txt', 'C.md']) writeFileSync(path.join(workspaceDir, 'listing', f), '');
    expect(await run('list_dir', { path: 'listing' })).toMatchObject({ status: 'success', output: 'C.md\na.txt\nb.txt\nsub/' });
    expect((await run('list_dir', {})).output.split('\n')).toEqual(expect.arrayContaining(['listing/', 'notes/', 'log.txt']));
    expect((await run('list_dir', { path: 'listing/sub' })).output).toBe('(empty directory)');
    expect((await toolError('list_dir', { path: 'log.txt' })).code).toBe('invalid_arguments');
  });

  it('refuses escapes: .., absolute paths elsewhere, and symlinks that lead out', async () => {
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    symlinkSync(outside, path.join(workspaceDir, 'link'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(workspaceDir, 'secret-link.txt'));
    for (const p of ['../x', 'notes/../../x', '/etc/passwd', outside, 'link/secret.txt', 'secret-link.txt', 'link']) {
      expect((await toolError('read_file', { path: p })).code, p).toBe('forbidden');
    }
    expect(await run('read_file', { path: '../x' })).toEqual({ status: 'error', output: 'Error: read_file: path escapes the workspace: ../x', durationMs: expect.any(Number) });
    expect((await run('read_file', { path: 'link/secret.txt' })).output).toContain('leads out of the workspace');
    expect((await toolError('list_dir', { path: 'link' })).code).toBe('forbidden');
    expect((await toolError('list_dir', { path: '..' })).code).toBe('forbidden');
    expect((await toolError('write_file', { path: 'link/new.txt', content: 'x' })).code).toBe('forbidden');
    expect((await toolError('write_file', { path: '../escaped.txt', content: 'x' })).code).toBe('forbidden');
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false);
  });

  it('a dangling symlink pointing outside cannot be written through', async () => {
    symlinkSync(path.join(outside, 'created.txt'), path.join(workspaceDir, 'dangling.txt'));
    expect((await toolError('write_file', { path: 'dangling.txt', content: 'x' })).code).toBe('forbidden');
    expect(existsSync(path.join(outside, 'created.txt'))).toBe(false);
    // A link that stays inside is fine.
    symlinkSync('notes', path.join(workspaceDir, 'notes-link'));
    expect((await run('read_file', { path: 'notes-link/deep/er/a.txt' })).output).toBe('héllo');
  });

  it('a missing file is not_found; a directory is not a file', async () => {
    expect((await toolError('read_file', { path: 'nope.txt' })).code).toBe('not_found');
    expect((await run('read_file', { path: 'no/such/file.txt' })).output).toBe('Error: read_file: no such file or directory: no/such/file.txt');
    expect((await toolError('list_dir', { path: 'nope' })).code).toBe('not_found');
    expect((await toolError('read_file', { path: 'notes' })).code).toBe('invalid_arguments');
    expect((await toolError('write_file', { path: 'notes', content: 'x' })).code).toBe('invalid_arguments');
  });

  it('write_file limits content to 1 MiB of UTF-8', async () => {
    const err = await toolError('write_file', { path: 'big.txt', content: 'é'.repeat(600 * 1024) }); // 1.2 MB as UTF-8
    expect(err.code).toBe('invalid_arguments');
    expect(existsSync(path.join(workspaceDir, 'big.txt'))).toBe(false);
  });

  it.skipIf(process.platform === 'win32')('cancel releases a read blocked opening a FIFO', async () => {
    execFileSync('mkfifo', [path.join(workspaceDir, 'pipe')]);
    const c = new AbortController();
    const outcome = executeTool('read_file', { path: 'pipe' }, { signal: c.signal, workspaceDir });
    const direct = new AbortController();
    const settled = readFileTool.run({ path: 'pipe' }, { signal: direct.signal, workspaceDir }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    c.abort();
    direct.abort();
    expect(await outcome).toMatchObject({ status: 'error', output: 'cancelled' });
    // The tool itself returns too (its blocked open is unblocked), so no worker thread is leaked.
    expect(await settled).toMatchObject({ code: 'aborted' });
  });
});

/** Memory blocks in a Map, as the memory tools see an agent's. */
function memory(blocks: Record<string, { value: string; readOnly?: boolean; limit?: number }>): AgentMemory & { values(): Record<string, string> } {
  const m = new Map(Object.entries(blocks).map(([k, b]) => [k, { value: b.value, readOnly: b.readOnly ?? false, limit: b.limit ?? 100_000 }]));
  return {
    get: async (label) => m.get(label) ?? null,
    labels: async () => [...m.keys()],
    async set(label, value) {
      const b = m.get(label) ?? { value, readOnly: false, limit: 100_000 };
      if (value.length > b.limit) throw new ToolError('invalid_arguments', `over the limit of ${b.limit}`);
      m.set(label, { ...b, value });
    },
    values: () => Object.fromEntries([...m].map(([k, b]) => [k, b.value])),
  };
}

describe('Letta\'s memory tools, on the agent\'s memory blocks', () => {
  it('memory_insert appends by default, or inserts after a line (0: first); a bad line is an error', async () => {
    const mem = memory({ human: { value: 'a\nb' } });
    expect(await run('memory_insert', { label: 'human', new_string: 'c' }, { memory: mem })).toMatchObject({ status: 'success', output: 'a\nb\nc' });
    expect(await run('memory_insert', { label: 'human', new_string: 'first', insert_line: 0 }, { memory: mem })).toMatchObject({ status: 'success' });
    expect(await run('memory_insert', { label: 'human', new_string: 'x', insert_line: 1 }, { memory: mem })).toMatchObject({ status: 'success' });
    expect(mem.values().human).toBe('first\nx\na\nb\nc');
    expect(await run('memory_insert', { label: 'human', new_string: 'x', insert_line: 9 }, { memory: mem })).toMatchObject({ status: 'error', output: expect.stringContaining('invalid insert_line 9') });
  });

  it('memory_replace replaces one verbatim occurrence; none or several change nothing', async () => {
    const mem = memory({ human: { value: 'Their name is Alice.\nAlice likes tea.' }, persona: { value: 'me' } });
    expect(await run('memory_replace', { label: 'human', old_string: 'name is Alice', new_string: 'name is Bob' }, { memory: mem })).toMatchObject({ status: 'success', output: 'Their name is Bob.\nAlice likes tea.' });
    expect(await run('memory_replace', { label: 'human', old_string: 'Carol', new_string: 'x' }, { memory: mem })).toMatchObject({ status: 'error', output: expect.stringContaining('did not appear verbatim') });
    mem.set('persona', 'me and me');
    expect(await run('memory_replace', { label: 'persona', old_string: 'me', new_string: 'you' }, { memory: mem })).toMatchObject({ status: 'error', output: expect.stringContaining('multiple occurrences') });
    expect(mem.values()).toEqual({ human: 'Their name is Bob.\nAlice likes tea.', persona: 'me and me' });
  });

  it('memory_rethink rewrites a block (creating it when missing); read-only blocks, unknown labels and limits are errors; no agent, no memory', async () => {
    const mem = memory({ rules: { value: 'fixed', readOnly: true }, small: { value: 's', limit: 3 } });
    expect(await run('memory_rethink', { label: 'notes', new_memory: 'new block' }, { memory: mem })).toMatchObject({ status: 'success' });
    expect(await run('memory_rethink', { label: 'rules', new_memory: 'x' }, { memory: mem })).toMatchObject({ status: 'error', output: 'Error: memory_rethink: memory block "rules" is read-only and cannot be edited' });
    expect(await run('memory_rethink', { label: 'small', new_memory: 'toolong' }, { memory: mem })).toMatchObject({ status: 'error', output: expect.stringContaining('over the limit') });
    expect(await run('memory_replace', { label: 'nope', old_string: 'a', new_string: 'b' }, { memory: mem })).toMatchObject({ status: 'error', output: expect.stringContaining('no memory block "nope"') });
    expect(mem.values()).toEqual({ rules: 'fixed', small: 's', notes: 'new block' });
    expect(await run('memory_insert', { label: 'human', new_string: 'x' })).toMatchObject({ status: 'error', output: expect.stringContaining('without an agent') });
    expect(await run('memory', { command: 'view' })).toMatchObject({ status: 'error', output: expect.stringContaining('not served on this letta-stream instance') });
    expect(await run('conversation_search', { query: 'x' })).toMatchObject({ status: 'error', output: expect.stringContaining('not served on this letta-stream instance') });
  });
});

describe('executeTool', () => {
  it('never throws: unknown tool, bad arguments', async () => {
    expect(await run('nope', {})).toMatchObject({ status: 'error', output: 'Error: unknown tool "nope"' });
    expect(await run('calculator', { expression: 5 })).toMatchObject({
      status: 'error',
      output: expect.stringMatching(/^Error: calculator: invalid arguments: expression: /),
    });
    expect((await run('calculator', {})).status).toBe('error');
    expect((await run('calculator', null)).status).toBe('error');
    expect((await run('read_file', 'not an object')).status).toBe('error');
    expect((await run('read_file', { path: 'x', max_bytes: 1.5 })).status).toBe('error');
    const outcome = await run('calculator', { expression: '1+1' });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('Letta\'s web_search and fetch_webpage are known tools that answer "not configured", never "unknown tool"', async () => {
    expect(await run('web_search', { query: 'letta' })).toEqual(expect.objectContaining({ status: 'error', output: 'Error: web_search is not configured on this letta-stream instance (it has no web access)' }));
    expect(await run('fetch_webpage', { url: 'https://example.com' })).toEqual(expect.objectContaining({ status: 'error', output: 'Error: fetch_webpage is not configured on this letta-stream instance (it has no web access)' }));
    expect(toolDefinitions(['web_search', 'fetch_webpage']).map((d) => d.name)).toEqual(['web_search', 'fetch_webpage']);
  });

  it('a workspace that does not exist is an error outcome, not a throw', async () => {
    const r = await executeTool('list_dir', {}, { signal: new AbortController().signal, workspaceDir: path.join(outside, 'missing') });
    expect(r).toMatchObject({ status: 'error', output: expect.stringContaining('no such file or directory') });
  });

  it('an aborted signal before the start gives "cancelled" and runs nothing', async () => {
    const c = new AbortController();
    c.abort();
    expect(await executeTool('get_time', {}, { signal: c.signal, workspaceDir })).toMatchObject({ status: 'error', output: 'cancelled' });
    expect(await executeTool('write_file', { path: 'never.txt', content: 'x' }, { signal: c.signal, workspaceDir })).toMatchObject({ status: 'error', output: 'cancelled' });
    expect(existsSync(path.join(workspaceDir, 'never.txt'))).toBe(false);
  });

  it('an abort during the run gives "cancelled"', async () => {
    const c = new AbortController();
    const pending = executeTool('write_file', { path: 'during.txt', content: 'x'.repeat(1000) }, { signal: c.signal, workspaceDir });
    c.abort();
    expect(await pending).toMatchObject({ status: 'error', output: 'cancelled' });
  });

  it('ignores an extra `thinking` argument (kwargs mode)', async () => {
    expect(await run('calculator', { thinking: 'hm', expression: '1+1' })).toMatchObject({ status: 'success', output: '2' });
    expect(await run('get_time', { thinking: 'what time is it?' })).toMatchObject({ status: 'success' });
    expect(await run('write_file', { thinking: 'save it', path: 'kw.txt', content: 'ok', extra: 1 })).toMatchObject({ status: 'success' });
  });
});

describe('tool definitions', () => {
  it('has the built-ins (and Letta\'s web tools) with object input schemas', () => {
    expect([...builtinTools.keys()]).toEqual(['get_time', 'calculator', 'read_file', 'list_dir', 'write_file', 'web_search', 'fetch_webpage', 'memory_insert', 'memory_replace', 'memory_rethink', 'memory', 'conversation_search']);
    for (const t of builtinTools.values()) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.description.length).toBeGreaterThan(10);
    }
    expect(builtinTools.get('write_file')!.inputSchema.required).toEqual(['path', 'content']);
    expect(builtinTools.get('list_dir')!.inputSchema.required).toBeUndefined();
  });

  it('toolDefinitions names an unknown tool', () => {
    expect(toolDefinitions(['calculator', 'get_time']).map((d) => d.name)).toEqual(['calculator', 'get_time']);
    expect(() => toolDefinitions(['calculator', 'rm_rf'])).toThrow('unknown tool "rm_rf"');
    try {
      toolDefinitions(['rm_rf']);
    } catch (err) {
      expect(err).toMatchObject({ code: 'unknown_tool' });
    }
  });

  it('anthropicTools copies the schemas', () => {
    const [tool] = anthropicTools(toolDefinitions(['calculator']));
    expect(tool).toMatchObject({ name: 'calculator', input_schema: { type: 'object', required: ['expression'] } });
    tool!.input_schema.properties.injected = {};
    expect(builtinTools.get('calculator')!.inputSchema.properties).not.toHaveProperty('injected');
  });

  it('withInnerThoughts puts `thinking` first (required) on every tool and adds send_message', () => {
    const tools = withInnerThoughts(toolDefinitions(['calculator', 'list_dir']));
    expect(tools.map((t) => t.name)).toEqual(['calculator', 'list_dir', 'send_message']);
    for (const t of tools) {
      expect(Object.keys(t.input_schema.properties)[0]).toBe('thinking');
      expect(t.input_schema.properties.thinking).toEqual({ type: 'string', description: 'Your inner thoughts before calling this tool' });
      expect(t.input_schema.required?.[0]).toBe('thinking');
    }
    expect(tools[0]!.input_schema.required).toEqual(['thinking', 'expression']);
    expect(tools[1]!.input_schema.required).toEqual(['thinking']);
    expect(Object.keys(tools[2]!.input_schema.properties)).toEqual(['thinking', 'message']);
    expect(tools[2]!.input_schema.required).toEqual(['thinking', 'message']);
    // The shared definitions are untouched.
    expect(Object.keys(builtinTools.get('calculator')!.inputSchema.properties)).toEqual(['expression']);
  });
});
