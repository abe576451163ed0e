import { createLetta } from '@letta-ai/vercel-ai-sdk-provider';
import { streamText } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';

/**
 * Issue #10: the Vercel AI SDK's Letta provider (@letta-ai/vercel-ai-sdk-provider 1.4.0 with ai
 * 5.0.277) streams a turn from letta-stream over real HTTP; a tool's result names its tool.
 */
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.close());

describe('Vercel AI SDK Letta provider against letta-stream', () => {
  it('streamText: a tool call and its result name the tool, then the answer streams', async () => {
    const agent = await h.service.ensureDemoAgent();
    const letta = createLetta({ baseUrl: h.server.url, token: 'local' });
    const result = streamText({
      model: letta(),
      providerOptions: { letta: { agent: { id: agent.id } } },
      prompt: '#tool calculator {"expression": "2+3"}',
    });
    const parts: Array<{ type: string; toolName?: string; output?: unknown; text?: string }> = [];
    for await (const part of result.fullStream) parts.push(part as (typeof parts)[number]);
    const types = parts.map((p) => p.type);
    expect(types).not.toContain('error');
    const toolResult = parts.find((p) => p.type === 'tool-result');
    expect(toolResult).toMatchObject({ toolName: 'calculator' });
    expect(JSON.stringify(toolResult)).toContain('5');
    expect(await result.text).toContain('The tool returned:');
  }, 60_000);
});
