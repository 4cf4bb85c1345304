/**
 * The canvas graph and the stored definition, and the pure operations on the graph.
 *
 * `definitionToGraph` and `graphToDefinition` convert between the JSON the server stores
 * (shared/design.md, "Journey definition") and what @xyflow/react draws: one canvas node per
 * definition node plus the trigger, one canvas edge per definition edge with the port as its
 * `sourceHandle`, positions from `layout`. A canonical definition survives the round trip
 * unchanged (store.test.ts); keys the canvas does not know are carried along untouched.
 *
 * Everything here is pure (no React, no store, no I/O), so the rules the canvas enforces while
 * drawing (which connection is allowed, what inserting on an edge does) are tested directly.
 */
import type { Edge, Node } from "@xyflow/react";
import { defaultPort, isNodeKind, nodeSpec, portsOf, TRIGGER_NODE, type NodeKind } from "./nodeTypes";
import type { EdgeDef, Entry, ExitGoal, JourneyDefinition, NodeConfig, NodeDef, Point, Sending, Trigger } from "./types";

export type CanvasKind = NodeKind | typeof TRIGGER_NODE;

export interface JourneyNodeData extends Record<string, unknown> {
  /** the node's config, exactly as stored */
  config: NodeConfig;
  /** keys of the stored node other than id/type/config, kept for the round trip */
  extra: Record<string, unknown>;
}

export type CanvasNode = Node<JourneyNodeData, CanvasKind>;
export type CanvasEdge = Edge;

/** The parts of a definition that are not nodes or edges: edited in the trigger's side panel. */
export interface JourneySettings {
  trigger: Trigger;
  entry: Entry;
  exit_on: ExitGoal[];
  /** only when the definition has it (left out means the defaults) */
  sending?: Sending;
  /** top-level keys the canvas does not know */
  extra: Record<string, unknown>;
}

export interface CanvasGraph {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  settings: JourneySettings;
}

const KNOWN_TOP_LEVEL = new Set(["trigger", "entry", "exit_on", "sending", "nodes", "edges", "layout"]);
const KNOWN_NODE_KEYS = new Set(["id", "type", "config"]);

/** Where nodes without a stored position go before auto-layout: one column under the trigger. */
const FALLBACK_STEP = 150;

export function emptyDefinition(): JourneyDefinition {
  return {
    trigger: { type: "event", event: "", where: { all: [] } },
    entry: { re_entry: "after_exit", audience: { all: [] } },
    exit_on: [],
    nodes: [],
    edges: [],
    layout: { [TRIGGER_NODE]: { x: 0, y: 0 } },
  };
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function edgeId(source: string, port: string, target: string): string {
  return `${source}.${port}->${target}`;
}

function kindOf(nodes: readonly CanvasNode[], id: string): CanvasKind | undefined {
  if (id === TRIGGER_NODE) return TRIGGER_NODE;
  return nodes.find((node) => node.id === id)?.type;
}

// -- definition <-> graph -------------------------------------------------------------------------

export function definitionToGraph(definition: JourneyDefinition): CanvasGraph {
  const layout = definition.layout ?? {};
  const nodes: CanvasNode[] = [
    {
      id: TRIGGER_NODE,
      type: TRIGGER_NODE,
      position: { ...(layout[TRIGGER_NODE] ?? { x: 0, y: 0 }) },
      data: { config: {}, extra: {} },
      deletable: false,
    },
  ];
  (definition.nodes ?? []).forEach((node, index) => {
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) if (!KNOWN_NODE_KEYS.has(key)) extra[key] = clone(value);
    nodes.push({
      id: node.id,
      type: node.type,
      position: { ...(layout[node.id] ?? { x: 0, y: (index + 1) * FALLBACK_STEP }) },
      data: { config: clone(node.config ?? {}), extra },
    });
  });
  const edges: CanvasEdge[] = (definition.edges ?? []).map((edge) => {
    const port = edge.port ?? defaultPort(kindOf(nodes, edge.from)) ?? "";
    return { id: edgeId(edge.from, port, edge.to), source: edge.from, sourceHandle: port, target: edge.to };
  });
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(definition)) if (!KNOWN_TOP_LEVEL.has(key)) extra[key] = clone(value);
  return {
    nodes,
    edges,
    settings: {
      trigger: clone(definition.trigger ?? { type: "event" }),
      entry: clone(definition.entry ?? {}),
      exit_on: clone(definition.exit_on ?? []),
      ...(definition.sending !== undefined ? { sending: clone(definition.sending) } : {}),
      extra,
    },
  };
}

/** True when some node has no stored position (an imported or hand-written definition). */
export function needsLayout(definition: JourneyDefinition): boolean {
  const layout = definition.layout ?? {};
  return (definition.nodes ?? []).some((node) => !layout[node.id]);
}

