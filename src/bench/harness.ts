/** A tiny benchmark harness: warm up, then take the median of several timed runs. */
export interface Measurement {
  name: string;
  medianMs: number;
  runs: number[];
}

export async function measure(name: string, fn: () => Promise<unknown> | unknown, runs = 7, warmup = 2): Promise<Measurement> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { name, medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN, runs: times };
}

export const fmt = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) + ' ms';

/** A progress line on stderr, so long benchmark runs show they are alive. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(text + '\n');
}
