import type { ContentPart, StepResult } from './step-builder.js';

/** Anthropic content blocks as sent back in the conversation. */
export type AssistantBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}

/**
 * The assistant turn to send back to the model after a step, following the Anthropic block
 * model: a thinking block without its signature is never sent back (the API rejects it);
 * redacted thinking goes back verbatim; empty text is dropped (also rejected); a tool call whose
 * arguments never completed is kept with empty input, so that its error tool_result matches it.
 */
export function assistantBlocks(result: StepResult): AssistantBlock[] {
  const blocks: AssistantBlock[] = [];
  for (const part of result.content) {
    const block = toBlock(part);
    if (block) blocks.push(block);
  }
  return blocks;
}

function toBlock(part: ContentPart): AssistantBlock | null {
  switch (part.type) {
    case 'thinking':
      return part.complete && part.signature ? { type: 'thinking', thinking: part.thinking, signature: part.signature } : null;
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: part.data };
    case 'text':
      return part.text.trim() === '' ? null : { type: 'text', text: part.text };
    case 'tool_use':
      return { type: 'tool_use', id: part.id, name: part.name, input: part.input ?? {} };
  }
}

/** Tool calls of a step that can run: complete and with parsed arguments. */
export function runnableToolCalls(result: StepResult): Array<Extract<ContentPart, { type: 'tool_use' }>> {
  return result.content.filter((p): p is Extract<ContentPart, { type: 'tool_use' }> => p.type === 'tool_use' && p.complete && p.input !== null);
}

/** Every tool call of a step, runnable or not (each needs a tool_result in the next user turn). */
export function allToolCalls(result: StepResult): Array<Extract<ContentPart, { type: 'tool_use' }>> {
  return result.content.filter((p): p is Extract<ContentPart, { type: 'tool_use' }> => p.type === 'tool_use');
}
