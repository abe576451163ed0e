import type { StopReasonType, UsageStatisticsFrame } from './frames.js';
import type { Usage } from './anthropic-events.js';
import type { StepResult } from './step-builder.js';

/**
 * Letta's stop reason for a step that ends the turn. A step that asked for tools which ran and
 * need another step is the run's business; alone (replay), such a step ends the turn.
 */
export function stopReasonFor(result: StepResult): StopReasonType {
  if (result.outcome === 'cancelled') return 'cancelled';
  if (result.outcome === 'failed') {
    const code = result.error?.code;
    if (code === 'upstream_error' || code === 'stream_ended') return 'llm_api_error';
    return code === 'invalid_upstream_event' ? 'invalid_llm_response' : 'error';
  }
  if (result.approvalRequested) return 'requires_approval';
  if (result.upstreamStopReason === 'max_tokens') return 'max_tokens_exceeded';
  return 'end_turn';
}

/** Anthropic's input_tokens excludes cache reads and writes; Letta's prompt_tokens includes them. */
export function promptTokens(u: Usage): number {
  return u.inputTokens + u.cacheReadTokens + u.cacheCreationTokens;
}

export function addUsage(total: Usage, step: Usage): void {
  total.inputTokens += step.inputTokens;
  total.outputTokens += step.outputTokens;
  total.cacheReadTokens += step.cacheReadTokens;
  total.cacheCreationTokens += step.cacheCreationTokens;
}

export function usageFrame(u: Usage, stepCount: number, runIds: string[] | null): UsageStatisticsFrame {
  const prompt = promptTokens(u);
  return {
    message_type: 'usage_statistics',
    prompt_tokens: prompt,
    completion_tokens: u.outputTokens,
    total_tokens: prompt + u.outputTokens,
    step_count: stepCount,
    cached_input_tokens: u.cacheReadTokens || null,
    cache_write_tokens: u.cacheCreationTokens || null,
    reasoning_tokens: null,
    run_ids: runIds,
  };
}
