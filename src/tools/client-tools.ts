import { z } from 'zod';

/**
 * Letta's client-side tools (`ClientToolSchema`): offered to the model for one turn, run by the
 * client. A call to one ends the run with an approval request the client answers with the tool's
 * return; the server never runs it.
 */
export const clientTool = z.object({
  // Anthropic's rule for tool names: the model could not call another.
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'a tool name is 1-128 letters, digits, _ or -'),
  // Bounded by the request body's limit: Letta Code's tool descriptions are long.
  description: z.string().nullish(),
  /** JSON Schema of the arguments; Letta's default is an object with no properties. */
  parameters: z.looseObject({ type: z.literal('object'), properties: z.record(z.string(), z.unknown()).optional(), required: z.array(z.string()).optional() }).nullish(),
});

export const clientTools = z
  .array(clientTool)
  .max(128)
  .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, 'client tool names must be unique');

export type ClientTool = z.infer<typeof clientTool>;

type InputSchema = { type: 'object'; properties: Record<string, unknown>; required?: string[] };

/** A client tool as a tool definition of the Anthropic request. */
export function clientToolDefinition(t: ClientTool): { name: string; description: string; inputSchema: InputSchema } {
  const p = t.parameters;
  return {
    name: t.name,
    description: t.description ?? '',
    inputSchema: p ? { ...structuredClone(p), type: 'object', properties: structuredClone(p.properties ?? {}) } : { type: 'object', properties: {} },
  };
}
