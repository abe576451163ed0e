import net from 'node:net';

export interface RawAnswer {
  /** The status code of the first response, or null when the server closed without one. */
  status: number | null;
  head: string;
  body: string;
  /** The server closed the connection (rather than the wait running out). */
  closed: boolean;
}

/**
 * Sends bytes exactly as given (no client-side validation, unlike fetch) and collects what comes
 * back until the server closes or `ms` pass.
 */
export function rawRequest(url: string, bytes: string | Buffer, ms = 3000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), hostname);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : null, head, body: rest.join('\r\n\r\n'), closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(bytes);
  });
}

/** A minimal HTTP/1.1 request with `connection: close`, so the answer ends with the connection. */
export function httpRequest(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const h = { host: '127.0.0.1', connection: 'close', ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers };
  return `${method} ${target} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

/** The JSON body of a raw answer (chunked encoding is not used by the server's JSON answers). */
export function jsonOf(a: RawAnswer): { detail?: string; error?: { code: string } } {
  return JSON.parse(a.body) as { detail?: string; error?: { code: string } };
}
