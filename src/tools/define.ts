import { z } from 'zod';
import { ToolError, type ToolContext, type ToolDefinition } from './types.js';

/**
 * Builds a ToolDefinition from one zod object schema: it validates the input and is also the
 * source of the JSON Schema the model sees, so the two cannot drift apart.
 */
export function defineTool<S extends z.ZodObject>(spec: {
  name: string;
  description: string;
  input: S;
  /** See ToolDefinition.changesWorkspace: every tool says whether it changes the workspace. */
  changesWorkspace: boolean;
  run(input: z.output<S>, ctx: ToolContext): Promise<string>;
}): ToolDefinition {
  const { name, description, input, changesWorkspace } = spec;
  return {
    name,
    description,
    changesWorkspace,
    inputSchema: objectJsonSchema(name, input),
    run: async (raw, ctx) => spec.run(parseInput(name, input, raw), ctx),
  };
}

function parseInput<S extends z.ZodObject>(tool: string, schema: S, raw: unknown): z.output<S> {
  // A tool without arguments may arrive as `undefined` (e.g. a cut-off call); treat it as `{}`.
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`);
  throw new ToolError('invalid_arguments', `${tool}: invalid arguments: ${issues.join('; ')}`);
}

/**
 * The `input` view (defaults make a key optional) without `$schema`. Plain `z.object` strips
 * unknown keys rather than rejecting them, and its JSON Schema leaves additionalProperties open.
 */
function objectJsonSchema(tool: string, schema: z.ZodObject): ToolDefinition['inputSchema'] {
  const json = z.toJSONSchema(schema, { io: 'input' });
  if (json.type !== 'object') throw new Error(`${tool}: the input schema must be an object`);
  return {
    type: 'object',
    properties: { ...(json.properties ?? {}) },
    ...(json.required?.length ? { required: [...json.required] } : {}),
  };
}
