import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/service-harness.js';

/** What Letta Code asks of a server at start and during a turn, through Letta's own client. */
let h: Harness;
let letta: Letta;
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
});
afterEach(() => h.close());

describe('Letta client: what Letta Code reads at start', () => {
  it('health answers Letta\'s {status, version}', async () => {
    const health = await letta.health();
    expect(health).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('models: the Anthropic API\'s models for this key, in Letta\'s Model shape; other providers have none', async () => {
    const models = await letta.models.list();
    expect(models.map((m) => m.handle)).toEqual(['anthropic/claude-sonnet-4-6', 'anthropic/claude-opus-4-1', 'anthropic/claude-haiku-4-5']);
    expect(models[0]).toMatchObject({
      name: 'claude-sonnet-4-6',
      model: 'claude-sonnet-4-6',
      display_name: 'Claude Sonnet 4.6',
      provider_type: 'anthropic',
      provider_name: 'anthropic',
      model_endpoint_type: 'anthropic',
      model_type: 'llm',
      context_window: 200_000,
      max_context_window: 200_000,
      max_tokens: 4096,
    });
    expect(await letta.models.list({ provider_type: 'openai' })).toEqual([]);
    expect(await letta.models.list({ provider_category: ['byok'] })).toEqual([]);
    expect(await letta.models.list({ provider_name: 'anthropic' })).toHaveLength(3);
    await expect(letta.models.list({ provider_category: ['nope'] } as never)).rejects.toMatchObject({ status: 400 });
  });

  it('an agent has no secrets and the instance no MCP servers: truthful empty answers', async () => {
    const agent = await letta.agents.retrieve(h.service.ensureDemoAgent().id);
    expect((agent as unknown as { secrets: unknown[] }).secrets).toEqual([]);
    expect(await letta.mcpServers.list()).toEqual([]);
  });
});
