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

// -- edge routes around the nodes ---------------------------------------------------------------

export interface Box {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface XY {
  x: number;
  y: number;
}

/** How far a route keeps from a node it passes, and how long it runs straight out of a port / into a node. */
const CLEARANCE = 14;
const STUB = 18;
const BEND_COST = 40;

/** Does the segment a-b (horizontal or vertical) run through the box grown by `pad`? */
export function segmentHitsBox(a: XY, b: XY, box: Box, pad = CLEARANCE - 4): boolean {
  const left = box.x - pad;
  const right = box.x + box.width + pad;
  const top = box.y - pad;
  const bottom = box.y + box.height + pad;
  const minX = Math.min(a.x, b.x);
  const maxX = Math.max(a.x, b.x);
  const minY = Math.min(a.y, b.y);
  const maxY = Math.max(a.y, b.y);
  return maxX > left && minX < right && maxY > top && minY < bottom;
}

function length(points: XY[]): number {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += Math.abs(points[i].x - points[i - 1].x) + Math.abs(points[i].y - points[i - 1].y);
  return total;
}

/** The points without repeats and without middle points of straight runs. */
export function simplify(points: XY[]): XY[] {
  const out: XY[] = [];
  for (const point of points) {
    const last = out[out.length - 1];
    if (last && Math.abs(last.x - point.x) < 0.5 && Math.abs(last.y - point.y) < 0.5) continue;
    out.push(point);
    while (out.length >= 3) {
      const [p, q, r] = out.slice(-3);
      const straight = (Math.abs(p.x - q.x) < 0.5 && Math.abs(q.x - r.x) < 0.5) || (Math.abs(p.y - q.y) < 0.5 && Math.abs(q.y - r.y) < 0.5);
      if (!straight) break;
      out.splice(out.length - 2, 1);
    }
  }
  return out;
}

function collisions(points: XY[], boxes: Box[], source: string, target: string, pad: number): number {
  let hits = 0;
  const n = points.length;
  for (let i = 1; i < n; i += 1) {
    // Only a way out downwards from the source, and a way in downwards into the target, may touch them.
    const first = i === 1 && points[1].y >= points[0].y && Math.abs(points[1].x - points[0].x) < 0.5;
    const last = i === n - 1 && points[n - 2].y <= points[n - 1].y && Math.abs(points[n - 2].x - points[n - 1].x) < 0.5;
    for (const box of boxes) {
      if (first && box.id === source) continue; // leaving its own port
      if (last && box.id === target) continue; // entering the target from above
      if (segmentHitsBox(points[i - 1], points[i], box, pad)) hits += 1;
    }
  }
  return hits;
}

/**
 * An orthogonal route from a way out (the bottom of `source`) to the way in (the top middle of
 * `target`) that goes around the other nodes: it leaves downwards, enters from above, and among
 * the candidate channels (between rows, beside columns) takes the shortest with few bends that
 * crosses no node. When steps sit too close for that, it tries again keeping closer to them.
 * Pure; the nodes are boxes in flow coordinates.
 */
export function routeAround(from: XY, to: XY, boxes: Box[], source: string, target: string): XY[] {
  const roomy = routeWith(from, to, boxes, source, target, CLEARANCE, STUB);
  const direct = Math.abs(to.x - from.x) + Math.abs(to.y - from.y);
  // A clear route that is not a long way round is the one; otherwise a closer one may do better
  // (two steps a few pixels apart: a short step between them beats a loop around one of them).
  if (roomy.clear && roomy.cost <= 1.5 * direct + 4 * BEND_COST) return roomy.points;
  const tight = routeWith(from, to, boxes, source, target, 3, 7);
  if (tight.clear && (!roomy.clear || tight.cost < roomy.cost)) return tight.points;
  return roomy.clear || roomy.cost <= tight.cost ? roomy.points : tight.points;
}

const CROSSING = 100_000;

function routeWith(from: XY, to: XY, boxes: Box[], source: string, target: string, clearance: number, stub: number): { points: XY[]; cost: number; clear: boolean } {
  const pad = Math.max(1, clearance - 4);
  const out = { x: from.x, y: from.y + stub };
  const into = { x: to.x, y: to.y - stub };
  const ys = new Set<number>([out.y, into.y, Math.round((out.y + into.y) / 2)]);
  const xs = new Set<number>([from.x, to.x]);
  for (const box of boxes) {
    ys.add(box.y - clearance - 2);
    ys.add(box.y + box.height + clearance + 2);
    xs.add(box.x - clearance - 2);
    xs.add(box.x + box.width + clearance + 2);
  }
  // Nearest channels first, so that a short clear route is found early and prunes the rest.
  const below = [...ys].filter((y) => y >= out.y).sort((a, b) => a - b);
  const above = [...ys].filter((y) => y <= into.y).sort((a, b) => b - a);
  const middle = (from.x + to.x) / 2;
  const columns = [...xs].sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle));
  let best: XY[] = simplify([from, out, { x: to.x, y: out.y }, to]);
  let bestCost = Infinity;
  const consider = (points: XY[]) => {
    const path = simplify(points);
    const base = length(path) + BEND_COST * (path.length - 2);
    if (base >= bestCost) return; // cannot win, whatever it crosses: skip the costly part
    const cost = base + CROSSING * collisions(path, boxes, source, target, pad);
    if (cost < bestCost) {
      best = path;
      bestCost = cost;
    }
  };
  // Down, across once, down: the usual step between rows (when rows are close, across halfway).
  for (const y of below) if (y <= into.y) consider([from, { x: from.x, y }, { x: to.x, y }, to]);
  if (to.y > from.y) consider([from, { x: from.x, y: (from.y + to.y) / 2 }, { x: to.x, y: (from.y + to.y) / 2 }, to]);
  if (bestCost >= CROSSING) {
    // Around: down, across to a free column, along it, across above the target, down into it.
    for (const y1 of below)
      for (const x of columns)
        for (const y2 of above) {
          if (Math.abs(y1 - from.y) + Math.abs(x - from.x) + Math.abs(y1 - y2) + Math.abs(x - to.x) + Math.abs(to.y - y2) >= bestCost) continue;
          consider([from, { x: from.x, y: y1 }, { x, y: y1 }, { x, y: y2 }, { x: to.x, y: y2 }, to]);
        }
  }
  return { points: best, cost: bestCost, clear: bestCost < CROSSING };
}

