import type { AnyStateMachine } from 'xstate';

/** A machine's chart as plain data, read from the definition itself (`machine.root`). */
export interface ChartNode {
  id: string; // dotted path below the root, e.g. "streaming.text"
  key: string;
  parent: string | null;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial: string | null; // id of the initial child
  invokes: string[];
}

export interface ChartEdge {
  source: string;
  target: string;
  event: string;
  guard: string | null;
}

export interface Chart {
  id: string;
  initial: string | null;
  nodes: ChartNode[];
  edges: ChartEdge[];
}

interface StateNodeLike {
  key: string;
  path: string[];
  type: ChartNode['type'];
  states: Record<string, StateNodeLike>;
  initial?: { target?: Array<{ path: string[] }> };
  transitions: Map<string, Array<{ target?: Array<{ path: string[] }> | undefined; guard?: { type?: string } | string | undefined }>>;
  always?: Array<{ target?: Array<{ path: string[] }> | undefined; guard?: { type?: string } | string | undefined }>;
  invoke: Array<{ src: string | { id?: string }; id: string }>;
}

const idOf = (n: { path: string[] }) => n.path.join('.');
const guardName = (g: { type?: string } | string | undefined) => (g === undefined ? null : typeof g === 'string' ? g : (g.type ?? 'guard'));

/** Walks the definition: nested states, initial states, every transition with its event and guard. */
export function chartOf(machine: AnyStateMachine): Chart {
  const root = machine.root as unknown as StateNodeLike;
  const nodes: ChartNode[] = [];
  const edges: ChartEdge[] = [];
  const walk = (n: StateNodeLike, parent: string | null) => {
    const id = idOf(n);
    nodes.push({
      id,
      key: n.key,
      parent,
      type: n.type,
      initial: n.initial?.target?.[0] ? idOf(n.initial.target[0]) : null,
      invokes: n.invoke.map((i) => (typeof i.src === 'string' ? i.src : i.id)),
    });
    const add = (event: string, list: StateNodeLike['always']) => {
      for (const t of list ?? []) {
        for (const target of t.target ?? []) edges.push({ source: id, target: idOf(target), event, guard: guardName(t.guard) });
      }
    };
    for (const [event, list] of n.transitions) add(event, list);
    add('always', n.always);
    for (const child of Object.values(n.states)) walk(child, id);
  };
  for (const child of Object.values(root.states)) walk(child, null);
  return { id: machine.id, initial: root.initial?.target?.[0] ? idOf(root.initial.target[0]) : null, nodes, edges };
}

/** An arrow as drawn: one per source and target; several events on it are one label each. */
export interface DrawnEdge {
  source: string;
  target: string;
  /** One line per event, or the one legend key that stands for them. */
  lines: string[];
  events: ChartEdge[];
}

export interface DrawnChart {
  edges: DrawnEdge[];
  /** `①` → the events of every arrow labelled `①`. */
  legend: Array<{ key: string; text: string }>;
}

const KEYS = '①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳';
export const eventLabel = (e: { event: string; guard: string | null }) =>
  `${e.event.replace(/^xstate\.done\.actor\./, 'done: ').replace(/^xstate\.error\.actor\./, 'error: ')}${e.guard ? ` [${e.guard}]` : ''}`;

/**
 * The arrows to draw: the transitions from one state to another are one arrow, labelled with
 * its events one per line. The same several events on more than one arrow (the stream machine's
 * integrity failures from every mode: a cut-off block, a delta of another mode) get a key such as
 * `①` instead, and the legend says which events that is: the chart says it once.
 */
export function drawnEdges(chart: Chart): DrawnChart {
  const groups = new Map<string, DrawnEdge>();
  for (const e of chart.edges) {
    const id = `${e.source}\u0000${e.target}`;
    const g = groups.get(id) ?? { source: e.source, target: e.target, lines: [], events: [] };
    g.events.push(e);
    g.lines.push(eventLabel(e));
    groups.set(id, g);
  }
  const edges = [...groups.values()];
  const text = (g: DrawnEdge) => g.lines.join(' · ');
  const uses = new Map<string, number>();
  for (const g of edges) if (g.lines.length > 1) uses.set(text(g), (uses.get(text(g)) ?? 0) + 1);
  const keys = new Map<string, string>();
  const legend: DrawnChart['legend'] = [];
  for (const g of edges) {
    const t = text(g);
    if (g.lines.length < 2 || (uses.get(t) ?? 0) < 2) continue;
    let key = keys.get(t);
    if (!key) {
      key = [...KEYS][keys.size] ?? `(${keys.size + 1})`;
      keys.set(t, key);
      legend.push({ key, text: t });
    }
    g.lines = [key];
  }
  return { edges, legend };
}
