import { getNextSnapshot, setup } from 'xstate';
import type { AgentState } from '../store/types.js';

/**
 * A conversation of an agent between turns: one active run at a time, and Letta's approval
 * pause. Each conversation (the agent's default one and every other) has a state of its own: the
 * agent service keeps it in the store and asks this chart which moves are allowed, so the chart
 * in the docs is the rule the service enforces, per conversation.
 */
export type AgentEvent =
  | { type: 'USER_MESSAGE' }
  | { type: 'DECISION' }
  | { type: 'RUN_ENDED'; requiresApproval: boolean }
  | { type: 'CANCEL' }
  /** Tools awaiting approval were removed from the agent: their calls are denied; others may still await. */
  | { type: 'APPROVALS_WITHDRAWN'; stillAwaiting: boolean };

export const agentMachine = setup({
  types: { events: {} as AgentEvent },
  guards: {
    stoppedForApproval: ({ event }) => event.type === 'RUN_ENDED' && event.requiresApproval,
    approvalsLeft: ({ event }) => event.type === 'APPROVALS_WITHDRAWN' && event.stillAwaiting,
  },
}).createMachine({
  id: 'agent',
  initial: 'idle',
  states: {
    idle: { on: { USER_MESSAGE: 'running' } },
    running: {
      // CANCEL goes to the run; its end brings the agent back here through RUN_ENDED
      on: { RUN_ENDED: [{ guard: 'stoppedForApproval', target: 'awaitingApproval' }, { target: 'idle' }] },
    },
    awaitingApproval: {
      // a decision (approve, deny, client tool return) starts the run that continues the turn;
      // cancel denies every pending call; removing their tools denies those calls, and the turn
      // closes when no call awaits a decision any more
      on: {
        DECISION: 'running',
        CANCEL: 'idle',
        APPROVALS_WITHDRAWN: [{ guard: 'approvalsLeft', target: 'awaitingApproval', reenter: true }, { target: 'idle' }],
      },
    },
  },
});

/** The state after `event`, or null when the chart does not allow it from `state`. */
export function agentNext(state: AgentState, event: AgentEvent): AgentState | null {
  const from = agentMachine.resolveState({ value: state, context: {} });
  if (!from.can(event)) return null;
  return getNextSnapshot(agentMachine, from, event).value as AgentState;
}
