import type { Redis } from 'ioredis';
import { type LogEntry, type RunEnd, RunLog } from '../../src/actors/run-log.js';
import type { LettaFrame } from '../../src/letta/frames.js';
import { connectRedis } from '../../src/cluster/redis-connect.js';

/** The test Redis (a real one); keys get a prefix unique to the run, removed at the end. */
export const REDIS_URL = process.env.LETTA_STREAM_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(name: string): string {
  return `lstest:${name}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;
}

/** Connections opened by a test file, closed (and its keys deleted) by `closeAll`. */
export function connections(prefix: string) {
  const open: Redis[] = [];
  return {
    async connect(): Promise<Redis> {
      const r = await connectRedis(REDIS_URL, { timeoutMs: 3000 });
      open.push(r);
      return r;
    },
    async closeAll(): Promise<void> {
      const r = open[0];
      if (r) {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await r.del(...keys);
        } while (cursor !== '0');
      }
      for (const c of open) c.disconnect();
    },
  };
}

/** A frame with text that JSON escapes in more than one way, so "byte-identical" means something. */
export function frame(i: number): LettaFrame {
  return { message_type: 'assistant_message', id: `m${i}`, date: '2026-01-01T00:00:00Z', content: `frame ${i} é 😀 "q" \u2028 \\`, otid: `o${i}`, run_id: '', step_id: null } as unknown as LettaFrame;
}

export function endOf(runId: string): RunEnd {
  return { type: 'run.end', run_id: runId, status: 'completed', stop_reason: 'end_turn' };
}

/** Everything one subscriber gets, and its end. */
export function collect(log: RunLog, afterSeq = 0) {
  const got: LogEntry[] = [];
  let resolveEnd: (e: RunEnd) => void = () => {};
  const ended = new Promise<RunEnd>((r) => (resolveEnd = r));
  const unsubscribe = log.subscribe({ frame: (e) => got.push(e), end: (e) => resolveEnd(e) }, afterSeq);
  return { got, ended, unsubscribe, jsons: () => got.map((e) => e.json), seqs: () => got.map((e) => e.seq) };
}

export const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
