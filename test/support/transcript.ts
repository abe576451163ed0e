/**
 * The semantic transcript of a stream of Letta frames, ported from ../shared/tools/transcript.py:
 * consecutive messages of one kind merge into a segment (tool calls by tool_call_id), tool-call
 * arguments compare as parsed JSON; chunking, ids and dates are ignored.
 */
export interface Segment {
  kind: string;
  [k: string]: unknown;
}
export interface Transcript {
  segments: Segment[];
  stop_reason: string | null;
  usage: { prompt_tokens: unknown; completion_tokens: unknown } | null;
}

type Frame = Record<string, unknown>;

const KINDS: Record<string, string> = {
  reasoning_message: 'reasoning',
  hidden_reasoning_message: 'hidden_reasoning',
  assistant_message: 'assistant',
  tool_call_message: 'tool_call',
  approval_request_message: 'approval_request',
};

const text = (content: unknown): string =>
  Array.isArray(content) ? content.map((c: { text?: string }) => c.text ?? '').join('') : typeof content === 'string' ? content : '';

function tool(m: Frame): Record<string, unknown> {
  let tc = (m.tool_call ?? {}) as Record<string, unknown> | unknown[];
  if (Array.isArray(tc)) tc = (tc[0] ?? {}) as Record<string, unknown>;
  return tc as Record<string, unknown>;
}

export function transcript(frames: Frame[]): Transcript {
  const segs: Segment[] = [];
  let stop: string | null = null;
  let usage: Transcript['usage'] = null;
  for (const m of frames) {
    const t = m.message_type as string;
    if (t === 'stop_reason') {
      stop = m.stop_reason as string;
      continue;
    }
    if (t === 'usage_statistics') {
      usage = { prompt_tokens: m.prompt_tokens, completion_tokens: m.completion_tokens };
      continue;
    }
    const kind = KINDS[t];
    if (!kind) continue;
    const last = segs[segs.length - 1];
    if (kind === 'tool_call' || kind === 'approval_request') {
      const tc = tool(m);
      const tid = (tc.tool_call_id as string | null | undefined) ?? null;
      if (last && last.kind === kind && (tid === null || last.tool_call_id === null || last.tool_call_id === tid)) {
        last.tool_call_id = last.tool_call_id ?? tid;
        last.name = last.name ?? tc.name ?? null;
        last.arguments = (last.arguments as string) + ((tc.arguments as string | null) ?? '');
      } else {
        segs.push({ kind, tool_call_id: tid, name: tc.name ?? null, arguments: (tc.arguments as string | null) ?? '' });
      }
    } else if (kind === 'reasoning') {
      const source = (m.source as string | undefined) ?? 'non_reasoner_model';
      if (last && last.kind === kind && last.source === source) {
        last.text = (last.text as string) + ((m.reasoning as string | null) ?? '');
        last.signature = (m.signature as string | null) || last.signature;
      } else {
        segs.push({ kind, source, text: (m.reasoning as string | null) ?? '', signature: (m.signature as string | null) ?? null });
      }
    } else if (kind === 'hidden_reasoning') {
      segs.push({ kind, state: m.state, data: m.hidden_reasoning });
    } else if (last && last.kind === kind) {
      last.text = (last.text as string) + text(m.content);
    } else {
      segs.push({ kind, text: text(m.content) });
    }
  }
  for (const s of segs) {
    if (s.kind === 'tool_call' || s.kind === 'approval_request') {
      const raw = s.arguments as string;
      try {
        s.arguments = raw ? JSON.parse(raw) : {};
      } catch {
        s.arguments = { '<invalid json>': raw };
      }
    }
    if (s.kind === 'reasoning') s.text = (s.text as string).trim();
  }
  return {
    segments: segs.filter((s) => !(s.kind === 'reasoning' && !s.text && !s.signature)),
    stop_reason: stop,
    usage,
  };
}
