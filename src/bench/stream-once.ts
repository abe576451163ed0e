import Anthropic from '@anthropic-ai/sdk';
import { createActor } from 'xstate';
import { toStreamEvent } from '../letta/anthropic-events.js';
import { streamMachine } from '../machines/stream.machine.js';
import { pipeline, sdkAccumulate, sdkIterate, simple } from './stream-bench.js';
import { textStream } from './streams.js';

/**
 * One case of the stream bench, run N times in a fresh process, for instruction counting:
 * `valgrind --tool=callgrind --smc-check=all-non-file node --predictable dist/bench/stream-once.js pipeline 5 20000`.
 * `--predictable` keeps V8 on one thread (no concurrent JIT or GC), so a count repeats to ~0.15%;
 * (count at N=5 − count at N=1) / 4 is one warm run. Cases: sdk (the SDK's MessageStream
 * accumulation), iterate (its raw events alone), map (+ event mapping), machine (+ the stream
 * machine, frames to a no-op sink), pipeline (+ JSON: the bench's pipeline), none.
 */
const [which = 'pipeline', times = '1', deltas = '100000'] = process.argv.slice(2);
const body = new TextEncoder().encode(textStream(Number(deltas)));
const params = { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'bench' }], stream: true as const };
const events = () =>
  new Anthropic({
    apiKey: 'bench',
    baseURL: 'http://bench.invalid',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  }).beta.messages.create(params);
const cases: Record<string, () => Promise<unknown>> = {
  sdk: () => sdkAccumulate(body),
  iterate: () => sdkIterate(body),
  map: async () => {
    let n = 0;
    for await (const e of await events()) if (toStreamEvent(e)) n++;
    return n;
  },
  machine: async () => {
    let n = 0;
    const actor = createActor(streamMachine, { input: { ...simple, frames: () => n++ } }).start();
    for await (const e of await events()) actor.send(toStreamEvent(e));
    return n;
  },
  pipeline: () => pipeline(body, simple),
  none: async () => 0,
};
const run = cases[which];
if (!run) throw new Error(`usage: stream-once.js ${Object.keys(cases).join('|')} [times] [deltas]`);
for (let i = 0; i < Number(times); i++) await run();
