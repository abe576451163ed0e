import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ToolArgsReader } from '../src/letta/tool-args-reader.js';

/** Feeds `chunks` and returns everything the reader reported. */
function read(chunks: string[], watch: string[] = ['thinking', 'message'], omit: string[] = ['thinking']) {
  const fields: Record<string, string> = {};
  const ends: string[] = [];
  let args = '';
  const reader = new ToolArgsReader(
    { watch, omit },
    {
      field: (name, text) => {
        expect(text).not.toBe('');
        fields[name] = (fields[name] ?? '') + text;
      },
      fieldEnd: (name) => ends.push(name),
      args: (text) => {
        expect(text).not.toBe('');
        args += text;
      },
    },
  );
  for (const c of chunks) reader.push(c);
  return { fields, ends, args, result: reader.end(), complete: reader.complete };
}

/** Cuts `text` at the given (sorted, deduplicated) points. */
function cut(text: string, points: number[]): string[] {
  const at = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let last = 0;
  for (const p of at) {
    out.push(text.slice(last, p));
    last = p;
  }
  out.push(text.slice(last));
  return out.filter((c) => c !== '');
}

/** Every character above 0x7e written as \uXXXX, so surrogate pairs become two escapes. */
const escapeAll = (json: string) => json.replace(/[\u007f-\uffff]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));

const withoutThinking = (v: Record<string, unknown>) => {
  const copy = { ...v };
  delete copy.thinking;
  return copy;
};

const argsObject = fc
  .record(
    {
      thinking: fc.string({ unit: 'binary' }),
      message: fc.string({ unit: 'grapheme' }),
      rest: fc.dictionary(fc.string({ unit: 'binary' }).filter((k) => k !== 'thinking' && k !== 'message' && k !== '__proto__'), fc.jsonValue()),
    },
    { requiredKeys: ['rest'] },
  )
  .chain(({ rest, ...fields }) =>
    fc.shuffledSubarray(Object.entries({ ...rest, ...fields }), { minLength: Object.keys(rest).length + Object.keys(fields).length }).map((entries) => Object.fromEntries(entries) as Record<string, unknown>),
  );

describe('ToolArgsReader', () => {
  it('any object, any serialization, any chunking: same value, same fields, valid args without thinking', () => {
    fc.assert(
      fc.property(argsObject, fc.constantFrom('compact', 'pretty', 'escaped'), fc.array(fc.nat(), { maxLength: 40 }), (value, style, points) => {
        const compact = JSON.stringify(value);
        const text = style === 'pretty' ? JSON.stringify(value, null, 2) : style === 'escaped' ? escapeAll(compact) : compact;
        const r = read(cut(text, points));
        // Compare with what JSON itself round-trips (-0 becomes 0, for one).
        const parsed = JSON.parse(text) as Record<string, unknown>;
        expect(r.result).toEqual({ ok: true, value: parsed });
        expect(r.complete).toBe(true);
        expect(JSON.parse(r.args)).toEqual(withoutThinking(parsed));
        for (const name of ['thinking', 'message']) {
          if (typeof value[name] === 'string') {
            expect(r.fields[name] ?? '').toBe(value[name]);
            expect(r.ends.filter((e) => e === name)).toHaveLength(1);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("cuts the first member without leaving a leading comma (Letta's defect)", () => {
    const r = read(['{"thinking": "x", "query": "a"}']);
    expect(r.args.startsWith('{"query"')).toBe(true);
    expect(JSON.parse(r.args)).toEqual({ query: 'a' });
    expect(r.fields.thinking).toBe('x');
  });

  it('escapes split across chunks decode to whole characters', () => {
    const r = read(['{"thinking": "a\\', '"b\\u00', 'e9 \\ud83d', '\\ude80 \\ud83d\\u', 'de80 \\\\', '", "k": 1}']);
    expect(r.fields.thinking).toBe('a"bé 🚀 🚀 \\');
    expect(JSON.parse(r.args)).toEqual({ k: 1 });
  });

  it('never reports half a surrogate pair at a chunk boundary', () => {
    const seen: string[] = [];
    const reader = new ToolArgsReader({ watch: ['thinking'], omit: [] }, { field: (_, t) => seen.push(t), fieldEnd: () => {}, args: () => {} });
    for (const c of ['{"thinking": "\\ud83d', '\\ude80"}']) reader.push(c);
    expect(seen).toEqual(['🚀']);
  });

  it('empty input and {} are empty arguments', () => {
    expect(read([]).result).toEqual({ ok: true, value: {} });
    const r = read(['{', '}']);
    expect(r.result).toEqual({ ok: true, value: {} });
    expect(r.args).toBe('{}');
  });

  it('invalid JSON: says where, never throws, passes the raw text through', () => {
    const r = read(['{"a": 1 ', 'x}']);
    expect(r.result.ok).toBe(false);
    expect(r.result.ok === false && r.result.error).toMatch(/offset 8/);
    expect(r.args).toContain('x}');
  });

  it('truncated JSON says it ended early', () => {
    const r = read(['{"thinking": "unfinished']);
    expect(r.result).toEqual({ ok: false, error: expect.stringContaining('ended before the JSON was complete'), raw: '{"thinking": "unfinished' });
    expect(r.ends).toEqual([]);
  });

  it('a top-level value that is not an object is passed through and reported', () => {
    const r = read(['[1, ', '2]']);
    expect(r.args).toBe('[1, 2]');
    expect(r.result).toEqual({ ok: false, error: 'tool arguments must be a JSON object, got array', raw: '[1, 2]' });
  });

  it('a watched field that is not a string is not reported, but is kept in the arguments', () => {
    const r = read(['{"message": 5, "thinking": {"a": "}"}}']);
    expect(r.fields).toEqual({});
    expect(JSON.parse(r.args)).toEqual({ message: 5 });
  });

  it('1 MB of arguments in 8-byte chunks reads correctly', () => {
    const value = { thinking: 'why '.repeat(1000), path: 'big.txt', content: 'line "q" \\ café\n'.repeat(65536) };
    const text = JSON.stringify(value);
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 8) chunks.push(text.slice(i, i + 8));
    const r = read(chunks);
    expect(r.result).toEqual({ ok: true, value });
    expect(JSON.parse(r.args)).toEqual(withoutThinking(value));
    expect(r.fields.thinking).toBe(value.thinking);
  });
});
