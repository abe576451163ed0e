import { ServiceError } from '../actors/errors.js';

/**
 * Refuses text with a lone UTF-16 surrogate (`"\ud800"` in JSON). Such a string would be stored
 * and re-sent to the Anthropic API in every later request, which answers 400 to it: the agent
 * would fail every turn from then on. Returns the value when every string in it is well formed.
 */
export function assertWellFormed<T>(value: T, where: string): T {
  const path = illFormedPath(value, []);
  if (path !== null) {
    const field = path.length ? path.join('.') : '(root)';
    // No zod-style issues: this is not a schema error (Letta's path would answer those with 422).
    throw new ServiceError('invalid_request', `${where}: ${field} contains a lone UTF-16 surrogate (e.g. \\ud800); send valid Unicode text`);
  }
  return value;
}

/** With the `u` flag a surrogate pair is one code point, so only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u;

function illFormedPath(v: unknown, path: Array<string | number>): Array<string | number> | null {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? path : null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = illFormedPath(v[i], [...path, i]);
      if (p) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (LONE_SURROGATE.test(k)) return [...path, k];
      const p = illFormedPath(x, [...path, k]);
      if (p) return p;
    }
  }
  return null;
}
