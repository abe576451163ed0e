import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** Validates frames against the Letta contract (JSON Schema generated from Letta's models). */
const schema = JSON.parse(readFileSync(new URL('../fixtures/contract/letta-frame.schema.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv2020.default({ strict: false, allErrors: false });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** Returns null when the frame follows the contract, else the first problem. */
export function contractProblem(frame: unknown): string | null {
  if (validate(frame)) return null;
  const e = validate.errors?.[0];
  return `${(frame as { message_type?: string }).message_type}: ${e?.instancePath} ${e?.message}`;
}
