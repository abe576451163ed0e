import WebSocket from 'ws';
import type { LettaFrame, RunStatus, StopReasonType } from '../letta/frames.js';
import type { ClientFrame, ServerFrame } from './protocol.js';

/**
 * The typed client of the WebSocket protocol (`letta-stream/client`): start runs, iterate their
 * frames, cancel, approve. A dropped connection reconnects and resubscribes every open run from
 * its last seq_id, so no frame is lost or repeated.
 *
 *   const c = await connect('ws://127.0.0.1:8283/v1/ws');
 *   const run = c.start('demo', [{ role: 'user', content: 'hi' }]);
 *   for await (const frame of run) console.log(frame.message_type);
 */
export type RunFrame = LettaFrame & { run_id: string; seq_id: number };
export type RunMessages = Extract<ClientFrame, { type: 'run.start' }>['messages'];
type RunStart = Extract<ClientFrame, { type: 'run.start' }>;

/** How a run starts besides its messages: steps, the turn's client tools, the conversation. */
export interface StartOptions {
  maxSteps?: number;
  /** Tools the client runs (Letta's `client_tools`): a call to one ends the run with requires_approval; answer it with toolReturn. */
  clientTools?: NonNullable<RunStart['client_tools']>;
  /** One of the agent's conversations; absent: its own history. */
  conversationId?: string;
}
export interface RunEndInfo {
  status: RunStatus;
  stop_reason: StopReasonType;
}

export interface ConnectOptions {
  token?: string;
  /** Reconnect after a drop (default true), waiting 100 ms, 200 ms, … up to 5 s between tries. */
  reconnect?: boolean;
  maxRetries?: number;
}

export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** One run: an async iterable of its frames, ending after the stop reason and usage. */
export class RunHandle implements AsyncIterable<RunFrame> {
  runId: string | null = null;
  lastSeq = 0;
  end: RunEndInfo | null = null;
  readonly started: Promise<string>;
  private readonly queue: RunFrame[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private resolveStart!: (id: string) => void;
  private rejectStart!: (e: Error) => void;

  constructor(private readonly client: LettaStreamClient) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    this.started.catch(() => {});
  }

  /** @internal */ _started(runId: string): void {
    this.runId = runId;
    this.resolveStart(runId);
  }
  /** @internal */ _frame(f: RunFrame): void {
    if (f.seq_id <= this.lastSeq) return; // a resubscribe never repeats a frame
    this.lastSeq = f.seq_id;
    this.queue.push(f);
    this.wake?.();
  }
  /** @internal */ _end(info: RunEndInfo): void {
    this.end = info;
    this.wake?.();
  }
  /** @internal */ _fail(err: Error): void {
    this.failure = err;
    this.rejectStart(err);
    this.wake?.();
  }

  async cancel(): Promise<void> {
    const id = await this.started;
    await this.client.request({ type: 'run.cancel', run_id: id });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunFrame> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.end) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

export class LettaStreamClient {
  private ws!: WebSocket;
  private n = 0;
  private closedByUser = false;
  private readonly pending = new Map<string, { resolve: (f: ServerFrame) => void; reject: (e: Error) => void; run?: RunHandle }>();
  private readonly runs = new Map<string, RunHandle>();

  constructor(
    private readonly url: string,
    private readonly options: ConnectOptions = {},
  ) {}