export function graphToDefinition(graph: CanvasGraph): JourneyDefinition {
  const nodes: NodeDef[] = [];
  const layout: Record<string, Point> = {};
  for (const node of graph.nodes) {
    layout[node.id] = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
    if (node.type === TRIGGER_NODE || !node.type) continue;
    nodes.push({ id: node.id, type: node.type, config: clone(node.data.config ?? {}), ...clone(node.data.extra ?? {}) });
  }
  const edges: EdgeDef[] = graph.edges.map((edge) => {
    const port = edge.sourceHandle ?? "";
    const implied = defaultPort(kindOf(graph.nodes, edge.source));
    return implied !== null && port === implied ? { from: edge.source, to: edge.target } : { from: edge.source, port, to: edge.target };
  });
  return {
    trigger: clone(graph.settings.trigger),
    entry: clone(graph.settings.entry),
    exit_on: clone(graph.settings.exit_on),
    ...(graph.settings.sending !== undefined ? { sending: clone(graph.settings.sending) } : {}),
    nodes,
    edges,
    layout,
    ...clone(graph.settings.extra),
  };
}

// -- new nodes --------------------------------------------------------------------------------

const ID_PREFIX: Record<NodeKind, string> = {
  email: "email",
  delay: "delay",
  wait_for_event: "wait",
  branch: "branch",
  split: "split",
  experiment: "experiment",
  update_contact: "update",
  webhook: "webhook",
  exit: "exit",
};

/** A readable id not yet used: "wait1", "email2", ... */
export function newNodeId(kind: NodeKind, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n += 1) {
    const id = `${ID_PREFIX[kind]}${n}`;
    if (!used.has(id)) return id;
  }
}

export function defaultConfig(kind: NodeKind): NodeConfig {
  switch (kind) {
    case "email":
      return { template: "", category: "marketing" };
    case "delay":
      return { mode: "duration", duration: "P1D" };
    case "wait_for_event":
      return { event: "", timeout: "P1D" };
    case "branch":
      return { condition: { all: [] } };
    case "split":
      return { paths: [{ id: "path1", label: "Path 1", condition: { all: [] } }] };
    case "experiment":
      return {
        variants: [
          { id: "a", label: "A", weight: 50 },
          { id: "b", label: "B", weight: 50 },
        ],
      };
    case "update_contact":
      return { set: {} };
    case "webhook":
      return { method: "POST", url: "", headers: {}, body: "" };
    case "exit":
      return {};
  }
}

export function makeNode(kind: NodeKind, taken: Iterable<string>, position: Point, config?: NodeConfig): CanvasNode {
  return { id: newNodeId(kind, taken), type: kind, position: { ...position }, data: { config: config ?? defaultConfig(kind), extra: {} } };
}

// -- ports and connections ----------------------------------------------------------------------

export function nodePorts(node: CanvasNode): string[] {
  if (!node.type) return [];
  return portsOf({ type: node.type, config: node.data.config });
}

export interface Connection {
  source: string;
  sourceHandle?: string | null;
  target: string;
}

const WAITING_KINDS = new Set<CanvasKind>(["delay", "wait_for_event"]);

/**
 * Why the definition forbids this connection, or null when it is allowed: the trigger receives
 * nothing, a port exists and leads to one node only, no edge to itself, and a loop must pass
 * through a delay or a wait (otherwise a contact would spin through it at once).
 */
export function connectionProblem(graph: Pick<CanvasGraph, "nodes" | "edges">, connection: Connection): string | null {
  const { source, target } = connection;
  const port = connection.sourceHandle ?? defaultPort(kindOf(graph.nodes, source)) ?? "";
  const from = graph.nodes.find((node) => node.id === source);
  const to = graph.nodes.find((node) => node.id === target);
  if (!from || !to) return "Both ends must be nodes on the canvas.";
  if (target === TRIGGER_NODE) return "Nothing can lead into the trigger.";
  if (source === target) return "A node cannot lead to itself.";
  const ports = nodePorts(from);
  if (!ports.length) return `${nodeSpec(from.type ?? "")?.label ?? "This node"} ends the journey: it has no way out.`;
  if (!ports.includes(port)) return `“${port}” is not a way out of this node.`;
  const taken = graph.edges.find((edge) => edge.source === source && (edge.sourceHandle ?? "") === port);
  if (taken) return taken.target === target ? "These nodes are already connected." : `The “${port}” way out already leads somewhere. Remove that connection first.`;
  if (createsInstantLoop(graph, source, target)) return "A loop must pass through a Delay or a Wait for event.";
  return null;
}

