import { fromPromise } from 'xstate';

export interface ToolRunnerOutput {
  /** A terminal tool (Letta's send_message) ran: the turn ends here. */
  endsTurn: boolean;
}

export interface ToolRunnerInput {
  /** Runs the planned calls in order, recording each result as it completes. */
  run(signal: AbortSignal): Promise<ToolRunnerOutput>;
}

/**
 * The tool phase of a step as an actor: leaving `executingTools` (cancel) stops it, which
 * aborts the signal every running tool holds.
 */
export const toolRunner = fromPromise<ToolRunnerOutput, ToolRunnerInput>(({ input, signal }) => input.run(signal));
