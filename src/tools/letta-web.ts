import { z } from 'zod';
import { defineTool } from './define.js';
import { ToolError } from './types.js';

/**
 * Letta's server-side web tools, which Letta Code gives the agent it creates. This instance has
 * no search provider and fetches nothing from the network, so both are known tools whose every
 * call answers a clear error the model can read (never an unknown-tool error).
 */
const notConfigured = (tool: string) => new ToolError('failed', `${tool} is not configured on this letta-stream instance (it has no web access)`);

export const webSearch = defineTool({
  name: 'web_search',
  changesWorkspace: false,
  description: 'Search the web (not configured on this letta-stream instance: every call answers an error).',
  input: z.object({ query: z.string().describe('What to search for') }),
  run: async () => {
    throw notConfigured('web_search');
  },
});

export const fetchWebpage = defineTool({
  name: 'fetch_webpage',
  changesWorkspace: false,
  description: 'Fetch a web page as text (not configured on this letta-stream instance: every call answers an error).',
  input: z.object({ url: z.string().describe('The page to fetch') }),
  run: async () => {
    throw notConfigured('fetch_webpage');
  },
});
