import dagre from '@dagrejs/dagre';
import { drawnEdges, type Chart } from './machine-graph.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A label's width at font-size 10 (event names are mostly capitals: wider than average text). */
const labelWidth = (text: string) => Math.ceil(text.length * 6.8) + 8;
const LEGEND_LINE = 15;
const LABEL_LINE = 12;

/**
 * An SVG of the chart, laid out by dagre (compound graph: nested states are clusters). Every
 * state is a `<g data-state="path">`, so a page can highlight the active ones by id.
 */
export function toSvg(chart: Chart, rankdir: 'TB' | 'LR' = 'TB', o: { anyMarks?: boolean } = {}): string {
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
  // `anyMarks`: an arrow from a compound state leaves from any of its states: it starts at a
  // small `any` mark inside it, not at its initial state (which would say something else). Off,
  // it starts at the initial state (more compact where the compound state has few children).
  const anyOf = (id: string) => `${id}#any`;
  const fromClusters = new Set(o.anyMarks ? chart.edges.map((e) => e.source).filter((id) => hasKids.has(id)) : []);
  for (const id of fromClusters) {
    g.setNode(anyOf(id), { label: 'any', width: 44, height: 20 });
    g.setParent(anyOf(id), id);
  }
  const from = (id: string) => (fromClusters.has(id) ? anyOf(id) : leafOf(id));
  // One arrow per source and target (several events: a key, explained in the legend). Labels are
  // laid out by dagre as nodes of their own size, so they do not overlap states or each other.
  const { edges, legend } = drawnEdges(chart);
  edges.forEach((e, i) => {
    const width = Math.max(...e.lines.map(labelWidth));
    g.setEdge(from(e.source), leafOf(e.target), { lines: e.lines, width, height: e.lines.length * LABEL_LINE + 4, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  const graphWidth = Math.ceil(graph.width ?? 0);
  const legendWidth = Math.max(0, ...legend.map((l) => labelWidth(`${l.key} ${l.text}`) + 16));
  const width = Math.max(graphWidth, legendWidth);
  const height = Math.ceil(graph.height ?? 0) + (legend.length ? legend.length * LEGEND_LINE + 8 : 0);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" data-machine="${esc(chart.id)}">`);
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
  for (const id of fromClusters) {
    const v = g.node(anyOf(id)) as { x: number; y: number; width: number; height: number };
    out.push(
      `<g class="any" data-any="${esc(id)}"><rect x="${(v.x - v.width / 2).toFixed(1)}" y="${(v.y - v.height / 2).toFixed(1)}" width="${v.width}" height="${v.height}" rx="10" fill="#fff" stroke="#99a" stroke-dasharray="3 2"/>` +
        `<text x="${v.x.toFixed(1)}" y="${(v.y + 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#667">any</text></g>`,
    );
  }
  for (const e of g.edges()) {
    const drawn = edges[Number((e.name ?? 'e0').slice(1))] as (typeof edges)[number];
    const d = g.edge(e) as { points: Array<{ x: number; y: number }>; x: number; y: number; lines: string[] };
    const pts = d.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    // the label on a white halo: readable where it crosses another arrow
    out.push(
      `<g class="transition" data-source="${esc(drawn.source)}" data-target="${esc(drawn.target)}"><polyline points="${pts}" fill="none" stroke="#555" marker-end="url(#arrow)"/>` +
        `<text x="${d.x.toFixed(1)}" y="${(d.y + 3 - ((d.lines.length - 1) * LABEL_LINE) / 2).toFixed(1)}" text-anchor="middle" font-size="10" fill="#335" stroke="#fff" stroke-width="3" paint-order="stroke">` +
        d.lines.map((l, i) => `<tspan x="${d.x.toFixed(1)}"${i ? ` dy="${LABEL_LINE}"` : ''}>${esc(l)}</tspan>`).join('') +
        '</text></g>',
    );
  }
  legend.forEach((l, i) => {
    const y = Math.ceil(graph.height ?? 0) + 4 + (i + 1) * LEGEND_LINE - 4;
    out.push(`<text class="legend" x="12" y="${y}" font-size="10" fill="#335"><tspan font-weight="bold">${esc(l.key)}</tspan> ${esc(l.text)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
