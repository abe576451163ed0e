import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import { createActor, type InspectionEvent } from 'xstate';
import type { ApprovalResponseMessage, AssistantMessage, LettaMessage, UserMessage } from '../letta/frames.js';
import { isoSeconds, newAgentId, newBlockId, newMessageId, newRunId, otidFor } from '../letta/ids.js';
import { DEFAULT_BLOCK_LIMIT } from '../letta/memory.js';
import type { InterfaceMode } from '../letta/step-builder.js';
import { agentNext, type AgentEvent } from '../machines/agent.machine.js';
import { runMachine, type RunActor } from '../machines/run.machine.js';
import type { AgentRecord, ConversationRecord, HistoryTurn, MemoryBlock, PendingToolCall, RunRecord, RunTransition, Store, TurnExpectation } from '../store/types.js';
import type { ClientTool } from '../tools/client-tools.js';
import { approvalByDefault, toolDefinitions } from '../tools/registry.js';
import { ServiceError } from './errors.js';
import { listAnthropicModels, type LettaModel } from './models.js';
import { RunDriver, type PlannedCall } from './run-driver.js';
import { RunFinisher } from './run-finisher.js';
import { failRunsOf, restoreRunLog } from './run-recovery.js';
import type { SharedRuns } from '../cluster/shared-runs.js';
import { RunLog, type RunLogListener } from './run-log.js';
import { trackRunStates, TransitionJournal } from './run-transitions.js';
import { closeInterruptedToolCalls, closeToolCalls, NOT_RUN_SERVER_STOPPED } from './tool-closing.js';

export interface AgentServiceOptions {
  store: Store;
  client: Anthropic;
  dataDir: string;
  /** How long a finished run's frames stay available for resubscription (ms). */
  graceMs?: number;
  inspect?: (event: InspectionEvent) => void;
  warn?: (message: string) => void;
  /** This instance's id, recorded as the owner of the runs it starts (default `inst-<uuid>`). */
  instanceId?: string;
  /**
   * True (the default) when no other instance can share the store (the embedded file's lock):
   * start-up recovery then fails the runs of every owner. False on a shared database: only this
   * instance's own runs; other owners' runs are recovered when their lease runs out.
   */
  exclusive?: boolean;
  /** Run logs and cancels shared with other instances (Redis); absent: this process only. */
  shared?: SharedRuns;
  /** The agents' tool workspace (default `<dataDir>/workspace`); instances sharing a database share it. */
  workspaceDir?: string;
}

export interface CreateAgentInput {
  name: string;
  model?: string;
  system?: string;
  tools?: string[];
  /** Tools that require approval, besides those that change the workspace (which always do unless opted out). */
  requiresApprovalTools?: string[];
  /** The explicit opt-out: workspace-changing tools that run without asking. */
  noApprovalTools?: string[];
  tags?: string[];
  interfaceMode?: InterfaceMode;
  maxSteps?: number;
  /** Letta's `memory_blocks`: the agent's core memory, one block per label. */
  memoryBlocks?: BlockInput[];
}

/** A core memory block as given at creation (Letta's CreateBlock). */
export interface BlockInput {
  label: string;
  value: string;
  limit?: number | undefined;
  description?: string | null | undefined;
  readOnly?: boolean | undefined;
}

/** What a block update may change (Letta's BlockUpdate, as letta-stream serves it). */
export type BlockPatch = Partial<Pick<MemoryBlock, 'value' | 'limit' | 'description' | 'readOnly' | 'label'>>;

/** A block's value must fit its limit, as Letta validates. */
function checkBlockFits(b: { label: string; value: string; limit: number }): void {
  if (b.value.length > b.limit) throw new ServiceError('invalid_request', `memory block "${b.label}": the value has ${b.value.length} characters, more than its limit of ${b.limit}`);
}

/** What a run is started with: user text, or decisions on the tool calls awaiting approval. */
export type RunRequest =
  | {
      kind: 'user';
      /** The user text the model answers. */
      text: string;
      /** Letta's earlier input messages of the turn, in order (an assistant message among them). */
      earlier?: Array<{ role: 'user' | 'assistant'; text: string }>;
    }
  | {
      kind: 'approvals';
      approvals: Array<
        | { type: 'approval'; tool_call_id: string; approve: boolean; reason?: string | null }
        | { type: 'tool'; tool_call_id: string; tool_return: string; status: 'success' | 'error' }
      >;
    };

interface LiveRun {
  actor: RunActor;
  log: RunLog;
  agentId: string;
  /** null: the agent's default conversation. */
  conversationId: string | null;
}

/**
 * Where a turn happens: an agent's default conversation (its turn state on the agent) or another
 * of its conversations (its own). `agent` carries that conversation's turn state, so the agent
 * chart, approvals and cancel read one record either way.
 */
interface Thread {
  agent: AgentRecord;
  conversationId: string | null;
  /** The turn state as stored (the view may show an end not written yet): what a compare-and-set expects. */
  stored: TurnExpectation;
}

