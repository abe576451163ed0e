import { mkdir, readdir, readFile, realpath, stat, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool, ToolError, type ToolContext } from './types.js';

const MAX_BYTES = 1024 * 1024;

/**
 * Resolves a path inside the workspace, or throws `forbidden`: absolute paths elsewhere, `..`
 * escapes, and symlinks that lead out (checked on the nearest existing ancestor) are refused.
 */
export async function confine(ctx: ToolContext, tool: string, p: string): Promise<string> {
  const root = await realpath(ctx.workspaceDir);
  const target = path.resolve(root, p);
  const inside = (x: string) => x === root || x.startsWith(root + path.sep);
  if (!inside(target)) throw new ToolError('forbidden', `${tool}: path escapes the workspace: ${p}`);
  let existing = target;
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!inside(real)) throw new ToolError('forbidden', `${tool}: path leads out of the workspace through a link: ${p}`);
      return target;
    } catch (err) {
      if (err instanceof ToolError) throw err;
      const parent = path.dirname(existing);
      if (parent === existing) return target;
      existing = parent;
    }
  }
}

function fsError(tool: string, p: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') throw new ToolError('not_found', `${tool}: no such file or directory: ${p}`);
  if (code === 'ABORT_ERR' || (err as Error).name === 'AbortError') throw new ToolError('aborted', 'cancelled');
  if (code === 'EISDIR') throw new ToolError('invalid_arguments', `${tool}: ${p} is a directory`);
  throw new ToolError('failed', `${tool}: ${(err as Error).message}`);
}

export const readFileTool = defineTool({
  name: 'read_file',
  description: 'Reads a UTF-8 text file from the workspace.',
  inputSchema: { type: 'object', properties: { path: { type: 'string' }, max_bytes: { type: 'integer', description: 'default 65536' } }, required: ['path'] },
  input: z.object({ path: z.string().min(1), max_bytes: z.number().int().min(1).max(MAX_BYTES).optional() }),
  run: async ({ path: p, max_bytes }, ctx) => {
    const file = await confine(ctx, 'read_file', p);
    let buf: Buffer;
    try {
      buf = await readFile(file, { signal: ctx.signal });
    } catch (err) {
      fsError('read_file', p, err);
    }
    const limit = max_bytes ?? 65536;
    const text = buf.subarray(0, limit).toString('utf8');
    return buf.length > limit ? `${text}\n[truncated: ${buf.length} bytes, showing ${limit}]` : text;
  },
});

export const listDir = defineTool({
  name: 'list_dir',
  description: 'Lists a directory of the workspace, one entry per line, directories ending in /.',
  inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'default .' } } },
  input: z.object({ path: z.string().min(1).optional() }),
  run: async ({ path: p = '.' }, ctx) => {
    const dir = await confine(ctx, 'list_dir', p);
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      const lines = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
      return lines.length ? lines.join('\n') : '(empty)';
    } catch (err) {
      fsError('list_dir', p, err);
    }
  },
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description: 'Writes (or appends to) a text file in the workspace, creating folders as needed.',
  inputSchema: {
    type: 'object',
    properties: { path: { type: 'string' }, content: { type: 'string' }, append: { type: 'boolean' } },
    required: ['path', 'content'],
  },
  input: z.object({ path: z.string().min(1), content: z.string().max(MAX_BYTES), append: z.boolean().optional() }),
  run: async ({ path: p, content, append }, ctx) => {
    const file = await confine(ctx, 'write_file', p);
    try {
      if ((await stat(file).catch(() => null))?.isDirectory()) throw new ToolError('invalid_arguments', `write_file: ${p} is a directory`);
      await mkdir(path.dirname(file), { recursive: true });
      if (ctx.signal.aborted) throw new ToolError('aborted', 'cancelled');
      if (append) await appendFile(file, content);
      else await writeFile(file, content, { signal: ctx.signal });
    } catch (err) {
      if (err instanceof ToolError) throw err;
      fsError('write_file', p, err);
    }
    return `wrote ${Buffer.byteLength(content)} bytes to ${p}`;
  },
});
