/**
 * A block's streamed text, kept for the step's content without keeping every delta alive: deltas
 * are joined 256 at a time. Each delta string that survives a young-generation collection is
 * copied and promoted; 100,000 of them (plus the growing array) cost more than 1 µs a delta,
 * more than the rest of the step builder. Linear: every delta is copied once into its chunk and
 * once more at the end.
 */
export class TextAccumulator {
  private readonly chunks: string[] = [];
  private readonly pending: string[] = [];

  push(text: string): void {
    const p = this.pending;
    p.push(text);
    if (p.length === 256) {
      this.chunks.push(p.join(''));
      p.length = 0;
    }
  }

  join(): string {
    return this.chunks.join('') + this.pending.join('');
  }
}
