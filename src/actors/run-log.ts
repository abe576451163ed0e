import { FrameSerializer, type TextSink } from '../letta/frame-json.js';
import type { LettaFrame, RunStatus, StopReasonType } from '../letta/frames.js';
import type { RunTransition } from '../store/types.js';

/** The end of a run as subscribers see it: the WebSocket form of `data: [DONE]`. */
export interface RunEnd {
  type: 'run.end';
  run_id: string;
  status: RunStatus;
  stop_reason: StopReasonType;
}

/**
 * One entry of a run's log: the frame's JSON, serialized once and sent to every subscriber as is.
 * Only the text is kept (not the object too): a finished run's log is held for the grace period.
 */
export interface LogEntry {
  seq: number;
  json: string;
}

export interface RunLogListener {
  frame(entry: LogEntry): void;
  end(end: RunEnd): void;
  /** The run's active states changed (for inspectors); not part of the Letta stream. */
  state?(state: RunTransition): void;
}

/** Where the run and its current step are in their charts, as dotted state paths. */
export interface RunState {
  run: string;
  step: string | null;
}

/**
 * Every frame of one run, numbered with a per-run `seq_id` (1, 2, 3, …), fanned out to
 * subscribers. A late subscriber gets the backlog after its `after_seq_id` and then the live
 * frames in the same synchronous call, so there is no gap and no duplicate.
 */
export class RunLog {
  private readonly entries: LogEntry[] = [];
  private readonly listeners = new Set<RunLogListener>();
  private ended: RunEnd | null = null;
  /** Every change of the run's active states, in order (the last one is the current state). */
  private readonly changes: RunTransition[] = [];
  /**
   * The run's error text once its end is settled (set before its stop_reason frame), so a reader
   * of that frame can tell it without asking the store.
   */
  error: string | null = null;

  constructor(
    readonly runId: string,
    readonly agentId: string,
  ) {}

  /** An ended run's log rebuilt from its stored frames (after a restart, or beyond memory). */
  static restore(runId: string, agentId: string, entries: readonly LogEntry[], end: RunEnd): RunLog {
    const log = new RunLog(runId, agentId);
    log.entries.push(...entries);
    log.ended = end;
    return log;
  }

  get lastSeq(): number {
    return this.entries.length;
  }

  get end(): RunEnd | null {
    return this.ended;
  }

  /** The entry with this seq_id (1-based), for readers that page through the backlog at their own pace. */
  entry(seq: number): LogEntry | undefined {
    return this.entries[seq - 1];
  }


  /** Appends a frame (stamping run_id and seq_id) and tells every subscriber. Ignored after the end. */
  append(frame: LettaFrame): void {
    if (this.ended) return;
    const seq = this.entries.length + 1;
    const entry: LogEntry = { seq, json: this.stamped(frame, seq) };
    this.entries.push(entry);
    for (const l of this.listeners) l.frame(entry);
  }

  private serializer: FrameSerializer | null = null;
  private readonly sink = new StampSink();
  /** The otid of the part whose first frame was checked, and whether the serializer matched it. */
  private checkedOtid: string | null = null;
  private serializerMatches = false;

  /**
   * `JSON.stringify({ ...frame, run_id, seq_id })`, byte for byte. A frame that carries this run's
   * id and no seq_id keeps its keys in place and gets seq_id last, so its JSON is the frame's own
   * with `,"seq_id":N` before the closing brace: the FrameSerializer's (which reuses a part's JSON
   * head across its deltas). Its fast paths assume FrameWriter's key order, so the first frame of
   * each part (otid) is checked against JSON.stringify and a part that differs is stringified
   * throughout; the frames of one part are taken to share its first frame's keys, as FrameWriter
   * builds them (test/run-log-json.test.ts).
   */
  private stamped(frame: LettaFrame, seq: number): string {
    if ((frame as { run_id?: unknown }).run_id !== this.runId || 'seq_id' in frame) return JSON.stringify({ ...frame, run_id: this.runId, seq_id: seq });
    const otid = 'otid' in frame ? frame.otid : null;
    const sink = this.sink;
    if (otid === null || otid !== this.checkedOtid) {
      this.checkedOtid = otid;
      this.serializer ??= new FrameSerializer();
      this.serializer.write(frame, sink);
      const plain = JSON.stringify(frame);
      this.serializerMatches = sink.take(seq) === `${plain.slice(0, -1)},"seq_id":${seq}}`;
      if (!this.serializerMatches) this.serializer = new FrameSerializer(); // forget the part's head
      return `${plain.slice(0, -1)},"seq_id":${seq}}`;
    }
    if (!this.serializerMatches) {
      const plain = JSON.stringify(frame);
      return `${plain.slice(0, -1)},"seq_id":${seq}}`;
    }
    (this.serializer as FrameSerializer).write(frame, sink);
    return sink.take(seq);
  }

