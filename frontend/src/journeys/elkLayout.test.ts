import { describe, expect, it } from "vitest";
import { arrange, fromElkGraph, geometryKey, inPortId, outPortId, toElkGraph } from "./elkLayout";
import { keepInView, routeAround, segmentHitsBox, type Box, type XY } from "./layout";
import { definitionToGraph, type CanvasNode } from "./store";
import type { JourneyDefinition } from "./types";

// The demo's cart abandonment (journeys/engine/library.py), without a stored layout.
const CART: JourneyDefinition = {
  trigger: { type: "event", event: "Checkout Started", where: { all: [] } },
  entry: { re_entry: "after_exit", audience: { all: [] } },
  exit_on: [],
  nodes: [
    { id: "wait_order", type: "wait_for_event", config: { event: "Order Completed", timeout: "PT1H" } },
    { id: "cart_full", type: "branch", config: { condition: { all: [] } } },
    { id: "reminder", type: "email", config: { template: "cart-reminder", category: "marketing" } },
    { id: "next_day", type: "delay", config: { mode: "duration", duration: "P1D" } },
    { id: "still_full", type: "branch", config: { condition: { all: [] } } },
    { id: "last_call", type: "email", config: { template: "cart-reminder", category: "marketing" } },
    { id: "bought", type: "exit", config: {} },
    { id: "done", type: "exit", config: {} },
  ],
  edges: [
    { from: "trigger", to: "wait_order" },
    { from: "wait_order", port: "event", to: "bought" },
    { from: "wait_order", port: "timeout", to: "cart_full" },
    { from: "cart_full", port: "yes", to: "reminder" },
    { from: "cart_full", port: "no", to: "done" },
    { from: "reminder", to: "next_day" },
    { from: "next_day", to: "still_full" },
    { from: "still_full", port: "yes", to: "last_call" },
    { from: "still_full", port: "no", to: "done" },
  ],
  layout: {},
};

function sized(nodes: CanvasNode[]): CanvasNode[] {
  return nodes.map((node) => ({ ...node, measured: { width: 248, height: 96 } }));
}

describe("toElkGraph", () => {
  const graph = definitionToGraph(CART);
  const elk = toElkGraph(sized(graph.nodes), graph.edges);

  it("asks for a layered layout downwards with orthogonal routes", () => {
    expect(elk.layoutOptions).toMatchObject({ "elk.algorithm": "layered", "elk.direction": "DOWN", "elk.edgeRouting": "ORTHOGONAL" });
  });

  it("gives each node its way in on top and its ways out at the bottom, where the handles are", () => {
    const branch = elk.children?.find((child) => child.id === "cart_full");
    expect(branch?.layoutOptions?.["elk.portConstraints"]).toBe("FIXED_POS");
    const ports = branch?.ports ?? [];
    expect(ports.map((port) => [port.id, port.layoutOptions?.["elk.port.side"]])).toEqual([
      [inPortId("cart_full"), "NORTH"],
      [outPortId("cart_full", "yes"), "SOUTH"],
      [outPortId("cart_full", "no"), "SOUTH"],
    ]);
    // yes at a third of the width, no at two thirds (the port's middle), at the bottom edge
    expect(ports[1].x! + 1).toBeCloseTo(248 / 3);
    expect(ports[2].x! + 1).toBeCloseTo((2 * 248) / 3);
    expect(ports[1].y).toBe(96);
    const trigger = elk.children?.find((child) => child.id === "trigger");
    expect(trigger?.ports?.map((port) => port.id)).toEqual([outPortId("trigger", "next")]);
  });

  it("connects ports, and leaves out edges from ports a node does not have", () => {
    expect(elk.edges?.find((edge) => edge.id === "cart_full.no->done")).toMatchObject({ sources: [outPortId("cart_full", "no")], targets: [inPortId("done")] });
    const broken = toElkGraph(sized(graph.nodes), [...graph.edges, { id: "reminder.nope->done", source: "reminder", sourceHandle: "nope", target: "done" }]);
    expect(broken.edges).toHaveLength(graph.edges.length);
  });
});

describe("fromElkGraph", () => {
  it("keeps the trigger where it was and moves the routes with the nodes", () => {
    const nodes = sized(definitionToGraph(CART).nodes.slice(0, 2)).map((node) => (node.id === "trigger" ? { ...node, position: { x: 100, y: 50 } } : node));
    const arranged = fromElkGraph(
      {
        id: "root",
        children: [
          { id: "trigger", x: 10, y: 10 },
          { id: "wait_order", x: 10, y: 200 },
        ],
        edges: [{ id: "trigger.next->wait_order", sources: [], targets: [], sections: [{ id: "s", startPoint: { x: 134, y: 106 }, bendPoints: [{ x: 134, y: 150 }], endPoint: { x: 134, y: 200 } }] }],
      },
      nodes,
    );
    expect(arranged.positions).toEqual({ trigger: { x: 100, y: 50 }, wait_order: { x: 100, y: 240 } });
    expect(arranged.routes["trigger.next->wait_order"]).toEqual([
      { x: 224, y: 146 },
      { x: 224, y: 190 },
      { x: 224, y: 240 },
    ]);
  });

  it("keys the geometry by place and size, not by order", () => {
    const nodes = sized(definitionToGraph(CART).nodes);
    expect(geometryKey(nodes)).toBe(geometryKey([...nodes].reverse()));
    expect(geometryKey(nodes)).not.toBe(geometryKey(nodes.map((node, i) => (i === 2 ? { ...node, position: { x: 5, y: 5 } } : node))));
  });
});

