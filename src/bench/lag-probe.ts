import { spawn, type ChildProcess } from 'node:child_process';

/** Event-loop lag as the instances report it (ms; the 10 ms resolution included). */
export interface Lag {
  p99: number;
  max: number;
  mean: number;
}

// A process with nothing to do but the same 10 ms lag histogram as the instances (debug-stats.ts).
const SCRIPT = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  for (const c of d.split('\\n')) {
    if (c === 'reset') h.reset();
    if (c === 'report') process.stdout.write(JSON.stringify({ p99: h.percentile(99) / 1e6, max: h.max / 1e6, mean: h.mean / 1e6 }) + '\\n');
  }
});
`;

/**
 * The control beside the instances: an idle Node process on the same machine, at the same nice
 * level. Its lag is what waiting for a core alone costs while the bench runs — the floor no change
 * inside an instance can go below.
 */
export class LagProbe {
  private out = '';
  private waiting: Array<(l: Lag) => void> = [];

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.out += d;
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.waiting.shift()?.(JSON.parse(line) as Lag);
      }
    });
  }

  static start(): LagProbe {
    return new LagProbe(spawn(process.execPath, ['-e', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  reset(): void {
    this.child.stdin!.write('reset\n');
  }

  report(): Promise<Lag> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write('report\n');
    });
  }

  stop(): void {
    this.child.kill();
  }
}
