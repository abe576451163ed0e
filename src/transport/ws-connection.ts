import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { AgentService } from '../actors/agent-service.js';
import { toServiceError } from '../actors/errors.js';
import type { LogEntry, RunEnd, RunLog } from '../actors/run-log.js';
import { followPaced } from './paced-follow.js';
import { clientFrame, issuesOf, type ClientFrame, type ServerFrame } from './protocol.js';
import { toRunRequest } from './run-request.js';
import { assertWellFormed } from './well-formed.js';

export const CLOSE_SLOW_CONSUMER = 4008;
/** At most this many corked bytes wait for the end of the turn (one `writev`: ≈ 50 frames of a text run). */
const FLUSH_BYTES = 16 * 1024;

export interface WsConnectionOptions {
  /** Past this many bytes queued on the socket, that client is too slow: it is closed, the run goes on. */
  maxBufferedBytes: number;
  /** Ping interval (ms); a peer that has not answered the previous ping is closed. */
  heartbeatMs: number;
}

/**
 * One client socket: parses every frame, answers errors without closing, and keeps the run
 * subscriptions of this socket. Closing the socket is a disconnect, never a cancel.
 */
export class WsConnection {
  private readonly subscriptions = new Map<string, () => void>();
  /** Last seq_id delivered per run, for the resubscribe hint when this client is dropped. */
  private readonly lastSeq = new Map<string, number>();
  private closed = false;
  private alive = true;
  /** The frames being handled, in order. Never rejects. */
  private inbox: Promise<void> = Promise.resolve();
  private readonly heartbeat: NodeJS.Timeout;
  /** The socket is corked from the first frame of an event-loop turn until the next `setImmediate`. */
  private corked = false;
  /** The socket's queued bytes when it was last corked (or flushed while corked). */
  private corkedAt = 0;
  /**
   * Corked bytes count in `bufferedAmount` like bytes the client has not taken: past this many in
   * one turn they are written at once, so backpressure measures the client, not the batch.
   */
  private readonly flushBytes: number;
  private readonly uncork = () => {
    this.corked = false;
    this.socket?.uncork();
  };

  /**
   * `socket` is the one the server's `upgrade` handler got (the one under `ws`): the frames sent
   * to this client within one event-loop turn are corked on it and leave in one `writev`, not one
   * system call per frame. Corked bytes are in the socket's writable buffer, so `bufferedAmount`
   * (and the backpressure that reads it) still sees them; order is the socket's own.
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly service: AgentService,
    private readonly o: WsConnectionOptions,
    private readonly socket?: Duplex,
  ) {
    ws.on('message', (data, isBinary) => {
      // The last guard: whatever a frame does, the socket gets an answer and the process lives.
      try {
        this.onMessage(data.toString(), isBinary);
      } catch (err) {
        this.send({ type: 'error', code: 'internal', message: toServiceError(err).message });
      }
    });
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.dispose());
    ws.on('error', () => this.dispose());
    this.heartbeat = setInterval(() => this.ping(), o.heartbeatMs);
    this.flushBytes = Math.min(FLUSH_BYTES, Math.floor(o.maxBufferedBytes / 8));
    this.heartbeat.unref();
  }

  /** Half-open sockets (a peer gone without a FIN) would hold a connection forever. */
  private ping(): void {
    if (!this.alive) {
      this.dispose();
      return void this.ws.terminate();
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      this.dispose();
    }
  }

  private send(frame: ServerFrame | string): void {
    if (this.closed) return;
    try {
      const socket = this.socket;
      if (socket && !this.corked && socket.writable) {
        this.corked = true;
        socket.cork();
        this.corkedAt = socket.writableLength;
        setImmediate(this.uncork);
      }
      this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
      if (socket && this.corked && socket.writableLength - this.corkedAt >= this.flushBytes) {
        socket.uncork();
        socket.cork();
        this.corkedAt = socket.writableLength;
      }
    } catch {
      this.dispose();
    }
  }

