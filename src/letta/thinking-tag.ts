const TAG = '</thinking>';
const KEEP = 10; // long enough to hold every proper prefix of the tag

/**
 * Removes `</thinking>` from streamed text the way Letta's Anthropic interface does: it keeps the
 * last 10 characters already seen, so a tag whose tail arrives in a later chunk has that tail cut.
 * What was already streamed of a split tag stays streamed (the conformance transcripts expect
 * exactly this; holding text back would change them).
 */
export class ThinkingTagStripper {
  private tail = '';

  push(text: string): string {
    const combined = this.tail + text;
    this.tail = combined.length > KEEP ? combined.slice(-KEEP) : combined;
    if (!combined.includes('<')) return text; // fast path: no tag can be there
    const cleaned = combined.split(TAG).join('');
    const before = combined.length - text.length;
    return before <= cleaned.length ? cleaned.slice(before) : '';
  }
}
