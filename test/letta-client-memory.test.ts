import Letta from '@letta-ai/letta-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileMemoryBlocks } from '../src/letta/memory.js';
import { startHarness, type Harness } from './support/service-harness.js';

/**
 * Issue #10, through Letta's official client over real HTTP: an agent created in Letta Code's
 * own shape (agent_type, memory_blocks, tags, Letta's web tools, compaction_settings); its memory
 * blocks stored, listed, read and updated by label, and compiled into the system prompt.
 */
let h: Harness;
let letta: Letta;
let systems: string[];
beforeEach(async () => {
  h = await startHarness();
  letta = new Letta({ baseURL: h.server.url, maxRetries: 0 });
  systems = [];
  h.anthropic.onBody((b) => {
    const system = (b as { system?: unknown }).system;
    if (typeof system === 'string') systems.push(system);
  });
});
afterEach(() => h.close());

/** The body Letta Code 0.32.18 sends on a first run (its system prompt and block values shortened). */
const lettaCodeCreate = {
  agent_type: 'letta_v1_agent',
  name: 'Letta Code',
  description: 'The default Letta Code agent with persistent memory',
  model: 'anthropic/claude-sonnet-4-6',
  system: 'You are Letta Code.',
  memory_blocks: [
    { label: 'persona', value: 'Letta Code for now.', description: 'Who I am.' },
    { label: 'human', value: 'Learn sideways, through the work.', description: 'What I have learned about the person.' },
  ],
  tags: ['origin:letta-code'],
  tools: ['web_search', 'fetch_webpage'],
  include_base_tools: false,
  include_base_tool_rules: false,
  initial_message_sequence: [],
  parallel_tool_calls: true,
  compaction_settings: { model: 'letta/auto' },
  context_window_limit: 200000,
} as unknown as Letta.AgentCreateParams;

