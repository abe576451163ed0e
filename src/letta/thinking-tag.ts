const TAG = '</thinking>';

/**
 * Removes `</thinking>` from streamed text, however the tag is split across chunks: text that
 * could be the start of the tag (`<`, `</thi`, …) at the end of a chunk is held back until the
 * next chunk shows whether it is the tag, and flushed when the block ends. Letta kept a
 * 10-character tail instead and let `</think` of a split tag through (conformance README, 7).
 */
export class ThinkingTagStripper {
  private held = '';

  push(text: string): string {
    if (this.held === '' && !text.includes('<')) return text; // fast path: no tag can start here
    const combined = (this.held + text).split(TAG).join('');
    const keep = partialTagSuffix(combined);
    this.held = combined.slice(combined.length - keep);
    return keep === 0 ? combined : combined.slice(0, combined.length - keep);
  }

  /** The block ended: what was held back was not the tag after all. */
  flush(): string {
    const held = this.held;
    this.held = '';
    return held;
  }
}

/** The length of the longest suffix of `s` that is a proper prefix of the tag (0 if none). */
function partialTagSuffix(s: string): number {
  for (let k = Math.min(TAG.length - 1, s.length); k > 0; k--) {
    if (s.charCodeAt(s.length - k) === 60 /* < */ && TAG.startsWith(s.slice(s.length - k))) return k;
  }
  return 0;
}
