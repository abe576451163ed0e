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
import { DEFAULT_HEARTBEAT_MS, DEFAULT_LEASE_MS, LeaseKeeper } from '../cluster/lease-keeper.js';
import { chooseBackends, closeAll, openBackends } from './backends.js';
import { isLoopbackName, normalizeOrigin } from '../transport/http-guard.js';
import { startServer } from '../transport/server.js';
import { DebugStats, debugStatsEnabled } from './debug-stats.js';
import { StartError, UsageError } from './errors.js';

export { SERVE_USAGE } from './usage.js';

/** How long SIGTERM waits for live runs to finish before cancelling them (s). */
export const DEFAULT_SHUTDOWN_GRACE_S = 10;
export { StartError };


const serveFlags = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535, '--port must be 0..65535').default(8283),
  'data-dir': z.string().min(1).default('.letta-stream'),
  inspect: z.string().regex(/^wss?:\/\//, '--inspect takes a ws:// or wss:// URL').optional(),
  'allow-origin': z.array(z.string().refine((o) => normalizeOrigin(o) !== null, { message: '--allow-origin takes an http(s) origin such as http://localhost:5173' })).default([]),
  'max-connections': z.coerce.number().int().min(1, '--max-connections must be at least 1').optional(),
  'database-url': z.string().optional(),
  'redis-url': z.string().optional(),
  'workspace-dir': z.string().min(1).optional(),
  'shutdown-grace': z.coerce.number().min(0, '--shutdown-grace is seconds, 0 or more').max(3600, '--shutdown-grace is at most 3600 s').default(DEFAULT_SHUTDOWN_GRACE_S),
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
        'database-url': { type: 'string' },
        'redis-url': { type: 'string' },
        'workspace-dir': { type: 'string' },
        'shutdown-grace': { type: 'string' },
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
  const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
  const parts: Array<{ close(): Promise<void> }> = [{ close: async () => lock.release() }];
  // Opt-in benchmark instrumentation: absent unless LETTA_STREAM_DEBUG_STATS=1.
  let liveRuns = () => 0;
  const debug = debugStatsEnabled(env) ? new DebugStats(() => liveRuns()) : null;
  if (debug) parts.push({ close: async () => debug.stop() });
  let backends;
  try {
    backends = await openBackends(chooseBackends(flags.data, env), dataDir, flags.data['workspace-dir'], warn, debug?.counters);
  } catch (err) {
    await closeAll(parts);
    throw err;
  }
  const { store, shared, instanceId, workspaceDir, kind } = backends;
  parts.push(backends);

  const apiKey = env.ANTHROPIC_API_KEY?.trim();
  // The built-in server signs thinking blocks; its key must outlive a restart (and be the same on
  // every instance of one database), or stored conversations would be rejected ("Invalid signature").
  const local = apiKey ? null : await startAnthropicServer({ secret: kind === 'sqlite' ? localSecret(dataDir) : await store.claimSetting('anthropic_local_secret', randomBytes(32).toString('hex')) });
  if (local) parts.push(local);
  const client = apiKey
    ? new Anthropic({ apiKey, ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}) })
    : new Anthropic({ apiKey: 'local', baseURL: local!.url, maxRetries: 0 });

  const stately = flags.data.inspect ? statelyInspector(flags.data.inspect) : null;
  if (stately) parts.push({ close: async () => stately.stop() });
  const service = new AgentService({
    store,
    client,
    dataDir,
    warn,
    instanceId,
    workspaceDir,
    exclusive: kind === 'sqlite',
    ...(shared ? { shared } : {}),
    ...(stately ? { inspect: stately.inspect } : {}),
  });
  liveRuns = () => service.liveRunCount;
  // On a shared database: the lease first (other instances must not take our new runs for a
  // lost instance's), then our own leftovers, then the beat that recovers lost instances.
  const lease =
    kind === 'postgres'
      ? new LeaseKeeper({
          store,
          instanceId,
          heartbeatMs: DEFAULT_HEARTBEAT_MS,
          leaseMs: DEFAULT_LEASE_MS,
          onCancelRequested: (ids) => service.cancelRequested(ids),
          recoverOwner: async (owner) => {
            const ids = await service.recoverOwner(owner);
            if (ids.length) say(`instance ${owner} was lost: ${ids.length} run(s) it owned were marked failed`);
          },
          warn,
        })
      : null;
  let recovered: string[];
  let demo;
  try {
    await lease?.start();
    recovered = await service.recover();
    demo = await service.ensureDemoAgent();
  } catch (err) {
    await lease?.stop(false);
    await closeAll(parts);
    throw err;
  }
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
      ...(debug ? { debugStats: (reset: boolean) => debug.snapshot(reset) } : {}),
    });
  } catch (err) {
    await lease?.stop(true);
    await closeAll(parts);
    const problem = listenProblem(err, host, port);
    if (problem) throw new StartError(problem);
    throw err;
  }

  say(`letta-stream listening on ${server.url} (WebSocket ${server.wsUrl})`);
  say(local ? `Anthropic: built-in local server at ${local.url} (no ANTHROPIC_API_KEY set)` : `Anthropic: ${env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com'}`);
  say(`data: ${backends.describe} · instance ${instanceId} · workspace ${workspaceDir}${token ? ' · token required' : ''}${flags.data['allow-origin'].length ? ` · browser origins allowed: ${flags.data['allow-origin'].join(', ')}` : ''}`);
  say(`demo agent: ${demo.id} (name "demo") · inspector page: ${server.url}/inspect`);
  if (stately) say(`forwarding inspection events to the Stately inspector at ${flags.data.inspect}`);
  if (recovered.length) say(`recovered: ${recovered.length} run(s) interrupted by the last stop were marked failed`);

  const graceMs = flags.data['shutdown-grace'] * 1000;
  await new Promise<void>((resolve) => {
    let stopping = false;
    let hurry: (() => void) | null = null;
    const stop = async (signal: string) => {
      if (stopping) {
        hurry?.(); // a second signal: cancel the rest now
        return;
      }
      stopping = true;
      // Graceful: no new turns; live runs may finish within the grace period; the rest are
      // cancelled through the same transition and finalizer (server.close).
      service.drain();
      if (service.liveRunCount > 0) {
        say(`\n${signal}: taking no new turns; waiting up to ${flags.data['shutdown-grace']} s for ${service.liveRunCount} live run(s) (signal again to cancel them now)`);
        await Promise.race([service.whenIdle(graceMs), new Promise<void>((r) => (hurry = r))]);
      }
      say(`${signal}: cancelling ${service.liveRunCount} live run(s) and shutting down`);
      try {
        await server.close();
      } catch (err) {
        warn(`shutdown: ${err instanceof Error ? err.message : String(err)}`);
      }
      // Our lease goes only when no run of ours is left running (else another instance recovers them).
      await lease?.stop(service.liveRunCount === 0);
      await closeAll(parts);
      resolve();
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });
  return 0;
}