/** Would an edge source -> target close a loop that has no delay or wait on it? */
export function createsInstantLoop(graph: Pick<CanvasGraph, "nodes" | "edges">, source: string, target: string): boolean {
  const kind = (id: string) => kindOf(graph.nodes, id);
  if (WAITING_KINDS.has(kind(source) as CanvasKind) || WAITING_KINDS.has(kind(target) as CanvasKind)) return false;
  // Is there a path target -> ... -> source through nodes that do not wait?
  const seen = new Set<string>([target]);
  const queue = [target];
  while (queue.length) {
    const current = queue.shift() as string;
    if (current === source) return true;
    for (const edge of graph.edges) {
      if (edge.source !== current || seen.has(edge.target)) continue;
      if (edge.target !== source && WAITING_KINDS.has(kind(edge.target) as CanvasKind)) continue;
      seen.add(edge.target);
      queue.push(edge.target);
    }
  }
  return false;
}

export function connect(graph: CanvasGraph, connection: Connection): CanvasGraph {
  const port = connection.sourceHandle ?? defaultPort(kindOf(graph.nodes, connection.source)) ?? "";
  const edge: CanvasEdge = { id: edgeId(connection.source, port, connection.target), source: connection.source, sourceHandle: port, target: connection.target };
  return { ...graph, edges: [...graph.edges, edge] };
}

/** The first port of a node that leads nowhere yet, if any. */
export function freePort(graph: Pick<CanvasGraph, "nodes" | "edges">, nodeId: string): string | null {
  const node = graph.nodes.find((item) => item.id === nodeId);
  if (!node) return null;
  const used = new Set(graph.edges.filter((edge) => edge.source === nodeId).map((edge) => edge.sourceHandle ?? ""));
  return nodePorts(node).find((port) => !used.has(port)) ?? null;
}

/**
 * Drop a new node onto an edge A -(port)-> B: it becomes A -(port)-> N -(N's first port)-> B.
 * A node with no way out (exit) just ends the path there, and B is left unconnected.
 */
export function insertOnEdge(graph: CanvasGraph, id: string, node: CanvasNode): CanvasGraph {
  const edge = graph.edges.find((item) => item.id === id);
  if (!edge) return { ...graph, nodes: [...graph.nodes, node] };
  const port = edge.sourceHandle ?? "";
  const edges = graph.edges.filter((item) => item.id !== id);
  edges.push({ id: edgeId(edge.source, port, node.id), source: edge.source, sourceHandle: port, target: node.id });
  const onward = nodePorts(node)[0];
  if (onward !== undefined) edges.push({ id: edgeId(node.id, onward, edge.target), source: node.id, sourceHandle: onward, target: edge.target });
  return { ...graph, nodes: [...graph.nodes, node], edges };
}

/** Remove nodes (never the trigger) and every edge touching them. */
export function removeNodes(graph: CanvasGraph, ids: Iterable<string>): CanvasGraph {
  const gone = new Set([...ids].filter((id) => id !== TRIGGER_NODE));
  return {
    ...graph,
    nodes: graph.nodes.filter((node) => !gone.has(node.id)),
    edges: graph.edges.filter((edge) => !gone.has(edge.source) && !gone.has(edge.target)),
  };
}

export function removeEdges(graph: CanvasGraph, ids: Iterable<string>): CanvasGraph {
  const gone = new Set(ids);
  return { ...graph, edges: graph.edges.filter((edge) => !gone.has(edge.id)) };
}

/** A node's new config; edges from ports that no longer exist (a removed split path) go too. */
export function updateConfig(graph: CanvasGraph, id: string, config: NodeConfig): CanvasGraph {
  const nodes = graph.nodes.map((node) => (node.id === id ? { ...node, data: { ...node.data, config } } : node));
  const updated = nodes.find((node) => node.id === id);
  if (!updated) return graph;
  const ports = new Set(nodePorts(updated));
  const edges = graph.edges.filter((edge) => edge.source !== id || ports.has(edge.sourceHandle ?? ""));
  return { ...graph, nodes, edges };
}

/** Rename a node: its edges, and nothing else, follow. */
export function renameNode(graph: CanvasGraph, from: string, to: string): CanvasGraph {
  if (from === TRIGGER_NODE || from === to || graph.nodes.some((node) => node.id === to)) return graph;
  const nodes = graph.nodes.map((node) => (node.id === from ? { ...node, id: to } : node));
  const edges = graph.edges.map((edge) => {
    const source = edge.source === from ? to : edge.source;
    const target = edge.target === from ? to : edge.target;
    return { ...edge, id: edgeId(source, edge.sourceHandle ?? "", target), source, target };
  });
  return { ...graph, nodes, edges };
}

// -- copy and paste -----------------------------------------------------------------------------

export interface Clipboard {
  nodes: NodeDef[];
  edges: EdgeDef[];
  layout: Record<string, Point>;
}

