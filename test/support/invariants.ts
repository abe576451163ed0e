/** Invariants every stream of Letta messages must keep (the conformance checker's own rules). */
type Frame = Record<string, unknown>;

const MESSAGE_TYPES = new Set([
  'reasoning_message',
  'hidden_reasoning_message',
  'assistant_message',
  'tool_call_message',
  'approval_request_message',
  'tool_return_message',
]);

const hex = (s: string) => BigInt('0x' + s.replace(/^message-/, '').replace(/-/g, ''));

/** Letta's rule: otid = message id with its lowest 7 bits replaced by the part index. */
export function otidFollowsId(id: string, otid: string): boolean {
  try {
    return (hex(id) & ~0x7fn) === (hex(otid) & ~0x7fn);
  } catch {
    return false;
  }
}

/** A part is a run of one message type, or one tool call: its identity for otid uniqueness. */
function owner(m: Frame): string {
  const tc = m.tool_call as { tool_call_id?: string } | undefined;
  return `${m.message_type}/${tc?.tool_call_id ?? ''}`;
}

/** Problems with otids, dates and ids across a list of frames; empty when all is well. */
export function messageProblems(frames: Frame[], ids?: { run_id?: string; step_id?: string }): string[] {
  const problems: string[] = [];
  const owners = new Map<string, Set<string>>();
  for (const m of frames) {
    if (!MESSAGE_TYPES.has(m.message_type as string)) continue;
    const otid = m.otid as string | undefined;
    if (!otid || !otidFollowsId(m.id as string, otid)) problems.push(`${m.message_type}: otid ${otid} does not follow id ${m.id}`);
    if (!m.date) problems.push(`${m.message_type}: no date`);
    if (ids?.run_id && m.run_id !== ids.run_id) problems.push(`${m.message_type}: run_id ${m.run_id}`);
    if (ids?.step_id && m.step_id !== ids.step_id) problems.push(`${m.message_type}: step_id ${m.step_id}`);
    if (otid) {
      const set = owners.get(otid) ?? new Set<string>();
      set.add(owner(m));
      owners.set(otid, set);
    }
  }
  for (const [otid, set] of owners) if (set.size > 1) problems.push(`otid ${otid} shared by ${[...set].join(', ')}`);
  return problems;
}
