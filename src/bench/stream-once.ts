import { pipeline, sdkAccumulate, sdkIterate, simple } from './stream-bench.js';
import { textStream } from './streams.js';

/**
 * One case of the stream bench, run N times in a fresh process, for instruction counting:
 * `valgrind --tool=callgrind node dist/bench/stream-once.js pipeline 3`. Callgrind counts every
 * instruction whatever the load; (count at N=3 − count at N=1) / 2 is one warm run.
 * Cases: sdk (the SDK's MessageStream accumulation), iterate (its raw events alone), pipeline, none.
 */
const [which = 'pipeline', times = '1', deltas = '100000'] = process.argv.slice(2);
const body = new TextEncoder().encode(textStream(Number(deltas)));
const cases: Record<string, () => Promise<unknown>> = {
  sdk: () => sdkAccumulate(body),
  iterate: () => sdkIterate(body),
  pipeline: () => pipeline(body, simple),
  none: async () => 0,
};
const run = cases[which];
if (!run) throw new Error(`usage: stream-once.js ${Object.keys(cases).join('|')} [times] [deltas]`);
for (let i = 0; i < Number(times); i++) await run();
