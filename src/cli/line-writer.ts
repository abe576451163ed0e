/** Batches output lines into large writes: one write per frame is the slow part of a replay. */
export class BufferedLineWriter {
  private buf: string[] = [];
  private size = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly flushAt = 64 * 1024,
  ) {}

  line(text: string): void {
    this.buf.push(text);
    this.size += text.length + 1;
    if (this.size >= this.flushAt) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.out.write(this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }

  end(): void {
    this.flush();
  }
}
