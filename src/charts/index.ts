import type { AnyStateMachine } from 'xstate';
import { agentMachine } from '../machines/agent.machine.js';
import { runMachine } from '../machines/run.machine.js';
import { streamMachine } from '../machines/stream.machine.js';
import { chartOf } from './machine-graph.js';
import { toMermaid } from './mermaid.js';
import { toSvg } from './svg.js';

export { chartOf, toMermaid, toSvg };
export const MACHINES: Record<string, AnyStateMachine> = { run: runMachine, stream: streamMachine, agent: agentMachine };
export type ChartFormat = 'svg' | 'mermaid' | 'json';

export function renderChart(name: string, format: ChartFormat): string {
  const machine = MACHINES[name];
  if (!machine) throw new Error(`no machine "${name}" (known: ${Object.keys(MACHINES).join(', ')})`);
  const chart = chartOf(machine);
  if (format === 'json') return JSON.stringify(chart, null, 2) + '\n';
  // the stream machine's modes sit side by side: left-to-right keeps its chart readable; its
  // CANCEL and upstream errors leave from any mode (an `any` mark, not betweenBlocks)
  return format === 'mermaid' ? toMermaid(chart) : toSvg(chart, name === 'stream' ? 'LR' : 'TB', { anyMarks: name === 'stream' });
}

/** The files in docs/charts: `<machine>.svg` and `<machine>.mmd` for every machine. */
export function chartFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of Object.keys(MACHINES)) {
    files[`${name}.svg`] = renderChart(name, 'svg');
    files[`${name}.mmd`] = renderChart(name, 'mermaid');
  }
  return files;
}
