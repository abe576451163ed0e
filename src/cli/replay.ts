import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ReplayInputError, replayStep, streamEventsFromSse } from '../actors/replay-step.js';
import { FrameSerializer } from '../letta/frame-json.js';
import type { LettaFrame } from '../letta/frames.js';
import { newRunId, newStepId } from '../letta/ids.js';
import { stopReasonFor, usageFrame } from '../letta/step-outcome.js';
import { UsageError } from './errors.js';
import { BufferedLineWriter } from './line-writer.js';

interface ReplayFlags {
  interface: 'simple' | 'kwargs';
  'approval-tool': string[];
  'inner-thoughts-in-kwargs': boolean;
  'use-assistant-message': boolean;
  'run-id'?: string;
  'step-id'?: string;
}

const TOO_SHORT = 'Too small: expected string to have >=1 characters';

/**
 * The flags, checked by hand rather than with zod (whose import is a third of replay's start-up);
 * the messages are the ones the zod schema gave.
 */
function replayFlags(v: { interface?: string; 'approval-tool'?: string[]; 'inner-thoughts-in-kwargs'?: boolean; 'use-assistant-message'?: boolean; 'run-id'?: string; 'step-id'?: string }): ReplayFlags {
  const problems: string[] = [];
  const mode = v.interface ?? 'simple';
  if (mode !== 'simple' && mode !== 'kwargs') problems.push('--interface must be "simple" or "kwargs"');
  const tools = v['approval-tool'] ?? [];
  for (const t of tools) if (t === '') problems.push(TOO_SHORT);
  if (v['run-id'] === '') problems.push(TOO_SHORT);
  if (v['step-id'] === '') problems.push(TOO_SHORT);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return {
    interface: mode as ReplayFlags['interface'],
    'approval-tool': tools,
    'inner-thoughts-in-kwargs': v['inner-thoughts-in-kwargs'] ?? false,
    'use-assistant-message': v['use-assistant-message'] ?? false,
    ...(v['run-id'] !== undefined ? { 'run-id': v['run-id'] } : {}),
    ...(v['step-id'] !== undefined ? { 'step-id': v['step-id'] } : {}),
  };
}

export { REPLAY_USAGE } from './usage.js';
export { UsageError };

export function runReplay(argv: string[], out: NodeJS.WritableStream = process.stdout): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        interface: { type: 'string' },
        'approval-tool': { type: 'string', multiple: true },
        'inner-thoughts-in-kwargs': { type: 'boolean' },
        'use-assistant-message': { type: 'boolean' },
        'run-id': { type: 'string' },
        'step-id': { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) throw new UsageError('replay takes exactly one FILE.sse');
  const f = replayFlags(parsed.values);

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ReplayInputError('invalid_sse', code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${(err as Error).message}`);
  }
  const events = streamEventsFromSse(text);
  const runId = f['run-id'] ?? newRunId();
  const writer = new BufferedLineWriter(out);
  const json = new FrameSerializer();
  const emit = (frame: LettaFrame) => {
    json.write(frame, writer);
    writer.endLine();
  };
  const result = replayStep(
    events,
    {
      interface: f.interface,
      runId,
      stepId: f['step-id'] ?? newStepId(),
      requiresApprovalTools: f['approval-tool'],
      innerThoughtsInKwargs: f['inner-thoughts-in-kwargs'],
      useAssistantMessage: f['use-assistant-message'],
    },
    emit,
  );
  const stopReason = stopReasonFor(result);
  emit({ message_type: 'stop_reason', stop_reason: stopReason });
  emit(usageFrame(result.usage, 1, [runId]));
  writer.end();
  if (result.error) process.stderr.write(`letta-stream replay: ${result.error.message}\n`);
  return stopReason === 'error' ? 1 : 0;
}
