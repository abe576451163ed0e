/**
 * Collects output lines and writes them at the end. A replay reads its input lazily, so it holds
 * its output until the whole input has been read and checked: bad input still prints nothing
 * (exit 2). Text is encoded straight into large Buffers — no joined strings, and held Buffers live
 * outside the JS heap, so they cost the garbage collector nothing. The chunks are written in
 * order, so a line may well span two of them.
 */
export class BufferedLineWriter {
  private readonly chunks: Buffer[] = [];
  private chunk: Buffer;
  private pos = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly chunkSize = 1024 * 1024,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkSize);
  }

  line(text: string): void {
    this.part(text);
    this.endLine();
  }

  /** Part of a line: a frame's pieces are encoded one after another, never joined first. */
  part(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.pos + text.length * 3 > this.chunk.length) this.next(text.length * 3);
    this.pos += this.chunk.write(text, this.pos, 'utf8');
  }

  endLine(): void {
    if (this.pos === this.chunk.length) this.next(1);
    this.chunk[this.pos++] = 10;
  }

  private next(bytes: number): void {
    this.seal();
    this.chunk = Buffer.allocUnsafe(Math.max(this.chunkSize, bytes));
  }

  private seal(): void {
    if (this.pos > 0) this.chunks.push(this.chunk.subarray(0, this.pos));
    this.pos = 0;
  }

  /** Write everything collected. */
  end(): void {
    this.seal();
    this.chunk = Buffer.alloc(0); // the sealed chunk is not written into again
    for (const chunk of this.chunks) this.out.write(chunk);
    this.chunks.length = 0;
  }
}
