import dagre from '@dagrejs/dagre';
import type { Chart } from './machine-graph.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const short = (event: string) => event.replace(/^xstate\.done\.actor\./, 'done: ').replace(/^xstate\.error\.actor\./, 'error: ');

/**
 * An SVG of the chart, laid out by dagre (compound graph: nested states are clusters). Every
 * state is a `<g data-state="path">`, so a page can highlight the active ones by id.
 */
export function toSvg(chart: Chart, rankdir: 'TB' | 'LR' = 'TB'): string {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir, nodesep: 30, ranksep: 45, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const hasKids = new Set(chart.nodes.map((n) => n.parent).filter((p): p is string => p !== null));
  for (const n of chart.nodes) {
    if (hasKids.has(n.id)) g.setNode(n.id, { label: n.key, paddingTop: 24 });
    else g.setNode(n.id, { label: n.key, width: Math.max(90, n.key.length * 8 + 24), height: 34 });
    if (n.parent) g.setParent(n.id, n.parent);
  }
  // dagre cannot route edges to clusters: aim them at a cluster's initial (or first) leaf
  const leafOf = (id: string): string => {
    const n = chart.nodes.find((x) => x.id === id);
    if (!n || !hasKids.has(id)) return id;
    return leafOf(n.initial ?? chart.nodes.find((x) => x.parent === id)!.id);
  };
  chart.edges.forEach((e, i) => {
    const text = `${short(e.event)}${e.guard ? ` [${e.guard}]` : ''}`;
    g.setEdge(leafOf(e.source), leafOf(e.target), { label: text, width: text.length * 6.2, height: 14, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${Math.ceil(graph.width ?? 0)} ${Math.ceil(graph.height ?? 0)}" font-family="sans-serif" font-size="12" data-machine="${esc(chart.id)}">`);
  out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>');
  const depth = (id: string): number => {
    const p = chart.nodes.find((n) => n.id === id)?.parent;
    return p ? 1 + depth(p) : 0;
  };
  for (const n of [...chart.nodes].sort((a, b) => depth(a.id) - depth(b.id))) {
    const v = g.node(n.id) as { x: number; y: number; width: number; height: number };
    const x = v.x - v.width / 2;
    const y = v.y - v.height / 2;
    const cluster = hasKids.has(n.id);
    const stroke = n.type === 'final' ? ' stroke-width="3"' : '';
    out.push(
      `<g class="state${cluster ? ' compound' : ''}" data-state="${esc(n.id)}"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${v.width.toFixed(1)}" height="${v.height.toFixed(1)}" rx="8" fill="${cluster ? '#f7f7fb' : '#fff'}" stroke="#667"${stroke}/>` +
        `<text x="${(cluster ? x + 10 : v.x).toFixed(1)}" y="${(cluster ? y + 16 : v.y + 4).toFixed(1)}"${cluster ? '' : ' text-anchor="middle"'}>${esc(n.key)}</text></g>`,
    );
  }
  for (const e of g.edges()) {
    const d = g.edge(e) as { points: Array<{ x: number; y: number }>; x: number; y: number; label: string };
    const pts = d.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    out.push(`<g class="transition"><polyline points="${pts}" fill="none" stroke="#555" marker-end="url(#arrow)"/><text x="${d.x.toFixed(1)}" y="${d.y.toFixed(1)}" text-anchor="middle" font-size="10" fill="#335">${esc(d.label)}</text></g>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
