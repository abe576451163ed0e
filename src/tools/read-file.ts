import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTool } from './define.js';
import { fsError, MAX_FILE_BYTES, resolveInWorkspace } from './workspace.js';
import { throwIfAborted, ToolError, type ToolContext } from './types.js';

export const DEFAULT_READ_BYTES = 65536;
const CHUNK_BYTES = 64 * 1024;

/**
 * Opening a FIFO blocks a libuv worker thread until a writer appears, and no signal can reach
 * it. On cancel we briefly become that writer (retrying until the open has returned), so the
 * open completes, the read sees end-of-file and the thread is released instead of leaked.
 */
function unblockFifoOnAbort(file: string, ctx: ToolContext): { opened(): void } {
  let opening = true;
  const unblock = async () => {
    while (opening) {
      try {
        await (await open(file, constants.O_WRONLY | constants.O_NONBLOCK)).close();
      } catch {
        // ENXIO: our reader has not reached open(2) yet; try again shortly.
      }
      await sleep(20);
    }
  };
  ctx.signal.addEventListener('abort', unblock, { once: true });
  return {
    opened: () => {
      opening = false;
      ctx.signal.removeEventListener('abort', unblock);
    },
  };
}

/** Reads at most `limit + 1` bytes (the extra byte tells whether there is more), never the whole file. */
async function readPrefix(file: string, info: Stats, limit: number, ctx: ToolContext): Promise<Buffer> {
  const fifo = info.isFIFO() ? unblockFifoOnAbort(file, ctx) : undefined;
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    fifo?.opened();
    const buf = Buffer.alloc(limit + 1);
    let filled = 0;
    while (filled < buf.length) {
      throwIfAborted(ctx); // FileHandle.read takes no signal: check between chunks
      const { bytesRead } = await handle.read(buf, filled, Math.min(CHUNK_BYTES, buf.length - filled), null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    throwIfAborted(ctx);
    return buf.subarray(0, filled);
  } finally {
    fifo?.opened();
    await handle?.close();
  }
}

export const readFileTool = defineTool({
  name: 'read_file',
  changesWorkspace: false,
  description: `Reads a UTF-8 text file from the workspace. Returns at most max_bytes bytes (default ${DEFAULT_READ_BYTES}) and says when the text was truncated.`,
  input: z.object({
    path: z.string().min(1).describe('Path relative to the workspace'),
    max_bytes: z.number().int().min(1).max(MAX_FILE_BYTES).optional().describe(`Default ${DEFAULT_READ_BYTES}, at most ${MAX_FILE_BYTES}`),
  }),
  run: async ({ path: p, max_bytes: limit = DEFAULT_READ_BYTES }, ctx) => {
    const file = await resolveInWorkspace(ctx, 'read_file', p);
    throwIfAborted(ctx);
    let bytes: Buffer;
    let info: Stats;
    try {
      info = await stat(file);
      if (info.isDirectory()) throw new ToolError('invalid_arguments', `read_file: is a directory (use list_dir): ${p}`);
      throwIfAborted(ctx);
      bytes = await readPrefix(file, info, limit, ctx);
    } catch (err) {
      throw fsError('read_file', p, err);
    }
    if (bytes.length <= limit) return new TextDecoder().decode(bytes);
    // Streaming mode holds back a character cut in half at the limit instead of showing U+FFFD.
    const text = new TextDecoder().decode(bytes.subarray(0, limit), { stream: true });
    const of = info.isFile() ? ` of ${info.size}` : '';
    return `${text}\n[truncated: showing the first ${limit}${of} bytes; pass a larger max_bytes (at most ${MAX_FILE_BYTES}) to see more]`;
  },
});
