import { StoreError } from './records.js';
import type { StoredFrame } from './types.js';

/**
 * A run's journaled frames are stored one row per batch, not one per frame: frames `first_seq` …
 * `last_seq` (consecutive seqs) with their JSON texts joined by "\n" — JSON text as
 * JSON.stringify (and FrameSerializer) writes it never holds a raw newline, so the join splits
 * back exactly. A batch of the frame journal is one row: one statement, one foreign-key check
 * and one index entry for up to JOURNAL_MAX_BATCH frames. Both stores share this module.
 *
 * Rows of one run do not overlap: a write stores only the seqs no row holds yet (the first write
 * of a seq stays). A PostgreSQL race between two writers of one run (a recoverer and the owner it
 * presumed lost) could still store overlapping rows: readers then take each seq from the row that
 * starts first (`unpackBatches`), so every seq is read once, the same way by everybody.
 */
export const FRAME_SEPARATOR = '\n';

/** A stored batch as read back. */
export interface FrameBatchRow {
  first_seq: number;
  last_seq: number;
  json: string;
}

/** Seqs first … last. */
export interface SeqRange {
  first: number;
  last: number;
}

/** Frames `frames[from]` … with consecutive seqs first … last. */
export interface ConsecutiveFrames extends SeqRange {
  frames: readonly StoredFrame[];
  from: number;
}

/**
 * The frames of one write as runs of consecutive seqs, in seq order; a seq given twice keeps its
 * first frame. The journal's batches (ascending, gapless) are one run, taken as they are: one
 * pass over the seqs, nothing copied.
 */
export function consecutiveRuns(frames: readonly StoredFrame[]): ConsecutiveFrames[] {
  let consecutive = true;
  for (let i = 0; i < frames.length; i++) {
    const seq = (frames[i] as StoredFrame).seq;
    if (!Number.isSafeInteger(seq)) throw new StoreError('store_invalid', `store: frame seq ${String(seq)} is not an integer`);
    if (i > 0 && seq !== (frames[i - 1] as StoredFrame).seq + 1) consecutive = false;
  }
  if (frames.length === 0) return [];
  if (consecutive) return [{ first: (frames[0] as StoredFrame).seq, last: (frames[frames.length - 1] as StoredFrame).seq, frames, from: 0 }];
  // Rare (a replay, or a caller's own order): sorted copy, stable, so the first frame of a seq comes first.
  const sorted = frames.map((f, i) => ({ f, i })).sort((a, b) => a.f.seq - b.f.seq || a.i - b.i);
  const unique: StoredFrame[] = [];
  for (const { f } of sorted) if (unique.length === 0 || (unique[unique.length - 1] as StoredFrame).seq !== f.seq) unique.push(f);
  const runs: ConsecutiveFrames[] = [];
  let start = 0;
  for (let i = 1; i <= unique.length; i++) {
    if (i < unique.length && (unique[i] as StoredFrame).seq === (unique[i - 1] as StoredFrame).seq + 1) continue;
    runs.push({ first: (unique[start] as StoredFrame).seq, last: (unique[i - 1] as StoredFrame).seq, frames: unique, from: start });
    start = i;
  }
  return runs;
}

/** The stored text of seqs first … last of `run` (within it): their JSON texts joined by the separator. */
export function batchText(run: ConsecutiveFrames, first = run.first, last = run.last): string {
  const from = run.from + (first - run.first);
  const to = run.from + (last - run.first);
  let text = '';
  for (let i = from; i <= to; i++) {
    const json = (run.frames[i] as StoredFrame).json;
    // Parse, don't trust: a raw newline would split one frame into two when read back.
    if (json.includes(FRAME_SEPARATOR)) throw new StoreError('store_invalid', `store: frame ${(run.frames[i] as StoredFrame).seq}'s JSON text holds a raw newline`);
    text = i === from ? json : text + FRAME_SEPARATOR + json;
  }
  return text;
}

/** The parts of first … last that none of `taken` covers, in order. */
export function uncovered(first: number, last: number, taken: readonly SeqRange[]): SeqRange[] {
  const free: SeqRange[] = [];
  let next = first; // the first seq not yet known to be taken or free
  for (const t of [...taken].sort((a, b) => a.first - b.first)) {
    if (t.last < next) continue;
    if (t.first > last) break;
    if (t.first > next) free.push({ first: next, last: t.first - 1 });
    next = t.last + 1;
    if (next > last) return free;
  }
  if (next <= last) free.push({ first: next, last });
  return free;
}

/** A run's frames in seq order from its rows (ordered by first_seq); a seq held by two rows is read from the one that starts first. */
export function unpackBatches(runId: string, rows: readonly FrameBatchRow[]): StoredFrame[] {
  const frames: StoredFrame[] = [];
  let read = -Infinity; // the last seq read
  for (const row of rows) {
    const texts = row.json.split(FRAME_SEPARATOR);
    if (texts.length !== row.last_seq - row.first_seq + 1) {
      throw new StoreError('store_corrupt', `store: run ${runId}'s frames ${row.first_seq}…${row.last_seq} are stored as ${texts.length} JSON texts`);
    }
    for (let i = Math.max(0, read - row.first_seq + 1); i < texts.length; i++) frames.push({ seq: row.first_seq + i, json: texts[i] as string });
    read = Math.max(read, row.last_seq);
  }
  return frames;
}

/**
 * SQL of a migration (both dialects speak it): the rows of the one-row-per-frame table `run_frames`
 * regrouped as batches, gaps kept (a batch never spans one), at most 256 frames per row.
 * `joined` is the dialect's ordered string aggregate of `json` with the separator.
 */
export function regroupFramesSql(joined: string): string {
  return `
    WITH islands AS (
      SELECT run_id, seq, json, seq - row_number() OVER (PARTITION BY run_id ORDER BY seq) AS island FROM run_frames
    ), chunks AS (
      SELECT run_id, seq, json, island, (seq - min(seq) OVER (PARTITION BY run_id, island)) / 256 AS chunk FROM islands
    )
    INSERT INTO run_frame_batches (run_id, first_seq, last_seq, json)
    SELECT run_id, min(seq), max(seq), ${joined} FROM chunks GROUP BY run_id, island, chunk`;
}
