import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { AgentService } from '../actors/agent-service.js';
import { statelyInspector } from '../actors/stately-inspector.js';
import { startAnthropicServer } from '../anthropic-server/index.js';
import { DataDirLockedError, lockDataDir } from '../store/instance-lock.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { isLoopbackName, normalizeOrigin } from '../transport/http-guard.js';
import { startServer } from '../transport/server.js';
import { StartError, UsageError } from './errors.js';

export { SERVE_USAGE } from './usage.js';
export { StartError };


const serveFlags = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535, '--port must be 0..65535').default(8283),
  'data-dir': z.string().min(1).default('.letta-stream'),
  inspect: z.string().regex(/^wss?:\/\//, '--inspect takes a ws:// or wss:// URL').optional(),
  'allow-origin': z.array(z.string().refine((o) => normalizeOrigin(o) !== null, { message: '--allow-origin takes an http(s) origin such as http://localhost:5173' })).default([]),
  'max-connections': z.coerce.number().int().min(1, '--max-connections must be at least 1').optional(),
});

/** A listen failure as a sentence for the person who typed the command. */
function listenProblem(err: unknown, host: string, port: number): string | null {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is in use (another letta-stream?); pass --port`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; pass --host 127.0.0.1 or one of its addresses`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve --host ${host}`;
    case 'EACCES':
      return `no permission to listen on ${host}:${port} (ports below 1024 need privileges)`;
    default:
      return null;
  }
}

function localSecret(dataDir: string): string {
  const file = path.join(dataDir, 'anthropic-local.secret');
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export async function runServe(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        inspect: { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        'max-connections': { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const flags = serveFlags.safeParse(values);
  if (!flags.success) throw new UsageError(flags.error.issues.map((i) => i.message).join('; '));
  const { host, port } = flags.data;
  const dataDir = path.resolve(flags.data['data-dir']);
  const token = env.LETTA_STREAM_TOKEN?.trim() || null;
  if (!isLoopbackName(host) && !token) throw new UsageError(`binding ${host} (not loopback) requires LETTA_STREAM_TOKEN`);
  mkdirSync(dataDir, { recursive: true });
  let lock;
  try {
    lock = lockDataDir(dataDir);
  } catch (err) {
    if (err instanceof DataDirLockedError) throw new StartError(err.message);
    throw err;
  }

  const say = (line: string) => process.stdout.write(line + '\n');
  const apiKey = env.ANTHROPIC_API_KEY?.trim();
  // The built-in server signs thinking blocks; its key must outlive a restart, or every stored
  // conversation would be rejected ("Invalid signature") on the next turn.
  const local = apiKey ? null : await startAnthropicServer({ secret: localSecret(dataDir) });
  const client = apiKey
    ? new Anthropic({ apiKey, ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}) })
    : new Anthropic({ apiKey: 'local', baseURL: local!.url, maxRetries: 0 });

  const store = openSqliteStore(dataDir);
  const stately = flags.data.inspect ? statelyInspector(flags.data.inspect) : null;
  const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
  const service = new AgentService({ store, client, dataDir, warn, ...(stately ? { inspect: stately.inspect } : {}) });
  const recovered = await service.recover();
  const demo = await service.ensureDemoAgent();
  let server;
  try {
    server = await startServer({
      service,
      host,
      port,
      token,
      warn,
      allowedOrigins: flags.data['allow-origin'],
      limits: flags.data['max-connections'] ? { maxConnections: flags.data['max-connections'] } : {},
    });
  } catch (err) {
    await local?.close();
    stately?.stop();
    await store.close();
    lock.release();
    const problem = listenProblem(err, host, port);
    if (problem) throw new StartError(problem);
    throw err;
  }

  say(`letta-stream listening on ${server.url} (WebSocket ${server.wsUrl})`);
  say(local ? `Anthropic: built-in local server at ${local.url} (no ANTHROPIC_API_KEY set)` : `Anthropic: ${env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com'}`);
  say(`data: ${dataDir}${token ? ' · token required' : ''}${flags.data['allow-origin'].length ? ` · browser origins allowed: ${flags.data['allow-origin'].join(', ')}` : ''}`);
  say(`demo agent: ${demo.id} (name "demo") · inspector page: ${server.url}/inspect`);
  if (stately) say(`forwarding inspection events to the Stately inspector at ${flags.data.inspect}`);
  if (recovered.length) say(`recovered: ${recovered.length} run(s) interrupted by the last stop were marked failed`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      say(`\n${signal}: cancelling ${service.liveRunCount} live run(s) and shutting down`);
      void server
        .close()
        .then(() => local?.close())
        .then(() => stately?.stop())
        .catch((err: unknown) => warn(`shutdown: ${err instanceof Error ? err.message : String(err)}`))
        .finally(async () => {
          await store.close();
          lock.release();
          resolve();
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}