/** An SVG path through orthogonal points, its corners rounded by up to `radius`. */
export function roundedPath(points: XY[], radius = 8): string {
  if (points.length < 2) return "";
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    const p = points[i - 1];
    const q = points[i];
    const r = points[i + 1];
    const before = Math.abs(q.x - p.x) + Math.abs(q.y - p.y);
    const after = Math.abs(r.x - q.x) + Math.abs(r.y - q.y);
    const bend = Math.min(radius, before / 2, after / 2);
    const inX = q.x - Math.sign(q.x - p.x) * bend;
    const inY = q.y - Math.sign(q.y - p.y) * bend;
    const outX = q.x + Math.sign(r.x - q.x) * bend;
    const outY = q.y + Math.sign(r.y - q.y) * bend;
    d += ` L ${inX} ${inY} Q ${q.x} ${q.y} ${outX} ${outY}`;
  }
  const end = points[points.length - 1];
  return `${d} L ${end.x} ${end.y}`;
}

// -- a dropped step stays in view ---------------------------------------------------------------

export const DROP_MARGIN = 12;

export type Rect = { left: number; top: number; right: number; bottom: number };

/**
 * Where a dropped step's box (screen pixels) goes so that all of it stays in view: inside the
 * pane (less the side panel that opens on the drop) and off the overlays in its corners (the
 * minimap, the zoom controls). Pure.
 */
export function keepInView(box: Rect, pane: Rect, overlays: Rect[]): Rect {
  const width = box.right - box.left;
  const height = box.bottom - box.top;
  const clampInto = (at: { left: number; top: number }) => {
    const left = Math.max(pane.left + DROP_MARGIN, Math.min(at.left, pane.right - DROP_MARGIN - width));
    const top = Math.max(pane.top + DROP_MARGIN, Math.min(at.top, pane.bottom - DROP_MARGIN - height));
    return { left, top, right: left + width, bottom: top + height };
  };
  let placed = clampInto(box);
  for (const overlay of overlays) {
    const overlaps = placed.left < overlay.right + DROP_MARGIN && placed.right > overlay.left - DROP_MARGIN && placed.top < overlay.bottom + DROP_MARGIN && placed.bottom > overlay.top - DROP_MARGIN;
    if (!overlaps) continue;
    // The smaller move that clears it: up above it, or sideways away from it.
    const up = placed.bottom - (overlay.top - DROP_MARGIN);
    const towardsLeft = placed.right - (overlay.left - DROP_MARGIN);
    const towardsRight = overlay.right + DROP_MARGIN - placed.left;
    const sideways = overlay.left > (pane.left + pane.right) / 2 ? -towardsLeft : towardsRight;
    placed = Math.abs(sideways) < up ? clampInto({ left: placed.left + sideways, top: placed.top }) : clampInto({ left: placed.left, top: placed.top - up });
  }
  return placed;
}
