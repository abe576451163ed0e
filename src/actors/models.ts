import type Anthropic from '@anthropic-ai/sdk';
import { ServiceError } from './errors.js';

/** The window letta-stream's requests use and Letta assumes for Anthropic models it has no size for. */
export const CONTEXT_WINDOW = 200_000;
/** The max_tokens letta-stream sends (src/actors/request.ts). */
export const MAX_TOKENS = 4096;

/** Letta's `Model` (an LLMConfig with its newer fields), as `GET /v1/models/` answers it. */
export interface LettaModel {
  handle: string;
  name: string;
  display_name: string;
  provider_type: 'anthropic';
  provider_name: 'anthropic';
  provider_category: 'base';
  model_type: 'llm';
  max_context_window: number;
  model: string;
  model_endpoint_type: 'anthropic';
  model_endpoint: string | null;
  context_window: number;
  max_tokens: number;
  put_inner_thoughts_in_kwargs: boolean;
  enable_reasoner: boolean;
  parallel_tool_calls: boolean;
}

/**
 * The models this instance can use: what the Anthropic API lists for its key (every page), as
 * Letta's Anthropic provider lists them. No guessed list: when Anthropic cannot be asked, the
 * answer says so (503) instead of naming models that may not work.
 */
export async function listAnthropicModels(client: Anthropic): Promise<LettaModel[]> {
  const out: LettaModel[] = [];
  try {
    for await (const m of client.models.list()) {
      // Letta skips claude-2 (no Messages API tools); so does this.
      if (m.type !== 'model' || m.id.startsWith('claude-2')) continue;
      out.push(lettaModel(m.id, m.display_name, client.baseURL));
    }
  } catch (err) {
    throw new ServiceError('unavailable', `the Anthropic API did not list its models: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

export function lettaModel(id: string, displayName: string, endpoint: string | null): LettaModel {
  return {
    handle: `anthropic/${id}`,
    name: id,
    display_name: displayName || id,
    provider_type: 'anthropic',
    provider_name: 'anthropic',
    provider_category: 'base',
    model_type: 'llm',
    max_context_window: CONTEXT_WINDOW,
    model: id,
    model_endpoint_type: 'anthropic',
    model_endpoint: endpoint,
    context_window: CONTEXT_WINDOW,
    max_tokens: MAX_TOKENS,
    // simple agents think natively; kwargs agents are chosen per agent, not per model
    put_inner_thoughts_in_kwargs: false,
    enable_reasoner: true,
    parallel_tool_calls: true,
  };
}
