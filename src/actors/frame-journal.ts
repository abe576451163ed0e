import type { Store } from '../store/types.js';
import { FlushTimer } from './flush-timer.js';
import type { LogEntry, RunLog, RunLogListener } from './run-log.js';

/** A batch is written this long after its first frame at the latest… */
export const JOURNAL_FLUSH_MS = 100;
/** …or once it has this many frames. */
export const JOURNAL_MAX_BATCH = 256;

/**
 * Journals a run's frames to the store in batches, so a crash loses at most the last batch:
 * on a timer, at every part boundary and step end (`flush`), and when the run ends. The hot path
 * (one call per delta) only counts; the batch is the log's own entries (the JSON already
 * serialized), sliced when written.
 */
export class FrameJournal implements RunLogListener {
  private written = 0;
  private unwritten = 0;
  private readonly timer = new FlushTimer(JOURNAL_FLUSH_MS, () => this.flush());
  private failed = false;
  /** The batches being written, one after another (each claims its frames when it is taken). */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly log: RunLog,
    /** A batch the store refused; the journal stops (the run fails). */
    private readonly onFault: (err: unknown) => void,
  ) {}

  frame(_entry: LogEntry): void {
    if (++this.unwritten >= JOURNAL_MAX_BATCH) this.flush();
    else if (!this.failed) this.timer.arm();
  }

  end(): void {
    this.flush();
  }

  /**
   * The store refused a write of this run: journal no more. Each try could cost a busy timeout
   * of blocked event loop, and the run is ending as failed anyway.
   */
  stop(): void {
    this.failed = true;
    this.timer.disarm();
  }

  /**
   * Takes every frame not taken yet as a batch, written after the batches before it (no-op when
   * there is none, or after a refused batch: the journal stops, so nothing needs taking back).
   */
  flush(): void {
    this.timer.disarm();
    if (this.unwritten === 0 || this.failed) return;
    const batch = this.log.entriesAfter(this.written);
    this.written += batch.length;
    this.unwritten = 0;
    this.writing = this.writing.then(async () => {
      if (this.failed) return;
      try {
        await this.store.appendRunFrames(this.log.runId, batch);
      } catch (err) {
        if (this.failed) return;
        this.stop();
        this.onFault(err);
      }
    });
  }

  /** Resolves once every batch taken so far is written (or refused, and reported). Never rejects. */
  settled(): Promise<void> {
    return this.writing;
  }
}
