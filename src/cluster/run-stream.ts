import type { LogEntry, RunEnd } from '../actors/run-log.js';
import type { RunTransition } from '../store/types.js';

/**
 * A run's log in Redis: one Stream per run, `${prefix}run:${runId}`, one stream entry per log
 * entry. Fields (flat, as XADD takes them):
 *   agent=<agentId>                  first entry: the stream exists as soon as the run is published
 *   seq=<n> json=<frame JSON>        a frame, the very text local subscribers got
 *   state=<RunTransition JSON>       a change of the run's active states
 *   end=<RunEnd JSON>                the last entry
 */
export function runStreamKey(prefix: string, runId: string): string {
  return `${prefix}run:${runId}`;
}

export type StreamItem =
  | { kind: 'agent'; agentId: string }
  | { kind: 'frame'; entry: LogEntry }
  | { kind: 'state'; transition: RunTransition }
  | { kind: 'end'; end: RunEnd };

export const encode = {
  agent: (agentId: string): string[] => ['agent', agentId],
  frame: (e: LogEntry): string[] => ['seq', String(e.seq), 'json', e.json],
  state: (t: RunTransition): string[] => ['state', JSON.stringify(t)],
  end: (end: RunEnd): string[] => ['end', JSON.stringify(end)],
};

/** One stream entry's fields back into what it says, or null for an entry this version does not know. */
export function decode(fields: readonly string[]): StreamItem | null {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  const json = f.get('json');
  const seq = f.get('seq');
  if (seq !== undefined && json !== undefined) return { kind: 'frame', entry: { seq: Number(seq), json } };
  const state = f.get('state');
  if (state !== undefined) return { kind: 'state', transition: JSON.parse(state) as RunTransition };
  const end = f.get('end');
  if (end !== undefined) return { kind: 'end', end: JSON.parse(end) as RunEnd };
  const agent = f.get('agent');
  if (agent !== undefined) return { kind: 'agent', agentId: agent };
  return null;
}

/** A stream entry as XRANGE / XREAD return it. */
export type RawEntry = [id: string, fields: string[]];

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function isRawEntry(v: unknown): v is RawEntry {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isStringArray(v[1]);
}

/** XREAD's reply: null on timeout, else [key, entries][] (checked, as it comes untyped from `call`). */
export function parseXRead(reply: unknown): Array<[string, RawEntry[]]> {
  if (reply === null || !Array.isArray(reply)) return [];
  const out: Array<[string, RawEntry[]]> = [];
  for (const s of reply) {
    if (!Array.isArray(s) || typeof s[0] !== 'string' || !Array.isArray(s[1])) continue;
    out.push([s[0], (s[1] as unknown[]).filter(isRawEntry)]);
  }
  return out;
}
