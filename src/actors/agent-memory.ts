import { newBlockId } from '../letta/ids.js';
import { DEFAULT_BLOCK_LIMIT } from '../letta/memory.js';
import type { Store } from '../store/types.js';
import { ToolError, type AgentMemory } from '../tools/registry.js';

/** An agent's blocks in the store, as the memory tools edit them (each write at once, as Letta's). */
export function agentMemory(store: Store, agentId: string): AgentMemory {
  return {
    get: (label) => store.getBlock(agentId, label),
    labels: async () => (await store.listBlocks(agentId)).map((b) => b.label),
    async set(label, value) {
      const now = new Date().toISOString();
      const block = (await store.getBlock(agentId, label)) ?? { id: newBlockId(), agentId, label, value, limit: DEFAULT_BLOCK_LIMIT, description: null, readOnly: false, createdAt: now, updatedAt: now };
      if (value.length > block.limit) throw new ToolError('invalid_arguments', `the new value of memory block "${label}" has ${value.length} characters, more than its limit of ${block.limit}`);
      await store.putBlock({ ...block, value, updatedAt: now });
    },
  };
}
