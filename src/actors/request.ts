import type { MessageCreateParamsStreaming, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import type { AgentRecord, HistoryTurn } from '../store/types.js';
import { anthropicTools, toolDefinitions, withInnerThoughts } from '../tools/registry.js';

export const MAX_TOKENS = 4096;
export const THINKING_BUDGET = 1024;

/**
 * The Anthropic request for an agent's next step. `simple` agents use native extended thinking;
 * `kwargs` agents get Letta's inner-thoughts argument on every tool and must call a tool
 * (send_message to talk), as Letta forces.
 */
export function buildRequest(agent: AgentRecord, history: HistoryTurn[]): Omit<MessageCreateParamsStreaming, 'stream'> {
  const defs = toolDefinitions(agent.tools);
  const messages = history as unknown as MessageParam[];
  if (agent.interfaceMode === 'kwargs') {
    return {
      model: agent.model,
      max_tokens: MAX_TOKENS,
      system: agent.system,
      messages,
      tools: withInnerThoughts(defs),
      tool_choice: { type: 'any' },
    };
  }
  return {
    model: agent.model,
    max_tokens: MAX_TOKENS,
    system: agent.system,
    messages,
    ...(defs.length ? { tools: anthropicTools(defs) } : {}),
    thinking: { type: 'enabled', budget_tokens: THINKING_BUDGET },
  };
}
