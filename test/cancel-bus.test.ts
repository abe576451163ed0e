import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelBus } from '../src/cluster/cancel-bus.js';
import { connections, uniquePrefix } from './support/redis.js';

const prefix = uniquePrefix('cancel');
const conns = connections(prefix);
const warnings: string[] = [];
const warn = (m: string): void => void warnings.push(m);

/** Two instances: separate connections, as separate processes would have. */
let a: CancelBus;
let b: CancelBus;
let redisA: Redis;

beforeAll(async () => {
  redisA = await conns.connect();
  a = new CancelBus(redisA, { prefix, warn });
  b = new CancelBus(await conns.connect(), { prefix, warn });
  await Promise.all([a.ready(), b.ready()]);
});

afterAll(async () => {
  await a.close();
  await b.close();
  await conns.closeAll();
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

describe('cancel across instances', () => {
  it('a cancel published on one instance reaches the handlers of the others (and its own)', async () => {
    const gotA: string[] = [];
    const gotB: string[] = [];
    const offA = a.onCancel((id) => gotA.push(id));
    const offB = b.onCancel((id) => gotB.push(id));
    expect(await a.publish('run-1')).toBe(2);
    await expect.poll(() => gotB).toEqual(['run-1']);
    await expect.poll(() => gotA).toEqual(['run-1']);
    offA();
    offB();
  });

  it('p50/p99 latency over 500 cancels from one instance to another', async () => {
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    let arrived: (() => void) | null = null;
    const off = b.onCancel((id) => {
      const t = sent.get(id);
      if (t === undefined) return;
      latencies.push(performance.now() - t);
      arrived?.();
    });
    for (let i = 0; i < 500; i++) {
      const id = `run-lat-${i}`;
      const got = new Promise<void>((r) => (arrived = r));
      sent.set(id, performance.now());
      await a.publish(id);
      await got;
    }
    off();
    expect(latencies).toHaveLength(500);
    const sorted = [...latencies].sort((x, y) => x - y);
    console.log(`cancel latency over 500: p50 ${percentile(sorted, 50).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms, max ${sorted.at(-1)!.toFixed(3)} ms`);
  });

  it('a handler that throws does not keep the others from the cancel', async () => {
    const got: string[] = [];
    const off1 = b.onCancel(() => {
      throw new Error('boom');
    });
    const off2 = b.onCancel((id) => got.push(id));
    await a.publish('run-2');
    await expect.poll(() => got).toEqual(['run-2']);
    expect(warnings.some((w) => w.includes('boom'))).toBe(true);
    off1();
    off2();
  });

  it('close is idempotent, and a closed bus publishes nothing', async () => {
    const c = new CancelBus(await conns.connect(), { prefix, warn });
    await c.ready();
    await c.close();
    await c.close();
    await expect(c.publish('run-3')).rejects.toThrow(/closed/);
  });

  it('resubscribes after its connection is killed', async () => {
    const name = `${prefix.replace(/:/g, '-')}c`;
    const c = new CancelBus(await conns.connect(), { prefix, warn, name });
    await c.ready();
    const got: string[] = [];
    c.onCancel((id) => got.push(id));
    // Only this bus's subscriber (the Redis is shared with others).
    const list = String(await redisA.client('LIST'));
    const id = list
      .split('\n')
      .find((l) => l.includes(` name=${name} `))
      ?.match(/id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await redisA.client('KILL', 'ID', id as string);
    await expect
      .poll(
        async () => {
          await a.publish('run-4');
          return got.includes('run-4');
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    expect(String(await redisA.client('LIST'))).toContain(` name=${name} `);
    await c.close();
  });
});