describe('agents in Letta Code\'s shape, with core memory blocks', () => {
  it('creates the agent Letta Code asks for: its tools, tags and memory blocks (in agent.memory.blocks and agent.blocks)', async () => {
    const agent = await letta.agents.create(lettaCodeCreate);
    expect(agent.tools.map((t) => t.name)).toEqual(['web_search', 'fetch_webpage']);
    expect(agent.tags).toEqual(['origin:letta-code']);
    expect(agent.memory.blocks.map((b) => [b.label, b.value, b.limit, b.description, b.read_only])).toEqual([
      ['persona', 'Letta Code for now.', 100000, 'Who I am.', false],
      ['human', 'Learn sideways, through the work.', 100000, 'What I have learned about the person.', false],
    ]);
    expect((agent as unknown as { blocks: unknown[] }).blocks).toEqual(agent.memory.blocks);
    const listed = await letta.agents.list({ tags: ['origin:letta-code'] });
    expect(listed.items.map((a) => a.id)).toEqual([agent.id]);
  });

  it('lists, retrieves and updates blocks by label; a value over the limit, an unknown label or agent are errors', async () => {
    const agent = await letta.agents.create(lettaCodeCreate);
    const listed = [];
    for await (const b of letta.agents.blocks.list(agent.id)) listed.push(b);
    expect(listed.map((b) => b.label)).toEqual(['persona', 'human']);
    expect(listed[0]!.id).toMatch(/^block-/);
    expect((await letta.agents.blocks.retrieve('human', { agent_id: agent.id })).value).toBe('Learn sideways, through the work.');
    const updated = await letta.agents.blocks.update('human', { agent_id: agent.id, value: 'Name: Ada', limit: 50 });
    expect(updated).toMatchObject({ id: listed[1]!.id, label: 'human', value: 'Name: Ada', limit: 50 });
    expect((await letta.agents.retrieve(agent.id)).memory.blocks.map((b) => b.value)).toEqual(['Letta Code for now.', 'Name: Ada']);
    await expect(letta.agents.blocks.update('human', { agent_id: agent.id, value: 'x'.repeat(51) })).rejects.toMatchObject({ status: 400 });
    await expect(letta.agents.blocks.retrieve('nope', { agent_id: agent.id })).rejects.toMatchObject({ status: 404 });
    await expect(letta.agents.blocks.list('agent-nope')).rejects.toMatchObject({ status: 404 });
    await expect(letta.agents.create({ ...lettaCodeCreate, name: 'twice', memory_blocks: [{ label: 'a', value: '1' }, { label: 'a', value: '2' }] } as Letta.AgentCreateParams)).rejects.toMatchObject({ status: 400 });
  });

  it('the blocks are compiled into the system prompt as Letta compiles core memory, updated values included', async () => {
    const agent = await letta.agents.create(lettaCodeCreate);
    await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'hi' }] });
    await letta.agents.blocks.update('human', { agent_id: agent.id, value: 'Name: Ada' });
    await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'again' }] });
    const persona = '<persona>\n<description>\nWho I am.\n</description>\n<metadata>\n- chars_current=19\n- chars_limit=100000\n</metadata>\n<value>\nLetta Code for now.\n</value>\n</persona>\n';
    const human = (v: string) =>
      `<human>\n<description>\nWhat I have learned about the person.\n</description>\n<metadata>\n- chars_current=${v.length}\n- chars_limit=100000\n</metadata>\n<value>\n${v}\n</value>\n</human>\n`;
    const memory = (v: string) => `<memory_blocks>\nThe following memory blocks are currently engaged in your core memory unit:\n\n${persona}\n${human(v)}\n</memory_blocks>`;
    expect(systems).toEqual([`You are Letta Code.\n\n${memory('Learn sideways, through the work.')}`, `You are Letta Code.\n\n${memory('Name: Ada')}`]);
  });

  it('compiles read-only blocks with read_only=true, and puts the memory where the prompt says {CORE_MEMORY}', async () => {
    expect(compileMemoryBlocks([{ label: 'rules', value: 'v', limit: 10, description: null, readOnly: true }])).toBe(
      '<memory_blocks>\nThe following memory blocks are currently engaged in your core memory unit:\n\n<rules>\n<description>\n\n</description>\n<metadata>\n- read_only=true\n- chars_current=1\n- chars_limit=10\n</metadata>\n<value>\nv\n</value>\n</rules>\n\n</memory_blocks>',
    );
    const agent = await letta.agents.create({ name: 'templated', system: 'Before.\n{CORE_MEMORY}\nAfter.', memory_blocks: [{ label: 'note', value: 'n', limit: 5 }], tools: [] });
    await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'hi' }] });
    expect(systems[0]).toMatch(/^Before\.\n<memory_blocks>\n[\s\S]*<note>[\s\S]*<\/memory_blocks>\nAfter\.$/);
  });

  it('Letta\'s memory_replace, called by the model, edits the agent\'s block: the block API and the next step\'s system prompt show it', async () => {
    const agent = await letta.agents.create({ name: 'remembers', system: 'S.', tools: ['memory_replace'], memory_blocks: [{ label: 'human', value: 'Their name is Alice.' }] });
    const r = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: '#tool memory_replace {"label": "human", "old_string": "Alice", "new_string": "Bob"}' }] });
    const ret = r.messages.find((m) => m.message_type === 'tool_return_message') as { name?: string | null; status?: string; tool_return?: string } | undefined;
    expect(ret).toMatchObject({ name: 'memory_replace', status: 'success', tool_return: 'Their name is Bob.' });
    expect((await letta.agents.blocks.retrieve('human', { agent_id: agent.id })).value).toBe('Their name is Bob.');
    expect(systems).toHaveLength(2);
    expect(systems[0]).toContain('<value>\nTheir name is Alice.\n</value>');
    expect(systems[1]).toContain('<value>\nTheir name is Bob.\n</value>');
  });

  it('POST /v1/tools/add-base-tools answers the tools this instance has built in', async () => {
    const tools = await letta.post<Array<{ id: string; name: string; json_schema: { parameters: { type: string } } }>>('/v1/tools/add-base-tools');
    expect(tools.map((t) => t.name)).toEqual(['get_time', 'calculator', 'read_file', 'list_dir', 'write_file', 'web_search', 'fetch_webpage', 'memory_insert', 'memory_replace', 'memory_rethink', 'memory', 'conversation_search']);
    expect(tools[0]).toMatchObject({ id: 'tool-get_time', json_schema: { name: 'get_time', parameters: { type: 'object' } } });
  });
});
