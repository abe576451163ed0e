import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/pg.js';
import { lettaFrames, ofType, TestClient, type Frame } from '../support/service-harness.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Two instances (two processes, two ports) on one PostgreSQL database and one Redis: every
 * guarantee of one instance holds across them. Real processes (dist/ built), the built-in
 * Anthropic server in each.
 */
const REDIS_URL = 'redis://127.0.0.1:6379';
const dir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-cluster-'));
let db: { url: string; drop(): Promise<void> };
let prefix: string;
const processes: ServerProcess[] = [];
const clients: TestClient[] = [];

type Json = Record<string, any>;
async function http(base: string, p: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${p}`, {
    method: init?.method ?? (init?.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json' },
    ...(init?.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function instance(name: string, extra: string[] = []): Promise<ServerProcess> {
  const p = await startServerProcess({
    dataDir: path.join(dir, name),
    args: ['--database-url', db.url, '--redis-url', REDIS_URL, '--workspace-dir', path.join(dir, 'workspace'), ...extra],
    env: { LETTA_STREAM_REDIS_PREFIX: prefix },
  });
  processes.push(p);
  return p;
}

async function client(p: ServerProcess): Promise<TestClient> {
  const c = await TestClient.connect(p.wsUrl);
  clients.push(c);
  return c;
}

async function agent(base: string, body: Json = {}): Promise<string> {
  const r = await http(base, '/v1/agents', { body: { name: `a-${randomUUID().slice(0, 8)}`, ...body } });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

const runOf = (c: TestClient, runId: string) => lettaFrames(c.frames.filter((f) => f.run_id === runId && f.request_id === undefined));

async function runStatus(base: string, runId: string, want: (s: string) => boolean, ms = 15_000): Promise<Json> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await http(base, `/v1/runs/${runId}`);
    if (want(String(r.body.status))) return r.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

let A: ServerProcess;
let B: ServerProcess;

beforeAll(async () => {
  db = await freshDatabase();
  prefix = `ls-test-${randomUUID().slice(0, 8)}:`;
  A = await instance('a');
  B = await instance('b');
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of processes) if (p.alive()) p.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two instances on PostgreSQL + Redis', () => {
  it('a run started on A is watched on B: the same frames, same seq_ids, in order, once', async () => {
    const id = await agent(A.url);
    const a = await client(A);
    const runId = await a.start(id, '#tokens 80\n#delay 5\ntell me a story');
    const b = await client(B);
    b.send({ type: 'run.subscribe', request_id: 'w', run_id: runId });
    const onA = await a.runFrames(runId);
    const onB = await b.runFrames(runId);
    expect(onB.map((f) => f.seq_id)).toEqual(onA.map((f) => f.seq_id));
    expect(onB).toEqual(onA);
    expect(ofType(onB, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
  });

  it('subscribing on B the moment A has started a run (before its first frame reached Redis) gets every frame', async () => {
    const a = await client(A);
    const b = await client(B);
    for (let i = 0; i < 20; i++) {
      const id = await agent(A.url);
      const runId = await a.start(id, '#tokens 20\nquick');
      b.send({ type: 'run.subscribe', request_id: `s${i}`, run_id: runId });
      expect(await b.waitFor((f) => f.request_id === `s${i}`)).toMatchObject({ type: 'run.subscribed' });
      const onB = lettaFrames(await b.runFrames(runId));
      expect(onB.map((f) => f.seq_id)).toEqual(lettaFrames(await a.runFrames(runId)).map((f) => f.seq_id));
    }
  });

  it('a cancel through B reaches a run streaming on A while the model is stalled: one stop_reason cancelled', async () => {
    const id = await agent(A.url);
    const a = await client(A);
    const runId = await a.start(id, '#stall 20000\nanswer slowly');
    await new Promise((r) => setTimeout(r, 300));
    const asked = Date.now();
    const r = await http(B.url, `/v1/agents/${id}/messages/cancel`, { body: { run_ids: [runId] } });
    expect(r.status).toBe(200);
    expect(r.body.cancelled_runs).toEqual([runId]);
    const frames = await a.runFrames(runId, 10_000);
    const took = Date.now() - asked;
    expect(ofType(frames, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'cancelled' })]);
    expect(took).toBeLessThan(5000); // the stall is 20 s: only the pushed cancel ends it this soon
    console.log(`cross-instance cancel while stalled: ${took} ms to the end frame on A`);
    expect(await runStatus(B.url, runId, (s) => s !== 'running')).toMatchObject({ status: 'cancelled', stop_reason: 'cancelled' });
    // usable again, from either instance
    const next = await (await client(B)).start(id, 'again');
    expect((await runStatus(A.url, next, (s) => s !== 'running')).status).toBe('completed');
  });

  it('an approval requested on A is approved through B; the turn goes on on B', async () => {
    const id = await agent(A.url, { tools: ['write_file'] });
    const a = await client(A);
    const first = await a.start(id, '#tool write_file {"path": "cluster-approve.txt", "content": "hi"}');
    const frames = await a.runFrames(first);
    const request = ofType(frames, 'approval_request_message')[0]!;
    const callId = (request.tool_call as Json).tool_call_id as string;
    const b = await client(B);
    const second = await b.approve(id, [{ type: 'approval', tool_call_id: callId, approve: true }]);
    const after = await b.runFrames(second);
    expect(ofType(after, 'tool_return_message')[0]).toMatchObject({ status: 'success' });
    expect(ofType(after, 'stop_reason').at(-1)).toMatchObject({ stop_reason: 'end_turn' });
  });

  it('approve on A racing cancel on B: exactly one outcome, every time', async () => {
    const outcomes = { approved: 0, cancelled: 0 };
    const a = await client(A);
    for (let i = 0; i < 12; i++) {
      const id = await agent(A.url, { tools: ['write_file'] });
      const first = await a.start(id, `#tool write_file {"path": "race-${i}.txt", "content": "x"}`);
      const callId = ((ofType(await a.runFrames(first), 'approval_request_message')[0]!.tool_call as Json).tool_call_id) as string;
      const approve = http(A.url, `/v1/agents/${id}/messages`, { body: { messages: [{ type: 'approval', approvals: [{ type: 'approval', tool_call_id: callId, approve: true }] }] } });
      await new Promise((r) => setTimeout(r, i % 4)); // vary the interleaving
      const cancel = http(B.url, `/v1/agents/${id}/messages/cancel`, { body: {} });
      const [ap, ca] = await Promise.all([approve, cancel]);
      const denied = (ca.body.denied_tool_calls ?? []) as string[];
      const approved = ap.status === 200;
      // One of them settled the call, never both, never neither.
      expect(approved !== denied.includes(callId)).toBe(true);
      if (approved) outcomes.approved++;
      else {
        outcomes.cancelled++;
        expect(ap.status).toBe(409);
      }
      const history = await http(A.url, `/v1/agents/${id}/messages?order=asc&limit=100`);
      const returns = (history.body as unknown as Json[]).filter((m) => m.message_type === 'tool_return_message' && m.tool_call_id === callId);
      expect(returns).toHaveLength(1);
      expect((await http(B.url, `/v1/agents/${id}`)).body.pending_approval ?? null).toBeNull();
    }
    console.log(`approve vs cancel across instances: ${outcomes.approved} approved, ${outcomes.cancelled} cancelled`);
  });

  it('two run.starts for one agent on A and B at once: exactly one run', async () => {
    for (let i = 0; i < 10; i++) {
      const id = await agent(A.url);
      const turn = (base: string) =>
        fetch(`${base}/v1/agents/${id}/messages/stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ messages: [{ role: 'user', content: '#delay 5\nhi' }], background: true }),
        }).then(async (r) => (await r.text(), r.status));
      const statuses = await Promise.all([turn(A.url), turn(B.url)]);
      expect(statuses.sort()).toEqual([200, 409]);
      const runs = await http(A.url, `/v1/runs?agent_id=${id}`);
      expect(runs.body as unknown as Json[]).toHaveLength(1);
    }
  });

  it('kill -9 of A mid-run: B fails the run within the lease, subscribers get the end, the agent takes a new turn', async () => {
    const C = await instance('c');
    const id = await agent(C.url);
    const c = await client(C);
    const runId = await c.start(id, '#tokens 400\n#delay 20\na long answer');
    await c.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');
    const b = await client(B);
    b.send({ type: 'run.subscribe', request_id: 'k', run_id: runId });
    await b.waitFor((f) => f.run_id === runId && f.message_type === 'assistant_message');
    const killed = Date.now();
    C.child.kill('SIGKILL');
    const frames = lettaFrames(await b.runFrames(runId, 20_000));
    const took = Date.now() - killed;
    console.log(`kill -9 of the owner: B ended its run after ${took} ms`);
    expect(ofType(frames, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'error' })]);
    const seqs = frames.map((f) => f.seq_id as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    const run = await runStatus(B.url, runId, (s) => s !== 'running');
    expect(run).toMatchObject({ status: 'failed', stop_reason: 'error' });
    expect(String(run.error)).toMatch(/instance .* was lost/);
    // Its stream resumed from B after its owner died: from seq 3 to the end, once each.
    const resumed = await fetch(`${B.url}/v1/runs/${runId}/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ starting_after: 2 }) });
    const tail = [...(await resumed.text()).matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Frame);
    // (Letta's SSE tells a failed run's error as an error_message before its stop_reason.)
    expect(tail.filter((f) => f.message_type !== 'error_message').map((f) => f.seq_id)).toEqual(seqs.filter((n) => n > 2));
    expect(JSON.stringify(ofType(tail, 'error_message'))).toMatch(/was lost/);
    const next = await b.start(id, 'are you there?');
    expect(ofType(await b.runFrames(next), 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
  });

  it('an owner paused past its lease (SIGSTOP): B fails its run and takes the next turn; resumed, the owner writes nothing into that history', async () => {
    const D = await instance('d');
    const id = await agent(D.url);
    const d = await client(D);
    // The model (D's built-in server) answers only after the pause: the paused run's step ends after B moved on.
    const runId = await d.start(id, '#stall 11000\nan answer from a paused instance');
    D.child.kill('SIGSTOP');
    try {
      const failed = await runStatus(B.url, runId, (s) => s !== 'running', 20_000);
      expect(failed).toMatchObject({ status: 'failed', stop_reason: 'error' });
      const b = await client(B);
      const next = await b.start(id, '#tokens 5\nthe turn after');
      expect(ofType(await b.runFrames(next), 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
    } finally {
      D.child.kill('SIGCONT');
    }
    // Resumed, D's run gets its answer, ends locally, and its writes were refused (fenced).
    const local = lettaFrames(await d.runFrames(runId, 20_000));
    expect(ofType(local, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'error' })]);
    const run = await runStatus(B.url, runId, () => true);
    expect(run).toMatchObject({ status: 'failed', stop_reason: 'error' });
    expect(String(run.error)).toMatch(/instance .* was lost/);
    const messages = (await http(B.url, `/v1/agents/${id}/messages?order=asc&limit=100`)).body as unknown as Json[];
    expect(messages.filter((m) => m.run_id === runId).map((m) => m.message_type)).toEqual(['user_message']);
    expect(messages.at(-1)).toMatchObject({ message_type: 'assistant_message' });
    expect(messages.at(-1)?.run_id).not.toBe(runId);
    // And the agent still takes turns on D.
    const after = await d.start(id, '#tokens 5\nstill there?');
    expect(ofType(await d.runFrames(after), 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
  }, 60_000);

  it('a background run on A resumed from B with starting_after: no gap, no repeat', async () => {
    const id = await agent(A.url);
    const res = await fetch(`${A.url}/v1/agents/${id}/messages/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: '#tokens 120\n#delay 10\nstory' }], background: true, stream_tokens: true }),
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!/"seq_id":\s*5\b/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    await reader.cancel();
    const seen = [...text.matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Frame);
    const runId = seen[0]!.run_id as string;
    const last = Math.max(...seen.map((f) => f.seq_id as number));
    const rest = await fetch(`${B.url}/v1/runs/${runId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ starting_after: last }),
    });
    const tail = [...(await rest.text()).matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Frame);
    const seqs = [...seen, ...tail].map((f) => f.seq_id as number).filter((n) => n !== undefined);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(ofType(tail, 'stop_reason')).toEqual([expect.objectContaining({ stop_reason: 'end_turn' })]);
  });
});
