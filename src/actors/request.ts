import type { MessageCreateParamsStreaming, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { systemWithMemory } from '../letta/memory.js';
import type { AgentRecord, HistoryTurn, MemoryBlock } from '../store/types.js';
import { clientToolDefinition, type ClientTool } from '../tools/client-tools.js';
import { anthropicTools, toolDefinitions, withInnerThoughts } from '../tools/registry.js';

export const MAX_TOKENS = 4096;
export const THINKING_BUDGET = 1024;

/**
 * The Anthropic request for an agent's next step. `simple` agents use native extended thinking;
 * `kwargs` agents get Letta's inner-thoughts argument on every tool and must call a tool
 * (send_message to talk), as Letta forces. A turn's client tools join the agent's, and replace
 * an agent tool of the same name (as Letta's). The agent's memory blocks are compiled into the
 * system prompt, as Letta compiles core memory.
 */
export function buildRequest(agent: AgentRecord, history: HistoryTurn[], clientTools: readonly ClientTool[] = [], blocks: readonly MemoryBlock[] = []): Omit<MessageCreateParamsStreaming, 'stream'> {
  const overridden = new Set(clientTools.map((t) => t.name));
  const defs = [...toolDefinitions(agent.tools).filter((d) => !overridden.has(d.name)), ...clientTools.map(clientToolDefinition)];
  const messages = history as unknown as MessageParam[];
  const system = systemWithMemory(agent.system, blocks);
  if (agent.interfaceMode === 'kwargs') {
    return {
      model: agent.model,
      max_tokens: MAX_TOKENS,
      system,
      messages,
      tools: withInnerThoughts(defs),
      tool_choice: { type: 'any' },
    };
  }
  return {
    model: agent.model,
    max_tokens: MAX_TOKENS,
    system,
    messages,
    ...(defs.length ? { tools: anthropicTools(defs) } : {}),
    thinking: { type: 'enabled', budget_tokens: THINKING_BUDGET },
  };
}
