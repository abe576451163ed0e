import { readdirSync, readFileSync } from 'node:fs';
import type { StepOptions } from '../../src/letta/step-builder.js';
import type { Transcript } from './transcript.js';

export interface ConformanceCase {
  name: string;
  interface: 'simple' | 'kwargs';
  options: {
    run_id: string;
    step_id: string;
    requires_approval_tools?: string[];
    put_inner_thoughts_in_kwarg?: boolean;
    use_assistant_message?: boolean;
  };
  sse: string;
}

const dir = new URL('../fixtures/conformance/', import.meta.url);

/** Every conformance case copied from ../shared/conformance/cases, with its expected transcript. */
export function loadCases(): Array<{ file: string; c: ConformanceCase; expected: Transcript }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .sort()
    .map((file) => ({
      file,
      c: JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as ConformanceCase,
      expected: JSON.parse(readFileSync(new URL(file.replace(/\.json$/, '.expected.json'), dir), 'utf8')) as Transcript,
    }));
}

export function stepOptionsOf(c: ConformanceCase): StepOptions {
  return {
    interface: c.interface,
    runId: c.options.run_id,
    stepId: c.options.step_id,
    requiresApprovalTools: c.options.requires_approval_tools ?? [],
    innerThoughtsInKwargs: c.options.put_inner_thoughts_in_kwarg ?? false,
    useAssistantMessage: c.options.use_assistant_message ?? false,
  };
}

export const casesDir = dir;
