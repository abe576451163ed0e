import { randomBytes } from 'node:crypto';
import { blocksOf, InvalidRequest, type MessagesRequest } from './request.js';
import type { Signer } from './signature.js';

/** What the server will answer, decided from the conversation alone (deterministic). */
export type PlannedBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface Plan {
  blocks: PlannedBlock[];
  stopReason: 'end_turn' | 'tool_use' | 'max_tokens';
  delayMs: number;
  stallMs: number;
  error: 'overloaded' | 'midstream' | 'drop' | null;
  inputTokens: number;
}

const WORDS = ['the', 'agent', 'streams', 'every', 'step', 'as', 'Letta', 'messages', 'to', 'its', 'clients', 'while', 'a', 'state', 'chart', 'keeps', 'track'];

const textOf = (content: MessagesRequest['messages'][number]['content']): string =>
  blocksOf({ role: 'user', content }).filter((b) => b.type === 'text').map((b) => String(b.text)).join('\n');

/** About `tokens` tokens of text (≈ 4 characters each), starting with `lead`. */
function padded(lead: string, tokens: number): string {
  let out = lead;
  for (let i = 0; out.length < tokens * 4; i++) out += ` ${WORDS[i % WORDS.length]}`;
  return out;
}

export function plan(req: MessagesRequest, signer: Signer, defaultDelayMs: number): Plan {
  const msgs = req.messages;
  const last = msgs[msgs.length - 1]!;
  const lastBlocks = blocksOf(last);
  const toolResults = last.role === 'user' ? lastBlocks.filter((b) => b.type === 'tool_result') : [];
  // Directives come from the latest user text; the one-shot ones only while it is the last message.
  const lastText = [...msgs].reverse().find((m) => m.role === 'user' && textOf(m.content).trim() !== '');
  const prompt = lastText ? textOf(lastText.content) : '';
  const fresh = toolResults.length === 0;
  const directive = (name: string): string | null => {
    const m = new RegExp(`^#${name}(?:[ \\t]+(.*))?$`, 'm').exec(prompt);
    return m ? (m[1] ?? '').trim() : null;
  };
  const num = (name: string, fallback: number) => {
    const v = directive(name);
    // the number is the first word, so one-line prompts work too: `#stall 3000 then answer`
    const n = v === null ? NaN : Number(v.split(/\s+/)[0]);
    return Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  const plain = prompt.split('\n').filter((l) => !l.startsWith('#')).join(' ').trim();
  const tokens = num('tokens', 60);
  const kwargs = (req.tools ?? []).some((t) => t.input_schema?.properties && 'thinking' in t.input_schema.properties);
  const offersSendMessage = (req.tools ?? []).some((t) => t.name === 'send_message');
  const inputTokens = Math.ceil(JSON.stringify(req.messages).length / 4) + Math.ceil(JSON.stringify(req.system ?? '').length / 4);
  const base = { delayMs: num('delay', defaultDelayMs), stallMs: fresh ? num('stall', 0) : 0, inputTokens };
  const errorDirective = fresh ? directive('error') : null;
  const error = errorDirective === 'overloaded' || errorDirective === 'midstream' || errorDirective === 'drop' ? errorDirective : null;

  const blocks: PlannedBlock[] = [];
  const think = (text: string) => {
    if (!kwargs) blocks.push({ type: 'thinking', thinking: text, signature: signer.sign(text) });
  };
  if (fresh && directive('redacted') !== null) blocks.push({ type: 'redacted_thinking', data: signer.redacted(`${msgs.length}:${prompt}`) });

  const toolLines = fresh ? [...prompt.matchAll(/^#tool[ \t]+(\S+)[ \t]*(.*)$/gm)] : [];
  // Like the real model, a request that offers tools gets calls to those only (a request with
  // none offered takes any name, for tests of the server itself).
  const offered = new Set((req.tools ?? []).map((t) => t.name));
  const notOffered = offered.size ? toolLines.map((m) => m[1]!).filter((n) => !offered.has(n)) : [];
  if (notOffered.length) {
    think(`The user wants ${notOffered.join(' and ')}, which I do not have.`);
    blocks.push({ type: 'text', text: `I have no tool named ${notOffered.join(' or ')}.` });
    return { ...base, blocks, stopReason: 'end_turn', error };
  }
  if (toolLines.length) {
    const thoughts = `The user wants me to use ${toolLines.map((m) => m[1]).join(' and ')}. I will call it with the arguments given.`;
    think(thoughts);
    for (const m of toolLines) {
      let input: unknown;
      try {
        input = m[2]?.trim() ? JSON.parse(m[2]) : {};
      } catch {
        throw new InvalidRequest(`#tool ${m[1]}: the arguments are not valid JSON: ${m[2]}`);
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidRequest(`#tool ${m[1]}: the arguments must be a JSON object`);
      blocks.push({ type: 'tool_use', id: `toolu_01${randomBytes(11).toString('hex')}`, name: m[1]!, input: kwargs ? { thinking: thoughts, ...input } : (input as Record<string, unknown>) });
    }
    return { ...base, blocks, stopReason: 'tool_use', error };
  }

  const answer = toolResults.length
    ? padded(`The tool returned: ${toolResults.map((b) => (typeof b.content === 'string' ? b.content : JSON.stringify(b.content))).join('; ')}.`, Math.min(tokens, 20))
    : padded(`You said: ${plain || '(nothing)'}.`, tokens);
  const thoughts = toolResults.length ? 'The tool call came back; I will report its result.' : `The user wrote "${plain.slice(0, 80)}". I will answer directly.`;
  if (kwargs && offersSendMessage) {
    blocks.push({ type: 'tool_use', id: `toolu_01${randomBytes(11).toString('hex')}`, name: 'send_message', input: { thinking: thoughts, message: answer } });
    return { ...base, blocks, stopReason: 'tool_use', error };
  }
  think(thoughts);
  const cut = fresh && directive('max_tokens') !== null;
  blocks.push({ type: 'text', text: cut ? answer.slice(0, Math.max(8, Math.floor(answer.length / 2))) : answer });
  return { ...base, blocks, stopReason: cut ? 'max_tokens' : 'end_turn', error };
}
