import { readdir } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool } from './define.js';
import { fsError, resolveInWorkspace } from './workspace.js';
import { throwIfAborted } from './types.js';

/** A huge directory would flood the model's context; the count of the rest is enough. */
export const MAX_LIST_ENTRIES = 1000;

export const listDir = defineTool({
  name: 'list_dir',
  changesWorkspace: false,
  description: 'Lists a directory of the workspace: one entry per line, sorted, directories ending in "/".',
  input: z.object({ path: z.string().min(1).optional().describe('Directory relative to the workspace; default "."') }),
  run: async ({ path: p = '.' }, ctx) => {
    const dir = await resolveInWorkspace(ctx, 'list_dir', p);
    throwIfAborted(ctx);
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
    } catch (err) {
      throw fsError('list_dir', p, err);
    }
    throwIfAborted(ctx);
    if (names.length === 0) return '(empty directory)';
    names.sort(); // by UTF-16 code unit: the same order on every machine, unlike localeCompare
    const shown = names.slice(0, MAX_LIST_ENTRIES);
    const more = names.length - shown.length;
    return more > 0 ? `${shown.join('\n')}\n[… and ${more} more entries]` : shown.join('\n');
  },
});
