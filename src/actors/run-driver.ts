import type Anthropic from '@anthropic-ai/sdk';
import type { Usage } from '../letta/anthropic-events.js';
import { runStatusFor, type StopReasonType, type StreamedMessage, type ToolReturnMessage } from '../letta/frames.js';
import { assistantBlocks, allToolCalls, runnableToolCalls, type ToolResultBlock } from '../letta/history.js';
import { newMessageId, newStepId } from '../letta/ids.js';
import { MessageCollector } from '../letta/message-collector.js';
import { INNER_THOUGHTS_KWARG, MESSAGE_TOOL, type StepOptions, type StepResult } from '../letta/step-builder.js';
import { addUsage, usageFrame } from '../letta/step-outcome.js';
import { toolReturnMessage } from '../letta/tool-return.js';
import type { RunIO } from '../machines/run.machine.js';
import type { AgentRecord, PendingToolCall, Store, UsageTotals } from '../store/types.js';
import { ServiceError } from './errors.js';
import type { ClientTool } from '../tools/client-tools.js';
import { executeTool } from '../tools/registry.js';
import { FrameJournal } from './frame-journal.js';
import { storeFailure, type RunEnding } from './run-finisher.js';
import type { RunLog } from './run-log.js';
import { agentMemory } from './agent-memory.js';
import { buildRequest } from './request.js';
import type { ToolRunnerInput, ToolRunnerOutput } from './tool-runner.js';
import type { UpstreamInput, UpstreamRequest } from './upstream.js';

/** A tool call the tool phase will settle: run it, record a denial, or take the client's result. */
export type PlannedCall =
  | { kind: 'execute'; id: string; name: string; input: Record<string, unknown> }
  | { kind: 'deny'; id: string; name: string; reason: string | null }
  | { kind: 'client_result'; id: string; name: string; output: string; status: 'success' | 'error' }
  /** Closed without running, with an error the service decided (e.g. its tool was removed). */
  | { kind: 'close'; id: string; name: string; output: string };

export interface RunDriverOptions {
  runId: string;
  /** The instance running it: its writes are fenced to runs still `running` under this owner. */
  ownerId: string;
  agent: AgentRecord;
  store: Store;
  log: RunLog;
  client: Anthropic;
  workspaceDir: string;
  /** The tool calls an approval (or client tool return) decided; empty for a user message turn. */
  decided: PlannedCall[];
  /** The conversation whose history the run continues; null: the agent's default one. */
  conversationId?: string | null;
  /** The turn's client tools: offered to the model; a call to one awaits the client's tool return. */
  clientTools?: readonly ClientTool[];
  /** Writes the run's end (or keeps it for retry); resolves to the end that stands. Never rejects. */
  settle(end: RunEnding): Promise<RunEnding>;
  /** Called once, after the finalizer's writes and the run's last frame. */
  onFinished(status: string): void;
  onWarning?(message: string): void;
}

const CANCELLED_RESULT = 'cancelled: the run was cancelled before this tool call returned';

/**
 * The real RunIO: persistence, history, the upstream request and the tool phase of one run.
 * The run machine decides when; this does. Its finalizer is idempotent and never throws.
 *
 * The machine's actions are synchronous and the store is not: a step's write and the run's end
 * go into a serial write queue (a promise chain) in the order the machine made them. Whatever
 * needs them done waits for the queue first: the tool phase (which fails the run if the step
 * could not be stored), the next step's request (which reads the history) and the run's end.
 */