export const DEFAULT_GRACE_MS = 5 * 60_000;
const SHARED_LOG_WAIT_MS = 2000;
const SHARED_LOG_POLL_MS = 25;
export const DEFAULT_MODEL = 'claude-sonnet-4-6';
const DEMO_TOOLS = ['get_time', 'calculator', 'read_file', 'list_dir', 'write_file'];
export const TOOL_REMOVED = 'denied: the tool was removed from the agent';
const APPROVAL_CALLS_REMOVED = 'not run: the tool calls of this turn that needed approval were removed from the agent';
const CANCELLED_WHILE_PENDING = 'Error: request to call tool denied. User reason: the user cancelled while approval was pending';

/**
 * Agents and their runs: one active run per agent, approvals, cancellation. Each run is a run
 * machine actor with a RunDriver; its log stays readable for a grace period after it ends.
 */
export class AgentService {
  readonly store: Store;
  /** Owner of the runs this service starts. */
  readonly instanceId: string;
  readonly workspaceDir: string;
  private readonly live = new Map<string, LiveRun>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly ended = new Map<string, { log: RunLog; timer: NodeJS.Timeout }>();
  private readonly graceMs: number;
  /** Runs' ends, and those the store refused until they are written. */
  private readonly finisher: RunFinisher;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** Shutting down: new turns are refused, live runs may finish. */
  private draining = false;

  constructor(private readonly o: AgentServiceOptions) {
    this.store = o.store;
    this.instanceId = o.instanceId ?? `inst-${randomUUID()}`;
    this.finisher = new RunFinisher(o.store, (m) => o.warn?.(m));
    this.graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
    this.workspaceDir = path.resolve(o.workspaceDir ?? path.join(o.dataDir, 'workspace'));
    mkdirSync(this.workspaceDir, { recursive: true });
    // A cancel another instance received for a run of ours (every instance hears every cancel).
    o.shared?.onCancel((runId) => this.cancelLive(runId));
  }

  /** Cancels asked for in the store that the push did not bring (a heartbeat hands them over). */
  cancelRequested(runIds: readonly string[]): void {
    for (const id of runIds) this.cancelLive(id);
  }

  /** A run of this instance still running (a push and a heartbeat may both bring one cancel). */
  private cancelLive(runId: string): void {
    const actor = this.live.get(runId)?.actor;
    if (actor?.getSnapshot().status === 'active') actor.send({ type: 'CANCEL' });
  }

  /**
   * After a stop or a crash: the runs left running are failed, their conversations usable, their
   * dangling tool calls closed. With the embedded store (exclusive) that is every owner's runs;
   * on a shared database only this instance's own (its id outlives a restart), never the runs
   * other live instances are streaming.
   */
  async recover(): Promise<string[]> {
    const exclusive = this.o.exclusive ?? true;
    const owners = exclusive ? await this.store.runningOwners() : [this.instanceId];
    const failed: RunRecord[] = [];
    for (const owner of owners) failed.push(...(await this.failRunsOf(owner, 'the server stopped while the run was in progress')));
    await this.pruneFrames();
    if (exclusive) {
      for (const agent of await this.store.listAgents()) {
        // awaiting approval: no run was in flight, the calls still wait for their decision
        if (agent.state === 'awaitingApproval') continue;
        await closeInterruptedToolCalls(this.store, agent.id, NOT_RUN_SERVER_STOPPED);
      }
    }
    return failed.map((r) => r.id);
  }

  /** Another instance's lease ran out: its runs end `failed` (once, whoever notices first). */
  async recoverOwner(owner: string): Promise<string[]> {
    const runs = await this.failRunsOf(owner, `the instance running it (${owner}) was lost`);
    return runs.map((r) => r.id);
  }

  private async failRunsOf(owner: string | null, reason: string): Promise<RunRecord[]> {
    const runs = await failRunsOf(this.store, owner, reason, this.o.shared ?? null, (m) => this.o.warn?.(m));
    // Their conversations are idle now: close the tool calls a run left without a result.
    for (const run of runs) {
      await this.guardStore(`run ${run.id}: closing its tool calls`, () => closeInterruptedToolCalls(this.store, run.agentId, NOT_RUN_SERVER_STOPPED, run.conversationId ?? null));
    }
    return runs;
  }

  /**
   * Journaled frames are kept for the grace period after a run ends (resume across a restart),
   * then deleted: on the grace timer of each run, and here for runs a stop left behind.
   */
  private async pruneFrames(): Promise<void> {
    await this.guardStore('pruning journaled frames', () => this.store.pruneRunFrames(new Date(Date.now() - this.graceMs).toISOString()));
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    this.pruneTimer = setTimeout(() => {
      this.pruneTimer = null;
      void this.guardStore('pruning journaled frames', () => this.store.pruneRunFrames(new Date(Date.now() - this.graceMs).toISOString()));
    }, this.graceMs + 1000);
    this.pruneTimer.unref();
  }

