/**
 * Letta's official client, unmodified, talking to letta-stream.
 * Run: `npm run example` (starts a letta-stream on a spare port with a throwaway data dir).
 * Against your own server: `LETTA_BASE_URL=http://127.0.0.1:8283 npm run example`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Letta from '@letta-ai/letta-client';

async function startLettaStream(): Promise<{ url: string; stop(): void }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'letta-stream-example-'));
  const child = spawn(process.execPath, ['bin/letta-stream.js', 'serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`letta-stream exited with ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

const own = process.env.LETTA_BASE_URL ? null : await startLettaStream();
const client = new Letta({ baseURL: process.env.LETTA_BASE_URL ?? own!.url, apiKey: process.env.LETTA_STREAM_TOKEN ?? null });
try {
  const agent = await client.agents.create({ name: `example-${Date.now()}`, model: 'anthropic/claude-sonnet-4-6', tools: ['calculator'] } as never);
  console.log(`agent ${agent.id}`);

  // A streamed turn: every Letta message as it happens.
  const stream = await client.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool calculator {"expression": "6*7"}' }], streaming: true });
  for await (const chunk of stream) {
    const c = chunk as { message_type: string; content?: string; reasoning?: string; tool_return?: string; stop_reason?: string };
    if (c.message_type === 'assistant_message') process.stdout.write(c.content ?? '');
    else if (c.message_type === 'tool_return_message') console.log(`[tool returned ${c.tool_return}]`);
    else if (c.message_type === 'stop_reason') console.log(`\n[stop: ${c.stop_reason}]`);
  }

  // A turn without streaming: one LettaResponse.
  const response = await client.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'thanks!' }] });
  console.log(`non-streamed: ${response.messages.length} messages, stop ${response.stop_reason.stop_reason}`);
} finally {
  own?.stop();
}
