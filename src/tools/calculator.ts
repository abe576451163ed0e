import { z } from 'zod';
import { defineTool } from './define.js';
import { ToolError } from './types.js';

export const MAX_EXPRESSION_LENGTH = 1000;
/** Bounds recursion so a pathological `((((…` or `----…1` cannot exhaust the stack. */
const MAX_DEPTH = 200;

/** Half away from zero (round(-2.5) = -3), as people expect; Math.round rounds half up. */
const round = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

// Maps, not object literals: a lookup of "constructor" or "toString" must not reach Object.prototype.
const FUNCTIONS = new Map<string, { arity: 1 | 'variadic'; fn: (...args: number[]) => number }>([
  ['sqrt', { arity: 1, fn: Math.sqrt }],
  ['abs', { arity: 1, fn: Math.abs }],
  ['round', { arity: 1, fn: round }],
  ['floor', { arity: 1, fn: Math.floor }],
  ['ceil', { arity: 1, fn: Math.ceil }],
  ['min', { arity: 'variadic', fn: Math.min }],
  ['max', { arity: 'variadic', fn: Math.max }],
]);
const CONSTANTS = new Map<string, number>([
  ['pi', Math.PI],
  ['e', Math.E],
]);

const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * A recursive-descent evaluator; input is only ever read as data, never eval'd.
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/' | '%') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := primary ('^' unary)?          right-associative; -2^2 = -(2^2), 2^-1 allowed
 *   primary := number | constant | name '(' expr (',' expr)* ')' | '(' expr ')'
 */
class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  parse(): number {
    const v = this.expr();
    if (this.peek() !== undefined) this.fail(`unexpected ${JSON.stringify(this.peek())}`);
    return v;
  }

  private fail(what: string, at = this.i): never {
    throw new ToolError('invalid_arguments', `calculator: syntax error at position ${at + 1}: ${what}`);
  }

  /** The next non-blank character, leaving `i` on it. */
  private peek(): string | undefined {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] ?? '')) this.i++;
    return this.s[this.i];
  }

  private expect(c: string): void {
    if (this.peek() !== c) this.fail(this.peek() === undefined ? `expected '${c}' but the expression ended` : `expected '${c}'`);
    this.i++;
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail('expression nested too deeply');
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private expr(): number {
    return this.nested(() => {
      let v = this.term();
      for (let c = this.peek(); c === '+' || c === '-'; c = this.peek()) {
        this.i++;
        v = c === '+' ? v + this.term() : v - this.term();
      }
      return v;
    });
  }

  private term(): number {
    let v = this.unary();
    for (let c = this.peek(); c === '*' || c === '/' || c === '%'; c = this.peek()) {
      this.i++;
      const r = this.unary();
      if (c !== '*' && r === 0) throw new ToolError('invalid_arguments', 'calculator: division by zero');
      v = c === '*' ? v * r : c === '/' ? v / r : v % r;
    }
    return v;
  }

  private unary(): number {
    const c = this.peek();
    if (c === '-' || c === '+') {
      this.i++;
      const v = this.nested(() => this.unary());
      return c === '-' ? -v : v;
    }
    return this.power();
  }

  private power(): number {
    const base = this.primary();
    if (this.peek() !== '^') return base;
    this.i++;
    return base ** this.nested(() => this.unary());
  }

  private primary(): number {
    const c = this.peek();
    if (c === undefined) this.fail('unexpected end of expression');
    if (c === '(') {
      this.i++;
      const v = this.expr();
      this.expect(')');
      return v;
    }
    const num = this.match(NUMBER);
    if (num !== undefined) return Number(num);
    const start = this.i;
    const name = this.match(NAME);
    if (name === undefined) this.fail(`unexpected ${JSON.stringify(c)}`);
    return this.call(name, start);
  }

  private call(name: string, start: number): number {
    const id = name.toLowerCase();
    const constant = CONSTANTS.get(id);
    if (constant !== undefined) return constant;
    const f = FUNCTIONS.get(id);
    if (!f) this.fail(`unknown name ${JSON.stringify(name)}`, start);
    this.expect('(');
    const args = [this.expr()];
    while (this.peek() === ',') {
      this.i++;
      args.push(this.expr());
    }
    this.expect(')');
    if (f.arity === 1 && args.length !== 1) this.fail(`${id} takes 1 argument, got ${args.length}`, start);
    return f.fn(...args);
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
}

/** Evaluates an arithmetic expression; throws ToolError('invalid_arguments') on any problem. */
export function evaluate(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new ToolError('invalid_arguments', `calculator: the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  const v = new Parser(expression).parse();
  if (Number.isNaN(v)) throw new ToolError('invalid_arguments', 'calculator: the result is not a real number');
  if (!Number.isFinite(v)) throw new ToolError('invalid_arguments', 'calculator: the result is too large');
  return v;
}

/** 15 significant digits hide binary noise (0.1 + 0.2 → 0.3); -0 reads as 0. */
export function formatNumber(v: number): string {
  return String(Number(v.toPrecision(15)) + 0);
}

export const calculator = defineTool({
  name: 'calculator',
  changesWorkspace: false,
  description:
    'Evaluates an arithmetic expression exactly as written and returns the number. Supports + - * / % (remainder) ^ (power, right-associative), ' +
    'parentheses, unary minus, decimals and scientific notation, the functions sqrt, abs, round, floor, ceil, min, max, and the constants pi and e.',
  input: z.object({
    expression: z.string().min(1).max(MAX_EXPRESSION_LENGTH).describe('e.g. (2 + 3) * 4 ^ 2 / sqrt(16)'),
  }),
  run: async ({ expression }) => formatNumber(evaluate(expression)),
});