  /** A store call whose failure is reported, not thrown (never rejects). */
  private async guardStore(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.o.warn?.(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Ends the store refused are tried again before the agents change (cheap when there are none). */
  private async writePendingEnds(): Promise<void> {
    if (this.finisher.pendingCount > 0) await this.finisher.retry();
  }

  async ensureDemoAgent(): Promise<AgentRecord> {
    const existing = await this.store.getAgentByName('demo');
    if (existing) return existing;
    if (!(this.o.exclusive ?? true) && (await this.store.claimSetting('demo_agent_creator', this.instanceId)) !== this.instanceId) {
      // Instances starting together: the one that claimed it creates the demo agent.
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const made = await this.store.getAgentByName('demo');
        if (made) return made;
      }
    }
    return (
      (await this.store.getAgentByName('demo')) ??
      this.createAgent({
        name: 'demo',
        system:
          'You are the demo agent of letta-stream. Answer briefly. You can tell the time, calculate, and read, list and write files in your workspace (writing needs the user\'s approval).',
        tools: DEMO_TOOLS,
        requiresApprovalTools: ['write_file'],
      })
    );
  }

  async createAgent(input: CreateAgentInput): Promise<AgentRecord> {
    const name = input.name.trim();
    if (!name) throw new ServiceError('invalid_request', 'an agent needs a name');
    const tools = input.tools ?? DEMO_TOOLS;
    try {
      toolDefinitions(tools);
    } catch (err) {
      throw new ServiceError('invalid_request', (err as Error).message);
    }
    const asked = input.requiresApprovalTools ?? [];
    const optOut = input.noApprovalTools ?? [];
    for (const [field, list] of [['requires_approval_tools', asked], ['no_approval_tools', optOut]] as const) {
      const unknown = list.filter((t) => !tools.includes(t));
      if (unknown.length) throw new ServiceError('invalid_request', `${field} names tools the agent does not have: ${unknown.join(', ')}`);
    }
    const both = asked.filter((t) => optOut.includes(t));
    if (both.length) throw new ServiceError('invalid_request', `tools both requiring and not requiring approval: ${both.join(', ')}`);
    // Safe default: a tool that changes the workspace asks first unless explicitly opted out.
    const approval = [...new Set([...asked, ...approvalByDefault(tools)])].filter((t) => !optOut.includes(t));
    const labels = (input.memoryBlocks ?? []).map((b) => b.label);
    const twice = labels.filter((l, i) => labels.indexOf(l) !== i);
    if (twice.length) throw new ServiceError('invalid_request', `memory_blocks: a label may be used once: ${[...new Set(twice)].join(', ')}`);
    const now = new Date().toISOString();
    const agentId = newAgentId();
    const blocks: MemoryBlock[] = (input.memoryBlocks ?? []).map((b) => ({
      id: newBlockId(),
      agentId,
      label: b.label,
      value: b.value,
      limit: b.limit ?? DEFAULT_BLOCK_LIMIT,
      description: b.description ?? null,
      readOnly: b.readOnly ?? false,
      createdAt: now,
      updatedAt: now,
    }));
    blocks.forEach(checkBlockFits);
    const agent: AgentRecord = {
      id: agentId,
      name,
      model: input.model ?? DEFAULT_MODEL,
      system: input.system ?? 'You are a helpful agent.',
      tools,
      requiresApprovalTools: approval,
      tags: [...new Set(input.tags ?? [])],
      interfaceMode: input.interfaceMode ?? 'simple',
      maxSteps: input.maxSteps ?? 10,
      state: 'idle',
      activeRunId: null,
      pendingToolCalls: [],
      createdAt: now,
      updatedAt: now,
    };
    await this.store.transaction(async (tx) => {
      await tx.createAgent(agent);
      for (const b of blocks) await tx.putBlock(b);
    });
    return agent;
  }

  /** An agent's core memory blocks, in creation order. */
  async listBlocks(idOrName: string): Promise<MemoryBlock[]> {
    return this.store.listBlocks((await this.getAgent(idOrName)).id);
  }

  async getBlock(idOrName: string, label: string): Promise<MemoryBlock> {
    const agent = await this.getAgent(idOrName);
    const block = await this.store.getBlock(agent.id, label);
    if (!block) throw new ServiceError('not_found', `agent ${agent.id} has no memory block "${label}"`);
    return block;
  }

  /** Changes a block found by label; its next step's system prompt shows it. */
  async updateBlock(idOrName: string, label: string, patch: BlockPatch): Promise<MemoryBlock> {
    const block = await this.getBlock(idOrName, label);
    const next: MemoryBlock = { ...block, ...patch, updatedAt: new Date().toISOString() };
    checkBlockFits(next);
    if (next.label !== block.label) throw new ServiceError('invalid_request', 'renaming a memory block is not served: its label names it');
    await this.store.putBlock(next);
    return next;
  }

  /** Change an agent's configuration, also while a run holds it (as Letta): a run keeps the one it started with. */
  async updateAgent(idOrName: string, patch: Partial<Pick<AgentRecord, 'name' | 'model' | 'system' | 'tools' | 'requiresApprovalTools' | 'tags' | 'maxSteps'>>): Promise<AgentRecord> {
    await this.writePendingEnds();
    const agent = await this.getAgent(idOrName);
    const next = { ...agent, ...patch };
    try {
      toolDefinitions(next.tools);
    } catch (err) {
      throw new ServiceError('invalid_request', (err as Error).message);
    }
    // A workspace-changing tool added here asks first, like one given at creation (opt out with
    // the approval endpoint afterwards).
    const added = next.tools.filter((t) => !agent.tools.includes(t));
    next.requiresApprovalTools = [...new Set([...next.requiresApprovalTools, ...approvalByDefault(added)])].filter((t) => next.tools.includes(t));
    await this.store.updateAgentConfig(next);
    // In every conversation: a call waiting for approval of a removed tool is denied.
    await this.denyRemovedToolCalls(await this.thread(agent.id, null), next.tools);
    for (const c of await this.conversationsOf(agent.id)) {
      if (c.state === 'awaitingApproval') await this.denyRemovedToolCalls(await this.thread(agent.id, c.id), next.tools);
    }
    return this.getAgent(agent.id);
  }

  /**
   * A pending call whose tool was removed is denied. When nothing then awaits a decision the turn
   * is closed at once (every call answered, the agent idle); otherwise the denial is kept on the
   * pending call and recorded when the turn goes on, so the history keeps one tool_result turn.
   */
  private async denyRemovedToolCalls(thread: Thread, tools: readonly string[]): Promise<void> {
    const agent = thread.agent;
    if (agent.state !== 'awaitingApproval') return;
    // A client tool is the client's, not the agent's: removing an agent tool of its name changes nothing.
    const removed = new Set(agent.pendingToolCalls.filter((p) => p.denied === undefined && !p.clientTool && !tools.includes(p.name)).map((p) => p.toolCallId));
    if (removed.size === 0) return;
    const pending = agent.pendingToolCalls.map((p) => (removed.has(p.toolCallId) ? { ...p, requiresApproval: false, denied: TOOL_REMOVED } : p));
    const stillAwaiting = pending.some((p) => p.requiresApproval);
    const event: AgentEvent = { type: 'APPROVALS_WITHDRAWN', stillAwaiting };
    if (stillAwaiting) {
      await this.moveTurn(this.store, thread, event, agent.activeRunId, pending, 'the tool calls awaiting approval');
      return;
    }
    const runId = agent.activeRunId ?? (await this.store.listRuns(agent.id, 1, thread.conversationId))[0]?.id;
    // Only the request that closes the turn writes the denials.
    await this.store.transaction(async (tx) => {
      await this.moveTurn(tx, thread, event, null, [], 'the tool calls awaiting approval');
      if (runId) await closeToolCalls(tx, agent.id, runId, pending.map((p) => ({ toolCallId: p.toolCallId, output: p.denied ?? APPROVAL_CALLS_REMOVED, status: 'error', name: p.name })));
    });
  }

  /** The agent's other conversations, every page. */
  private async conversationsOf(agentId: string): Promise<ConversationRecord[]> {
    const out: ConversationRecord[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.store.pageConversations({ limit: 500, order: 'asc', after }, { agentId });
      if ('unknownCursor' in page || page.items.length === 0) return out;
      out.push(...page.items);
      after = page.items[page.items.length - 1]!.id;
    }
  }

  async deleteAgent(idOrName: string): Promise<void> {
    await this.writePendingEnds();
    const agent = await this.getAgent(idOrName);
    if (agent.state === 'running') throw new ServiceError('conflict', `agent ${agent.id} is busy with run ${agent.activeRunId}; cancel it first`);
    const busy = [...this.live.entries()].find(([, r]) => r.agentId === agent.id);
    if (busy) throw new ServiceError('conflict', `agent ${agent.id} is busy with run ${busy[0]} of conversation ${busy[1].conversationId}; cancel it first`);
    await this.store.deleteAgent(agent.id);
  }

  /** By id, or by name for convenience (`demo`: the oldest agent of that name); as its runs' ends leave it, even if one is not written yet. */
  async getAgent(idOrName: string): Promise<AgentRecord> {
    const agent = (await this.store.getAgent(idOrName)) ?? (await this.store.getAgentByName(idOrName));
    if (!agent) throw new ServiceError('not_found', `no agent "${idOrName}"`);
    return this.finisher.view(agent);
  }

  /** A stored agent as its runs' ends leave it (an end the store has not taken yet included). */
  viewAgent(agent: AgentRecord): AgentRecord {
    return this.finisher.view(agent);
  }

  async createConversation(agentIdOrName: string, summary: string | null): Promise<ConversationRecord> {
    const agent = await this.getAgent(agentIdOrName);
    const now = new Date().toISOString();
    const c: ConversationRecord = { id: `conv-${randomUUID()}`, agentId: agent.id, summary, state: 'idle', activeRunId: null, pendingToolCalls: [], createdAt: now, updatedAt: now };
    await this.store.createConversation(c);
    return c;
  }

  /** As its runs' ends leave it, even if one is not written yet. */
  async getConversation(id: string): Promise<ConversationRecord> {
    const c = await this.store.getConversation(id);
    if (!c) throw new ServiceError('not_found', `no conversation "${id}"`);
    return this.viewConversation(c);
  }

  viewConversation(c: ConversationRecord): ConversationRecord {
    return this.finisher.view(c);
  }

  async updateConversation(id: string, summary: string | null): Promise<ConversationRecord> {
    await this.getConversation(id);
    await this.store.updateConversationSummary(id, summary);
    return this.getConversation(id);
  }

  /** With its runs and messages; not while a run holds it. */
  async deleteConversation(id: string): Promise<void> {
    await this.writePendingEnds();
    const c = await this.getConversation(id);
    if (c.state === 'running') throw new ServiceError('conflict', `conversation ${c.id} is busy with run ${c.activeRunId}; cancel it first`);
    await this.store.deleteConversation(c.id);
  }

  /** The agent, or its conversation `conversationId`, with that conversation's turn state. */
  private async thread(agentIdOrName: string, conversationId: string | null): Promise<Thread> {
    const stored = (await this.store.getAgent(agentIdOrName)) ?? (await this.store.getAgentByName(agentIdOrName));
    if (!stored) throw new ServiceError('not_found', `no agent "${agentIdOrName}"`);
    const agent = this.finisher.view(stored);
    if (conversationId === null) return { agent, conversationId: null, stored: { state: stored.state, activeRunId: stored.activeRunId } };
    const c = await this.store.getConversation(conversationId);
    if (!c) throw new ServiceError('not_found', `no conversation "${conversationId}"`);
    if (c.agentId !== agent.id) throw new ServiceError('not_found', `agent ${agent.id} has no conversation "${conversationId}"`);
    const v = this.finisher.view(c);
    return { agent: { ...agent, state: v.state, activeRunId: v.activeRunId, pendingToolCalls: v.pendingToolCalls }, conversationId: c.id, stored: { state: c.state, activeRunId: c.activeRunId } };
  }

  /**
   * The one way a conversation's turn state changes here: the agent chart's move for `event` from
   * the state read (`thread`), compare-and-set in the store against that read. When another
   * request (of this instance or another) changed it meanwhile, nothing is written: conflict.
   */
  private async moveTurn(tx: Store, thread: Thread, event: AgentEvent, activeRunId: string | null, pendingToolCalls: PendingToolCall[], what: string): Promise<void> {
    const from = thread.agent.state;
    const to = agentNext(from, event);
    if (to === null) throw new ServiceError('conflict', `${this.describe(thread)} is ${from}: ${event.type} is not allowed there`);
    const won = await tx.casTurnState({ agentId: thread.agent.id, conversationId: thread.conversationId }, thread.stored, { state: to, activeRunId, pendingToolCalls });
    if (!won) throw new ServiceError('conflict', `${this.describe(thread)} changed meanwhile (another request won): ${what} did not apply; read it again`);
  }

  private describe(t: Thread): string {
    return t.conversationId ? `conversation ${t.conversationId}` : `agent ${t.agent.id}`;
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!run) throw new ServiceError('not_found', `no run "${runId}"`);
    return run;
  }

