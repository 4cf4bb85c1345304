/**
 * "Arrange": the canvas laid out by ELK's layered algorithm (elkjs, loaded on first use), top to
 * bottom, with orthogonal edge routes. Each node has its way in on top (north) and its ways out
 * at the bottom (south) at the same places as its handles, in port order, so ELK's routes start
 * and end where the canvas draws them.
 *
 * ELK places the nodes itself: it cannot route around positions a marketer chose. So its routes
 * are used while the nodes stay where it put them; once a node moves, RoutedEdge routes around
 * the nodes on its own (layout.ts, routeAround). The mapping to and from ELK's graph is pure.
 */
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import { NODE_HEIGHT, NODE_WIDTH, type XY } from "./layout";
import { TRIGGER_NODE } from "./nodeTypes";
import { nodePorts, type CanvasEdge, type CanvasNode } from "./store";

const PORT_SIZE = 2;

export const ELK_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.spacing.nodeNode": "56",
  "elk.layered.spacing.nodeNodeBetweenLayers": "72",
  "elk.spacing.edgeNode": "24",
  "elk.spacing.edgeEdge": "14",
  "elk.layered.spacing.edgeNodeBetweenLayers": "24",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "14",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.layered.crossingMinimization.semiInteractive": "true",
};

export interface Arranged {
  /** where each node goes (its top left corner), the trigger where it was */
  positions: Record<string, XY>;
  /** each edge's route, from its way out to the target's way in, in the same coordinates */
  routes: Record<string, XY[]>;
}

export function nodeSize(node: CanvasNode): { width: number; height: number } {
  return { width: node.measured?.width ?? node.width ?? NODE_WIDTH, height: node.measured?.height ?? node.height ?? NODE_HEIGHT };
}

export function outPorts(node: CanvasNode): string[] {
  return node.type === TRIGGER_NODE ? ["next"] : nodePorts(node);
}

export const inPortId = (node: string) => `${node}::in`;
export const outPortId = (node: string, port: string) => `${node}::out::${port}`;

/** The x of a way out within its node: spread evenly, as JourneyNodeView draws the handles. */
export function portOffset(width: number, index: number, count: number): number {
  return (width * (index + 1)) / (count + 1);
}

/** The canvas graph as ELK's input: nodes with fixed ports, edges between ports, in canvas order. */
export function toElkGraph(nodes: readonly CanvasNode[], edges: readonly CanvasEdge[]): ElkNode {
  const ids = new Set(nodes.map((node) => node.id));
  const children: ElkNode[] = nodes.map((node) => {
    const { width, height } = nodeSize(node);
    const ports = outPorts(node);
    return {
      id: node.id,
      width,
      height,
      // Seed ELK's order with today's left-to-right order (semi-interactive crossing minimization).
      x: node.position.x,
      y: node.position.y,
      layoutOptions: { "elk.portConstraints": "FIXED_POS" },
      ports: [
        ...(node.type === TRIGGER_NODE ? [] : [{ id: inPortId(node.id), width: PORT_SIZE, height: PORT_SIZE, x: width / 2 - PORT_SIZE / 2, y: -PORT_SIZE, layoutOptions: { "elk.port.side": "NORTH" } }]),
        ...ports.map((port, index) => ({
          id: outPortId(node.id, port),
          width: PORT_SIZE,
          height: PORT_SIZE,
          x: portOffset(width, index, ports.length) - PORT_SIZE / 2,
          y: height,
          layoutOptions: { "elk.port.side": "SOUTH", "elk.port.index": String(index) },
        })),
      ],
    };
  });
  const portsOf = new Map(nodes.map((node) => [node.id, new Set(outPorts(node))]));
  const elkEdges: ElkExtendedEdge[] = edges
    .filter((edge) => ids.has(edge.source) && ids.has(edge.target) && edge.target !== TRIGGER_NODE && portsOf.get(edge.source)?.has(edge.sourceHandle ?? ""))
    .map((edge) => ({ id: edge.id, sources: [outPortId(edge.source, edge.sourceHandle ?? "")], targets: [inPortId(edge.target)] }));
  return { id: "root", layoutOptions: ELK_OPTIONS, children, edges: elkEdges };
}

/** ELK's answer as canvas positions and routes, moved so the trigger stays where it was. */
export function fromElkGraph(result: ElkNode, nodes: readonly CanvasNode[]): Arranged {
  const placed = new Map((result.children ?? []).map((child) => [child.id, child]));
  const anchor = nodes.find((node) => node.id === TRIGGER_NODE) ?? nodes[0];
  const anchorPlaced = anchor ? placed.get(anchor.id) : undefined;
  const dx = anchor && anchorPlaced ? anchor.position.x - (anchorPlaced.x ?? 0) : 0;
  const dy = anchor && anchorPlaced ? anchor.position.y - (anchorPlaced.y ?? 0) : 0;
  const positions: Record<string, XY> = {};
  for (const node of nodes) {
    const child = placed.get(node.id);
    if (child) positions[node.id] = { x: Math.round((child.x ?? 0) + dx), y: Math.round((child.y ?? 0) + dy) };
  }
  const routes: Record<string, XY[]> = {};
  for (const edge of result.edges ?? []) {
    const section = (edge as ElkExtendedEdge).sections?.[0];
    if (!section) continue;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    routes[edge.id] = points.map((point) => ({ x: point.x + dx, y: point.y + dy }));
  }
  return { positions, routes };
}

/** The key of the nodes' places and sizes: ELK's routes hold while it is unchanged. */
export function geometryKey(nodes: readonly Pick<CanvasNode, "id" | "position" | "measured" | "width" | "height">[]): string {
  return nodes
    .map((node) => {
      const { width, height } = nodeSize(node as CanvasNode);
      return `${node.id}@${Math.round(node.position.x)},${Math.round(node.position.y)},${Math.round(width)}x${Math.round(height)}`;
    })
    .sort()
    .join("|");
}

type Elk = { layout(graph: ElkNode): Promise<ElkNode> };
let engine: Promise<Elk> | null = null;

/** ELK, loaded the first time it is needed (it is large). */
function elk(): Promise<Elk> {
  engine ??= import("elkjs/lib/elk.bundled.js").then((module) => new module.default() as unknown as Elk);
  return engine;
}

export async function arrange(nodes: readonly CanvasNode[], edges: readonly CanvasEdge[]): Promise<Arranged> {
  const result = await (await elk()).layout(toElkGraph(nodes, edges));
  return fromElkGraph(result, nodes);
}
