/** letta-stream as a library: the machines, the service pieces, the servers. */
export { streamMachine } from './machines/stream.machine.js';
export { runMachine } from './machines/run.machine.js';
export { AgentService } from './actors/agent-service.js';
export { startServer } from './transport/server.js';
export { startAnthropicServer } from './anthropic-server/index.js';
export { openSqliteStore, SqliteStore } from './store/sqlite-store.js';
export { connect, LettaStreamClient, RunHandle } from './transport/client.js';
export type { Store, TurnExpectation, TurnScope, TurnState } from './store/types.js';
export type { LettaFrame, StopReasonType, RunStatus } from './letta/frames.js';
