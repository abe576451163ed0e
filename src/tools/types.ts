import type { z } from 'zod';

export interface ToolContext {
  signal: AbortSignal;
  /** Absolute; every file tool is confined to it. */
  workspaceDir: string;
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema for Anthropic's `input_schema`. */
  inputSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[] };
  /** Validated before `run` is called; unknown keys (such as `thinking`) are ignored. */
  input: z.ZodType;
  run(input: never, ctx: ToolContext): Promise<string>;
}

export type ToolErrorCode = 'invalid_arguments' | 'not_found' | 'forbidden' | 'aborted' | 'failed' | 'unknown_tool';

export class ToolError extends Error {
  constructor(
    readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Typed helper: the input schema and the run function agree. */
export function defineTool<S extends z.ZodType>(def: {
  name: string;
  description: string;
  inputSchema: ToolDefinition['inputSchema'];
  input: S;
  run(input: z.infer<S>, ctx: ToolContext): Promise<string>;
}): ToolDefinition {
  return def as unknown as ToolDefinition;
}
