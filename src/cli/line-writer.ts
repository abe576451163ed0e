/**
 * Collects output lines and writes them at the end, in large chunks. A replay reads its input
 * lazily, so it holds its output until the whole input has been read and checked: bad input still
 * prints nothing (exit 2). Chunks are encoded to Buffers as they fill: outside the JS heap, they
 * cost the garbage collector nothing while held.
 */
export class BufferedLineWriter {
  private buf: string[] = [];
  private size = 0;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly chunkAt = 256 * 1024,
  ) {}

  line(text: string): void {
    this.buf.push(text);
    this.size += text.length + 1;
    if (this.size >= this.chunkAt) this.seal();
  }

  private seal(): void {
    if (this.buf.length === 0) return;
    this.buf.push('');
    this.chunks.push(Buffer.from(this.buf.join('\n')));
    this.buf = [];
    this.size = 0;
  }

  /** Write everything collected. */
  end(): void {
    this.seal();
    for (const chunk of this.chunks) this.out.write(chunk);
    this.chunks.length = 0;
  }
}
