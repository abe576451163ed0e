import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool } from './define.js';
import { fsError, MAX_FILE_BYTES, resolveInWorkspace } from './workspace.js';
import { throwIfAborted, ToolError } from './types.js';

export const writeFileTool = defineTool({
  name: 'write_file',
  changesWorkspace: true,
  description: 'Writes a UTF-8 text file in the workspace (replacing it, or appending when append is true), creating parent directories as needed.',
  input: z.object({
    path: z.string().min(1).describe('Path relative to the workspace'),
    content: z
      .string()
      .max(MAX_FILE_BYTES)
      // The limit is on bytes; a character is up to 4 of them in UTF-8.
      .refine((s) => Buffer.byteLength(s) <= MAX_FILE_BYTES, `must be at most ${MAX_FILE_BYTES} bytes as UTF-8`)
      .describe(`The text to write, at most ${MAX_FILE_BYTES} bytes`),
    append: z.boolean().optional().describe('Append to the file instead of replacing it; default false'),
  }),
  run: async ({ path: p, content, append = false }, ctx) => {
    const file = await resolveInWorkspace(ctx, 'write_file', p);
    try {
      const info = await stat(file).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      });
      if (info?.isDirectory()) throw new ToolError('invalid_arguments', `write_file: is a directory: ${p}`);
      // Writing to a FIFO or device would block or do something other than store text.
      if (info && !info.isFile()) throw new ToolError('invalid_arguments', `write_file: not a regular file: ${p}`);
      throwIfAborted(ctx);
      await mkdir(path.dirname(file), { recursive: true });
      // The last point where a cancel stops the tool. From here the write runs to its end (no
      // signal: an abort mid-write would leave half a file) and its result is the truth.
      throwIfAborted(ctx);
      await writeFile(file, content, { flag: append ? 'a' : 'w' });
    } catch (err) {
      throw fsError('write_file', p, err);
    }
    return `wrote ${Buffer.byteLength(content)} bytes to ${p}`;
  },
});