  private onMessage(text: string, isBinary: boolean): void {
    if (isBinary) return this.send({ type: 'error', code: 'invalid_request', message: 'frames are JSON text, not binary' });
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.send({ type: 'error', code: 'invalid_request', message: 'the frame is not valid JSON' });
    }
    const requestId = typeof raw === 'object' && raw !== null && typeof (raw as { request_id?: unknown }).request_id === 'string' ? (raw as { request_id: string }).request_id : undefined;
    try {
      assertWellFormed(raw, 'the frame');
    } catch (err) {
      const e = toServiceError(err);
      return this.send({ type: 'error', ...(requestId ? { request_id: requestId } : {}), code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) });
    }
    const parsed = clientFrame.safeParse(raw);
    if (!parsed.success) {
      return this.send({ type: 'error', ...(requestId ? { request_id: requestId } : {}), code: 'invalid_request', message: 'the frame does not follow the protocol', issues: issuesOf(parsed.error) });
    }
    const data = parsed.data;
    // One frame after another: answers come in the order of the requests.
    this.inbox = this.inbox
      .then(() => this.handle(data))
      .catch((err: unknown) => {
        const e = toServiceError(err);
        this.send({ type: 'error', request_id: data.request_id, code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) });
      });
  }

  private async handle(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'run.start': {
        const { runId, agentId, log } = await this.service.startRun(frame.agent_id, toRunRequest(frame.messages), frame.max_steps, frame.client_tools ?? [], frame.conversation_id ?? null);
        this.send({ type: 'run.started', request_id: frame.request_id, run_id: runId, agent_id: agentId });
        this.follow(log, 0);
        return;
      }
      case 'run.subscribe': {
        const after = frame.after_seq_id ?? 0;
        const log = await this.service.streamableLog(frame.run_id); // not_found before any acknowledgement
        this.subscriptions.get(frame.run_id)?.();
        this.send({ type: 'run.subscribed', request_id: frame.request_id, run_id: frame.run_id, after_seq_id: after });
        this.follow(log, after);
        return;
      }
      case 'run.unsubscribe':
        this.subscriptions.get(frame.run_id)?.();
        this.subscriptions.delete(frame.run_id);
        this.send({ type: 'run.unsubscribed', request_id: frame.request_id, run_id: frame.run_id });
        return;
      case 'run.cancel': {
        const r = await this.service.cancelRun(frame.run_id);
        this.send({ type: 'run.cancel.result', request_id: frame.request_id, ...r });
        return;
      }
      case 'agent.cancel': {
        const r = await this.service.cancelAgent(frame.agent_id, undefined, frame.conversation_id ?? null);
        this.send({ type: 'agent.cancel.result', request_id: frame.request_id, ...r });
        return;
      }
    }
  }

  private follow(log: RunLog, afterSeq: number): void {
    const runId = log.runId;
    let ended = false;
    const unsubscribe = followPaced(
      log,
      afterSeq,
      {
        frame: (entry: LogEntry) => {
          this.lastSeq.set(runId, entry.seq);
          this.send(entry.json);
        },
        state: (t) => this.send({ type: 'run.state', run_id: runId, run: t.run, step: t.step, seq: t.seq, at: t.at, seq_id: t.seqId }),
        end: (end: RunEnd) => {
          ended = true;
          this.send(end);
          this.subscriptions.delete(runId);
        },
      },
      { buffered: () => this.ws.bufferedAmount, closed: () => this.closed },
      { maxBufferedBytes: this.o.maxBufferedBytes, onTooSlow: () => this.dropSlowClient(runId) },
    );
    // The backlog may already have ended the run, or dropped this client.
    if (ended || this.closed) unsubscribe();
    else this.subscriptions.set(runId, unsubscribe);
  }

  /** Backpressure: one slow client must not hold the run or other clients; it resubscribes later. */
  private dropSlowClient(runId: string): void {
    if (this.closed) return;
    const seq = this.lastSeq.get(runId) ?? 0;
    const reason = `too slow: resubscribe to ${runId} with after_seq_id ${seq}`.slice(0, 123);
    this.dispose();
    try {
      this.ws.close(CLOSE_SLOW_CONSUMER, reason);
    } catch {
      this.ws.terminate();
    }
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }
}
