import type { Chart, ChartNode } from './machine-graph.js';

const mid = (id: string) => id.replace(/\./g, '__');
const label = (e: { event: string; guard: string | null }) => `${e.event.replace(/^xstate\.done\.actor\./, 'done: ').replace(/^xstate\.error\.actor\./, 'error: ')}${e.guard ? ` [${e.guard}]` : ''}`;

/** Mermaid `stateDiagram-v2` text for a chart (nested states as composite states). */
export function toMermaid(chart: Chart): string {
  const lines = ['stateDiagram-v2'];
  const children = (parent: string | null) => chart.nodes.filter((n) => n.parent === parent);
  const emit = (n: ChartNode, indent: string) => {
    const kids = children(n.id);
    lines.push(`${indent}state "${n.key}" as ${mid(n.id)}`);
    if (kids.length) {
      lines.push(`${indent}state ${mid(n.id)} {`);
      if (n.initial) lines.push(`${indent}  [*] --> ${mid(n.initial)}`);
      for (const k of kids) emit(k, indent + '  ');
      lines.push(`${indent}}`);
    }
    if (n.type === 'final') lines.push(`${indent}${mid(n.id)} --> [*]`);
  };
  if (chart.initial) lines.push(`  [*] --> ${mid(chart.initial)}`);
  for (const n of children(null)) emit(n, '  ');
  for (const e of chart.edges) lines.push(`  ${mid(e.source)} --> ${mid(e.target)} : ${label(e)}`);
  return lines.join('\n') + '\n';
}
