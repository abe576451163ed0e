/**
 * A run's journal writes: what is new since the last batch is taken as one batch and written
 * after the batches before it; the first refused write stops the writer (later batches are
 * neither taken nor written). Shared by the frame journal and the transition journal.
 */
export class BatchWriter<T> {
  private written = 0;
  private failed = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    /** The items after the first `written` ones. */
    private readonly take: (written: number) => T[],
    private readonly write: (batch: T[]) => Promise<void>,
    /** Called once, for the first refused batch. */
    private readonly onRefused: (err: unknown) => void,
  ) {}

  get stopped(): boolean {
    return this.failed;
  }

  /** Writes nothing more (the caller knows why). */
  stop(): void {
    this.failed = true;
  }

  /** Takes what is new as a batch (none: no-op), written once the batches before it are. */
  flush(): void {
    if (this.failed) return;
    const batch = this.take(this.written);
    if (batch.length === 0) return;
    this.written += batch.length;
    this.writing = this.writing.then(async () => {
      if (this.failed) return;
      try {
        await this.write(batch);
      } catch (err) {
        if (this.failed) return;
        this.failed = true;
        this.onRefused(err);
      }
    });
  }

  /** Resolves once every batch taken so far is written (or refused, and reported). Never rejects. */
  settled(): Promise<void> {
    return this.writing;
  }
}
