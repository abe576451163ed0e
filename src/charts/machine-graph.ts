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
