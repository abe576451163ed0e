import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { InvalidRequest, messagesRequest, validateHistory } from './request.js';
import { plan } from './script.js';
import { Signer } from './signature.js';
import { message, writeStream } from './wire.js';

export interface AnthropicServerOptions {
  host?: string;
  port?: number;
  defaultDelayMs?: number;
  /** HMAC key for thinking signatures; random per process by default. */
  secret?: string;
}

export interface AnthropicServerStats {
  requests: number;
  streamsOpen: number;
  /** The client closed the connection before the stream ended (a cancel aborts the upstream request). */
  streamsAborted: number;
  streamsCompleted: number;
}

export interface AnthropicServer {
  readonly url: string;
  readonly stats: AnthropicServerStats;
  on(event: 'abort' | 'request', fn: (info: { requestId: string }) => void): void;
  /** Each request's parsed JSON body, as it arrived (for tests that check what was sent). */
  onBody(fn: (body: unknown) => void): void;
  close(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;

function apiError(res: ServerResponse, status: number, type: string, msg: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message: msg } }));
}

/** The models the built-in server answers to, newest first as Anthropic lists them. */
export const BUILT_IN_MODELS = [
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', created_at: '2026-02-17T00:00:00Z' },
  { id: 'claude-opus-4-1', display_name: 'Claude Opus 4.1', created_at: '2025-08-05T00:00:00Z' },
  { id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
];

/** Anthropic's `GET /v1/models`: one page (`limit`, `after_id`), `has_more` when there is more. */
function listModels(res: ServerResponse, url: URL): void {
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 20) || 20, 1), 1000);
  const after = url.searchParams.get('after_id');
  const start = after ? BUILT_IN_MODELS.findIndex((m) => m.id === after) + 1 : 0;
  const page = BUILT_IN_MODELS.slice(start, start + limit).map((m) => ({ type: 'model', ...m }));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ data: page, has_more: start + limit < BUILT_IN_MODELS.length, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null }));
}

/**
 * A deterministic Anthropic-compatible server (POST /v1/messages), so demos and tests run the real
 * SDK over real HTTP with no network. See docs/protocol.md for the directives it understands.
 */
export async function startAnthropicServer(options: AnthropicServerOptions = {}): Promise<AnthropicServer> {
  const signer = new Signer(options.secret);
  const stats: AnthropicServerStats = { requests: 0, streamsOpen: 0, streamsAborted: 0, streamsCompleted: 0 };
  const listeners = { abort: [] as Array<(i: { requestId: string }) => void>, request: [] as Array<(i: { requestId: string }) => void> };
  const bodyListeners: Array<(body: unknown) => void> = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/v1/models' && req.method === 'GET') return listModels(res, url);
    if (url.pathname !== '/v1/messages') return apiError(res, 404, 'not_found_error', `Not found: ${url.pathname}`);
    if (req.method !== 'POST') return apiError(res, 405, 'invalid_request_error', `Method ${req.method} not allowed`);
    const requestId = randomUUID();
    stats.requests++;
    for (const f of listeners.request) f({ requestId });
    let text = '';
    for await (const chunk of req) {
      text += chunk;
      if (text.length > MAX_BODY) return apiError(res, 413, 'request_too_large', 'Request exceeds the maximum size');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return apiError(res, 400, 'invalid_request_error', 'The request body is not valid JSON');
    }
    for (const f of bodyListeners) f(body);
    const parsed = messagesRequest.safeParse(body);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return apiError(res, 400, 'invalid_request_error', `${i?.path.join('.') || 'body'}: ${i?.message ?? 'invalid'}`);
    }
    let p;
    try {
      validateHistory(parsed.data.messages, signer);
      p = plan(parsed.data, signer, options.defaultDelayMs ?? 5);
    } catch (err) {
      if (err instanceof InvalidRequest) return apiError(res, 400, 'invalid_request_error', err.message);
      throw err;
    }
    if (p.error === 'overloaded') return apiError(res, 529, 'overloaded_error', 'Overloaded', { 'x-should-retry': 'false' });
    if (!parsed.data.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(message(p, parsed.data.model)));
      return;
    }
    // The stream: watch for the client going away, and stop at once when it does.
    let aborted = false;
    let finished = false;
    const wakers = new Set<() => void>();
    res.on('close', () => {
      if (finished) return;
      aborted = true;
      stats.streamsAborted++;
      for (const w of wakers) w();
      for (const f of listeners.abort) f({ requestId });
    });
    stats.streamsOpen++;
    try {
      const outcome = await writeStream(res, p, parsed.data.model, {
        get aborted() {
          return aborted;
        },
        sleep: (ms) =>
          new Promise<void>((resolve) => {
            if (aborted) return resolve();
            const done = () => {
              clearTimeout(t);
              timers.delete(t);
              wakers.delete(done);
              resolve();
            };
            const t = setTimeout(done, ms);
            timers.add(t);
            wakers.add(done);
          }),
      });
      if (outcome === 'completed') stats.streamsCompleted++;
    } finally {
      finished = finished || !aborted;
      stats.streamsOpen--;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => apiError(res, 500, 'api_error', `internal error: ${(err as Error).message}`));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address}:${addr.port}`,
    stats,
    on(event, fn) {
      listeners[event].push(fn);
    },
    onBody(fn) {
      bodyListeners.push(fn);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
