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
 * The tool phase of a step as an actor. A cancel asks the driver to stop the tools (its own
 * abort, joined to this signal) and waits for the phase to settle with each call's true outcome;
 * stopping the actor (the run left `executingTools` otherwise) aborts this signal too.
 */
export const toolRunner = fromPromise<ToolRunnerOutput, ToolRunnerInput>(({ input, signal }) => input.run(signal));
