import { calculator } from './calculator.js';
import { listDir, readFileTool, writeFileTool } from './files.js';
import { getTime } from './time.js';
import { ToolError, type ToolContext, type ToolDefinition } from './types.js';

export { ToolError, type ToolContext, type ToolDefinition } from './types.js';

export const builtinTools: ReadonlyMap<string, ToolDefinition> = new Map(
  [getTime, calculator, readFileTool, listDir, writeFileTool].map((t) => [t.name, t]),
);

export function toolDefinitions(names: readonly string[]): ToolDefinition[] {
  return names.map((n) => {
    const def = builtinTools.get(n);
    if (!def) throw new ToolError('unknown_tool', `unknown tool "${n}" (known: ${[...builtinTools.keys()].join(', ')})`);
    return def;
  });
}

export interface ToolOutcome {
  status: 'success' | 'error';
  output: string;
  durationMs: number;
}

/** Runs a tool; never throws. Bad arguments, unknown tools, failures and cancellation are error outcomes. */
export async function executeTool(name: string, input: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  const t0 = performance.now();
  const done = (status: 'success' | 'error', output: string): ToolOutcome => ({ status, output, durationMs: performance.now() - t0 });
  if (ctx.signal.aborted) return done('error', 'cancelled');
  const def = builtinTools.get(name);
  if (!def) return done('error', `Error: unknown tool "${name}"`);
  const parsed = def.input.safeParse(input ?? {});
  if (!parsed.success) {
    return done('error', `Error: ${name}: invalid arguments: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`);
  }
  try {
    const output = await def.run(parsed.data as never, ctx);
    return ctx.signal.aborted ? done('error', 'cancelled') : done('success', output);
  } catch (err) {
    if (ctx.signal.aborted || (err instanceof ToolError && err.code === 'aborted')) return done('error', 'cancelled');
    return done('error', `Error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

type AnthropicTool = { name: string; description: string; input_schema: ToolDefinition['inputSchema'] };

export function anthropicTools(defs: readonly ToolDefinition[]): AnthropicTool[] {
  return defs.map((d) => ({ name: d.name, description: d.description, input_schema: d.inputSchema }));
}

const THINKING: Record<string, unknown> = { type: 'string', description: 'Your inner thoughts before calling this tool (the user does not see them).' };

/** kwargs mode (Letta's inner thoughts in kwargs): `thinking` first on every tool, plus send_message. */
export function withInnerThoughts(defs: readonly ToolDefinition[]): AnthropicTool[] {
  const tools = anthropicTools(defs).map((t) => ({
    ...t,
    input_schema: { ...t.input_schema, properties: { thinking: THINKING, ...t.input_schema.properties }, required: ['thinking', ...(t.input_schema.required ?? [])] },
  }));
  const sendMessage: AnthropicTool = {
    name: 'send_message',
    description: 'Sends a message to the user.',
    input_schema: { type: 'object', properties: { thinking: THINKING, message: { type: 'string', description: 'The message to the user.' } }, required: ['thinking', 'message'] },
  };
  return [...tools, sendMessage];
}