/** The chosen nodes (never the trigger) and the edges between them. */
export function copyNodes(graph: CanvasGraph, ids: Iterable<string>): Clipboard {
  const chosen = new Set([...ids].filter((id) => id !== TRIGGER_NODE));
  const part = graphToDefinition({
    ...graph,
    nodes: graph.nodes.filter((node) => chosen.has(node.id)),
    edges: graph.edges.filter((edge) => chosen.has(edge.source) && chosen.has(edge.target)),
  });
  return { nodes: part.nodes, edges: part.edges.map((edge) => ({ ...edge, port: edge.port ?? defaultPort(part.nodes.find((node) => node.id === edge.from)?.type) ?? "" })), layout: part.layout };
}

/** Paste a clipboard with fresh ids, moved by `offset`; returns the graph and the new ids. */
export function pasteNodes(graph: CanvasGraph, clipboard: Clipboard, offset: Point): { graph: CanvasGraph; ids: string[] } {
  const taken = new Set(graph.nodes.map((node) => node.id));
  const renamed = new Map<string, string>();
  const nodes: CanvasNode[] = [];
  for (const node of clipboard.nodes) {
    if (!isNodeKind(node.type)) continue;
    const id = newNodeId(node.type, taken);
    taken.add(id);
    renamed.set(node.id, id);
    const at = clipboard.layout[node.id] ?? { x: 0, y: 0 };
    const { id: _id, type: _type, config, ...extra } = node;
    void _id;
    void _type;
    nodes.push({ id, type: node.type, position: { x: at.x + offset.x, y: at.y + offset.y }, data: { config: clone(config ?? {}), extra: clone(extra) }, selected: true });
  }
  const edges: CanvasEdge[] = clipboard.edges.flatMap((edge) => {
    const source = renamed.get(edge.from);
    const target = renamed.get(edge.to);
    if (!source || !target) return [];
    const port = edge.port ?? "";
    return [{ id: edgeId(source, port, target), source, sourceHandle: port, target }];
  });
  return {
    graph: { ...graph, nodes: [...graph.nodes.map((node) => (node.selected ? { ...node, selected: false } : node)), ...nodes], edges: [...graph.edges, ...edges] },
    ids: nodes.map((node) => node.id),
  };
}

// -- what changed since the live version --------------------------------------------------------

export interface DefinitionDiff {
  added: NodeDef[];
  removed: NodeDef[];
  changed: { id: string; type: string; what: string[] }[];
  edgesAdded: EdgeDef[];
  edgesRemoved: EdgeDef[];
  settings: string[];
}

function canonicalEdges(definition: JourneyDefinition): Map<string, EdgeDef> {
  const types = new Map((definition.nodes ?? []).map((node) => [node.id, node.type as string]));
  types.set(TRIGGER_NODE, TRIGGER_NODE);
  const result = new Map<string, EdgeDef>();
  for (const edge of definition.edges ?? []) {
    const port = edge.port ?? defaultPort(types.get(edge.from)) ?? "";
    result.set(`${edge.from}.${port}->${edge.to}`, { from: edge.from, port, to: edge.to });
  }
  return result;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** What publishing `draft` changes compared with `live` (layout moves are not changes). */
export function diffDefinitions(live: JourneyDefinition, draft: JourneyDefinition): DefinitionDiff {
  const before = new Map((live.nodes ?? []).map((node) => [node.id, node]));
  const after = new Map((draft.nodes ?? []).map((node) => [node.id, node]));
  const added = [...after.values()].filter((node) => !before.has(node.id));
  const removed = [...before.values()].filter((node) => !after.has(node.id));
  const changed: DefinitionDiff["changed"] = [];
  for (const node of after.values()) {
    const old = before.get(node.id);
    if (!old) continue;
    const what: string[] = [];
    if (old.type !== node.type) what.push("type");
    const keys = new Set([...Object.keys(old.config ?? {}), ...Object.keys(node.config ?? {})]);
    for (const key of [...keys].sort()) if (!same(old.config?.[key], node.config?.[key])) what.push(key);
    if (what.length) changed.push({ id: node.id, type: node.type, what });
  }
  const edgesBefore = canonicalEdges(live);
  const edgesAfter = canonicalEdges(draft);
  const edgesAdded = [...edgesAfter.entries()].filter(([key]) => !edgesBefore.has(key)).map(([, edge]) => edge);
  const edgesRemoved = [...edgesBefore.entries()].filter(([key]) => !edgesAfter.has(key)).map(([, edge]) => edge);
  const settings = (["trigger", "entry", "exit_on", "sending"] as const).filter((key) => !same(live[key] ?? null, draft[key] ?? null));
  return { added, removed, changed, edgesAdded, edgesRemoved, settings };
}

export function isEmptyDiff(diff: DefinitionDiff): boolean {
  return !diff.added.length && !diff.removed.length && !diff.changed.length && !diff.edgesAdded.length && !diff.edgesRemoved.length && !diff.settings.length;
}
