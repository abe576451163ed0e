import { randomUUID } from 'node:crypto';

/** Letta message ids: `message-<uuid>`; runs and steps have their own prefixes. */
export const newMessageId = (): string => `message-${randomUUID()}`;
export const newRunId = (): string => `run-${randomUUID()}`;
export const newStepId = (): string => `step-${randomUUID()}`;
export const newAgentId = (): string => `agent-${randomUUID()}`;
export const newBlockId = (): string => `block-${randomUUID()}`;

/** Parts of one message (0..127) are told apart by the otid's lowest 7 bits. */
export const MAX_PARTS_PER_MESSAGE = 128;

/**
 * Letta's rule: the otid is the message id's UUID with its lowest 7 bits replaced by the part index.
 * Only the last byte changes, so this is string surgery, not big-integer arithmetic.
 */
export function otidFor(messageId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_PARTS_PER_MESSAGE) {
    throw new RangeError(`otid part index must be 0..127, got ${index}`);
  }
  const uuid = messageId.startsWith('message-') ? messageId.slice(8) : messageId;
  const lastByte = Number.parseInt(uuid.slice(-2), 16);
  if (uuid.length !== 36 || Number.isNaN(lastByte)) throw new TypeError(`not a Letta message id: ${messageId}`);
  const byte = (lastByte & 0x80) | index;
  return uuid.slice(0, -2) + byte.toString(16).padStart(2, '0');
}

let cachedSecond = -1;
let cachedDate = '';
/** ISO 8601 to whole seconds with a timezone, as Letta sends `date`; cached per second (hot path). */
export function isoSeconds(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toISOString().slice(0, 19) + '+00:00';
  }
  return cachedDate;
}
