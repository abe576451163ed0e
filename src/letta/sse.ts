/**
 * A strict reader of recorded Anthropic SSE text (the `replay` input). Unlike a lenient live
 * client, it reports where a recording is broken: the line number of a bad line or bad JSON.
 */
export interface SseRecord {
  /** 1-based line of the record's first `data:` line. */
  line: number;
  event: string | null;
  data: unknown;
}

export class SseFormatError extends Error {
  constructor(
    readonly code: 'invalid_sse' | 'invalid_json',
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'SseFormatError';
  }
}

const FIELDS = new Set(['event', 'data', 'id', 'retry']);

export function parseSse(text: string): SseRecord[] {
  return [...sseRecords(text)];
}

/**
 * The records of `text` one at a time, so a replay holds one event, not the whole recording, at
 * once. Lines end in \n, \r\n or \r; they are scanned in place (no split of the whole text).
 */
export function* sseRecords(text: string): Generator<SseRecord, void, undefined> {
  let event: string | null = null;
  let data: string | null = null;
  let more: string[] | null = null; // a record with several data lines (rare)
  let dataLine = 0;
  let lineNo = 0;
  let pos = 0;
  let cr = text.indexOf('\r'); // -1 for the usual \n-only text: one scan, then never again
  const end = text.length;

  while (pos <= end) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = end;
    let next = nl + 1;
    let stop = nl;
    if (cr !== -1 && cr < nl) {
      if (cr < pos) cr = text.indexOf('\r', pos);
      if (cr !== -1 && cr < nl) {
        stop = cr;
        next = cr + 1 < end && text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        cr = text.indexOf('\r', next);
      }
    }
    lineNo++;
    if (stop === pos) {
      // A blank line ends the record.
      if (data !== null) {
        yield { line: dataLine, event, data: decode(more ? more.join('\n') : data, dataLine) };
        data = null;
        more = null;
      }
      event = null;
    } else if (text.charCodeAt(pos) !== 58 /* ':' comment */) {
      const colon = text.indexOf(':', pos);
      const hasColon = colon !== -1 && colon < stop;
      const field = text.slice(pos, hasColon ? colon : stop);
      if (!FIELDS.has(field)) {
        throw new SseFormatError('invalid_sse', lineNo, `not an SSE field line: ${JSON.stringify(text.slice(pos, stop).slice(0, 60))}`);
      }
      let from = hasColon ? colon + 1 : stop;
      if (from < stop && text.charCodeAt(from) === 32) from++;
      const value = text.slice(from, stop);
      if (field === 'event') event = value;
      else if (field === 'data') {
        if (data === null) {
          dataLine = lineNo;
          data = value;
        } else (more ??= [data]).push(value);
      }
    }
    if (nl === end && stop === nl) break;
    pos = next;
  }
  if (data !== null) yield { line: dataLine, event, data: decode(more ? more.join('\n') : data, dataLine) };
}

function decode(raw: string, line: number): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new SseFormatError('invalid_json', line, `data is not valid JSON (${(err as Error).message})`);
  }
}
