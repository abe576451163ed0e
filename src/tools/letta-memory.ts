import { z } from 'zod';
import { defineTool } from './define.js';
import { ToolError, type AgentMemory, type ToolContext } from './types.js';

/**
 * Letta's memory tools (memory_insert, memory_replace, memory_rethink), editing the calling
 * agent's core memory blocks as Letta's core tool executor does; the next step's system prompt
 * shows the change. Letta's `memory` (path-based) and `conversation_search` are known tools that
 * answer a clear error: not served here.
 */

function memoryOf(tool: string, ctx: ToolContext): AgentMemory {
  if (!ctx.memory) throw new ToolError('failed', `${tool}: this tool edits an agent's memory blocks and was called without an agent`);
  return ctx.memory;
}

async function writableBlock(tool: string, memory: AgentMemory, label: string): Promise<string> {
  const block = await memory.get(label);
  if (!block) throw new ToolError('not_found', `${tool}: no memory block "${label}" (blocks: ${(await memory.labels()).join(', ') || 'none'})`);
  if (block.readOnly) throw new ToolError('forbidden', `${tool}: memory block "${label}" is read-only and cannot be edited`);
  return block.value;
}

const LINE_NUMBER_PREFIX = /\nLine \d+: /;
function noLineNumbers(tool: string, field: string, s: string): void {
  if (LINE_NUMBER_PREFIX.test(s)) throw new ToolError('invalid_arguments', `${tool}: ${field} contains a line number prefix, which is not allowed (line numbers are for display only)`);
}

const label = z.string().min(1).max(200).describe('Section of the memory to be edited, identified by its label.');

export const memoryInsert = defineTool({
  name: 'memory_insert',
  changesWorkspace: false,
  description: 'The memory_insert command allows you to insert text at a specific location in a memory block.',
  input: z.object({
    label,
    new_string: z.string().describe('The text to insert. Do not include line number prefixes.'),
    insert_line: z.number().int().default(-1).describe('The line number after which to insert the text (0 for beginning of file). Defaults to -1 (end of the file).'),
  }),
  run: async ({ label, new_string, insert_line }, ctx) => {
    const memory = memoryOf('memory_insert', ctx);
    const current = await writableBlock('memory_insert', memory, label);
    noLineNumbers('memory_insert', 'new_string', new_string);
    const lines = current.split('\n');
    const at = insert_line === -1 ? lines.length : insert_line;
    if (at < 0 || at > lines.length) {
      throw new ToolError('invalid_arguments', `memory_insert: invalid insert_line ${insert_line}: it should be within [0, ${lines.length}], or -1 to append to the end of the memory block`);
    }
    const value = [...lines.slice(0, at), ...new_string.split('\n'), ...lines.slice(at)].join('\n');
    await memory.set(label, value);
    return value;
  },
});

export const memoryReplace = defineTool({
  name: 'memory_replace',
  changesWorkspace: false,
  description:
    'The memory_replace command allows you to replace a specific string in a memory block with a new string. This is used for making precise edits. Do NOT attempt to replace long strings, e.g. do not attempt to replace the entire contents of a memory block with a new string.',
  input: z.object({
    label,
    old_string: z.string().min(1).describe('The text to replace (must match exactly, including whitespace and indentation).'),
    new_string: z.string().describe('The new text to insert in place of the old text. Do not include line number prefixes.'),
  }),
  run: async ({ label, old_string, new_string }, ctx) => {
    const memory = memoryOf('memory_replace', ctx);
    const current = await writableBlock('memory_replace', memory, label);
    noLineNumbers('memory_replace', 'old_string', old_string);
    noLineNumbers('memory_replace', 'new_string', new_string);
    const count = current.split(old_string).length - 1;
    if (count === 0) throw new ToolError('invalid_arguments', `memory_replace: no replacement was performed, old_string \`${old_string}\` did not appear verbatim in memory block with label \`${label}\``);
    if (count > 1) {
      const lines = current.split('\n').flatMap((l, i) => (l.includes(old_string) ? [i + 1] : []));
      throw new ToolError('invalid_arguments', `memory_replace: no replacement was performed: multiple occurrences of old_string \`${old_string}\` in lines ${JSON.stringify(lines)}; please ensure it is unique`);
    }
    const value = current.replace(old_string, () => new_string);
    await memory.set(label, value);
    return value;
  },
});

export const memoryRethink = defineTool({
  name: 'memory_rethink',
  changesWorkspace: false,
  description:
    'The memory_rethink command allows you to completely rewrite the contents of a memory block. Use this tool to make large sweeping changes (e.g. when you want to condense or reorganize the memory blocks), do NOT use this tool to make small precise edits (e.g. add or remove a line, replace a specific string, etc).',
  input: z.object({
    label: z.string().min(1).max(200).regex(/^[A-Za-z0-9_\-./:]+$/).describe('The memory block to be rewritten, identified by its label.'),
    new_memory: z.string().describe('The new memory contents with information integrated from existing memory blocks and the conversation context.'),
  }),
  run: async ({ label, new_memory }, ctx) => {
    const memory = memoryOf('memory_rethink', ctx);
    // As Letta's: a block that does not exist yet is created.
    if (await memory.get(label)) await writableBlock('memory_rethink', memory, label);
    noLineNumbers('memory_rethink', 'new_memory', new_memory);
    await memory.set(label, new_memory);
    return new_memory;
  },
});

const notServed = (tool: string) => new ToolError('failed', `${tool} is not served on this letta-stream instance (use memory_insert, memory_replace or memory_rethink on the memory blocks)`);

export const memoryCommand = defineTool({
  name: 'memory',
  changesWorkspace: false,
  description: "Letta's path-based memory command (not served on this letta-stream instance: every call answers an error; use memory_insert, memory_replace or memory_rethink).",
  input: z.object({ command: z.string().optional() }),
  run: async () => {
    throw notServed('memory');
  },
});

export const conversationSearch = defineTool({
  name: 'conversation_search',
  changesWorkspace: false,
  description: 'Search prior conversation history (not served on this letta-stream instance: every call answers an error).',
  input: z.object({ query: z.string().optional() }),
  run: async () => {
    throw new ToolError('failed', 'conversation_search is not served on this letta-stream instance');
  },
});
