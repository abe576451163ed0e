import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chartFiles, MACHINES, renderChart, type ChartFormat } from '../charts/index.js';
import { UsageError } from './errors.js';

export { CHART_USAGE } from './usage.js';


export function runChart(argv: string[], out: NodeJS.WritableStream = process.stdout): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string' }, write: { type: 'string' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.write) {
    const dir = path.resolve(parsed.values.write);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(chartFiles())) writeFileSync(path.join(dir, file), text);
    out.write(`wrote ${Object.keys(chartFiles()).length} files to ${dir}\n`);
    return 0;
  }
  const name = parsed.positionals[0] ?? 'run';
  if (!MACHINES[name]) throw new UsageError(`no machine "${name}": choose ${Object.keys(MACHINES).join(' or ')}`);
  const format = (parsed.values.format ?? 'svg') as ChartFormat;
  if (!['svg', 'mermaid', 'json'].includes(format)) throw new UsageError('--format must be svg, mermaid or json');
  out.write(renderChart(name, format));
  return 0;
}
