import os from 'node:os';
import { runClusterBench } from './cluster-bench.js';
import { runEndBurstBench } from './end-burst-bench.js';
import { runMachineBench } from './machine-bench.js';
import { runReplayBench } from './replay-bench.js';
import { runServiceBench } from './service-bench.js';
import { runStreamBench } from './stream-bench.js';
import { tuneV8 } from '../v8-tuning.js';

/** `npm run bench`: every figure is a ratio against a baseline measured in the same run. */
async function main(): Promise<void> {
  // The process runs as the service's does (`letta-stream` sets the same in its `main`);
  // `--v8-defaults` measures without it.
  if (!process.argv.includes('--v8-defaults')) tuneV8();
  const quick = process.argv.includes('--quick');
  // `--only replay,machine,stream,service,cluster`: some sections (default: all of them).
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((process.argv[onlyAt + 1] ?? '').split(',')) : null;
  const want = (section: string): boolean => only === null || only.has(section);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`letta-stream bench — node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB${quick ? ' (quick)' : ''}${process.argv.includes('--v8-defaults') ? ', V8 defaults' : ', --no-allocation-site-pretenuring'}`);
  if (want('replay')) {
    console.log('\nletta-stream replay: per-delta stages in process, then the whole process (issue #13)');
    for (const line of (await runReplayBench(quick)).lines) console.log(line);
  }
  if (want('machine')) {
    console.log('\none text delta inside XState: bare machines of the stream machine\'s shape beside the real one');
    for (const r of await runMachineBench(quick)) console.log(`  ${r.name.padEnd(40)} ${r.usPerEvent.toFixed(2)} µs/event`);
  }
  if (want('stream')) {
    console.log('\nstream machine pipeline');
    const stream = await runStreamBench(quick);
    for (const line of stream.lines) console.log(line);
  }
  if (want('service')) {
    console.log('\nservice on loopback (WebSocket clients, built-in Anthropic server, SQLite)');
    for (const line of await runServiceBench(quick)) console.log(line);
  }
  if (want('cluster')) {
    console.log('\nseveral instances: PostgreSQL + Redis vs one instance on SQLite (real processes, issue #11)');
    for (const line of await runClusterBench(quick)) console.log(line);
  }
  // Opt-in only (not part of the default run): the cluster section's SQLite end stall, smaller.
  if (only?.has('burst')) {
    console.log('\none instance on SQLite: N paced runs started together, so they end together');
    for (const line of await runEndBurstBench(quick)) console.log(line);
  }
}

await main();
