/** Auto-layout of the canvas with dagre: top to bottom, each port's branch in port order. Pure. */
import dagre from "@dagrejs/dagre";
import { TRIGGER_NODE } from "./nodeTypes";
import { nodePorts, type CanvasGraph, type CanvasNode } from "./store";

export const NODE_WIDTH = 248;
export const NODE_HEIGHT = 104;

function size(node: CanvasNode): { width: number; height: number } {
  return { width: node.measured?.width ?? node.width ?? NODE_WIDTH, height: node.measured?.height ?? node.height ?? NODE_HEIGHT };
}

/** The graph with every node moved to a tidy place; the trigger stays where it is. */
export function autoLayout(graph: CanvasGraph): CanvasGraph {
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: "TB", nodesep: 56, ranksep: 80, marginx: 0, marginy: 0 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) layout.setNode(node.id, size(node));
  // Edges in port order, so "yes" lands left of "no" and split paths read left to right.
  const byNode = new Map(graph.nodes.map((node) => [node.id, node]));
  const order = (source: string, port: string) => {
    const node = byNode.get(source);
    return node ? nodePorts(node).indexOf(port) : 0;
  };
  const edges = [...graph.edges].sort((a, b) => (a.source === b.source ? order(a.source, a.sourceHandle ?? "") - order(b.source, b.sourceHandle ?? "") : 0));
  for (const edge of edges) if (byNode.has(edge.source) && byNode.has(edge.target)) layout.setEdge(edge.source, edge.target);
  // Keep the children of one node left to right in port order.
  const constraints: { left: string; right: string }[] = [];
  for (const node of graph.nodes) {
    const children = edges.filter((edge) => edge.source === node.id && byNode.has(edge.target)).map((edge) => edge.target);
    for (let i = 1; i < children.length; i += 1) if (children[i - 1] !== children[i]) constraints.push({ left: children[i - 1], right: children[i] });
  }
  try {
    dagre.layout(layout, { constraints });
  } catch {
    dagre.layout(layout); // contradictory constraints (a child shared by two parents): lay out without them
  }

  const anchor = byNode.get(TRIGGER_NODE);
  const placedAnchor = anchor ? layout.node(TRIGGER_NODE) : undefined;
  const shiftX = anchor && placedAnchor ? anchor.position.x - (placedAnchor.x - size(anchor).width / 2) : 0;
  const shiftY = anchor && placedAnchor ? anchor.position.y - (placedAnchor.y - size(anchor).height / 2) : 0;
  return {
    ...graph,
    nodes: graph.nodes.map((node) => {
      const placed = layout.node(node.id);
      if (!placed) return node;
      const { width, height } = size(node);
      return { ...node, position: { x: Math.round(placed.x - width / 2 + shiftX), y: Math.round(placed.y - height / 2 + shiftY) } };
    }),
  };
}
