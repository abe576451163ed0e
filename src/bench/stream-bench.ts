import Anthropic from '@anthropic-ai/sdk';
import { createActor } from 'xstate';
import { toStreamEvent } from '../letta/anthropic-events.js';
import { FrameSerializer } from '../letta/frame-json.js';
import type { StreamedMessage } from '../letta/frames.js';
import type { StepOptions } from '../letta/step-builder.js';
import { streamMachine } from '../machines/stream.machine.js';
import { fmt, interleaved, measure, median, progress, spread, type Measurement } from './harness.js';
import { textStream, toolArguments, toolStream } from './streams.js';

/** An SDK client whose fetch serves fixed bytes: the SDK's real SSE parsing, no network. */
function clientServing(body: Uint8Array): Anthropic {
  return new Anthropic({
    apiKey: 'bench',
    baseURL: 'http://bench.invalid',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
}

const params = { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'bench' }] };

/** The SDK's own accumulation of the stream: the baseline. */
export async function sdkAccumulate(body: Uint8Array): Promise<number> {
  const message = await clientServing(body).beta.messages.stream(params).finalMessage();
  return message.content.length;
}

/** The SDK's raw event iteration alone: the floor under any pipeline that reads through the SDK. */
export async function sdkIterate(body: Uint8Array): Promise<number> {
  let n = 0;
  for await (const event of await clientServing(body).beta.messages.create({ ...params, stream: true })) if (event.type) n++;
  return n;
}

/** The whole pipeline: SDK parse (raw events) → event mapping → stream machine → Letta frames as JSON strings. */
export async function pipeline(body: Uint8Array, options: StepOptions): Promise<number> {
  const stream = await clientServing(body).beta.messages.create({ ...params, stream: true });
  const json = new FrameSerializer();
  let batch: string[] = [];
  let bytes = 0;
  const frames = (frame: StreamedMessage): void => {
    batch.push(json.json(frame));
    if (batch.length >= 256) {
      bytes += batch.join('\n').length; // what a socket write of the batch would cost
      batch = [];
    }
  };
  const actor = createActor(streamMachine, { input: { ...options, frames } });
  actor.start();
  for await (const event of stream) actor.send(toStreamEvent(event));
  bytes += batch.join('\n').length;
  return bytes;
}

export const simple: StepOptions = { interface: 'simple', runId: 'run-bench', stepId: 'step-bench' };
const kwargs: StepOptions = { interface: 'kwargs', runId: 'run-bench', stepId: 'step-bench', innerThoughtsInKwargs: true, useAssistantMessage: true };

export interface StreamBenchReport {
  lines: string[];
  ratios: Record<string, number>;
}

export async function runStreamBench(quick = false): Promise<StreamBenchReport> {
  const enc = new TextEncoder();
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  const runs = quick ? 3 : 7;

  progress('stream bench: 100,000 text deltas');
  const text = enc.encode(textStream(quick ? 20_000 : 100_000));
  // Interleaved rounds (SDK accumulation, raw iteration, pipeline): the ratio is the median of
  // the per-round ratios, which the other load on the machine moves far less than separate medians.
  const rounds = quick ? 5 : 15;
  const text3 = await interleaved([() => sdkAccumulate(text), () => sdkIterate(text), () => pipeline(text, simple)], rounds);
  const [sdkMs = NaN, iterMs = NaN, pipeMs = NaN] = text3.medianMs;
  const [iterRatios = [], pipeRatios = []] = text3.ratios;
  ratios.text_pipeline_vs_sdk = median(pipeRatios);
  lines.push(
    `  ${'sdk accumulate (text)'.padEnd(34)} ${fmt(sdkMs).padStart(10)}  (median of ${rounds}, interleaved)`,
    `  ${'sdk raw iteration only (text)'.padEnd(34)} ${fmt(iterMs).padStart(10)}  (median of ${rounds}, interleaved)`,
    `  ${'pipeline simple (text)'.padEnd(34)} ${fmt(pipeMs).padStart(10)}  (median of ${rounds}, interleaved)`,
    `  ratio pipeline / SDK accumulation, median [range] of ${rounds} rounds: ${spread(pipeRatios)} (target ≤ 2×, #13); SDK iteration alone: ${spread(iterRatios)}`,
  );

  progress('stream bench: 256 KB tool arguments in 8-byte chunks');
  const tool256s = enc.encode(toolStream(toolArguments(256 * 1024, false), 8));
  const tool256k = enc.encode(toolStream(toolArguments(256 * 1024, true), 8));
  const sdkTool = await measure('sdk accumulate (256 KB args)', () => sdkAccumulate(tool256s), runs);
  const simpleTool = await measure('pipeline simple (256 KB args)', () => pipeline(tool256s, simple), runs);
  const kwargsTool = await measure('pipeline kwargs (256 KB args)', () => pipeline(tool256k, kwargs), runs);
  ratios.tool_simple_vs_sdk = simpleTool.medianMs / sdkTool.medianMs;
  ratios.kwargs_vs_simple = kwargsTool.medianMs / simpleTool.medianMs;
  lines.push(
    row(sdkTool),
    row(simpleTool),
    row(kwargsTool),
    `  ratio simple / SDK accumulation: ${ratios.tool_simple_vs_sdk.toFixed(2)}×`,
    `  ratio kwargs / simple: ${ratios.kwargs_vs_simple.toFixed(2)}× (target ≤ 2×)`,
  );

  progress('stream bench: 64 KB vs 1 MB arguments (linearity)');
  const small = toolArguments(64 * 1024, true);
  const large = toolArguments(1024 * 1024, true);
  const s64 = enc.encode(toolStream(small, 8));
  const s1m = enc.encode(toolStream(large, 8));
  const k64 = await measure('pipeline kwargs (64 KB args)', () => pipeline(s64, kwargs), runs);
  const k1m = await measure('pipeline kwargs (1 MB args)', () => pipeline(s1m, kwargs), quick ? 2 : 3, 1);
  const perByte64 = k64.medianMs / small.length;
  const perByte1m = k1m.medianMs / large.length;
  ratios.per_byte_1mb_vs_64kb = perByte1m / perByte64;
  lines.push(
    row(k64),
    row(k1m),
    `  per-byte time 1 MB / 64 KB: ${ratios.per_byte_1mb_vs_64kb.toFixed(2)}× (target ≤ 1×, linear; noise ±10%)`,
  );
  progress('');
  return { lines, ratios };
}

function row(m: Measurement): string {
  return `  ${m.name.padEnd(34)} ${fmt(m.medianMs).padStart(10)}  (median of ${m.runs.length})`;
}
