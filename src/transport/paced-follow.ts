import type { LogEntry, RunLog, RunLogListener } from '../actors/run-log.js';

/** The socket side of a subscription: how much is queued on it, and whether it is gone. */
export interface Outlet {
  buffered(): number;
  closed(): boolean;
}

export interface PacedOptions {
  /** Bytes queued on the outlet past which the reader is too slow. */
  maxBufferedBytes: number;
  /** Called once when the reader is too slow: while live, or stalled for `stallMs` while catching up. */
  onTooSlow(lastDelivered: number): void;
  /** How long a catch-up may wait for the reader to take what was queued (ms). */
  stallMs?: number;
}

const POLL_MS = 10;
export const DEFAULT_STALL_MS = 30_000;

/**
 * Follows a run's log from `after`: the backlog is written at the reader's pace (a resume of a
 * large run must not queue all of it at once), then live frames as they come, with the same bound
 * on what may queue. Hand-over to live is synchronous, so there is no gap and no duplicate.
 * Returns a function that stops following.
 */
export function followPaced(log: RunLog, after: number, listener: RunLogListener, outlet: Outlet, o: PacedOptions): () => void {
  let next = after + 1;
  let stopped = false;
  let live: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let waitingSince = 0;

  const tooSlow = () => {
    stop();
    o.onTooSlow(next - 1);
  };
  const frame = (entry: LogEntry) => {
    next = entry.seq + 1;
    listener.frame(entry);
  };
  const catchUp = () => {
    timer = null;
    if (stopped || outlet.closed()) return stop();
    if (outlet.buffered() > o.maxBufferedBytes / 2) {
      if (Date.now() - waitingSince > (o.stallMs ?? DEFAULT_STALL_MS)) return tooSlow();
      timer = setTimeout(catchUp, POLL_MS);
      return;
    }
    for (let e = log.entry(next); e; e = log.entry(next)) {
      frame(e);
      if (outlet.buffered() > o.maxBufferedBytes) {
        waitingSince = Date.now();
        timer = setTimeout(catchUp, POLL_MS);
        return;
      }
    }
    // Caught up: from here the log pushes (nothing can be appended between the loop and this call).
    live = log.subscribe(
      {
        ...listener,
        frame: (entry) => {
          if (stopped) return;
          frame(entry);
          if (outlet.buffered() > o.maxBufferedBytes) tooSlow();
        },
      },
      next - 1,
    );
    if (stopped) live();
  };
  function stop(): void {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    live?.();
  }
  catchUp();
  return stop;
}
