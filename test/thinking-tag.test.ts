import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThinkingTagStripper } from '../src/letta/thinking-tag.js';

/** What a reader sees: every pushed chunk's output, then the flush at the end of the block. */
function strip(chunks: string[]): string {
  const s = new ThinkingTagStripper();
  return chunks.map((c) => s.push(c)).join('') + s.flush();
}

describe('</thinking> removal across chunk boundaries', () => {
  it('removes the tag whole wherever it is split', () => {
    const text = 'first thoughts</thinking>then more';
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(strip([text.slice(0, i), text.slice(i, j), text.slice(j)])).toBe('first thoughtsthen more');
      }
    }
  });

  it('gives back text that only looked like the start of the tag', () => {
    expect(strip(['a </thi', 'rd kind'])).toBe('a </third kind');
    expect(strip(['ends with <'])).toBe('ends with <');
    expect(strip(['x < y', ' and </t'])).toBe('x < y and </t');
  });

  it('never loses or reorders text without the tag, however it is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('<', '/', 't', 'h', 'i', 'n', 'k', 'g', '>', 'a') }), { maxLength: 8 }), (chunks) => {
        const whole = chunks.join('');
        fc.pre(!whole.includes('</thinking>'));
        expect(strip(chunks)).toBe(whole);
      }),
      { numRuns: 500 },
    );
  });
});
