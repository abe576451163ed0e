import { type Server, type Socket, connect as tcpConnect, createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunLog } from '../src/actors/run-log.js';
import { RemoteRunLogs } from '../src/cluster/remote-run-logs.js';
import { connectRedis } from '../src/cluster/redis-connect.js';
import { DEFAULT_RETENTION_SECONDS, RunLogPublisher } from '../src/cluster/run-log-publisher.js';
import { runStreamKey } from '../src/cluster/run-stream.js';
import { collect, connections, endOf, frame, turn, uniquePrefix } from './support/redis.js';

const prefix = uniquePrefix('runlog');
const conns = connections(prefix);
const warnings: string[] = [];
const warn = (m: string): void => void warnings.push(m);

let writer: Redis;
/** Each reader stands for another instance: its own connections. */
const readers: RemoteRunLogs[] = [];
async function instance(o: { blockMs?: number; graceMs?: number; name?: string } = {}): Promise<RemoteRunLogs> {
  const r = new RemoteRunLogs(await conns.connect(), { prefix, warn, ...o });
  readers.push(r);
  return r;
}

let n = 0;
/** A live run on the writing instance, published to Redis. */
function liveRun(o: { retentionSeconds?: number } = {}) {
  const runId = `run-${++n}`;
  const log = new RunLog(runId, 'agent-1');
  const local = collect(log);
  const pub = new RunLogPublisher(writer, log, { prefix, warn, ...o });
  log.subscribe(pub);
  return { runId, log, local, pub };
}

/** Appends `count` frames, `perTurn` in each event-loop turn (as a model's stream would). */
async function write(log: RunLog, count: number, perTurn = 7): Promise<void> {
  for (let i = 0; i < count; i++) {
    log.append(frame(log.lastSeq + 1));
    if (i % perTurn === perTurn - 1) await turn();
  }
}

beforeAll(async () => {
  writer = await conns.connect();
});

afterAll(async () => {
  for (const r of readers) await r.close();
  await conns.closeAll();
});