  /** The run's log while it is live or within the grace period after it ended. */
  runLog(runId: string): RunLog | null {
    return this.live.get(runId)?.log ?? this.ended.get(runId)?.log ?? null;
  }

  /**
   * A run's state changes in order: the live log's (the newest, not all written yet) while the
   * run is in memory, else the stored ones.
   */
  async runTransitions(runId: string): Promise<RunTransition[]> {
    await this.getRun(runId); // not_found when unknown
    const log = this.runLog(runId);
    if (log && log.transitions.length > 0) return [...log.transitions];
    return this.store.listRunTransitions(runId);
  }

  /** Reports a problem that is nobody's request's answer (e.g. a cancel after a client hung up). */
  warn(message: string): void {
    this.o.warn?.(message);
  }

  /** The Anthropic models this instance's key can use, in Letta's shape. */
  listModels(): Promise<LettaModel[]> {
    return listAnthropicModels(this.o.client);
  }

  get liveRunCount(): number {
    return this.live.size;
  }

  get retainedRunCount(): number {
    return this.ended.size;
  }

  /**
   * `clientTools`: the turn's client-side tools (Letta's `client_tools`), offered for this run
   * only. `conversationId`: another conversation of the agent (null: its default one).
   */
  async startRun(
    agentIdOrName: string,
    request: RunRequest,
    maxSteps?: number,
    clientTools: readonly ClientTool[] = [],
    conversationId: string | null = null,
  ): Promise<{ runId: string; agentId: string; log: RunLog }> {
    if (this.draining) throw new ServiceError('unavailable', 'this instance is shutting down and takes no new turns; send it to another instance or retry in a moment');
    await this.writePendingEnds();
    const thread = await this.thread(agentIdOrName, conversationId);
    const agent = thread.agent;
    const who = this.describe(thread);
    // The agent chart decides whether this turn may start (one run at a time per conversation; approvals first).
    if (agentNext(agent.state, { type: request.kind === 'user' ? 'USER_MESSAGE' : 'DECISION' }) === null) {
      if (agent.state === 'running') throw new ServiceError('conflict', `${who} is busy with run ${agent.activeRunId}; cancel it or wait for it to end`);
      if (request.kind === 'user') {
        const ids = agent.pendingToolCalls.filter((p) => p.requiresApproval).map((p) => `${p.name} (${p.toolCallId})`);
        throw new ServiceError('conflict', `${who} is waiting for approval of ${ids.join(', ')}: send an approval, or cancel`);
      }
      throw new ServiceError('conflict', `${who} has no tool call waiting for approval`);
    }
    const decided = this.plan(agent, request);
    const runId = newRunId();
    const now = new Date().toISOString();
    // All or nothing: a refused write, or a compare-and-set another request won, leaves no run
    // and no agent held (the caller gets the error).
    const run: RunRecord = {
      id: runId,
      agentId: agent.id,
      ...(thread.conversationId ? { conversationId: thread.conversationId } : {}),
      status: 'running',
      stopReason: null,
      usage: null,
      error: null,
      createdAt: now,
      completedAt: null,
      ownerId: this.instanceId,
    };
    const event: AgentEvent = { type: request.kind === 'user' ? 'USER_MESSAGE' : 'DECISION' };
    const input = this.inputOf(runId, request);
    const to = agentNext(agent.state, event);
    // A user turn in one step (one round trip on PostgreSQL) when no tool call can be left open;
    // otherwise, or when the turn state moved, step by step below (which tells a conflict).
    const started =
      request.kind === 'user' &&
      to !== null &&
      (await this.store.startUserTurn({
        run,
        scope: { agentId: agent.id, conversationId: thread.conversationId },
        from: thread.stored,
        to: { state: to, activeRunId: runId, pendingToolCalls: agent.pendingToolCalls },
        messages: input.messages,
        history: input.history,
      }));
    if (!started) {
      await this.store.transaction(async (tx) => {
        await tx.createRun(run);
        await this.moveTurn(tx, thread, event, runId, agent.pendingToolCalls, request.kind === 'user' ? 'the message did not start a run' : 'the decision');
        if (request.kind === 'user') await closeInterruptedToolCalls(tx, agent.id, 'not run: the run that made this call ended without its result', thread.conversationId);
        await tx.appendMessages(runId, agent.id, input.messages);
        if (input.history.length > 0) await tx.appendHistory(agent.id, runId, input.history);
      });
    }

    const log = new RunLog(runId, agent.id);
    this.o.shared?.publish(log);
    const driver = new RunDriver({
      runId,
      ownerId: this.instanceId,
      agent,
      store: this.store,
      log,
      client: this.o.client,
      workspaceDir: this.workspaceDir,
      decided,
      clientTools,
      conversationId: thread.conversationId,
      settle: (end) => this.finisher.settle(end),
      // Its state changes written too (the store may be closed once no run is live).
      onFinished: () => {
        transitions
          .settled()
          .then(() => this.release(runId))
          .catch((err: unknown) => this.o.warn?.(`run ${runId}: releasing it failed: ${err instanceof Error ? err.message : String(err)}`));
      },
      onWarning: (m) => this.o.warn?.(m),
    });
    // The run's and its step's active states, from their snapshots (the states inspection shows):
    // into the log (inspectors get them live) and, in batches, into the store (any run can be
    // replayed later).
    const transitions: TransitionJournal = new TransitionJournal(this.store, log, (m) => this.o.warn?.(m));
    // Inspection (every event) only for a configured inspector (the Stately inspector with
    // --inspect): it costs XState an event object per event, action and snapshot of every actor.
    const actor: RunActor = createActor(runMachine, {
      input: { runId, maxSteps: maxSteps ?? agent.maxSteps, resumesWithTools: decided.length > 0, io: driver },
      ...(this.o.inspect ? { inspect: this.o.inspect } : {}),
    });
    trackRunStates(actor, (state) => {
      if (log.setState(state)) transitions.changed(state);
    });
    this.live.set(runId, { actor, log, agentId: agent.id, conversationId: thread.conversationId });
    // A thrown action leaves the machine in `error` without exit actions: finalize here instead
    // (the driver's finalizer is idempotent, so a run that did finalize is not touched again).
    actor.subscribe({
      error: (err) => {
        this.o.warn?.(`run ${runId} crashed: ${err instanceof Error ? err.message : String(err)}`);
        driver.finalize('failed', 'error');
      },
    });
    actor.start();
    return { runId, agentId: agent.id, log };
  }

