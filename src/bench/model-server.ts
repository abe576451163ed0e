import { startAnthropicServer } from '../anthropic-server/index.js';

/**
 * The built-in Anthropic server as its own process, for the cluster bench: every letta-stream
 * instance under test streams from it (ANTHROPIC_BASE_URL), so the model's work is not counted in
 * any instance's event loop. Prints `model listening on URL`; ends on SIGTERM or when stdin closes.
 */
const server = await startAnthropicServer({ defaultDelayMs: 0 });
process.stdout.write(`model listening on ${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
