import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ToolError, type ToolContext } from './types.js';

/** Linux's own limit on links followed in one lookup. */
const MAX_LINK_HOPS = 40;

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** `p` relative to `root` when it is inside (or is) root, else undefined. Both must be absolute. */
function relativeInside(root: string, p: string): string | undefined {
  const rel = path.relative(root, p);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? undefined : rel;
}

/**
 * The real path of `p`, which may not exist yet: the nearest existing ancestor is resolved with
 * realpath and the missing tail appended. A dangling link is followed by hand, since writing
 * through it would create its target — possibly outside the workspace.
 */
async function realPathAllowingMissing(p: string, hops = 0): Promise<string> {
  const tail: string[] = [];
  let existing = p;
  for (;;) {
    let isLink: boolean;
    try {
      isLink = (await lstat(existing)).isSymbolicLink();
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(existing);
      if (parent === existing) return p; // nothing exists at all; confinement is lexical then
      tail.unshift(path.basename(existing));
      existing = parent;
      continue;
    }
    try {
      return path.join(await realpath(existing), ...tail);
    } catch (err) {
      if (!isLink || errnoCode(err) !== 'ENOENT') throw err;
      if (hops >= MAX_LINK_HOPS) throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
      const dir = await realpath(path.dirname(existing));
      const target = path.resolve(dir, await readlink(existing));
      return realPathAllowingMissing(path.join(target, ...tail), hops + 1);
    }
  }
}

/**
 * Resolves a model-supplied path to a real path inside the workspace, or throws `forbidden`:
 * absolute paths elsewhere, `..` escapes and symlinks leading out are refused. The result is
 * the resolved real path, so the operation acts on exactly what was checked (a link swapped in
 * afterwards is a race we accept; the workspace belongs to the agent).
 */
export async function resolveInWorkspace(ctx: ToolContext, tool: string, p: string): Promise<string> {
  if (p.includes('\0')) throw new ToolError('invalid_arguments', `${tool}: the path contains a NUL character`);
  if (!path.isAbsolute(ctx.workspaceDir)) throw new ToolError('failed', `${tool}: the workspace directory is not an absolute path`);
  const base = path.resolve(ctx.workspaceDir);
  let root: string;
  try {
    root = await realpath(base);
  } catch (err) {
    throw fsError(tool, ctx.workspaceDir, err, 'the workspace directory');
  }
  // An absolute path may name the workspace by its given path or by its real one (e.g. /tmp vs /private/tmp).
  const rel = relativeInside(base, path.resolve(base, p)) ?? relativeInside(root, path.resolve(root, p));
  if (rel === undefined) throw new ToolError('forbidden', `${tool}: path escapes the workspace: ${p}`);
  let real: string;
  try {
    real = await realPathAllowingMissing(path.join(root, rel));
  } catch (err) {
    throw fsError(tool, p, err);
  }
  if (relativeInside(root, real) === undefined) throw new ToolError('forbidden', `${tool}: path leads out of the workspace through a symlink: ${p}`);
  return real;
}

/**
 * Node's fs messages end with the absolute path (`EIO: i/o error, read '/home/…/workspace/f'`);
 * the model (and whoever reads the transcript) gets the code and the description, not where the
 * workspace lives on this machine.
 */
function withoutPath(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.message.replace(/,\s*\w+\s+'[^]*$/, '');
}

/** Maps a Node fs error to a ToolError whose message the model can act on. */
export function fsError(tool: string, p: string, err: unknown, what = p): ToolError {
  if (err instanceof ToolError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new ToolError('aborted', 'cancelled');
  switch (errnoCode(err)) {
    case 'ENOENT':
      return new ToolError('not_found', `${tool}: no such file or directory: ${what}`);
    case 'ENOTDIR':
      return new ToolError('invalid_arguments', `${tool}: not a directory (or a path component is a file): ${what}`);
    case 'EISDIR':
      return new ToolError('invalid_arguments', `${tool}: is a directory: ${what}`);
    case 'EEXIST':
      return new ToolError('invalid_arguments', `${tool}: a file is in the way: ${what}`);
    case 'EACCES':
    case 'EPERM':
      return new ToolError('forbidden', `${tool}: permission denied: ${what}`);
    case 'ELOOP':
      return new ToolError('failed', `${tool}: too many levels of symbolic links: ${what}`);
    case 'ENAMETOOLONG':
      return new ToolError('invalid_arguments', `${tool}: the path is too long: ${what.length > 80 ? `${what.slice(0, 80)}…` : what}`);
    default:
      return new ToolError('failed', `${tool}: ${withoutPath(err)}: ${what}`);
  }
}

/** The most a file tool reads or writes in one call: larger payloads swamp the model's context. */
export const MAX_FILE_BYTES = 1024 * 1024;