  /** The tool calls a decision settles: every pending call, decided or (not needing approval) run. */
  private plan(agent: AgentRecord, request: RunRequest): PlannedCall[] {
    if (request.kind === 'user') return [];
    // A call denied already (its tool was removed) takes no decision: it is closed with its denial.
    const pending = new Map(agent.pendingToolCalls.filter((p) => p.denied === undefined).map((p) => [p.toolCallId, p]));
    const decisions = new Map<string, PlannedCall>();
    for (const a of request.approvals) {
      const p = pending.get(a.tool_call_id);
      if (!p) throw new ServiceError('conflict', `tool call ${a.tool_call_id} is not pending approval (stale, already decided, or another agent's)`);
      if (decisions.has(a.tool_call_id)) throw new ServiceError('invalid_request', `tool call ${a.tool_call_id} is decided twice`);
      // The server has no code for a client tool: approving it cannot run it here.
      if (p.clientTool && a.type === 'approval' && a.approve) {
        throw new ServiceError('invalid_request', `tool call ${a.tool_call_id} is to the client tool "${p.name}": run it and send its result ({type: "tool", tool_call_id, tool_return, status}), or deny it`);
      }
      decisions.set(
        a.tool_call_id,
        a.type === 'tool'
          ? { kind: 'client_result', id: p.toolCallId, name: p.name, output: a.tool_return, status: a.status }
          : a.approve
            ? { kind: 'execute', id: p.toolCallId, name: p.name, input: p.input }
            : { kind: 'deny', id: p.toolCallId, name: p.name, reason: a.reason ?? null },
      );
    }
    return agent.pendingToolCalls.map((p) => {
      if (p.denied !== undefined) return { kind: 'close', id: p.toolCallId, name: p.name, output: p.denied };
      const d = decisions.get(p.toolCallId);
      if (d) return d;
      if (p.requiresApproval) throw new ServiceError('invalid_request', `no decision for tool call ${p.toolCallId} (${p.name}), which requires approval`);
      return { kind: 'execute', id: p.toolCallId, name: p.name, input: p.input };
    });
  }

