import { z } from 'zod';
import { defineTool, ToolError } from './types.js';

export const getTime = defineTool({
  name: 'get_time',
  description: 'The current date and time, in UTC and optionally in an IANA time zone (e.g. Europe/Paris).',
  inputSchema: { type: 'object', properties: { timezone: { type: 'string', description: 'IANA time zone' } } },
  input: z.object({ timezone: z.string().min(1).optional() }),
  run: async ({ timezone }) => {
    const now = new Date();
    if (!timezone) return `UTC: ${now.toISOString()}`;
    try {
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, dateStyle: 'full', timeStyle: 'long' }).format(now);
      return `UTC: ${now.toISOString()}\n${timezone}: ${local}`;
    } catch {
      throw new ToolError('invalid_arguments', `get_time: unknown time zone ${JSON.stringify(timezone)}`);
    }
  },
});
