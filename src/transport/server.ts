import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { renderChart } from '../charts/index.js';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { AgentService } from '../actors/agent-service.js';
import { ServiceError } from '../actors/errors.js';
import { tokenMatches } from './auth.js';
import { httpRoutes, readJsonBody, sendError, sendJson } from './http-routes.js';
import { handleLettaTurn, handleRunResume } from './letta-messages.js';
import { WsConnection } from './ws-connection.js';

export interface LettaStreamServerOptions {
  service: AgentService;
  host?: string;
  port?: number;
  /** When set, every HTTP request and WebSocket upgrade must carry it. */
  token?: string | null;
  maxBufferedBytes?: number;
  /** Letta streams with include_pings: ping after this much silence (ms). */
  pingIntervalMs?: number;
}

export interface LettaStreamServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly http: Server;
  /** Stop accepting, cancel live runs (the same finalizer), close sockets. */
  close(): Promise<void>;
}

export const CLOSE_UNAUTHORIZED = 4401;

const INSPECTOR_PAGE = new URL('../../inspector/index.html', import.meta.url);

function sendInspectorPage(res: ServerResponse): void {
  const html = readFileSync(INSPECTOR_PAGE);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': html.length });
  res.end(html);
}
export const MAX_FRAME_BYTES = 1024 * 1024;

/** HTTP and the WebSocket protocol on one port. */
export async function startServer(o: LettaStreamServerOptions): Promise<LettaStreamServer> {
  const token = o.token ?? null;
  const routes = httpRoutes(o.service);
  const http = createServer((req, res) => {
    if (!tokenMatches(token, req)) return sendError(res, new ServiceError('unauthorized', 'missing or wrong token: send Authorization: Bearer <LETTA_STREAM_TOKEN>'));
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The inspector page and its charts: the package's own files, no CDN.
    if (req.method === 'GET' && (url.pathname === '/inspect' || url.pathname === '/inspect/')) return sendInspectorPage(res);
    const chart = req.method === 'GET' ? /^\/inspect\/charts\/(run|stream)\.svg$/.exec(url.pathname) : null;
    if (chart) {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      return void res.end(renderChart(chart[1]!, 'svg'));
    }
    // Letta's streaming endpoints write to the response themselves.
    const turn = req.method === 'POST' ? /^\/v1\/agents\/([^/]+)\/messages(\/stream)?\/?$/.exec(url.pathname) : null;
    if (turn) return void handleLettaTurn(o.service, decodeURIComponent(turn[1]!), req, res, () => readJsonBody(req), o.pingIntervalMs);
    const resume = req.method === 'POST' ? /^\/v1\/runs\/([^/]+)\/stream\/?$/.exec(url.pathname) : null;
    if (resume) return void handleRunResume(o.service, decodeURIComponent(resume[1]!), res, () => readJsonBody(req));
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    const r = candidates.find((c) => c.method === req.method);
    if (!r) {
      if (candidates.length) return sendJson(res, 405, { detail: `${req.method} is not allowed on ${url.pathname}`, error: { code: 'invalid_request', message: `${req.method} is not allowed on ${url.pathname}` } });
      // The rest of Letta's API is not served: say so, never answer something silently wrong.
      if (url.pathname.startsWith('/v1/')) return sendJson(res, 501, { detail: `letta-stream does not serve ${req.method} ${url.pathname} (see docs/letta-api.md)` });
      return sendError(res, new ServiceError('not_found', `no route ${req.method} ${url.pathname}`));
    }
    const m = r.pattern.exec(url.pathname) as RegExpExecArray;
    const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1] ?? '')]));
    Promise.resolve()
      .then(() => r.handle(params, () => readJsonBody(req), url.searchParams))
      .then((value) => sendJson(res, req.method === 'POST' && url.pathname === '/v1/agents' ? 201 : 200, value))
      .catch((err: unknown) => sendError(res, err));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!tokenMatches(token, req)) {
        ws.close(CLOSE_UNAUTHORIZED, 'unauthorized: missing or wrong token (Authorization: Bearer … or ?token=)');
        return;
      }
      new WsConnection(ws, o.service, o.maxBufferedBytes);
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 8283, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    wsUrl: `ws://${host}:${addr.port}/v1/ws`,
    http,
    close() {
      closing ??= (async () => {
        http.close();
        o.service.shutdown();
        // Let the final frames of the cancelled runs reach the sockets, then close them.
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
