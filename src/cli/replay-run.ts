import path from 'node:path';
import { parseArgs } from 'node:util';
import { RunReader, RunReaderError } from '../store/run-reader.js';
import { BufferedLineWriter } from './line-writer.js';
import { StartError, UsageError } from './errors.js';


export function runReplayRun(argv: string[], out: NodeJS.WritableStream = process.stdout): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const id = parsed.positionals[0];
  if (!id || parsed.positionals.length > 1) throw new UsageError('replay-run takes exactly one RUN_ID');
  const json = parsed.values.json === true;
  try {
    return print(new RunReader(path.resolve(parsed.values['data-dir'] ?? '.letta-stream')), id, json, out);
  } catch (err) {
    // No database, an ambiguous id: the user's to fix, said in one line.
    if (err instanceof RunReaderError) throw new StartError(err.message);
    throw err;
  }
}

function print(reader: RunReader, id: string, json: boolean, out: NodeJS.WritableStream): number {
  try {
    const run = reader.run(id);
    if (!run) {
      process.stderr.write(`letta-stream replay-run: no run "${id}" in this data directory\n`);
      return 1;
    }
    const transitions = reader.transitions(run.id);
    const frames = reader.frames(run.id);
    const w = new BufferedLineWriter(out);
    const t0 = Date.parse(transitions[0]?.at ?? run.createdAt);
    if (json) w.line(JSON.stringify({ type: 'run', id: run.id, agent_id: run.agentId, status: run.status, stop_reason: run.stopReason, error: run.error, created_at: run.createdAt, completed_at: run.completedAt }));
    else w.line(`run ${run.id} · agent ${run.agentId} · ${run.status}${run.stopReason ? ` (${run.stopReason})` : ''}${run.error ? ` · ${run.error}` : ''} · ${run.createdAt} → ${run.completedAt ?? 'running'}`);
    let next = 0; // frames printed so far
    const printFrames = (upTo: number) => {
      for (; next < frames.length && (frames[next] as { seq: number }).seq <= upTo; next++) {
        const f = frames[next]!;
        w.line(json ? `{"type":"frame","seq_id":${f.seq},"frame":${f.json}}` : `  #${f.seq} ${f.json}`);
      }
    };
    for (const t of transitions) {
      printFrames(t.seqId);
      if (json) w.line(JSON.stringify({ type: 'transition', seq: t.seq, at: t.at, run: t.run, step: t.step, seq_id: t.seqId }));
      else w.line(`${t.at} +${String(Date.parse(t.at) - t0).padStart(6)} ms  state ${t.step ? `${t.run} › ${t.step}` : t.run}  (after frame ${t.seqId})`);
    }
    printFrames(Number.MAX_SAFE_INTEGER);
    if (transitions.length === 0) w.line(json ? '{"type":"note","message":"no state changes recorded for this run"}' : '(no state changes recorded for this run)');
    if (frames.length === 0) {
      // The journal keeps a run's frames for the grace period only: what it showed is in its messages.
      if (!json) w.line('(its frames are no longer kept; its stored messages:)');
      for (const m of reader.messages(run.id)) w.line(json ? JSON.stringify({ type: 'message', message: m }) : `  ${JSON.stringify(m)}`);
    }
    w.end();
    return 0;
  } finally {
    reader.close();
  }
}
