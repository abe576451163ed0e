import type { LettaFrame, LettaMessage, ToolReturnMessage } from '../letta/frames.js';
import { MessageCollector } from '../letta/message-collector.js';
import { usageFrame } from '../letta/step-outcome.js';
import { toolReturnMessage } from '../letta/tool-return.js';
import type { RunRecord, RunTransition, Store, StoredFrame } from '../store/types.js';
import { RunLog, type LogEntry, type RunEnd } from './run-log.js';

/** A frame as the log stamps it (same key order as RunLog.append, so replays are byte-identical). */
const stamp = (frame: LettaFrame, runId: string, seq: number): StoredFrame => ({ seq, json: JSON.stringify({ ...frame, run_id: runId, seq_id: seq }) });

const isMessage = (f: LettaFrame): f is LettaMessage => 'otid' in f && typeof f.otid === 'string';
const STOP_PREFIX = '{"message_type":"stop_reason"';

/**
 * After a crash, for a run `failInterruptedRuns` has just failed: the journaled frames the step in
 * flight streamed become its messages (consolidated per part, as a finished step's are), every
 * tool call left without a return gets an error return, and the stored stream ends as a failed
 * run's does (stop_reason `error`, usage). The history is not touched here: the step in flight
 * never reached it (its thinking may be unsigned), and dangling tool calls of earlier steps are
 * closed by the caller.
 */
export async function recoverInterruptedRun(store: Store, run: RunRecord, reason: string): Promise<void> {
  const frames = await store.listRunFrames(run.id);
  const stored = await store.listRunMessages(run.id);
  const storedParts = new Set(stored.map((m) => m.otid));
  const calls = new Map<string, { stepId: string | null; name: string | null }>(); // tool_call_id → its step and tool
  const returned = new Set<string>();
  const steps = new Set<string>();
  const note = (m: LettaMessage) => {
    // Steps are what the model streamed (a tool return's step_id is not a step of its own).
    if (m.step_id && m.message_type !== 'tool_return_message') steps.add(m.step_id);
    if ((m.message_type === 'tool_call_message' || m.message_type === 'approval_request_message') && m.tool_call.tool_call_id) calls.set(m.tool_call.tool_call_id, { stepId: m.step_id, name: m.tool_call.name });
    else if (m.message_type === 'tool_return_message') returned.add(m.tool_call_id);
  };
  stored.forEach(note);
  const collector = new MessageCollector();
  for (const f of frames) {
    const frame = JSON.parse(f.json) as LettaFrame;
    if (!isMessage(frame)) continue; // stop_reason, usage, ping
    note(frame);
    if (storedParts.has(frame.otid)) continue;
    const { seq_id: _seq, ...message } = frame;
    collector.add(message as LettaMessage);
  }
  const closings: ToolReturnMessage[] = [...calls]
    .filter(([callId]) => !returned.has(callId))
    .map(([callId, call]) => toolReturnMessage(run.id, call.stepId, { toolCallId: callId, output: `not run: ${reason}`, status: 'error', name: call.name }));
  let seq = frames.length ? (frames[frames.length - 1] as StoredFrame).seq : 0;
  const tail: LettaFrame[] = [...closings, { message_type: 'stop_reason', stop_reason: 'error' }, usageFrame(zeroUsage(), steps.size, [run.id])];
  await store.transaction(async (tx) => {
    await tx.appendMessages(run.id, run.agentId, [...collector.take(), ...closings]);
    await tx.appendRunFrames(run.id, tail.map((f) => stamp(f, run.id, ++seq)));
    // Its replay ends where the run did: failed, after the frames that close it.
    const last = (await tx.listRunTransitions(run.id)).at(-1);
    await tx.appendRunTransitions(run.id, [{ seq: (last?.seq ?? 0) + 1, at: new Date().toISOString(), run: 'failed', step: null, seqId: seq }]);
  });
}

/**
 * An ended run's log rebuilt from its journal, or null when nothing was journaled. A journal cut
 * short after the run's end was written (a crash in between) gets the end the run record has.
 */
export async function restoreRunLog(store: Store, run: RunRecord): Promise<RunLog | null> {
  const entries: LogEntry[] = [];
  for (const f of await store.listRunFrames(run.id)) {
    if (f.seq !== entries.length + 1) break; // only the gapless prefix: seq_ids are positions
    entries.push(f);
  }
  if (entries.length === 0) return null;
  const stopReason = run.stopReason ?? 'error';
  if (!entries.slice(-2).some((e) => e.json.startsWith(STOP_PREFIX))) {
    const u = run.usage;
    const usage = usageFrame(zeroUsage(), u?.step_count ?? 0, [run.id]);
    if (u) Object.assign(usage, u);
    for (const f of [{ message_type: 'stop_reason', stop_reason: stopReason } as const, usage]) entries.push(stamp(f, run.id, entries.length + 1));
  }
  const log = RunLog.restore(run.id, run.agentId, entries, { type: 'run.end', run_id: run.id, status: run.status, stop_reason: stopReason });
  log.error = run.error;
  return log;
}

function zeroUsage() {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };
}

/** Where a lost run's frames may also be: the shared run logs of several instances (Redis). */
export interface SharedRunFrames {
  follow(runId: string): Promise<RunLog | null>;
  finish(runId: string, agentId: string, tail: readonly LogEntry[], last: RunTransition | null, end: RunEnd): Promise<void>;
}

/**
 * The runs `owner` left running (it stopped or was lost) become `failed` with `reason`, once: the
 * store's conditional write hands each run to one recoverer, and that one makes what the clients
 * saw its messages and ends its stream — in the shared log too, where subscribers on every
 * instance get the end. The shared log may hold frames the journal had not caught up with: they
 * are journaled first, so the frames that close the run follow the last one anybody saw.
 */
export async function failRunsOf(store: Store, owner: string | null, reason: string, shared: SharedRunFrames | null, warn: (m: string) => void): Promise<RunRecord[]> {
  const failed = await store.transaction(async (tx) => {
    const runs: RunRecord[] = [];
    for (const runId of await tx.failInterruptedRuns(reason, owner)) {
      const run = await tx.getRun(runId);
      if (!run) continue;
      runs.push(run);
      try {
        const seen = shared ? await shared.follow(runId) : null;
        if (seen && seen.lastSeq > 0) await tx.appendRunFrames(runId, Array.from({ length: seen.lastSeq }, (_, i) => seen.entry(i + 1) as LogEntry));
        await recoverInterruptedRun(tx, run, reason);
      } catch (err) {
        warn(`run ${runId}: recovering its streamed frames failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return runs;
  });
  // After the commit: only what is stored is told.
  for (const run of shared ? failed : []) {
    try {
      const frames = await store.listRunFrames(run.id);
      const last = (await store.listRunTransitions(run.id)).at(-1) ?? null;
      await shared!.finish(run.id, run.agentId, frames, last, { type: 'run.end', run_id: run.id, status: 'failed', stop_reason: 'error' });
    } catch (err) {
      warn(`run ${run.id}: ending its shared stream failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failed;
}
