import type { Store } from '../store/types.js';
import { BatchWriter } from './batch-writer.js';
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
  private unwritten = 0;
  private readonly timer = new FlushTimer(JOURNAL_FLUSH_MS, () => this.flush());
  private readonly batches: BatchWriter<LogEntry>;

  constructor(
    store: Store,
    log: RunLog,
    /** A batch the store refused; the journal stops (the run fails). */
    onFault: (err: unknown) => void,
  ) {
    this.batches = new BatchWriter(
      (written) => log.entriesAfter(written),
      (batch) => store.appendRunFrames(log.runId, batch),
      (err) => {
        this.timer.disarm();
        onFault(err);
      },
    );
  }

  frame(_entry: LogEntry): void {
    if (++this.unwritten >= JOURNAL_MAX_BATCH) this.flush();
    else if (!this.batches.stopped) this.timer.arm();
  }

  end(): void {
    this.flush();
  }

  /**
   * The store refused a write of this run: journal no more. Each try could cost a busy timeout
   * of blocked event loop, and the run is ending as failed anyway.
   */
  stop(): void {
    this.batches.stop();
    this.timer.disarm();
  }

  /** Takes every frame not taken yet as a batch (no-op when there is none, or after a refused batch). */
  flush(): void {
    this.timer.disarm();
    if (this.unwritten === 0) return;
    this.unwritten = 0;
    this.batches.flush();
  }

  /** Resolves once every batch taken so far is written (or refused, and reported). Never rejects. */
  settled(): Promise<void> {
    return this.batches.settled();
  }
}