  /** The turn's input: its stored messages and history turns. */
  private inputOf(runId: string, request: RunRequest): { messages: LettaMessage[]; history: HistoryTurn[] } {
    const id = newMessageId();
    const base = { id, date: isoSeconds(), otid: otidFor(id, 0), run_id: runId, step_id: null };
    if (request.kind === 'user') {
      // Each input message is a stored message of its own (its own id) and a turn of the history.
      const inputs = [...(request.earlier ?? []), { role: 'user' as const, text: request.text }];
      const messages = inputs.map((m, i): UserMessage | AssistantMessage => {
        const mid = i === inputs.length - 1 ? id : newMessageId();
        const b = { ...base, id: mid, otid: otidFor(mid, 0) };
        return m.role === 'user' ? { ...b, message_type: 'user_message', content: m.text } : { ...b, message_type: 'assistant_message', content: m.text };
      });
      return { messages, history: inputs.map((m) => ({ role: m.role, content: [{ type: 'text', text: m.text }] })) };
    }
    const msg: ApprovalResponseMessage = {
      ...base,
      message_type: 'approval_response_message',
      approvals: request.approvals.map((a) =>
        a.type === 'tool'
          ? { type: 'tool', tool_call_id: a.tool_call_id, tool_return: a.tool_return, status: a.status }
          : { type: 'approval', tool_call_id: a.tool_call_id, approve: a.approve, reason: a.reason ?? null },
      ),
    };
    return { messages: [msg], history: [] };
  }

