/**
 * An incremental reader of a tool call's JSON arguments as they stream in `partial_json` chunks
 * split anywhere (inside keys, strings, escapes, surrogate pairs, numbers). Each character is
 * looked at once: no re-scan of the accumulated buffer, no parse of it per chunk (Letta did
 * both, which is quadratic). It reports the decoded, growing value of watched top-level string
 * fields, and re-emits the arguments without the omitted top-level members as valid JSON text.
 */
export interface ToolArgsSink {
  /** Decoded text appended to a watched top-level string field (never empty). */
  field(name: string, text: string): void;
  /** The watched field's string is complete (its closing quote was read). */
  fieldEnd(name: string): void;
  /** JSON text of the arguments without the omitted members; the concatenation is valid JSON once complete. */
  args(text: string): void;
}

export interface ToolArgsReaderOptions {
  watch: readonly string[];
  omit: readonly string[];
}

export type ToolArgsResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; error: string; raw: string };

const enum S {
  BeforeValue,
  ExpectKeyOrEnd,
  ExpectKey,
  Key,
  AfterKey,
  ValueStart,
  StringValue,
  Nested,
  Scalar,
  AfterValue,
  Done,
  PassThrough,
}

const QUOTE = 34;
const BACKSLASH = 92;
const isWs = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export class ToolArgsReader {
  private state = S.BeforeValue;
  private readonly parts: string[] = [];
  private offset = 0;
  private error: string | null = null;
  private readonly watch: ReadonlySet<string>;
  private readonly omit: ReadonlySet<string>;

  // the current member
  private keyRaw = '';
  private key = '';
  private emitting = false; // this member's text goes to args
  private watched = false; // this member's string value goes to field
  private members = 0; // members emitted so far (for the separator)
  // string value / key escapes, possibly split across chunks
  private escape: string | null = null;
  private highSurrogate: string | null = null;
  // nested values
  private depth = 0;
  private nestedInString = false;
  private nestedEscape = false;

  // output of the current push
  private out: string[] = [];
  private decoded: string[] = [];

  constructor(
    options: ToolArgsReaderOptions,
    private readonly sink: ToolArgsSink,
  ) {
    this.watch = new Set(options.watch);
    this.omit = new Set(options.omit);
  }

  get complete(): boolean {
    return this.state === S.Done;
  }

  raw(): string {
    if (this.parts.length > 1) {
      const joined = this.parts.join('');
      this.parts.length = 0;
      this.parts.push(joined);
    }
    return this.parts[0] ?? '';
  }

  push(chunk: string): void {
    if (chunk === '') return;
    this.parts.push(chunk);
    const base = this.offset;
    this.offset += chunk.length;
    if (this.state === S.PassThrough) {
      this.sink.args(chunk);
      return;
    }
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case S.BeforeValue:
          if (isWs(c)) i++;
          else if (c === 123) {
            this.out.push('{');
            this.state = S.ExpectKeyOrEnd;
            i++;
          } else {
            // Not an object: nothing to cut out; the caller reports it at the end.
            this.state = S.PassThrough;
            this.out.push(chunk.slice(i));
            i = n;
          }
          break;
        case S.ExpectKeyOrEnd:
        case S.ExpectKey:
          if (isWs(c)) i++;
          else if (c === QUOTE) {
            this.keyRaw = '';
            this.escape = null;
            this.state = S.Key;
            i++;
          } else if (c === 125 && this.state === S.ExpectKeyOrEnd) {
            this.out.push('}');
            this.state = S.Done;
            i++;
          } else {
            i = this.fail(chunk, i, base, `expected a key`);
          }
          break;
        case S.Key: {
          let j = i;
          while (j < n) {
            const k = chunk.charCodeAt(j);
            if (this.escape !== null) this.escape = null;
            else if (k === BACKSLASH) this.escape = '\\';
            else if (k === QUOTE) break;
            j++;
          }
          this.keyRaw += chunk.slice(i, j);
          if (j < n) {
            this.key = decodeKey(this.keyRaw);
            this.state = S.AfterKey;
            j++;
          }
          i = j;
          break;
        }
        case S.AfterKey:
          if (isWs(c)) i++;
          else if (c === 58) {
            this.beginMember();
            this.state = S.ValueStart;
            i++;
          } else i = this.fail(chunk, i, base, `expected ':' after key "${this.key}"`);
          break;
        case S.ValueStart:
          if (isWs(c)) i++;
          else if (c === QUOTE) {
            if (this.emitting) this.out.push('"');
            this.escape = null;
            this.highSurrogate = null;
            this.state = S.StringValue;
            i++;
          } else if (c === 123 || c === 91) {
            if (this.emitting) this.out.push(chunk[i] as string);
            this.depth = 1;
            this.nestedInString = false;
            this.nestedEscape = false;
            this.state = S.Nested;
            this.watched = false;
            i++;
          } else {
            this.watched = false;
            this.state = S.Scalar;
          }
          break;
        case S.StringValue:
          i = this.readString(chunk, i);
          break;
        case S.Nested: {
          let j = i;
          while (j < n && this.depth > 0) {
            const k = chunk.charCodeAt(j);
            if (this.nestedInString) {
              if (this.nestedEscape) this.nestedEscape = false;
              else if (k === BACKSLASH) this.nestedEscape = true;
              else if (k === QUOTE) this.nestedInString = false;
            } else if (k === QUOTE) this.nestedInString = true;
            else if (k === 123 || k === 91) this.depth++;
            else if (k === 125 || k === 93) this.depth--;
            j++;
          }
          if (this.emitting) this.out.push(chunk.slice(i, j));
          if (this.depth === 0) this.state = S.AfterValue;
          i = j;
          break;
        }
        case S.Scalar: {
          let j = i;
          while (j < n) {
            const k = chunk.charCodeAt(j);
            if (isWs(k) || k === 44 || k === 125) break;
            j++;
          }
          if (this.emitting) this.out.push(chunk.slice(i, j));
          if (j < n) this.state = S.AfterValue;
          i = j;
          break;
        }
        case S.AfterValue:
          if (isWs(c)) i++;
          else if (c === 44) {
            this.state = S.ExpectKey;
            i++;
          } else if (c === 125) {
            this.out.push('}');
            this.state = S.Done;
            i++;
          } else i = this.fail(chunk, i, base, `expected ',' or '}'`);
          break;
        case S.Done:
          if (isWs(c)) i++;
          else i = this.fail(chunk, i, base, 'unexpected text after the arguments');
          break;
        case S.PassThrough:
          this.out.push(chunk.slice(i));
          i = n;
          break;
      }
    }
    this.flush();
  }

  /** A member's key is complete: decide whether it is streamed, watched, or cut out. */
  private beginMember(): void {
    this.emitting = !this.omit.has(this.key);
    this.watched = this.watch.has(this.key);
    if (this.emitting) {
      this.out.push(this.members > 0 ? `, "${this.keyRaw}": ` : `"${this.keyRaw}": `);
      this.members++;
    }
  }

  /** Reads string value text from `i`; returns where it stopped. */
  private readString(chunk: string, i: number): number {
    const n = chunk.length;
    while (i < n) {
      if (this.escape !== null) {
        // Inside an escape: `\` then one char, or `\u` then four hex digits.
        if (this.escape.length === 1) this.escape += chunk[i++] as string;
        const need = this.escape[1] === 'u' ? 6 : 2;
        if (this.escape.length < need) {
          const take = Math.min(need - this.escape.length, n - i);
          this.escape += chunk.slice(i, i + take);
          i += take;
        }
        if (this.escape.length === need) {
          const esc = this.escape;
          this.escape = null;
          if (this.emitting) this.out.push(esc);
          if (this.watched) this.decodeEscape(esc);
        }
        continue;
      }
      let j = i;
      while (j < n) {
        const k = chunk.charCodeAt(j);
        if (k === QUOTE || k === BACKSLASH) break;
        j++;
      }
      if (j > i) {
        if (this.emitting) this.out.push(chunk.slice(i, j));
        if (this.watched) {
          this.flushSurrogate();
          this.decoded.push(chunk.slice(i, j));
        }
      }
      if (j === n) return n;
      if (chunk.charCodeAt(j) === BACKSLASH) {
        this.escape = '\\';
        i = j + 1;
        continue;
      }
      // closing quote
      if (this.emitting) this.out.push('"');
      this.state = S.AfterValue;
      if (this.watched) {
        this.flushSurrogate();
        this.flush();
        this.sink.fieldEnd(this.key);
      }
      return j + 1;
    }
    return n;
  }

  private decodeEscape(esc: string): void {
    if (esc[1] !== 'u') {
      this.flushSurrogate();
      this.decoded.push(SIMPLE_ESCAPES[esc[1] as string] ?? (esc[1] as string));
      return;
    }
    const code = Number.parseInt(esc.slice(2), 16);
    const ch = String.fromCharCode(Number.isNaN(code) ? 0xfffd : code);
    if (code >= 0xd800 && code <= 0xdbff) {
      // A high surrogate waits for its low half, so no chunk ever ends in half a character.
      this.flushSurrogate();
      this.highSurrogate = ch;
    } else if (code >= 0xdc00 && code <= 0xdfff && this.highSurrogate) {
      this.decoded.push(this.highSurrogate + ch);
      this.highSurrogate = null;
    } else {
      this.flushSurrogate();
      this.decoded.push(ch);
    }
  }

  /** A lone high surrogate (JSON allows one) is reported as is once it is clearly alone. */
  private flushSurrogate(): void {
    if (this.highSurrogate) {
      this.decoded.push(this.highSurrogate);
      this.highSurrogate = null;
    }
  }

  private flush(): void {
    if (this.decoded.length) {
      const text = this.decoded.join('');
      this.decoded = [];
      if (text) this.sink.field(this.key, text);
    }
    if (this.out.length) {
      const text = this.out.join('');
      this.out = [];
      if (text) this.sink.args(text);
    }
  }

  /** Malformed JSON: remember where, and pass the rest of the raw text through unchanged. */
  private fail(chunk: string, i: number, base: number, what: string): number {
    this.error = `tool arguments are not valid JSON: ${what}, got ${JSON.stringify(chunk[i])} at offset ${base + i}`;
    this.state = S.PassThrough;
    this.out.push(chunk.slice(i));
    return chunk.length;
  }

  /** At the end of the stream: one parse of the whole text for the final value. Never throws. */
  end(): ToolArgsResult {
    this.flushSurrogate();
    this.flush();
    const raw = this.raw();
    if (raw.trim() === '') return { ok: true, value: {} };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      if (this.error) return { ok: false, error: this.error, raw };
      if (this.state !== S.Done && this.state !== S.PassThrough) {
        return { ok: false, error: `tool arguments ended before the JSON was complete (offset ${raw.length})`, raw };
      }
      return { ok: false, error: `tool arguments are not valid JSON: ${(err as Error).message}`, raw };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, error: `tool arguments must be a JSON object, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}`, raw };
    }
    return { ok: true, value: value as Record<string, unknown> };
  }
}

function decodeKey(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
