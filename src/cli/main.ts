import { ReplayInputError } from '../actors/replay-input-error.js';
import { tuneV8 } from '../v8-tuning.js';
import { StartError, UsageError } from './errors.js';
import { CHART_USAGE, CHAT_USAGE, REPLAY_RUN_USAGE, REPLAY_USAGE, SERVE_USAGE } from './usage.js';

const USAGE = `letta-stream: Letta-style agent turns on the Anthropic Messages API, streamed as Letta messages

commands:
  serve [options]             start the service (HTTP + WebSocket on one port)
  replay FILE.sse [options]   replay a recorded Anthropic stream, print the Letta frames
  chart [run|stream|agent]    print a machine's state chart (svg, mermaid or json)
  chat [options]              talk to an agent in the terminal
  replay-run RUN_ID [options] print a stored run's state changes and frames, in order
  help                        this text

${SERVE_USAGE}

${REPLAY_USAGE}

${CHART_USAGE}

${CHAT_USAGE}

${REPLAY_RUN_USAGE}`;

/**
 * Each command's module is imported only when that command runs: `replay` and `chart` must not
 * pay for SQLite, ws, the HTTP server and the inspector at start-up.
 */
export async function main(argv: string[]): Promise<number> {
  tuneV8();
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return (await import('./replay.js')).runReplay(rest);
      case 'replay-run':
        return (await import('./replay-run.js')).runReplayRun(rest);
      case 'chat':
        return await (await import('./chat.js')).runChat(rest);
      case 'chart':
        return (await import('./chart.js')).runChart(rest);
      case 'serve':
        return await (await import('./serve.js')).runServe(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`letta-stream: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`letta-stream ${command}: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof StartError) {
      process.stderr.write(`letta-stream ${command}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ReplayInputError) {
      process.stderr.write(`letta-stream ${command}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
