import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { AgentService } from '../actors/agent-service.js';
import { httpStatusFor, ServiceError, toServiceError } from '../actors/errors.js';
import { renderChart } from '../charts/index.js';
import { tokenMatches } from './auth.js';
import { checkOrigin, corsHeaders, decodeSegment, normalizeOrigin, requestUrl, type OriginPolicy } from './http-guard.js';
import { httpRoutes, readJsonBody, sendError, sendJson } from './http-routes.js';
import { handleConversationResume, handleConversationTurn, handleLettaTurn, handleRunResume } from './letta-messages.js';
import { resolveLimits, type ServerLimits, type ServerLimitsInput } from './limits.js';
import { WsConnection } from './ws-connection.js';

export interface LettaStreamServerOptions {
  service: AgentService;
  host?: string;
  port?: number;
  /** When set, every HTTP request and WebSocket upgrade must carry it. */
  token?: string | null;
  /** Browser origins allowed besides the instance's own pages (`--allow-origin`). */
  allowedOrigins?: readonly string[];
  limits?: ServerLimitsInput;
  /** Letta streams with include_pings: ping after this much silence (ms). */
  pingIntervalMs?: number;
  warn?: (message: string) => void;
  /**
   * Frames sent to one WebSocket client within one event-loop turn leave in one socket write
   * (default). `false` writes each frame with its own system call, as `ws` does alone: only the
   * bench's same-run baseline turns it off.
   */
  coalesceWrites?: boolean;
  /** Opt-in benchmark instrumentation: `GET /debug/stats` (`?reset=1`) answers it; no route without it. */
  debugStats?: (reset: boolean) => unknown;
}

export interface LettaStreamServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly http: Server;
  readonly limits: ServerLimits;
  /** Stop accepting, cancel live runs (the same finalizer), close sockets. */
  close(): Promise<void>;
}

export const CLOSE_UNAUTHORIZED = 4401;
export const MAX_FRAME_BYTES = 1024 * 1024;
/** How long shutdown waits for cancelled runs to settle (a tool write that had begun) before closing sockets. */
export const SHUTDOWN_DRAIN_MS = 5000;

const INSPECTOR_PAGE = new URL('../../inspector/index.html', import.meta.url);

function sendInspectorPage(res: ServerResponse): void {
  const html = readFileSync(INSPECTOR_PAGE);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': html.length });
  res.end(html);
}