function boxesOf(nodes: CanvasNode[], positions: Record<string, XY>): Box[] {
  return nodes.map((node) => ({ id: node.id, ...positions[node.id], width: 248, height: 96 }));
}

function crossings(route: XY[], boxes: Box[], source: string, target: string): string[] {
  const hit = new Set<string>();
  for (let i = 1; i < route.length; i += 1)
    for (const box of boxes) {
      if (box.id === source || box.id === target) continue;
      if (segmentHitsBox(route[i - 1], route[i], box, 0)) hit.add(box.id);
    }
  return [...hit];
}

describe("arrange (ELK itself)", () => {
  it("lays out the cart abandonment with routes that cross no other step", async () => {
    const graph = definitionToGraph(CART);
    const nodes = sized(graph.nodes);
    const { positions, routes } = await arrange(nodes, graph.edges);
    expect(Object.keys(positions).sort()).toEqual(nodes.map((node) => node.id).sort());
    expect(positions.trigger).toEqual(nodes[0].position);
    const boxes = boxesOf(nodes, positions);
    for (const edge of graph.edges) {
      const route = routes[edge.id];
      expect(route, edge.id).toBeDefined();
      expect(crossings(route, boxes, edge.source, edge.target), edge.id).toEqual([]);
    }
    // yes to the left of no
    expect(positions.reminder.x).toBeLessThan(positions.done.x);
  });
});

describe("routeAround", () => {
  const a: Box = { id: "a", x: 0, y: 0, width: 200, height: 100 };
  const b: Box = { id: "b", x: 0, y: 400, width: 200, height: 100 };
  const between: Box = { id: "m", x: -50, y: 200, width: 300, height: 100 };

  it("goes straight down when nothing is in the way", () => {
    expect(routeAround({ x: 100, y: 100 }, { x: 100, y: 400 }, [a, b], "a", "b")).toEqual([
      { x: 100, y: 100 },
      { x: 100, y: 400 },
    ]);
  });

  it("goes around a step in the way, and enters the target from above", () => {
    const route = routeAround({ x: 100, y: 100 }, { x: 100, y: 400 }, [a, b, between], "a", "b");
    expect(crossings(route, [a, b, between], "a", "b")).toEqual([]);
    const [beforeLast, last] = route.slice(-2);
    expect(last).toEqual({ x: 100, y: 400 });
    expect(beforeLast.x).toBe(100);
    expect(beforeLast.y).toBeLessThan(400);
  });

  it("goes back up beside the steps for a loop", () => {
    const route = routeAround({ x: 100, y: 500 }, { x: 100, y: 0 }, [a, b], "b", "a");
    expect(crossings(route, [a, b], "", "")).toEqual([]);
    expect(route[1].y).toBeGreaterThan(500);
  });
});

describe("keepInView", () => {
  const pane = { left: 0, top: 0, right: 1000, bottom: 800 };
  const minimap = { left: 780, top: 640, right: 990, bottom: 790 };

  it("leaves a step well inside the pane where it was dropped", () => {
    const box = { left: 300, top: 300, right: 548, bottom: 404 };
    expect(keepInView(box, pane, [minimap])).toEqual(box);
  });

  it("pulls a step dropped at the bottom up into the pane", () => {
    const placed = keepInView({ left: 300, top: 760, right: 548, bottom: 864 }, pane, [minimap]);
    expect(placed.bottom).toBeLessThanOrEqual(800);
    expect(placed.left).toBe(300);
  });

  it("moves a step off the minimap", () => {
    const placed = keepInView({ left: 700, top: 700, right: 948, bottom: 804 }, pane, [minimap]);
    const overlaps = placed.left < minimap.right && placed.right > minimap.left && placed.top < minimap.bottom && placed.bottom > minimap.top;
    expect(overlaps).toBe(false);
    expect(placed.bottom).toBeLessThanOrEqual(800);
  });
});

describe("routeAround on a larger canvas", () => {
  it("stays quick with many steps in the way", () => {
    // A grid of 5 x 6 steps; a route from the top left corner to the bottom right one.
    const boxes: Box[] = [];
    for (let row = 0; row < 6; row += 1) for (let col = 0; col < 5; col += 1) boxes.push({ id: `n${row}${col}`, x: col * 320, y: row * 200, width: 248, height: 104 });
    const started = performance.now();
    let route: XY[] = [];
    for (let i = 0; i < 10; i += 1) route = routeAround({ x: 124, y: 104 }, { x: 4 * 320 + 124, y: 1000 }, boxes, "n00", "n54");
    expect(performance.now() - started).toBeLessThan(1500);
    expect(crossings(route, boxes, "n00", "n54")).toEqual([]);
  });
});
