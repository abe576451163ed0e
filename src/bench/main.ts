import os from 'node:os';
import { runServiceBench } from './service-bench.js';
import { runStreamBench } from './stream-bench.js';

/** `npm run bench`: every figure is a ratio against a baseline measured in the same run. */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`letta-stream bench — node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB${quick ? ' (quick)' : ''}`);
  console.log('\nstream machine pipeline');
  const stream = await runStreamBench(quick);
  for (const line of stream.lines) console.log(line);
  console.log('\nservice on loopback (WebSocket clients, built-in Anthropic server, SQLite)');
  for (const line of await runServiceBench(quick)) console.log(line);
}

await main();
