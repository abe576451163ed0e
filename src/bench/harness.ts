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

export interface Interleaved {
  /** Median time of each case over all rounds, in the order given. */
  medianMs: number[];
  /** Per round, each case's time over the first case's: one ratio per round per case after the first. */
  ratios: number[][];
}

/**
 * Several cases timed in rounds, one run of each per round, in a rotating order: a burst of
 * other load on the machine slows every case of the round it falls in, so the per-round ratios
 * (and their median) move far less than medians taken case by case, one after the other.
 */
export async function interleaved(fns: (() => Promise<unknown> | unknown)[], rounds = 9, warmup = 2): Promise<Interleaved> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < fns.length; k++) {
      const i = (k + r) % fns.length;
      (globalThis as { gc?: () => void }).gc?.();
      const t0 = performance.now();
      await fns[i]!();
      times[i]!.push(performance.now() - t0);
    }
  }
  const base = times[0]!;
  return { medianMs: times.map(median), ratios: times.slice(1).map((ts) => ts.map((t, r) => t / base[r]!)) };
}

export const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : ((sorted[mid - 1]! + sorted[mid]!) / 2);
};

/** `median [min – max]` of ratios, for a line of bench output. */
export const spread = (xs: number[]): string => `${median(xs).toFixed(2)}× [${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}]`;
