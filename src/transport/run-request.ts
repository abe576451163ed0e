import type { z } from 'zod';
import type { RunRequest } from '../actors/agent-service.js';
import { ServiceError } from '../actors/errors.js';
import type { runMessages } from './protocol.js';

/** Turn the messages of a run start into what the service takes: user text, or approvals (not both). */
export function toRunRequest(messages: z.infer<typeof runMessages>): RunRequest {
  const approvals = messages.flatMap((m) => ('type' in m ? m.approvals : []));
  const texts = messages.flatMap((m) => ('role' in m ? [typeof m.content === 'string' ? m.content : m.content.map((c) => c.text).join('')] : []));
  if (approvals.length && texts.length) {
    throw new ServiceError('invalid_request', 'a run starts with user messages or with approvals, not both');
  }
  if (approvals.length) return { kind: 'approvals', approvals };
  const text = texts.join('\n\n');
  if (!text.trim()) throw new ServiceError('invalid_request', 'the user message is empty');
  return { kind: 'user', text };
}
