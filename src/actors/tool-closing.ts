import type { ToolReturnMessage } from '../letta/frames.js';
import type { ToolResultBlock } from '../letta/history.js';
import { toolReturnMessage } from '../letta/tool-return.js';
import type { Store } from '../store/types.js';

/** A tool call settled outside a run's tool phase (denied, or closed after a crash). */
export interface ClosedCall {
  toolCallId: string;
  output: string;
  status: 'success' | 'error';
  /** The tool's name, when known (the tool_return message names it). */
  name?: string | null;
  /** Its tool_return message is stored already (only the history still lacks the result). */
  told?: boolean;
}


/**
 * Closes an assistant turn's tool calls outside the tool phase: a tool_return message for each
 * call not yet told, and one user turn with every tool_result, so the Letta messages and the
 * Anthropic history both answer each call exactly once.
 */
export async function closeToolCalls(store: Store, agentId: string, runId: string, calls: readonly ClosedCall[]): Promise<void> {
  if (calls.length === 0) return;
  await store.appendMessages(runId, agentId, calls.filter((c) => !c.told).map((c) => toolReturnMessage(runId, null, { ...c, name: c.name ?? null })));
  const content: ToolResultBlock[] = calls.map((c) => ({ type: 'tool_result', tool_use_id: c.toolCallId, content: c.output, ...(c.status === 'error' ? { is_error: true } : {}) }));
  await store.appendHistory(agentId, runId, [{ role: 'user', content }]);
}

export const NOT_RUN_SERVER_STOPPED = 'not run: the server stopped';
/** The recent messages searched for tool returns of an interrupted turn (it is the latest one). */
const RECENT_MESSAGES = 1000;

/**
 * The tool calls of the agent's last assistant turn that the history does not answer (after a
 * crash, or a run whose tool results the store refused). Tool returns are stored one by one as
 * tools complete, but the history gets the turn's tool_results only at the end of the tool
 * phase; so a stored tool return is the truth for its call (it ran), and only the calls without
 * one are closed with `notRun`. Of the agent's default conversation, or of `conversationId`.
 */
export async function closeInterruptedToolCalls(store: Store, agentId: string, notRun: string, conversationId: string | null = null): Promise<void> {
  // Only the last turn can be interrupted: one row read, however long the conversation.
  const last = await store.lastHistoryTurn(agentId, conversationId);
  if (last?.role !== 'assistant') return;
  const uses = (last.content as Array<{ type?: unknown; id?: unknown; name?: unknown }>).filter((b) => b.type === 'tool_use' && typeof b.id === 'string');
  const ids = uses.map((b) => b.id as string);
  if (ids.length === 0) return;
  const names = new Map(uses.map((b) => [b.id as string, typeof b.name === 'string' ? b.name : null]));
  const runId = (await store.listRuns(agentId, 1, conversationId))[0]?.id;
  if (!runId) return;
  const told = new Map<string, ToolReturnMessage>();
  for (const m of await store.listAgentMessages(agentId, RECENT_MESSAGES)) {
    if (m.message_type === 'tool_return_message' && ids.includes(m.tool_call_id)) told.set(m.tool_call_id, m);
  }
  await closeToolCalls(
    store,
    agentId,
    runId,
    ids.map((id) => {
      const t = told.get(id);
      return t ? { toolCallId: id, output: t.tool_return, status: t.status, told: true } : { toolCallId: id, output: notRun, status: 'error', name: names.get(id) ?? null };
    }),
  );
}
