import { z } from 'zod';
import { defineTool, ToolError } from './types.js';

const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  sqrt: Math.sqrt,
  abs: Math.abs,
  round: Math.round,
  floor: Math.floor,
  ceil: Math.ceil,
  min: Math.min,
  max: Math.max,
};
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

/** A recursive-descent evaluator: + - * / % ^, parentheses, unary minus, functions. Never eval. */
export function evaluate(expression: string): number {
  let i = 0;
  const s = expression;
  const bad = (what: string): never => {
    throw new ToolError('invalid_arguments', `calculator: ${what} at position ${i + 1} in ${JSON.stringify(s)}`);
  };
  const skip = () => {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
  };
  const peek = () => {
    skip();
    return s[i];
  };
  const expr = (): number => {
    let v = term();
    for (let c = peek(); c === '+' || c === '-'; c = peek()) {
      i++;
      v = c === '+' ? v + term() : v - term();
    }
    return v;
  };
  const term = (): number => {
    let v = power();
    for (let c = peek(); c === '*' || c === '/' || c === '%'; c = peek()) {
      i++;
      const r = power();
      if ((c === '/' || c === '%') && r === 0) throw new ToolError('invalid_arguments', 'calculator: division by zero');
      v = c === '*' ? v * r : c === '/' ? v / r : v % r;
    }
    return v;
  };
  const power = (): number => {
    const base = unary();
    if (peek() === '^') {
      i++;
      return base ** power(); // right-associative
    }
    return base;
  };
  const unary = (): number => {
    const c = peek();
    if (c === '-') {
      i++;
      return -unary();
    }
    if (c === '+') {
      i++;
      return unary();
    }
    return primary();
  };
  const primary = (): number => {
    const c = peek();
    if (c === '(') {
      i++;
      const v = expr();
      if (peek() !== ')') bad("expected ')'");
      i++;
      return v;
    }
    const num = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(s.slice(i));
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    const name = /^[a-z]+/i.exec(s.slice(i));
    if (name) {
      const id = name[0].toLowerCase();
      i += name[0].length;
      if (id in CONSTANTS && peek() !== '(') return CONSTANTS[id] as number;
      const fn = FUNCTIONS[id];
      if (!fn) return bad(`unknown name "${name[0]}"`);
      if (peek() !== '(') bad(`expected '(' after ${id}`);
      i++;
      const args = [expr()];
      while (peek() === ',') {
        i++;
        args.push(expr());
      }
      if (peek() !== ')') bad("expected ')'");
      i++;
      return fn(...args);
    }
    return bad(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
  };
  const v = expr();
  if (peek() !== undefined) bad(`unexpected ${JSON.stringify(s[i])}`);
  if (!Number.isFinite(v)) throw new ToolError('invalid_arguments', 'calculator: the result is not a finite number');
  return v;
}

export const calculator = defineTool({
  name: 'calculator',
  description: 'Evaluates an arithmetic expression: + - * / % ^, parentheses, sqrt, abs, round, floor, ceil, min, max, pi, e.',
  inputSchema: { type: 'object', properties: { expression: { type: 'string', description: 'e.g. (2 + 3) * 4 ^ 2' } }, required: ['expression'] },
  input: z.object({ expression: z.string().min(1).max(1000) }),
  run: async ({ expression }) => String(evaluate(expression)),
});
