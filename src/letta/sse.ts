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
  const records: SseRecord[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  let event: string | null = null;
  let data: string[] = [];
  let dataLine = 0;

  const dispatch = () => {
    if (data.length === 0) {
      event = null;
      return;
    }
    const raw = data.join('\n');
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new SseFormatError('invalid_json', dataLine, `data is not valid JSON (${(err as Error).message})`);
    }
    records.push({ line: dataLine, event, data: value });
    event = null;
    data = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') {
      dispatch();
      continue;
    }
    if (line.startsWith(':')) continue; // comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (!FIELDS.has(field)) {
      throw new SseFormatError('invalid_sse', i + 1, `not an SSE field line: ${JSON.stringify(line.slice(0, 60))}`);
    }
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      if (data.length === 0) dataLine = i + 1;
      data.push(value);
    }
  }
  dispatch();
  return records;
}
