import { calculator } from './calculator.js';
import { listDir } from './list-dir.js';
import { readFileTool } from './read-file.js';
import { conversationSearch, memoryCommand, memoryInsert, memoryReplace, memoryRethink } from './letta-memory.js';
import { fetchWebpage, webSearch } from './letta-web.js';
import { getTime } from './time.js';
import { ToolError, type ToolContext, type ToolDefinition } from './types.js';
import { writeFileTool } from './write-file.js';

export { ToolError, type AgentMemory, type ToolContext, type ToolDefinition, type ToolErrorCode } from './types.js';

export const builtinTools: ReadonlyMap<string, ToolDefinition> = new Map(
  [getTime, calculator, readFileTool, listDir, writeFileTool, webSearch, fetchWebpage, memoryInsert, memoryReplace, memoryRethink, memoryCommand, conversationSearch].map((t) => [t.name, t]),
);

/** The definitions for an agent's tool names, in order; an unknown name is a configuration error. */
export function toolDefinitions(names: readonly string[]): ToolDefinition[] {
  return names.map((n) => {
    const def = builtinTools.get(n);
    if (!def) throw new ToolError('unknown_tool', `unknown tool "${n}" (known: ${[...builtinTools.keys()].join(', ')})`);
    return def;
  });
}

/** The tools among `names` that change the workspace: they require approval unless the agent opts out. */
export function approvalByDefault(names: readonly string[]): string[] {
  return names.filter((n) => builtinTools.get(n)?.changesWorkspace === true);
}

export interface ToolOutcome {
  status: 'success' | 'error';
  output: string;
  durationMs: number;
}

const CANCELLED = 'cancelled';

/** Rejects once the signal aborts, so a tool stuck in a call that takes no signal cannot hold the run. */
function abortion(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ToolError('aborted', CANCELLED));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Runs a tool by name and never throws: unknown tools, invalid arguments, failures and bugs are
 * error outcomes whose output the model reads. "cancelled" is reported only when the tool was
 * really stopped: the signal was aborted before it started, the tool itself stopped before its
 * effect (ToolError `aborted`), or — for a tool without effects — it was abandoned when the
 * abort came (its late answer would change nothing). A tool that changes the workspace is never
 * abandoned: once its effect has begun its own outcome is awaited and reported.
 */
export async function executeTool(name: string, input: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  const t0 = performance.now();
  const done = (status: ToolOutcome['status'], output: string): ToolOutcome => ({ status, output, durationMs: performance.now() - t0 });
  if (ctx.signal.aborted) return done('error', CANCELLED);
  const def = builtinTools.get(name);
  if (!def) return done('error', `Error: unknown tool "${name}"`);
  const abort = def.changesWorkspace ? null : abortion(ctx.signal);
  try {
    const running = def.run(input, ctx);
    if (abort) running.catch(() => {}); // if the abort wins, the tool's own late rejection is expected
    // Whatever settles first is the outcome: a result that came before the abort is kept.
    return done('success', await (abort ? Promise.race([running, abort.promise]) : running));
  } catch (err) {
    if (err instanceof ToolError && err.code === 'aborted') return done('error', CANCELLED);
    if (err instanceof ToolError) return done('error', `Error: ${err.message}`);
    // Not an expected failure (a bug): still an answer the model can read, prefixed with the tool.
    return done('error', `Error: ${name}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    abort?.dispose();
  }
}

type AnthropicTool = { name: string; description: string; input_schema: ToolDefinition['inputSchema'] };
/** What the model is shown of a tool: a built-in's definition or a turn's client tool. */
export type OfferedTool = Pick<ToolDefinition, 'name' | 'description' | 'inputSchema'>;

/** Copies, so a caller that edits a request cannot change the shared definitions. */
export function anthropicTools(defs: readonly OfferedTool[]): AnthropicTool[] {
  return defs.map((d) => ({ name: d.name, description: d.description, input_schema: structuredClone(d.inputSchema) }));
}

export const INNER_THOUGHTS_PROPERTY = 'thinking';
const THINKING_SCHEMA = { type: 'string', description: 'Your inner thoughts before calling this tool' };

/** `thinking` becomes the first (and a required) property, so the model writes it before the arguments. */
function withThinkingFirst(schema: ToolDefinition['inputSchema']): ToolDefinition['inputSchema'] {
  const { [INNER_THOUGHTS_PROPERTY]: _existing, ...rest } = schema.properties;
  const required = (schema.required ?? []).filter((r) => r !== INNER_THOUGHTS_PROPERTY);
  return { ...schema, properties: { [INNER_THOUGHTS_PROPERTY]: { ...THINKING_SCHEMA }, ...rest }, required: [INNER_THOUGHTS_PROPERTY, ...required] };
}

const SEND_MESSAGE: AnthropicTool = {
  name: 'send_message',
  description: 'Sends a message to the user. This is the only way the user sees anything you say.',
  input_schema: { type: 'object', properties: { message: { type: 'string', description: 'The message to the user' } }, required: ['message'] },
};

/** kwargs mode (Letta's inner thoughts in kwargs): `thinking` first on every tool, plus send_message. */
export function withInnerThoughts(defs: readonly OfferedTool[]): AnthropicTool[] {
  const tools = anthropicTools(defs).map((t) => ({ ...t, input_schema: withThinkingFirst(t.input_schema) }));
  if (tools.some((t) => t.name === SEND_MESSAGE.name)) return tools;
  return [...tools, { ...SEND_MESSAGE, input_schema: withThinkingFirst(structuredClone(SEND_MESSAGE.input_schema)) }];
}
