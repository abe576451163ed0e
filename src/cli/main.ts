import { ReplayInputError } from '../actors/replay-step.js';
import { REPLAY_USAGE, runReplay, UsageError } from './replay.js';
import { runServe, SERVE_USAGE, StartError } from './serve.js';
import { CHART_USAGE, runChart } from './chart.js';
import { CHAT_USAGE, runChat } from './chat.js';
import { REPLAY_RUN_USAGE, runReplayRun } from './replay-run.js';
import { RunReaderError } from '../store/run-reader.js';

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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return runReplay(rest);
      case 'replay-run':
        return runReplayRun(rest);
      case 'chat':
        return await runChat(rest);
      case 'chart':
        return runChart(rest);
      case 'serve':
        return await runServe(rest);
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
    if (err instanceof RunReaderError) {
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