/** An HTTP answer written straight to a socket (before or instead of an HTTP exchange). */
function rawAnswer(socket: Duplex, err: ServiceError): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ detail: err.message, error: { code: err.code, message: err.message } });
  const status = httpStatusFor(err.code);
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nx-should-retry: false\r\nconnection: close\r\n\r\n${body}`,
  );
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Node's parser errors (malformed request line, oversized headers, timeouts) as JSON answers. */
function clientErrorAnswer(err: NodeJS.ErrnoException): ServiceError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ServiceError('headers_too_large', 'the request headers are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ServiceError('request_timeout', 'the request was not received in time');
    default:
      return new ServiceError('invalid_request', 'the request is not valid HTTP');
  }
}

/** HTTP and the WebSocket protocol on one port. */
export async function startServer(o: LettaStreamServerOptions): Promise<LettaStreamServer> {
  const token = o.token ?? null;
  const limits = resolveLimits(o.limits, o.warn);
  const allowed = new Set<string>();
  for (const origin of o.allowedOrigins ?? []) {
    const n = normalizeOrigin(origin);
    if (n === null) throw new Error(`--allow-origin ${origin}: not an http(s) origin such as http://localhost:5173`);
    allowed.add(n);
  }
  const policy: OriginPolicy = { loopbackHostsOnly: token === null, allowedOrigins: allowed };
  const routes = httpRoutes(o.service);
  const body = (req: IncomingMessage) => () => readJsonBody(req, limits.maxBodyBytes);

  /** Every request: guards first (target, Host/Origin, token), then the routes. Throws only ServiceErrors. */
  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = requestUrl(req);
    const verdict = checkOrigin(req, policy);
    if (!verdict.ok) throw verdict.error;
    if (verdict.corsOrigin) {
      for (const [k, v] of Object.entries(corsHeaders(verdict.corsOrigin))) res.setHeader(k, v);
      if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    }
    if (!tokenMatches(token, req, url)) throw new ServiceError('unauthorized', 'missing or wrong token: send Authorization: Bearer <LETTA_STREAM_TOKEN>');
    // The inspector page and its charts: the package's own files, no CDN.
    if (req.method === 'GET' && (url.pathname === '/inspect' || url.pathname === '/inspect/')) return sendInspectorPage(res);
    const chart = req.method === 'GET' ? /^\/inspect\/charts\/(run|stream|agent)\.svg$/.exec(url.pathname) : null;
    if (chart) {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      return void res.end(renderChart(chart[1]!, 'svg'));
    }
    if (o.debugStats && req.method === 'GET' && url.pathname === '/debug/stats') return sendJson(res, 200, o.debugStats(url.searchParams.get('reset') === '1'));
    // Letta's streaming endpoints write to the response themselves.
    const turn = req.method === 'POST' ? /^\/v1\/agents\/([^/]+)\/messages(\/stream)?\/?$/.exec(url.pathname) : null;
    if (turn) return void handleLettaTurn(o.service, decodeSegment(turn[1]!), req, res, body(req), { maxBufferedBytes: limits.maxBufferedBytes, ...(o.pingIntervalMs ? { pingMs: o.pingIntervalMs } : {}) }).catch((err: unknown) => sendError(res, err));
    const convTurn = req.method === 'POST' ? /^\/v1\/conversations\/([^/]+)\/messages\/?$/.exec(url.pathname) : null;
    if (convTurn) return void handleConversationTurn(o.service, decodeSegment(convTurn[1]!), res, body(req), { maxBufferedBytes: limits.maxBufferedBytes, ...(o.pingIntervalMs ? { pingMs: o.pingIntervalMs } : {}) }).catch((err: unknown) => sendError(res, err));
    const convResume = req.method === 'POST' ? /^\/v1\/conversations\/([^/]+)\/stream\/?$/.exec(url.pathname) : null;
    if (convResume) return void handleConversationResume(o.service, decodeSegment(convResume[1]!), res, body(req), limits.maxBufferedBytes).catch((err: unknown) => sendError(res, err));
    const resume = req.method === 'POST' ? /^\/v1\/runs\/([^/]+)\/stream\/?$/.exec(url.pathname) : null;
    if (resume) return void handleRunResume(o.service, decodeSegment(resume[1]!), res, body(req), limits.maxBufferedBytes).catch((err: unknown) => sendError(res, err));
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    const r = candidates.find((c) => c.method === req.method);
    if (!r) {
      // Neither answer changes on a retry: the client is told not to send it again (POSTs included).
      res.setHeader('x-should-retry', 'false');
      if (candidates.length) return sendJson(res, 405, { detail: `${req.method} is not allowed on ${url.pathname}`, error: { code: 'invalid_request', message: `${req.method} is not allowed on ${url.pathname}` } });
      // The rest of Letta's API is not served: say so, never answer something silently wrong.
      if (url.pathname.startsWith('/v1/')) return sendJson(res, 501, { detail: `letta-stream does not serve ${req.method} ${url.pathname} (see docs/letta-api.md)` });
      throw new ServiceError('not_found', `no route ${req.method} ${url.pathname}`);
    }
    const m = r.pattern.exec(url.pathname) as RegExpExecArray;
    const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeSegment(m[i + 1] ?? '')]));
    Promise.resolve()
      .then(() => r.handle(params, body(req), url.searchParams))
      .then((value) => sendJson(res, req.method === 'POST' && /^\/v1\/agents\/?$/.test(url.pathname) ? 201 : 200, value))
      .catch((err: unknown) => sendError(res, err));
  }

  // Timeouts are enforced by a periodic check; make it as fine as the shortest timeout needs.
  const connectionsCheckingInterval = Math.max(250, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4);
  const http = createServer({ connectionsCheckingInterval }, (req, res) => {
    // A fault in one request's handling answers that request; it never takes the process down.
    try {
      route(req, res);
    } catch (err) {
      const e = toServiceError(err);
      if (e.code === 'internal') o.warn?.(`request ${req.method} ${String(req.url).slice(0, 200)}: ${e.message}`);
      try {
        sendError(res, e);
      } catch {
        res.destroy();
      }
    }
  });
  http.headersTimeout = limits.headersTimeoutMs;
  http.requestTimeout = limits.requestTimeoutMs;
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    rawAnswer(socket, clientErrorAnswer(err));
  });

  // The connection cap: past it, a clear 503 rather than file-descriptor exhaustion.
  let connections = 0;
  http.on('connection', (socket: Socket) => {
    socket.on('error', () => socket.destroy());
    if (connections >= limits.maxConnections) {
      rawAnswer(socket, new ServiceError('unavailable', `too many connections (limit ${limits.maxConnections}); try again later`));
      return;
    }
    connections++;
    socket.once('close', () => connections--);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  wss.on('wsClientError', (_err, socket) => socket.destroy());
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = requestUrl(req);
      const verdict = checkOrigin(req, policy);
      if (!verdict.ok) return rawAnswer(socket, verdict.error);
      if (url.pathname !== '/v1/ws') return rawAnswer(socket, new ServiceError('not_found', `no WebSocket endpoint at ${url.pathname}; use /v1/ws`));
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (!tokenMatches(token, req, url)) {
          ws.close(CLOSE_UNAUTHORIZED, 'unauthorized: missing or wrong token (Authorization: Bearer … or ?token=)');
          return;
        }
        new WsConnection(ws, o.service, { maxBufferedBytes: limits.maxBufferedBytes, heartbeatMs: limits.heartbeatMs }, o.coalesceWrites === false ? undefined : socket);
      });
    } catch (err) {
      rawAnswer(socket, toServiceError(err));
    }
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 8283, o.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  // After listening, a server error (e.g. accept failing under EMFILE) is reported, not fatal.
  http.on('error', (err) => o.warn?.(`server: ${err.message}`));
  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    wsUrl: `ws://${host}:${addr.port}/v1/ws`,
    http,
    limits,
    close() {
      closing ??= (async () => {
        http.close();
        await o.service.shutdown();
        // Let the cancelled runs settle and their final frames reach the sockets, then close them.
        if (!(await o.service.whenIdle(SHUTDOWN_DRAIN_MS))) o.warn?.(`shutdown: ${o.service.liveRunCount} run(s) still settling after ${SHUTDOWN_DRAIN_MS} ms`);
        await new Promise((r) => setImmediate(r));
        for (const ws of wss.clients) ws.close(1001, 'server shutting down');
        wss.close();
        http.closeAllConnections();
        await new Promise((r) => setTimeout(r, 20));
        for (const ws of wss.clients) ws.terminate();
      })();
      return closing;
    },
  };
}
