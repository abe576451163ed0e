import type { MemoryBlock } from '../store/types.js';

/** Letta's default block limit (CORE_MEMORY_BLOCK_CHAR_LIMIT). */
export const DEFAULT_BLOCK_LIMIT = 100_000;

/** Letta's reserved system prompt variable; where it is missing the memory is appended. */
const CORE_MEMORY_VARIABLE = '{CORE_MEMORY}';

/**
 * An agent's blocks as Letta's `Memory.compile()` renders them (its standard layout): each block
 * under its label with description, metadata (read_only, chars_current, chars_limit) and value.
 */
export function compileMemoryBlocks(blocks: readonly Pick<MemoryBlock, 'label' | 'value' | 'limit' | 'description' | 'readOnly'>[]): string {
  if (blocks.length === 0) return '';
  const parts = blocks.map((b) => {
    const meta = `${b.readOnly ? '\n- read_only=true' : ''}\n- chars_current=${b.value.length}\n- chars_limit=${b.limit}\n`;
    return `<${b.label}>\n<description>\n${b.description ?? ''}\n</description>\n<metadata>${meta}</metadata>\n<value>\n${b.value}\n</value>\n</${b.label}>\n`;
  });
  return `<memory_blocks>\nThe following memory blocks are currently engaged in your core memory unit:\n\n${parts.join('\n')}\n</memory_blocks>`;
}

/**
 * The system prompt the model gets: the agent's, with its compiled memory where it says
 * `{CORE_MEMORY}`, or appended after a blank line (as Letta appends it). Without blocks the
 * prompt is unchanged. Letta's memory metadata section (edit time, message counts) is not added.
 */
export function systemWithMemory(system: string, blocks: readonly MemoryBlock[]): string {
  const memory = compileMemoryBlocks(blocks);
  if (!memory) return system.replaceAll(CORE_MEMORY_VARIABLE, '');
  return system.includes(CORE_MEMORY_VARIABLE) ? system.replaceAll(CORE_MEMORY_VARIABLE, memory) : `${system}\n\n${memory}`;
}