describe('a run log in Redis, read by other instances', () => {
  it('(a) a reader that starts before any frame gets every frame once, in order, byte-identical', async () => {
    const run = liveRun();
    await run.pub.flush();
    const mirror = await (await instance()).follow(run.runId);
    expect(mirror).not.toBeNull();
    expect(mirror!.agentId).toBe('agent-1');
    const remote = collect(mirror!);
    run.log.setState({ run: 'running', step: null });
    await write(run.log, 40);
    run.log.setState({ run: 'running', step: 'streaming' });
    await write(run.log, 40);
    run.log.close(endOf(run.runId));
    // The final state is entered as the log closes (listeners are gone by then).
    run.log.setState({ run: 'done', step: null });
    expect(await remote.ended).toEqual(endOf(run.runId));
    expect(remote.seqs()).toEqual(run.local.seqs());
    expect(remote.jsons()).toEqual(run.local.jsons());
    expect(remote.got).toHaveLength(80);
    expect(mirror!.transitions).toEqual(run.log.transitions);
  });

  it('(b) a reader that starts midway gets the backlog, then the live frames, without a gap', async () => {
    const run = liveRun();
    await write(run.log, 50);
    await run.pub.flush();
    const mirror = (await (await instance()).follow(run.runId))!;
    expect(mirror.lastSeq).toBe(50);
    const remote = collect(mirror);
    const late = collect(mirror, 20);
    await write(run.log, 50);
    run.log.close(endOf(run.runId));
    await remote.ended;
    await late.ended;
    expect(remote.jsons()).toEqual(run.local.jsons());
    expect(late.seqs()).toEqual(run.local.seqs().slice(20));
  });

  it('(c) a reader that starts after the end gets the whole run and its end at once', async () => {
    const run = liveRun();
    await write(run.log, 30);
    run.log.close(endOf(run.runId));
    await run.pub.flush();
    const remoteLogs = await instance();
    const mirror = (await remoteLogs.follow(run.runId))!;
    expect(mirror.end).toEqual(endOf(run.runId));
    expect(remoteLogs.following).toBe(0);
    const remote = collect(mirror);
    expect(await remote.ended).toEqual(endOf(run.runId));
    expect(remote.jsons()).toEqual(run.local.jsons());
    // The same mirror for every reader of this instance.
    expect(await remoteLogs.follow(run.runId)).toBe(mirror);
  });

  it('(d) a reader that resumes with afterSeq gets every frame once, in order', async () => {
    const run = liveRun();
    await write(run.log, 25);
    await run.pub.flush();
    const mirror = (await (await instance()).follow(run.runId))!;
    const first = collect(mirror, 0);
    await write(run.log, 25);
    // The client drops, then reconnects with the last seq_id it saw.
    await new Promise((r) => setTimeout(r, 50));
    first.unsubscribe();
    const seen = first.got.at(-1)!.seq;
    await write(run.log, 25);
    const second = collect(mirror, seen);
    await write(run.log, 25);
    run.log.close(endOf(run.runId));
    await second.ended;
    expect([...first.jsons(), ...second.jsons()]).toEqual(run.local.jsons());
    // And after the end, from any point.
    expect(collect(mirror, 77).seqs()).toEqual(Array.from({ length: 23 }, (_, i) => 78 + i));
  });

  it('(e) 10,000 frames written fast, read by 3 instances: no gap, no duplicate', async () => {
    const run = liveRun();
    await run.pub.flush();
    const mirrors = await Promise.all([instance(), instance(), instance()].map(async (i) => (await i).follow(run.runId)));
    const remotes = mirrors.map((m) => collect(m!));
    const t0 = performance.now();
    await write(run.log, 10_000, 200);
    run.log.close(endOf(run.runId));
    const tWritten = performance.now();
    await Promise.all(remotes.map((r) => r.ended));
    const tRead = performance.now();
    const expected = run.local.jsons();
    for (const r of remotes) {
      expect(r.seqs()).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
      expect(r.jsons()).toEqual(expected);
    }
    const bytes = expected.reduce((s, j) => s + Buffer.byteLength(j), 0);
    console.log(
      `10k frames (${(bytes / 1e6).toFixed(1)} MB): appended in ${(tWritten - t0).toFixed(0)} ms, ` +
        `all 3 mirrors complete after ${(tRead - t0).toFixed(0)} ms → ${Math.round(10_000 / ((tRead - t0) / 1000))} frames/s per mirror`,
    );
  });

  it('one reader follows many runs in one XREAD, and a newly followed run does not wait for the block timeout', async () => {
    const remoteLogs = await instance({ blockMs: 20_000 });
    const a = liveRun();
    await a.pub.flush();
    const ma = collect((await remoteLogs.follow(a.runId))!);
    a.log.append(frame(1));
    await expect.poll(() => ma.got.length).toBe(1);
    // The reader is now blocked for 20 s on run a alone; run b joins.
    const b = liveRun();
    await b.pub.flush();
    const mb = collect((await remoteLogs.follow(b.runId))!);
    expect(remoteLogs.following).toBe(2);
    const t0 = performance.now();
    b.log.append(frame(1));
    await expect.poll(() => mb.got.length, { timeout: 5000 }).toBe(1);
    expect(performance.now() - t0).toBeLessThan(5000);
    await write(a.log, 20);
    await write(b.log, 20);
    a.log.close(endOf(a.runId));
    b.log.close(endOf(b.runId));
    await ma.ended;
    await mb.ended;
    expect(ma.jsons()).toEqual(a.local.jsons());
    expect(mb.jsons()).toEqual(b.local.jsons());
    expect(remoteLogs.following).toBe(0);
  });

  it('an ended mirror is released after the grace period (then read again from Redis)', async () => {
    const remoteLogs = await instance({ graceMs: 50 });
    const run = liveRun();
    await write(run.log, 3);
    run.log.close(endOf(run.runId));
    await run.pub.flush();
    const m1 = await remoteLogs.follow(run.runId);
    expect(await remoteLogs.follow(run.runId)).toBe(m1);
    await new Promise((r) => setTimeout(r, 100));
    const m2 = await remoteLogs.follow(run.runId);
    expect(m2).not.toBe(m1);
    expect(collect(m2!).jsons()).toEqual(run.local.jsons());
  });

  it('a writer connection killed mid-run loses nothing and writes nothing twice', async () => {
    const own = await conns.connect();
    const run = { runId: `run-${++n}`, log: new RunLog(`run-${n}`, 'agent-1') };
    const local = collect(run.log);
    const pub = new RunLogPublisher(own, run.log, { prefix, warn });
    run.log.subscribe(pub);
    await pub.flush();
    const remote = collect((await (await instance()).follow(run.runId))!);
    const killer = await conns.connect();
    const ids = new Set<number>();
    for (let k = 0; k < 10; k++) {
      const ownId = await own.client('ID');
      ids.add(ownId);
      // Killed while a pipeline is under way: sent with the next batch, not awaited.
      await write(run.log, 50, 50);
      void killer.client('KILL', 'ID', String(ownId)).catch(() => 0);
      await write(run.log, 50, 10);
    }
    run.log.close(endOf(run.runId));
    await pub.flush(20_000);
    await remote.ended;
    expect(remote.seqs()).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(remote.jsons()).toEqual(local.jsons());
    expect(await killer.xlen(pub.key)).toBe(1002); // agent + 1000 frames + end
    // It was killed indeed (ioredis reconnected, and resent what had no answer yet).
    expect(ids.size).toBeGreaterThan(5);
  });

  it('a Redis outage neither throws into the run nor loses frames: they are written when Redis is back', async () => {
    // A TCP proxy to the test Redis that the test can switch off (as a network partition would).
    const sockets = new Set<Socket>();
    const listen = (port: number): Promise<Server> =>
      new Promise((resolve) => {
        const server = createServer((client) => {
          const upstream = tcpConnect(6379, '127.0.0.1');
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('error', () => s.destroy());
            s.on('close', () => sockets.delete(s));
          }
          client.pipe(upstream).pipe(client);
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
        });
        server.listen(port, '127.0.0.1', () => resolve(server));
      });
    let proxy = await listen(0);
    const port = (proxy.address() as { port: number }).port;
    const ownWarnings: string[] = [];
    const own = await connectRedis(`redis://127.0.0.1:${port}`, { warn: () => {} });
    try {
      const log = new RunLog(`run-${++n}`, 'agent-1');
      const local = collect(log);
      const pub = new RunLogPublisher(own, log, { prefix, warn: (m) => ownWarnings.push(m) });
      log.subscribe(pub);
      await write(log, 100);
      await pub.flush();
      const remote = collect((await (await instance()).follow(log.runId))!);

      await new Promise<void>((r) => {
        proxy.close(() => r());
        for (const s of sockets) s.destroy();
      });
      await write(log, 100);
      await expect.poll(() => ownWarnings.length, { timeout: 15_000 }).toBeGreaterThan(0);
      expect(remote.got.length).toBe(100);

      proxy = await listen(port);
      await write(log, 100);
      log.close(endOf(log.runId));
      await pub.flush(20_000);
      await remote.ended;
      expect(remote.jsons()).toEqual(local.jsons());
      expect(remote.got).toHaveLength(300);
      expect(ownWarnings[0]).toMatch(/retrying/);
    } finally {
      own.disconnect();
      await new Promise<void>((r) => {
        proxy.close(() => r());
        for (const s of sockets) s.destroy();
      });
    }
  });

  it('a run whose owner died can be abandoned: its mirror ends, the reader stops reading it', async () => {
    const remoteLogs = await instance();
    const run = liveRun();
    await write(run.log, 5);
    await run.pub.flush();
    const remote = collect((await remoteLogs.follow(run.runId))!);
    expect(remoteLogs.following).toBe(1);
    const end = { ...endOf(run.runId), status: 'failed' as const, stop_reason: 'error' as const };
    expect(remoteLogs.abandon(run.runId, end)).toBe(true);
    expect(await remote.ended).toEqual(end);
    expect(remoteLogs.following).toBe(0);
    expect(remoteLogs.abandon(run.runId, end)).toBe(false);
    expect(remote.seqs()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a second writer of a run (a recovered run) writes above the stream\'s top, whatever its clock', async () => {
    const runId = `run-${++n}`;
    const key = runStreamKey(prefix, runId);
    // The first writer's clock was an hour ahead.
    await writer.xadd(key, `${Date.now() + 3_600_000}-0`, 'agent', 'agent-1');
    const log = new RunLog(runId, 'agent-1');
    const local = collect(log);
    const pub = new RunLogPublisher(writer, log, { prefix, warn });
    log.subscribe(pub);
    await write(log, 10);
    log.close(endOf(runId));
    await pub.flush();
    expect(await writer.xlen(key)).toBe(13);
    const mirror = (await (await instance()).follow(runId))!;
    expect(mirror.end).toEqual(endOf(runId));
    expect(collect(mirror).jsons()).toEqual(local.jsons());
  });

  it('a reader whose connection is killed mid-run reads on from where it was', async () => {
    const name = `${prefix.replace(/:/g, '-')}reader`;
    const remoteLogs = await instance({ name });
    const run = liveRun();
    await run.pub.flush();
    const remote = collect((await remoteLogs.follow(run.runId))!);
    await write(run.log, 100);
    await expect.poll(() => remote.got.length).toBe(100);
    const id = String(await writer.client('LIST'))
      .split('\n')
      .find((l) => l.includes(` name=${name} `))
      ?.match(/id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await writer.client('KILL', 'ID', id as string);
    await write(run.log, 100);
    run.log.close(endOf(run.runId));
    await remote.ended;
    expect(remote.jsons()).toEqual(run.local.jsons());
  });

  it('(f) after the end the stream lives for the retention', async () => {
    const run = liveRun({ retentionSeconds: 120 });
    await write(run.log, 5);
    run.log.close(endOf(run.runId));
    await run.pub.flush();
    const ttl = await writer.ttl(runStreamKey(prefix, run.runId));
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThanOrEqual(120);

    const byDefault = liveRun();
    byDefault.log.close(endOf(byDefault.runId));
    await byDefault.pub.flush();
    const ttl2 = await writer.ttl(runStreamKey(prefix, byDefault.runId));
    expect(ttl2).toBeGreaterThan(DEFAULT_RETENTION_SECONDS - 10);
    expect(ttl2).toBeLessThanOrEqual(DEFAULT_RETENTION_SECONDS);
  });

  it('the frames of many runs in one turn go to Redis in one pipeline, each run complete and in order', async () => {
    const runs = Array.from({ length: 100 }, () => liveRun());
    await Promise.all(runs.map((r) => r.pub.flush())); // each stream's floor read
    const pipeline = writer.pipeline.bind(writer);
    let pipelines = 0;
    writer.pipeline = ((...a: Parameters<Redis['pipeline']>) => (pipelines++, pipeline(...a))) as Redis['pipeline'];
    try {
      for (const r of runs) r.log.append(frame(r.log.lastSeq + 1));
      await Promise.all(runs.map((r) => r.pub.flush()));
    } finally {
      writer.pipeline = pipeline;
    }
    expect(pipelines).toBe(1);
    for (const r of runs) {
      await write(r.log, 3);
      r.log.close(endOf(r.runId));
    }
    const reader = await instance();
    for (const r of runs) {
      const mirror = await reader.follow(r.runId);
      const remote = collect(mirror!);
      await remote.ended;
      expect(remote.jsons()).toEqual(r.local.jsons());
    }
  });

  it('a write Redis refuses fails only its own run, not the others in the same pipeline', async () => {
    const bad = liveRun();
    const good = liveRun();
    await writer.set(runStreamKey(prefix, bad.runId), 'not a stream'); // every XADD to it: WRONGTYPE
    const before = warnings.length;
    for (let i = 0; i < 5; i++) {
      bad.log.append(frame(bad.log.lastSeq + 1));
      good.log.append(frame(good.log.lastSeq + 1));
      await turn();
    }
    good.log.close(endOf(good.runId));
    await good.pub.flush();
    const mirror = await (await instance()).follow(good.runId);
    const remote = collect(mirror!);
    await remote.ended;
    expect(remote.jsons()).toEqual(good.local.jsons());
    expect(warnings.slice(before).some((w) => w.includes(bad.runId) && /WRONGTYPE/.test(w))).toBe(true);
    expect(warnings.slice(before).some((w) => w.includes(good.runId))).toBe(false);
    await writer.del(runStreamKey(prefix, bad.runId)); // Redis takes its writes again: nothing lost
    bad.log.close(endOf(bad.runId));
    await bad.pub.flush();
    const badMirror = collect((await (await instance()).follow(bad.runId))!);
    await badMirror.ended;
    expect(badMirror.jsons()).toEqual(bad.local.jsons());
  });

  it('a run longer than half its retention keeps its stream (the TTL is refreshed, not set once)', async () => {
    const run = liveRun({ retentionSeconds: 1 });
    for (let i = 0; i < 15; i++) {
      await write(run.log, 1);
      await new Promise((r) => setTimeout(r, 100));
    }
    await run.pub.flush();
    expect(await writer.exists(runStreamKey(prefix, run.runId))).toBe(1);
    run.log.close(endOf(run.runId));
    await run.pub.flush();
    const mirror = collect((await (await instance()).follow(run.runId))!);
    await mirror.ended;
    expect(mirror.jsons()).toEqual(run.local.jsons());
  });

  it('(g) a run Redis does not hold → null', async () => {
    const remoteLogs = await instance();
    expect(await remoteLogs.follow('run-unknown')).toBeNull();
    expect(remoteLogs.following).toBe(0);
  });
});

describe('(h) connecting to Redis', () => {
  async function codeOf(url: string, timeoutMs?: number): Promise<{ code: unknown; message: string; ms: number }> {
    const t0 = performance.now();
    try {
      const r = await connectRedis(url, { timeoutMs });
      r.disconnect();
    } catch (e) {
      const err = e as Error & { code?: unknown };
      return { code: err.code, message: err.message, ms: performance.now() - t0 };
    }
    throw new Error(`connected to ${url}`);
  }

  it.each(['http://127.0.0.1:6379', 'not a url', '127.0.0.1:6379', 'redis://', ''])('refuses the URL %j', async (url) => {
    const r = await codeOf(url);
    expect(r.code).toBe('redis_url_invalid');
    expect(r.message).toMatch(/redis:\/\//);
  });

  it.each(['http://user:s3cret@host:1', 'user:s3cret@host:6379', 'redis//user:s3cret@host'])('does not echo the password of %j', async (url) => {
    const r = await codeOf(url);
    expect(r.code).toBe('redis_url_invalid');
    expect(r.message).not.toContain('s3cret');
  });

  it('answers redis_unreachable within a few seconds (nothing listening)', async () => {
    const r = await codeOf('redis://u:s3cret@127.0.0.1:1', 2000);
    expect(r.code).toBe('redis_unreachable');
    expect(r.message).toContain('127.0.0.1:1');
    expect(r.message).not.toContain('s3cret');
    expect(r.ms).toBeLessThan(4000);
  });

  it('answers redis_unreachable within a few seconds (no answer at all)', async () => {
    const r = await codeOf('redis://10.255.255.1:6379', 1000);
    expect(r.code).toBe('redis_unreachable');
    expect(r.ms).toBeLessThan(3000);
  });
});