  /** Cancel one run. Idempotent: a finished run answers with its final status and nothing changes. */
  async cancelRun(runId: string): Promise<{ run_id: string; cancelled: boolean; status: string }> {
    const live = this.live.get(runId);
    // A run whose end is settling (its actor is done) is ended: the cancel changes nothing.
    if (live?.actor.getSnapshot().status === 'active') {
      live.actor.send({ type: 'CANCEL' });
      return { run_id: runId, cancelled: true, status: (await this.getRun(runId)).status };
    }
    if (live) return { run_id: runId, cancelled: false, status: (await this.getRun(runId)).status };
    const run = await this.getRun(runId);
    const cancelled = run.status === 'running' && (await this.cancelElsewhere(run.id));
    return { run_id: runId, cancelled, status: run.status };
  }

  /**
   * A run another instance owns: the store records the request (the owner sees it at its next
   * heartbeat at the latest) and the push brings it at once. False when the run had ended.
   */
  private async cancelElsewhere(runId: string): Promise<boolean> {
    if (!(await this.store.requestCancel(runId))) return false;
    try {
      await this.o.shared?.cancel(runId);
    } catch (err) {
      this.o.warn?.(`run ${runId}: pushing its cancel failed (the owner picks it up at its next heartbeat): ${err instanceof Error ? err.message : String(err)}`);
    }
    return true;
  }