export class RunDriver implements RunIO {
  private step: StepOptions | null = null;
  /** The current step has been recorded: the next beginStep/stepOptions opens a new one. */
  private stepEnded = true;
  private readonly collector = new MessageCollector();
  private planned: PlannedCall[];
  /** Tool calls shown to the model that still need a tool_result (the history must stay valid). */
  private readonly unresolved = new Map<string, string>();
  private toolResults: ToolResultBlock[] = [];
  private pendingApproval: PendingToolCall[] = [];
  private readonly usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };
  private steps = 0;
  private error: string | null = null;
  /** The first store write this run could not make: the run ends `failed` (stop reason `error`). */
  private fault: string | null = null;
  private lastFault: unknown = null;
  private finalized = false;
  private stopController: AbortController | null = null;
  /** Journals the streamed frames in batches (crash recovery, resume after a restart). */
  private readonly journal: FrameJournal;
  private lastOtid = '';
  /** Tool calls of a step the store refused: shown to the client, never in the history. */
  private readonly unstoredCalls: Array<{ id: string; name: string }> = [];
  private readonly clientToolNames: ReadonlySet<string>;
  /** The run's writes, one after another; never rejects (a failed write is a fault of the run). */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: RunDriverOptions) {
    this.planned = o.decided;
    this.clientToolNames = new Set((o.clientTools ?? []).map((t) => t.name));
    for (const call of o.decided) this.unresolved.set(call.id, call.name);
    this.journal = new FrameJournal(o.store, o.log, (err) => this.noteFault('journaling streamed frames', err));
    o.log.subscribe(this.journal);
  }

  /**
   * Opens a step. XState may build the step's invoke input (stepOptions) before or after the
   * state's entry action (this), so whichever comes first opens it and the other finds it open:
   * the stream and the step's tool returns carry one step id.
   */
  beginStep(): void {
    if (!this.stepEnded) return;
    this.stepEnded = false;
    const agent = this.o.agent;
    this.step = {
      interface: agent.interfaceMode,
      runId: this.o.runId,
      stepId: newStepId(),
      messageId: newMessageId(),
      // A client tool's call ends the run with an approval request, as Letta's does.
      requiresApprovalTools: [...agent.requiresApprovalTools, ...this.clientToolNames],
      innerThoughtsInKwargs: agent.interfaceMode === 'kwargs',
      useAssistantMessage: agent.interfaceMode === 'kwargs',
    };
  }

  stepOptions(): StepOptions {
    this.beginStep();
    return this.step as StepOptions;
  }

  /** Where the step machine's actions hand each frame: the step's collector, the frame journal, the run log. */
  readonly frames = (frame: StreamedMessage): void => {
    // A new part: the previous one is complete, journal it now.
    if (frame.otid !== this.lastOtid) {
      this.lastOtid = frame.otid;
      this.journal.flush();
    }
    this.collector.add(frame);
    this.o.log.append(frame);
  };

  upstreamInput(): Omit<UpstreamInput, 'run'> {
    return {
      client: this.o.client,
      request: () => this.upstreamRequest(),
    };
  }

  /** The step's request, once the run's writes so far (the history it continues) are done. */
  private async upstreamRequest(): Promise<UpstreamRequest> {
    await this.drain();
    try {
      const history = await this.o.store.getHistory(this.o.agent.id, this.o.conversationId ?? null);
      const blocks = await this.o.store.listBlocks(this.o.agent.id);
      return buildRequest(this.o.agent, history, this.o.clientTools, blocks);
    } catch (err) {
      this.noteFault('reading the history', err);
      throw err;
    }
  }

  storeFailure(): string | null {
    return this.fault;
  }

  recordStep(result: StepResult): void {
    this.stepEnded = true;
    this.steps++;
    addUsage(this.usage, result.usage);
    if (result.error) this.error = result.error.message;
    const blocks = assistantBlocks(result);
    const messages = this.collector.take();
    this.journal.flush();
    this.enqueue(async () => {
      // Messages and the assistant turn together, or neither: the history never names a tool call
      // whose step was not stored.
      const stored = await this.attempt('storing the step', () =>
        this.fenced(async (tx) => {
          if (messages.length) await tx.appendMessages(this.o.runId, this.o.agent.id, messages);
          if (blocks.length) await tx.appendHistory(this.o.agent.id, this.o.runId, [{ role: 'assistant', content: blocks }]);
        }),
      );
      this.stepStored(result, stored);
    });
  }

  /** What the tool phase and the run's end owe the step's tool calls, once its write is settled. */
  private stepStored(result: StepResult, stored: boolean): void {
    if (!stored) {
      // Not in the history, so no tool_result is owed; the client still gets each call closed.
      for (const call of allToolCalls(result)) this.unstoredCalls.push({ id: call.id, name: call.name });
      this.planned = [];
      return;
    }
    for (const call of allToolCalls(result)) this.unresolved.set(call.id, call.name);
    const runnable = runnableToolCalls(result);
    if (result.approvalRequested) {
      this.pendingApproval = runnable.map((c) => ({
        toolCallId: c.id,
        name: c.name,
        input: c.input ?? {},
        requiresApproval: c.requiresApproval,
        ...(this.clientToolNames.has(c.name) ? { clientTool: true as const } : {}),
      }));
      this.planned = [];
    } else {
      this.planned = result.outcome === 'completed' ? runnable.map((c) => ({ kind: 'execute', id: c.id, name: c.name, input: c.input ?? {} })) : [];
    }
  }

  toolInput(): ToolRunnerInput {
    const stop = new AbortController();
    this.stopController = stop;
    // Aborted by a cancel (stopTools) or when the actor is stopped (e.g. the run machine crashed).
    return { run: (signal) => this.runTools(AbortSignal.any([signal, stop.signal])) };
  }

  stopTools(): void {
    this.stopController?.abort();
  }

  /**
   * Every call gets its true outcome, also after a cancel: a call not yet started is reported
   * cancelled by executeTool without running, one that finished (or could not be stopped) keeps
   * its result — recorded in frames, messages and history like any other.
   */
  private async runTools(signal: AbortSignal): Promise<ToolRunnerOutput> {
    // The calls are the step's once its write is settled; a write it could not make fails the run.
    await this.drain();
    if (this.fault) throw new Error(this.fault);
    const calls = this.planned;
    this.planned = [];
    let endsTurn = false;
    for (const call of calls) {
      let status: 'success' | 'error';
      let output: string;
      if (call.kind === 'deny') {
        status = 'error';
        output = `Error: request to call tool denied. User reason: ${call.reason ?? 'none given'}`;
      } else if (call.kind === 'close') {
        status = 'error';
        output = call.output;
      } else if (call.kind === 'client_result') {
        status = call.status;
        output = call.output;
      } else if (call.name === MESSAGE_TOOL && this.o.agent.interfaceMode === 'kwargs') {
        // Letta's send_message: the message already streamed as assistant text; it ends the turn.
        status = 'success';
        output = 'Sent message successfully.';
        endsTurn = true;
      } else {
        const { [INNER_THOUGHTS_KWARG]: _thoughts, ...args } = call.input;
        const outcome = await executeTool(call.name, args, { signal, workspaceDir: this.o.workspaceDir, memory: agentMemory(this.o.store, this.o.agent.id) });
        status = outcome.status;
        output = outcome.output;
      }
      await this.recordToolResult(call.id, status, output);
    }
    await this.flushToolResults();
    return { endsTurn };
  }

  private async recordToolResult(toolCallId: string, status: 'success' | 'error', output: string): Promise<void> {
    const frame = this.showToolResult(toolCallId, status, output);
    this.journal.flush();
    // In the tool phase a refused write rejects the phase: the run fails.
    if (frame) {
      await this.mustStore('storing a tool return', () => this.fenced((tx) => tx.appendMessages(this.o.runId, this.o.agent.id, [frame])));
    }
  }

  /** Streams a call's tool return and queues its tool_result; null when the call is settled already. */
  private showToolResult(toolCallId: string, status: 'success' | 'error', output: string): ToolReturnMessage | null {
    const name = this.unresolved.get(toolCallId);
    if (name === undefined || !this.unresolved.delete(toolCallId)) return null;
    const frame = this.toolReturnFrame(toolCallId, status, output, name);
    this.o.log.append(frame);
    this.toolResults.push({ type: 'tool_result', tool_use_id: toolCallId, content: output, ...(status === 'error' ? { is_error: true } : {}) });
    return frame;
  }

  private toolReturnFrame(toolCallId: string, status: 'success' | 'error', output: string, name: string): ToolReturnMessage {
    return toolReturnMessage(this.o.runId, this.step?.stepId ?? null, { toolCallId, status, output, name });
  }


  /**
   * The tool results go to the history as one user turn; kept for another try if the store
   * refuses. `fencedTx`: a transaction of `fenced` to join (the run's end), else one of its own.
   */
  private async flushToolResults(fencedTx?: Store): Promise<void> {
    if (this.toolResults.length === 0) return;
    const content = this.toolResults;
    const write = (tx: Store) => tx.appendHistory(this.o.agent.id, this.o.runId, [{ role: 'user', content }]);
    await this.mustStore('storing tool results', () => (fencedTx ? write(fencedTx) : this.fenced(write)));
    this.toolResults = [];
  }

  /**
   * Synchronous to the machine and idempotent: the end is queued after the run's writes, and
   * its stop_reason frame (exactly one, also when the store refuses) follows the end that stands.
   */
  finalize(_status: 'completed' | 'failed' | 'cancelled', reason: StopReasonType): void {
    if (this.finalized) return;
    this.finalized = true;
    this.enqueue(() => this.finish(reason));
  }

  private async finish(reason: StopReasonType): Promise<void> {
    let end: RunEnding | null = null;
    try {
      end = await this.settleEnd(reason);
    } catch (err) {
      this.o.onWarning?.(`run ${this.o.runId}: ending the run failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const stopReason = end?.stopReason ?? 'error';
    this.guard('closing its stream', () => {
      this.o.log.error = end ? end.error : 'ending the run failed';
      this.o.log.append({ message_type: 'stop_reason', stop_reason: stopReason });
      this.o.log.append(usageFrame(this.usage, this.steps, [this.o.runId]));
      this.o.log.close({ type: 'run.end', run_id: this.o.runId, status: end?.status ?? 'failed', stop_reason: stopReason });
    });
    await this.journal.settled(); // the last batch is written before the run lets go
    this.guard('releasing the run', () => this.o.onFinished(end?.status ?? 'failed'));
  }

  /** Closes the run's open tool calls and writes its end; resolves to the end that stands. */
  private async settleEnd(reason: StopReasonType): Promise<RunEnding> {
    await this.journal.settled(); // a refused batch is a fault of the run
    // Close every tool call the model made that has no result, so the next request stays valid
    // (also the ones awaiting approval when a store error fails the run).
    const early: StopReasonType = this.fault ? 'error' : reason;
    const pending = new Set(early === 'requires_approval' ? this.pendingApproval.map((p) => p.toolCallId) : []);
    const closing = early === 'cancelled' ? CANCELLED_RESULT : `not run: the run ended with ${early}${this.fault || this.error ? ` (${this.fault ?? this.error})` : ''}`;
    for (const call of this.unstoredCalls) this.o.log.append(this.toolReturnFrame(call.id, 'error', closing, call.name));
    const returns = [...this.unresolved.keys()].filter((id) => !pending.has(id)).flatMap((id) => this.showToolResult(id, 'error', closing) ?? []);
    // One write for all of them.
    if (returns.length || this.toolResults.length) {
      await this.attempt('storing tool results', () =>
        this.fenced(async (tx) => {
          if (returns.length) await tx.appendMessages(this.o.runId, this.o.agent.id, returns);
          await this.flushToolResults(tx);
        }),
      );
    }
    // Any store error makes the run `failed`: the client must not be told the turn was kept.
    const stopReason: StopReasonType = this.fault ? 'error' : reason;
    const status = runStatusFor(stopReason);
    const usage = usageFrame(this.usage, this.steps, [this.o.runId]);
    const { prompt_tokens, completion_tokens, total_tokens, step_count, cached_input_tokens, cache_write_tokens } = usage;
    const totals: UsageTotals = { prompt_tokens, completion_tokens, total_tokens, step_count, cached_input_tokens, cache_write_tokens };
    const wanted: RunEnding = {
      runId: this.o.runId,
      agentId: this.o.agent.id,
      status: status === 'completed' || status === 'cancelled' ? status : 'failed',
      stopReason,
      usage: totals,
      error: status === 'failed' ? (this.fault ?? this.error ?? stopReason) : null,
      pending: stopReason === 'requires_approval' ? this.pendingApproval : null,
    };
    const end = await this.o.settle(wanted);
    if (end !== wanted) this.journal.stop(); // the store refuses: no last batch (restoreRunLog supplies the end)
    return end;
  }

  /** Queues `job` after the run's writes so far; the queue goes on whatever it does. */
  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err: unknown) => this.o.onWarning?.(`run ${this.o.runId}: a write failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Resolves once every write queued so far (and every journaled batch) is settled. */
  private async drain(): Promise<void> {
    for (let seen: Promise<void> | null = null; seen !== this.queue; ) {
      seen = this.queue;
      await seen;
    }
    await this.journal.settled();
  }

  /**
   * The run's own writes, in one transaction, refused unless the run is still ours and running (and holds it until
   * they commit): after a pause longer than this instance's lease another instance may have failed
   * the run, closed its tool calls and started the next turn; this run must not write after that.
   */
  private fenced(write: (tx: Store) => Promise<void>): Promise<void> {
    return this.o.store.transaction(async (tx) => {
      if (!(await tx.holdRun(this.o.runId, this.o.ownerId))) {
        throw new ServiceError('conflict', `run ${this.o.runId} is no longer running under this instance (${this.o.ownerId}): another instance ended it, so its writes are dropped`);
      }
      await write(tx);
    });
  }

  /** A store write whose failure fails the run; resolves to whether it was made. */
  private async attempt(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.noteFault(what, err);
      return false;
    }
  }

  /** A store write whose failure fails the run, and is rethrown (the tool phase rejects). */
  private async mustStore(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.noteFault(what, err);
      throw err;
    }
  }

  private noteFault(what: string, err: unknown): void {
    if (err === this.lastFault) return; // rethrown by an inner write: already noted
    this.lastFault = err;
    const message = storeFailure(what, err);
    this.fault ??= message;
    this.journal.stop();
    this.o.onWarning?.(`run ${this.o.runId}: ${message}`);
  }

  /** The finalizer must not throw: a failing part is reported and the rest still runs. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.o.onWarning?.(`run ${this.o.runId}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
