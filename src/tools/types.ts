export interface ToolContext {
  /** Aborted when the run is cancelled; tools stop at the next step and report `aborted`. */
  signal: AbortSignal;
  /** Absolute; every file tool is confined to it. */
  workspaceDir: string;
  /** The clock, injectable so time answers are testable. Defaults to `new Date()`. */
  now?: () => Date;
  /** The calling agent's core memory blocks, for Letta's memory tools; absent outside a run. */
  memory?: AgentMemory;
}

/** An agent's core memory blocks as the memory tools see them. */
export interface AgentMemory {
  get(label: string): Promise<{ value: string; readOnly: boolean; limit: number } | null>;
  labels(): Promise<string[]>;
  /** Writes a block's value (creating the block when there is none); rejects with ToolError if it is over its limit. */
  set(label: string, value: string): Promise<void>;
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema for Anthropic's `input_schema` (type "object", properties, required). */
  inputSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[] };
  /**
   * The tool changes the workspace (writes, deletes). Such a tool requires approval unless the
   * agent's rules say otherwise, and once its effect has begun a cancel no longer stops it: it
   * finishes and its result is reported, so the outcome told always matches the effect.
   */
  changesWorkspace: boolean;
  /**
   * Validates `input` with the tool's zod schema (unknown keys such as `thinking` are dropped)
   * and runs; resolves with the text the model sees. Throws ToolError for expected failures.
   */
  run(input: unknown, ctx: ToolContext): Promise<string>;
}

export type ToolErrorCode = 'invalid_arguments' | 'not_found' | 'forbidden' | 'aborted' | 'failed' | 'unknown_tool';

/** An expected failure: its message is written for the model, so it says what went wrong. */
export class ToolError extends Error {
  constructor(
    readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/**
 * Throws `aborted` if the run was cancelled: called between steps that cannot take a signal.
 * `aborted` means "stopped before any effect": a tool must not throw it after its effect began.
 */
export function throwIfAborted(ctx: ToolContext): void {
  if (ctx.signal.aborted) throw new ToolError('aborted', 'cancelled');
}
