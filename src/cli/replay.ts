import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ReplayInputError, replayStep, streamEventsFromSse } from '../actors/replay-step.js';
import { FrameSerializer } from '../letta/frame-json.js';
import type { LettaFrame } from '../letta/frames.js';
import { newRunId, newStepId } from '../letta/ids.js';
import { stopReasonFor, usageFrame } from '../letta/step-outcome.js';
import { UsageError } from './errors.js';
import { BufferedLineWriter } from './line-writer.js';


const replayFlags = z.object({
  interface: z.enum(['simple', 'kwargs'], { error: '--interface must be "simple" or "kwargs"' }).default('simple'),
  'approval-tool': z.array(z.string().min(1)).default([]),
  'inner-thoughts-in-kwargs': z.boolean().default(false),
  'use-assistant-message': z.boolean().default(false),
  'run-id': z.string().min(1).optional(),
  'step-id': z.string().min(1).optional(),
});

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
  const flags = replayFlags.safeParse(parsed.values);
  if (!flags.success) throw new UsageError(flags.error.issues.map((i) => i.message).join('; '));
  const f = flags.data;

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
  const emit = (frame: LettaFrame) => writer.line(json.json(frame));
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
