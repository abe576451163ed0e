import { describe, expect, it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { agentMachine, agentNext, type AgentEvent } from '../src/machines/agent.machine.js';

const events: AgentEvent[] = [
  { type: 'USER_MESSAGE' },
  { type: 'DECISION' },
  { type: 'RUN_ENDED', requiresApproval: true },
  { type: 'RUN_ENDED', requiresApproval: false },
  { type: 'CANCEL' },
  { type: 'APPROVALS_WITHDRAWN', stillAwaiting: true },
  { type: 'APPROVALS_WITHDRAWN', stillAwaiting: false },
];

describe('agent chart', () => {
  it('reaches every state (xstate/graph)', () => {
    const paths = getShortestPaths(agentMachine, { events, serializeState: (s) => JSON.stringify(s.value) });
    expect(paths.map((p) => p.state.value).sort()).toEqual(['awaitingApproval', 'idle', 'running']);
  });

  it('is the rule the service applies: one run at a time, approvals before anything else', () => {
    expect(agentNext('idle', { type: 'USER_MESSAGE' })).toBe('running');
    expect(agentNext('idle', { type: 'DECISION' })).toBeNull();
    expect(agentNext('running', { type: 'USER_MESSAGE' })).toBeNull();
    expect(agentNext('running', { type: 'RUN_ENDED', requiresApproval: true })).toBe('awaitingApproval');
    expect(agentNext('running', { type: 'RUN_ENDED', requiresApproval: false })).toBe('idle');
    expect(agentNext('awaitingApproval', { type: 'USER_MESSAGE' })).toBeNull();
    expect(agentNext('awaitingApproval', { type: 'DECISION' })).toBe('running');
    expect(agentNext('awaitingApproval', { type: 'CANCEL' })).toBe('idle');
    expect(agentNext('awaitingApproval', { type: 'APPROVALS_WITHDRAWN', stillAwaiting: true })).toBe('awaitingApproval');
    expect(agentNext('awaitingApproval', { type: 'APPROVALS_WITHDRAWN', stillAwaiting: false })).toBe('idle');
    expect(agentNext('idle', { type: 'APPROVALS_WITHDRAWN', stillAwaiting: false })).toBeNull();
    expect(agentNext('running', { type: 'CANCEL' })).toBeNull();
  });
});