  /**
   * Cancel what an agent is doing: its active run, or — while it awaits approval — every pending
   * tool call, denied with an error tool return so the transcript stays valid.
   */
  async cancelAgent(agentIdOrName: string, runIds?: string[], conversationId: string | null = null): Promise<{ agent_id: string; cancelled_runs: string[]; denied_tool_calls: string[] }> {
    await this.writePendingEnds();
    const { agent } = await this.thread(agentIdOrName, conversationId);
    const cancelled: string[] = [];
    // Named runs of the agent, or the live runs of this conversation.
    const targets = runIds ?? [...this.live.entries()].filter(([, r]) => r.agentId === agent.id && r.conversationId === conversationId).map(([id]) => id);
    for (const id of targets) {
      const live = this.live.get(id);
      if (live && live.agentId === agent.id) {
        if (live.actor.getSnapshot().status === 'active') {
          live.actor.send({ type: 'CANCEL' });
          cancelled.push(id);
        }
      } else if (!live && runIds) {
        // A named run another instance owns.
        const run = await this.store.getRun(id);
        if (run?.agentId === agent.id && run.status === 'running' && (await this.cancelElsewhere(id))) cancelled.push(id);
      }
    }
    // The conversation's run, owned by another instance.
    if (!runIds && agent.state === 'running' && agent.activeRunId && !this.live.has(agent.activeRunId) && (await this.cancelElsewhere(agent.activeRunId))) {
      cancelled.push(agent.activeRunId);
    }
    const denied: string[] = [];
    const fresh = await this.thread(agent.id, conversationId);
    const a = fresh.agent;
    const runId = a.activeRunId ?? (await this.store.listRuns(a.id, 1, conversationId))[0]?.id;
    if (!runIds && a.state === 'awaitingApproval' && runId) {
      // Only the request that wins the compare-and-set writes the denials (an approval racing
      // this cancel either starts its run or finds the turn closed, never both).
      await this.store.transaction(async (tx) => {
        await this.moveTurn(tx, fresh, { type: 'CANCEL' }, null, [], 'the cancel of the pending approval');
        await closeToolCalls(tx, a.id, runId, a.pendingToolCalls.map((p) => ({ toolCallId: p.toolCallId, output: p.denied ?? CANCELLED_WHILE_PENDING, status: 'error', name: p.name })));
      });
      denied.push(...a.pendingToolCalls.map((p) => p.toolCallId));
    }
    return { agent_id: agent.id, cancelled_runs: cancelled, denied_tool_calls: denied };
  }

  async subscribe(runId: string, listener: RunLogListener, afterSeq = 0): Promise<() => void> {
    return (await this.streamableLog(runId)).subscribe(listener, afterSeq);
  }

  /**
   * The run's live or recently ended log; not_found (saying why) when there is none. A run that
   * ended within the grace period but is not in memory (a restart) is replayed from its journal.
   */
  async streamableLog(runId: string): Promise<RunLog> {
    const log = this.runLog(runId);
    if (log) return log;
    const run = await this.getRun(runId); // not_found when unknown
    // Another instance's run (live or ended): its shared log, as far as it is kept.
    const shared = this.o.shared ? await this.followShared(runId, run.status === 'running') : null;
    if (shared) {
      shared.error ??= run.error; // a failed run's reason, for the SSE error_message
      return shared;
    }
    if (run.status === 'running') {
      throw new ServiceError('not_found', `run ${runId} is running on another instance (${run.ownerId ?? 'unknown'}) and this instance has no shared run logs (start every instance with the same --redis-url); ask that instance`);
    }
    const endedAt = run.completedAt ? Date.parse(run.completedAt) : NaN;
    const left = endedAt + this.graceMs - Date.now();
    const restored = left > 0 ? await restoreRunLog(this.store, run) : null;
    if (!restored) {
      throw new ServiceError('not_found', `run ${runId} ended at ${run.completedAt ?? '?'} and its stream is no longer kept (grace period ${Math.round(this.graceMs / 1000)} s); read its messages instead`);
    }
    // Another request may have restored it meanwhile: keep one.
    const kept = this.runLog(runId);
    if (kept) return kept;
    this.retain(runId, restored, left);
    return restored;
  }

  /**
   * A run just started elsewhere may not have reached Redis yet (its owner writes its first
   * entries on the next turn of its event loop): a running run's log is waited for, briefly.
   */
  private async followShared(runId: string, running: boolean): Promise<RunLog | null> {
    for (let waited = 0; ; waited += SHARED_LOG_POLL_MS) {
      const log = await this.o.shared!.follow(runId);
      if (log || !running || waited >= SHARED_LOG_WAIT_MS) return log;
      await new Promise((r) => setTimeout(r, SHARED_LOG_POLL_MS));
      running = (await this.getRun(runId)).status === 'running';
    }
  }

  private release(runId: string): void {
    const live = this.live.get(runId);
    if (!live) return;
    this.live.delete(runId);
    this.retain(runId, live.log, this.graceMs);
    if (this.live.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** An ended run's log stays for the rest of its grace period; then it and its journal go. */
  private retain(runId: string, log: RunLog, ms: number): void {
    const timer = setTimeout(() => {
      this.ended.delete(runId);
      void this.guardStore(`run ${runId}: deleting its journaled frames`, () => this.store.deleteRunFrames(runId));
    }, ms);
    timer.unref();
    this.ended.set(runId, { log, timer });
  }

  /**
   * Resolves true once no run is live, or false after `ms`. A cancelled run may still be settling
   * (a file write that had begun finishes and is recorded): shutdown waits for that before the
   * store closes under it.
   */
  whenIdle(ms: number): Promise<boolean> {
    if (this.live.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Graceful stop, first part: no new turns from here on; live runs go on (see `whenIdle`). */
  drain(): void {
    this.draining = true;
  }

  /** Server shutdown: every live run is cancelled through the same transition and finalizer. */
  async shutdown(): Promise<number> {
    const ids = [...this.live.keys()];
    for (const id of ids) this.cancelLive(id);
    for (const { timer } of this.ended.values()) clearTimeout(timer);
    this.ended.clear();
    await this.finisher.retry();
    this.finisher.close();
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    return ids.length;
  }
}
