import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import WebSocket from 'ws';
import { AgentService } from '../../src/actors/agent-service.js';
import { startAnthropicServer, type AnthropicServer } from '../../src/anthropic-server/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import type { ServerLimitsInput } from '../../src/transport/limits.js';
import { startServer, type LettaStreamServer } from '../../src/transport/server.js';
import { randomUUID } from 'node:crypto';
import { LeaseKeeper } from '../../src/cluster/lease-keeper.js';
import { connectRedis } from '../../src/cluster/redis-connect.js';
import { RedisSharedRuns } from '../../src/cluster/shared-runs.js';
import { openPgStore } from '../../src/store/pg-store.js';
import { freshDatabase } from './pg.js';
import { REDIS_URL } from './redis.js';
import { startRoundRobin } from './round-robin.js';

/** The real service on loopback: built-in Anthropic server, SQLite file, HTTP + WebSocket. */
export interface Harness {
  dir: string;
  anthropic: AnthropicServer;
  store: Store;
  service: AgentService;
  server: LettaStreamServer;
  warnings: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  token?: string;
  graceMs?: number;
  maxBufferedBytes?: number;
  allowedOrigins?: string[];
  limits?: ServerLimitsInput;
  /** Wraps the real store (e.g. to inject write faults). */
  wrapStore?: (store: SqliteStore) => Store;
}

/**
 * With LETTA_STREAM_TEST_CLUSTER=1 (the vitest project "two instances"): the same service as two
 * instances on one PostgreSQL database and one Redis, behind a round-robin balancer; `service` is
 * the first instance's.
 */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  if (process.env.LETTA_STREAM_TEST_CLUSTER === '1' && !o.wrapStore && !o.token) return startClusterHarness(o);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-'));
  const anthropic = await startAnthropicServer({ defaultDelayMs: 1 });
  const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
  const store = new SqliteStore({ file: path.join(dir, 'letta-stream.db') });
  const warnings: string[] = [];
  const service = new AgentService({ store: o.wrapStore ? o.wrapStore(store) : store, client, dataDir: dir, graceMs: o.graceMs ?? 60_000, warn: (m) => warnings.push(m) });
  await service.recover();
  await service.ensureDemoAgent();
  const server = await startServer({
    service,
    port: 0,
    token: o.token ?? null,
    pingIntervalMs: 100,
    allowedOrigins: o.allowedOrigins ?? [],
    limits: { ...o.limits, ...(o.maxBufferedBytes ? { maxBufferedBytes: o.maxBufferedBytes } : {}) },
    warn: (m) => warnings.push(m),
  });
  return {
    dir,
    anthropic,
    store,
    service,
    server,
    warnings,
    async close() {
      await server.close();
      await anthropic.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Frame = Record<string, unknown> & { type?: string; message_type?: string; run_id?: string; seq_id?: number };

/** A WebSocket test client that records every frame and waits for conditions. */
export class TestClient {
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closeInfo: { code: number; reason: string } | null = null;
  private n = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    const c = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  nextId(): string {
    return `req-${++this.n}`;
  }

  /** Resolves with the first frame (from index `from`) that matches; rejects after `ms`. */
  async waitFor(pred: (f: Frame) => boolean, ms = 15_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Starts a run and returns its id. */
  async start(agentId: string, text: string, extra: Record<string, unknown> = {}): Promise<string> {
    const request_id = this.nextId();
    this.send({ type: 'run.start', request_id, agent_id: agentId, messages: [{ role: 'user', content: text }], ...extra });
    const f = await this.waitFor((x) => x.request_id === request_id);
    if (f.type !== 'run.started') throw new Error(`run did not start: ${JSON.stringify(f)}`);
    return f.run_id as string;
  }

  async approve(agentId: string, approvals: unknown[]): Promise<string> {
    const request_id = this.nextId();
    this.send({ type: 'run.start', request_id, agent_id: agentId, messages: [{ type: 'approval', approvals }] });
    const f = await this.waitFor((x) => x.request_id === request_id);
    if (f.type !== 'run.started') throw new Error(`approval run did not start: ${JSON.stringify(f)}`);
    return f.run_id as string;
  }

  /** Every frame of a run, waiting for its run.end. */
  async runFrames(runId: string, ms = 20_000): Promise<Frame[]> {
    await this.waitFor((f) => f.type === 'run.end' && f.run_id === runId, ms);
    return this.frames.filter((f) => f.run_id === runId && f.request_id === undefined);
  }

  close(): void {
    this.ws.close();
  }
}

export const lettaFrames = (frames: Frame[]): Frame[] => frames.filter((f) => typeof f.message_type === 'string');
export const ofType = (frames: Frame[], t: string): Frame[] => frames.filter((f) => f.message_type === t);

async function startClusterHarness(o: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-cluster-'));
  const anthropic = await startAnthropicServer({ defaultDelayMs: 1 });
  const db = await freshDatabase();
  const prefix = `ls-test-${randomUUID().slice(0, 8)}:`;
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const instances: Array<{ store: Store; shared: RedisSharedRuns; service: AgentService; lease: LeaseKeeper; server: LettaStreamServer }> = [];
  for (const name of ['a', 'b']) {
    const store = await openPgStore(db.url);
    const shared = new RedisSharedRuns(await connectRedis(REDIS_URL, { timeoutMs: 3000 }), { prefix, warn });
    await shared.ready();
    const client = new Anthropic({ apiKey: 'local', baseURL: anthropic.url, maxRetries: 0 });
    const service = new AgentService({ store, client, dataDir: path.join(dir, name), workspaceDir: path.join(dir, 'workspace'), graceMs: o.graceMs ?? 60_000, warn, exclusive: false, shared, instanceId: `inst-${name}-${randomUUID()}` });
    const lease = new LeaseKeeper({ store, instanceId: service.instanceId, heartbeatMs: 200, leaseMs: 1000, onCancelRequested: (ids) => service.cancelRequested(ids), recoverOwner: async (owner) => void (await service.recoverOwner(owner)), warn });
    await lease.start();
    await service.recover();
    await service.ensureDemoAgent();
    const server = await startServer({
      service,
      port: 0,
      token: null,
      pingIntervalMs: 100,
      allowedOrigins: o.allowedOrigins ?? [],
      limits: { ...o.limits, ...(o.maxBufferedBytes ? { maxBufferedBytes: o.maxBufferedBytes } : {}) },
      warn,
    });
    instances.push({ store, shared, service, lease, server });
  }
  const balancer = await startRoundRobin(instances.map((i) => i.server.url));
  const first = instances[0]!;
  return {
    dir,
    anthropic,
    store: first.store,
    service: first.service,
    // The balancer's addresses: consecutive requests land on different instances.
    server: Object.assign(Object.create(first.server) as LettaStreamServer, { url: balancer.url, wsUrl: balancer.wsUrl }),
    warnings,
    async close() {
      await balancer.close();
      for (const i of instances) await i.server.close();
      for (const i of instances) await i.lease.stop(true);
      for (const i of instances) await i.shared.close();
      for (const i of instances) await i.store.close();
      await anthropic.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
