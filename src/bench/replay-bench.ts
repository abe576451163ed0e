import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { createActor } from 'xstate';
import { replayStep, streamEventsFromSse } from '../actors/replay-step.js';
import { BufferedLineWriter } from '../cli/line-writer.js';
import { toStreamEvent } from '../letta/anthropic-events.js';
import { FrameSerializer } from '../letta/frame-json.js';
import { sseRecords } from '../letta/sse.js';
import type { StepOptions } from '../letta/step-builder.js';
import { streamMachine } from '../machines/stream.machine.js';
import { fmt, measure, progress } from './harness.js';
import { textStream } from './streams.js';

/**
 * Letta's own interface on the same 100,000-delta bytes, whole process, start-up subtracted: the
 * issue's recorded figure (#13). Letta's Python dependencies cannot run here, so it is a constant.
 */
export const LETTA_100K_TEXT_SECONDS = 2.84;

const BIN = fileURLToPath(new URL('../../bin/letta-stream.js', import.meta.url));
const simple: StepOptions = { interface: 'simple', runId: 'run-bench', stepId: 'step-bench' };
const nullSink = (): NodeJS.WritableStream => new Writable({ write: (_c, _e, cb) => cb() });

export interface ReplayBenchReport {
  lines: string[];
  ratios: Record<string, number>;
}

/**
 * The replay path, in process, one stage more at a time (each row includes the ones above), so
 * the difference between rows is what that stage costs per delta. Then the whole process as a
 * user runs it: `letta-stream replay` spawned on a 100,000-delta file and on a 1-event file.
 */
export async function runReplayBench(quick = false): Promise<ReplayBenchReport> {
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  const n = 100_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-replay-bench-'));
  try {
    const big = path.join(dir, 'text-100k.sse');
    const one = path.join(dir, 'one-event.sse');
    writeFileSync(big, textStream(n));
    writeFileSync(one, 'event: message_stop\ndata: {"type":"message_stop"}\n\n');

    progress('replay bench: per-delta stages (in process)');
    const runs = quick ? 3 : 7;
    const read = () => readFileSync(big, 'utf8');
    const stages: Array<[string, () => unknown]> = [
      ['read file + SSE scan + JSON.parse', () => {
        let k = 0;
        for (const r of sseRecords(read())) if (r.data) k++;
        return k;
      }],
      ['+ event mapping (guards; zod off deltas)', () => {
        let k = 0;
        for (const r of sseRecords(read())) if (toStreamEvent(r.data)) k++;
        return k;
      }],
      ['+ stream machine, frames to a sink', () => {
        let k = 0;
        const actor = createActor(streamMachine, { input: { ...simple, frames: () => k++ } });
        actor.start();
        for (const e of streamEventsFromSse(read())) actor.send(e);
        return k;
      }],
      ['+ JSON + output buffer (= replay)', () => {
        const writer = new BufferedLineWriter(nullSink());
        const json = new FrameSerializer();
        replayStep(streamEventsFromSse(read()), simple, (f) => writer.line(json.json(f)));
        writer.end();
      }],
    ];
    let prev = 0;
    for (const [name, fn] of stages) {
      const m = await measure(name, fn, runs, 1);
      const us = (m.medianMs * 1000) / n;
      lines.push(`  ${name.padEnd(44)} ${fmt(m.medianMs).padStart(10)}  ${us.toFixed(2)} µs/delta (this stage ${(us - prev).toFixed(2)})`);
      prev = us;
    }

    progress('replay bench: whole process (spawned)');
    const spawnMs = (args: string[]): number => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
      return ms;
    };
    const reps = quick ? 5 : 11;
    const bare: number[] = [];
    const small: number[] = [];
    const whole: number[] = [];
    spawnMs([BIN, 'replay', big]); // warm the file cache
    for (let i = 0; i < reps; i++) {
      bare.push(spawnMs(['-e', '0']));
      small.push(spawnMs([BIN, 'replay', one]));
      whole.push(spawnMs([BIN, 'replay', big]));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const net = med(whole) - med(small);
    ratios.replay_100k_net_ms = net;
    ratios.replay_vs_letta = (LETTA_100K_TEXT_SECONDS * 1000) / net;
    ratios.replay_one_event_ms = med(small);
    lines.push(
      `  bare \`node -e 0\`                          ${fmt(med(bare)).padStart(10)}  (median of ${reps}, interleaved)`,
      `  replay, 1-event file                       ${fmt(med(small)).padStart(10)}  (target < 150 ms)`,
      `  replay, 100,000 text deltas                ${fmt(med(whole)).padStart(10)}`,
      `  net of start-up (100k − 1-event)           ${fmt(net).padStart(10)}  (target ≤ 570 ms)`,
      `  vs Letta's interface, ${LETTA_100K_TEXT_SECONDS} s (recorded in #13, not measured here): ${ratios.replay_vs_letta.toFixed(2)}× faster (target ≥ 5×)`,
    );
  } finally {
    progress('');
    rmSync(dir, { recursive: true, force: true });
  }
  return { lines, ratios };
}
