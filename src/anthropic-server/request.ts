import { z } from 'zod';
import type { Signer } from './signature.js';

/** The request body, as much of it as the answers depend on; unknown fields are accepted. */
const block = z.looseObject({ type: z.string() });
export const messagesRequest = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) })).min(1),
  system: z.union([z.string(), z.array(block)]).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1), input_schema: z.looseObject({ properties: z.record(z.string(), z.unknown()).optional() }).optional() })).optional(),
  stream: z.boolean().optional(),
});
export type MessagesRequest = z.infer<typeof messagesRequest>;
export type RequestMessage = MessagesRequest['messages'][number];

export class InvalidRequest extends Error {}

const blocksOf = (m: RequestMessage): Array<Record<string, unknown>> =>
  typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as Array<Record<string, unknown>>);

/** The checks of the real API that catch a bad history: tool_use/tool_result pairing, signatures. */
export function validateHistory(messages: RequestMessage[], signer: Signer): void {
  if (messages[0]?.role !== 'user') throw new InvalidRequest('messages: the first message must use the "user" role');
  messages.forEach((m, i) => {
    const blocks = blocksOf(m);
    if (blocks.length === 0 || (typeof m.content === 'string' && m.content.length === 0)) {
      throw new InvalidRequest(`messages.${i}: all messages must have non-empty content`);
    }
    if (m.role === 'assistant') {
      for (const b of blocks) {
        if (b.type === 'thinking' && !(typeof b.thinking === 'string' && typeof b.signature === 'string' && signer.verify(b.thinking, b.signature))) {
          throw new InvalidRequest(`messages.${i}.content: Invalid signature in thinking block`);
        }
        if (b.type === 'redacted_thinking' && !(typeof b.data === 'string' && signer.verifyRedacted(b.data))) {
          throw new InvalidRequest(`messages.${i}.content: Invalid redacted_thinking data`);
        }
      }
      const ids = blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
      if (ids.length) {
        const next = messages[i + 1];
        const answered = new Set(next?.role === 'user' ? blocksOf(next).filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id)) : []);
        const missing = ids.filter((id) => !answered.has(id));
        if (missing.length) {
          throw new InvalidRequest(`messages.${i + 1}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}. Each tool_use block must have a corresponding tool_result block in the next message.`);
        }
      }
    } else {
      const results = blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id));
      if (results.length) {
        const prev = messages[i - 1];
        const asked = new Set(prev?.role === 'assistant' ? blocksOf(prev).filter((b) => b.type === 'tool_use').map((b) => String(b.id)) : []);
        const unknown = results.filter((id) => !asked.has(id));
        if (unknown.length) throw new InvalidRequest(`messages.${i}.content: unexpected tool_use_id found in tool_result blocks: ${unknown.join(', ')}. Each tool_result block must have a corresponding tool_use block in the previous message.`);
      }
    }
  });
}

export { blocksOf };
