import { drawnEdges, type Chart, type ChartNode } from './machine-graph.js';

const mid = (id: string) => id.replace(/\./g, '__');

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
  // one arrow per source and target; several events on it: its key, and the legend as a note
  const { edges, legend } = drawnEdges(chart);
  for (const e of edges) lines.push(`  ${mid(e.source)} --> ${mid(e.target)} : ${e.lines.join(' · ')}`);
  if (legend.length) {
    const anchor = mid(edges.find((e) => legend.some((l) => l.key === e.lines[0]))!.target);
    lines.push(`  note right of ${anchor}`);
    for (const l of legend) lines.push(`    ${l.key} ${l.text}`);
    lines.push('  end note');
  }
  return lines.join('\n') + '\n';
}