  /** @internal */ async open(): Promise<void> {
    const headers = this.options.token ? { authorization: `Bearer ${this.options.token}` } : undefined;
    const ws = new WebSocket(this.url, headers ? { headers } : {});
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    this.ws = ws;
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as ServerFrame | RunFrame));
    ws.on('close', (code, reason) => void this.onClose(code, reason.toString()));
    ws.on('error', () => {});
  }

  private onFrame(f: ServerFrame | RunFrame): void {
    if ('message_type' in f) {
      this.runs.get(f.run_id)?._frame(f);
      return;
    }
    if (f.type === 'run.end') {
      const run = this.runs.get(f.run_id);
      this.runs.delete(f.run_id);
      run?._end({ status: f.status, stop_reason: f.stop_reason });
      return;
    }
    const waiter = 'request_id' in f && f.request_id ? this.pending.get(f.request_id) : undefined;
    if (!waiter) return;
    this.pending.delete((f as { request_id: string }).request_id);
    if (f.type === 'error') {
      const err = new ProtocolError(f.code, f.message);
      waiter.run?._fail(err);
      waiter.reject(err);
      return;
    }
    if (f.type === 'run.started' && waiter.run) {
      this.runs.set(f.run_id, waiter.run);
      waiter.run._started(f.run_id);
    }
    waiter.resolve(f);
  }

  private async onClose(code: number, reason: string): Promise<void> {
    if (this.closedByUser) return;
    const lost = new Error(`connection closed (${code}${reason ? ` ${reason}` : ''})`);
    for (const p of this.pending.values()) p.reject(lost);
    this.pending.clear();
    if (this.options.reconnect === false) {
      for (const r of this.runs.values()) r._fail(lost);
      return;
    }
    for (let attempt = 0; attempt < (this.options.maxRetries ?? 20); attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      try {
        await this.open();
        // resume every open run where it stopped
        for (const [runId, run] of this.runs) this.send({ type: 'run.subscribe', request_id: this.nextId(), run_id: runId, after_seq_id: run.lastSeq });
        return;
      } catch {
        // try again
      }
    }
    for (const r of this.runs.values()) r._fail(lost);
  }

  private nextId(): string {
    return `c${++this.n}`;
  }

  private send(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a request and resolves with its answer (rejects with ProtocolError on an error frame). */
  request(frame: DistributiveOmit<ClientFrame, 'request_id'>, run?: RunHandle): Promise<ServerFrame> {
    const request_id = this.nextId();
    return new Promise((resolve, reject) => {
      this.pending.set(request_id, { resolve, reject, ...(run ? { run } : {}) });
      this.send({ ...frame, request_id } as ClientFrame);
    });
  }

  /** `options`: a number is max steps (the older form). */
  start(agentId: string, messages: RunMessages, options: number | StartOptions = {}): RunHandle {
    const o: StartOptions = typeof options === 'number' ? { maxSteps: options } : options;
    const run = new RunHandle(this);
    const frame = {
      type: 'run.start' as const,
      agent_id: agentId,
      messages,
      ...(o.maxSteps ? { max_steps: o.maxSteps } : {}),
      ...(o.clientTools ? { client_tools: o.clientTools } : {}),
      ...(o.conversationId ? { conversation_id: o.conversationId } : {}),
    };
    this.request(frame, run).catch(() => {});
    return run;
  }

  /** Answer a pending approval: a new run that executes (or denies) the tool call. */
  approve(agentId: string, toolCallId: string, o: { approve?: boolean; reason?: string; conversationId?: string } = {}): RunHandle {
    const approvals = [{ type: 'approval' as const, tool_call_id: toolCallId, approve: o.approve ?? true, reason: o.reason ?? null }];
    return this.start(agentId, [{ type: 'approval', approvals }], o.conversationId ? { conversationId: o.conversationId } : {});
  }

  /** Answer a client tool's call with what the client's run of it returned; the turn goes on. */
  toolReturn(agentId: string, toolCallId: string, toolReturn: string, o: { status?: 'success' | 'error' } & StartOptions = {}): RunHandle {
    const { status, ...start } = o;
    const approvals = [{ type: 'tool' as const, tool_call_id: toolCallId, tool_return: toolReturn, status: status ?? 'success' }];
    return this.start(agentId, [{ type: 'approval', approvals }], start);
  }

  /** Watch a run (from after `afterSeq`). */
  subscribe(runId: string, afterSeq = 0): RunHandle {
    const run = new RunHandle(this);
    run.lastSeq = afterSeq;
    this.runs.set(runId, run);
    run._started(runId);
    this.request({ type: 'run.subscribe', run_id: runId, after_seq_id: afterSeq }).catch((e: Error) => run._fail(e));
    return run;
  }

  async cancelAgent(agentId: string): Promise<ServerFrame> {
    return this.request({ type: 'agent.cancel', agent_id: agentId });
  }

  /** @internal for tests: drop the socket as a network failure would. */
  _dropConnection(): void {
    this.ws.terminate();
  }

  close(): void {
    this.closedByUser = true;
    this.ws.close();
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export async function connect(url: string, options: ConnectOptions = {}): Promise<LettaStreamClient> {
  const client = new LettaStreamClient(url, options);
  await client.open();
  return client;
}
