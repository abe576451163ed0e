import { z } from 'zod';
import { defineTool } from './define.js';
import { ToolError } from './types.js';

/** A formatter for the zone; invalid_arguments for a zone Intl does not know. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'long',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
  } catch {
    throw new ToolError('invalid_arguments', `get_time: unknown time zone ${JSON.stringify(timeZone)} (use an IANA name such as Europe/Paris)`);
  }
}

/** ISO 8601 wall-clock time with the zone's UTC offset, e.g. 2024-01-15T21:00:00+09:00, and the weekday. */
export function zonedIso(date: Date, fmt: Intl.DateTimeFormat): { iso: string; weekday: string } {
  const part: Record<string, string> = {};
  for (const p of fmt.formatToParts(date)) part[p.type] = p.value;
  // longOffset reads "GMT+09:00", or plain "GMT" at UTC itself.
  const offset = (part.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  const iso = `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}:${part.second}${offset}`;
  return { iso, weekday: part.weekday ?? '' };
}

export const getTime = defineTool({
  name: 'get_time',
  changesWorkspace: false,
  description: 'The current date and time: in UTC (ISO 8601), and also in an IANA time zone (e.g. Europe/Paris) when one is given.',
  input: z.object({ timezone: z.string().min(1).max(100).optional().describe('IANA time zone, e.g. Asia/Tokyo') }),
  run: async ({ timezone }, ctx) => {
    // Validate before reading the clock so a bad zone never yields a half answer.
    const fmt = timezone === undefined ? undefined : formatterFor(timezone);
    const now = ctx.now?.() ?? new Date();
    const utc = `UTC: ${now.toISOString()}`;
    if (!fmt) return utc;
    const { iso, weekday } = zonedIso(now, fmt);
    return `${utc}\n${fmt.resolvedOptions().timeZone}: ${iso} (${weekday})`;
  },
});