  /**
   * Appends an entry stamped elsewhere (a mirror of a run another instance serves): its JSON is
   * passed on as is. An entry already held is ignored (a re-read); a gap is a bug upstream.
   */
  appendEntry(entry: LogEntry): void {
    if (this.ended || entry.seq <= this.entries.length) return;
    if (entry.seq !== this.entries.length + 1) throw new Error(`run ${this.runId}: entry ${entry.seq} after ${this.entries.length}`);
    this.entries.push(entry);
    for (const l of this.listeners) l.frame(entry);
  }

  /** Records a transition recorded elsewhere (a mirror); one already held is ignored. */
  applyTransition(t: RunTransition): void {
    const current = this.changes.at(-1);
    if (current && t.seq <= current.seq) return;
    this.changes.push(t);
    for (const l of this.listeners) l.state?.(t);
  }

  /** The entries after `seq` (for the frame journal's batches). */
  entriesAfter(seq: number): LogEntry[] {
    return this.entries.slice(seq);
  }

  /** The run's state changes so far, in order. */
  get transitions(): readonly RunTransition[] {
    return this.changes;
  }

  /** The state changes after the `seq`-th (for the transition journal's batches). */
  transitionsAfter(seq: number): RunTransition[] {
    return this.changes.slice(seq);
  }

  /**
   * Records the run's active states, when they changed, with the time and the last seq_id, and
   * tells the subscribers that want them. Also after the end (the final state is entered as the
   * run closes its log). Returns the recorded transition, or null when nothing changed.
   */
  setState(state: RunState, at: Date = new Date()): RunTransition | null {
    const current = this.changes.at(-1);
    if (current && current.run === state.run && current.step === state.step) return null;
    const t: RunTransition = { seq: this.changes.length + 1, at: at.toISOString(), run: state.run, step: state.step, seqId: this.lastSeq };
    this.changes.push(t);
    for (const l of this.listeners) l.state?.(t);
    return t;
  }


  close(end: RunEnd): void {
    if (this.ended) return;
    this.ended = end;
    this.serializer = null; // its last frame and head: not kept for the grace period
    for (const l of this.listeners) l.end(end);
    this.listeners.clear();
  }

  /** Replays entries after `afterSeq`, then (if the run goes on) delivers live ones. Returns an unsubscribe. */
  subscribe(listener: RunLogListener, afterSeq = 0): () => void {
    const current = this.changes.at(-1);
    if (current) listener.state?.(current);
    for (let i = Math.max(0, afterSeq); i < this.entries.length; i++) listener.frame(this.entries[i] as LogEntry);
    if (this.ended) {
      listener.end(this.ended);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

}

/**
 * Collects a frame's JSON pieces holding the last one back, so that its closing brace can be
 * replaced by `,"seq_id":N}` without copying the rest.
 */
class StampSink implements TextSink {
  private text = '';
  private held = '';
  part(s: string): void {
    this.text += this.held;
    this.held = s;
  }
  take(seq: number): string {
    const json = `${this.text}${this.held.slice(0, -1)},"seq_id":${seq}}`;
    this.text = '';
    this.held = '';
    return json;
  }
}
