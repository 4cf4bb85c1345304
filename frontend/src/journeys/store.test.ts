import { describe, expect, it } from "vitest";
import {
  connect,
  connectionProblem,
  copyNodes,
  definitionToGraph,
  diffDefinitions,
  emptyDefinition,
  freePort,
  graphToDefinition,
  insertOnEdge,
  isEmptyDiff,
  makeNode,
  needsLayout,
  newNodeId,
  pasteNodes,
  removeNodes,
  renameNode,
  updateConfig,
  type CanvasGraph,
} from "./store";
import { autoLayout } from "./layout";
import { durationSeconds, humanDuration, joinDuration, splitDuration } from "./duration";
import { defaultPort, NODE_KINDS, portsOf } from "./nodeTypes";
import type { JourneyDefinition } from "./types";

/** The cart-abandonment journey of the issue, in canonical form. */
function cartAbandonment(): JourneyDefinition {
  return {
    trigger: { type: "event", event: "Checkout Started", where: { all: [] } },
    entry: { re_entry: "after_exit", audience: { all: [] } },
    exit_on: [{ event: "Order Completed", as_conversion: true }],
    nodes: [
      { id: "wait1", type: "wait_for_event", config: { event: "Order Completed", timeout: "PT1H", match: { property: "cart_id" } } },
      { id: "email1", type: "email", config: { template: "cart-reminder", category: "marketing" } },
      { id: "delay1", type: "delay", config: { mode: "duration", duration: "P1D" } },
      { id: "branch1", type: "branch", config: { condition: { field: "cart.total", op: "gte", value: 100 } } },
      { id: "email2", type: "email", config: { template: "cart-big-spender" } },
      { id: "email3", type: "email", config: { template: "cart-last-call" } },
    ],
    edges: [
      { from: "trigger", to: "wait1" },
      { from: "wait1", port: "timeout", to: "email1" },
      { from: "email1", to: "delay1" },
      { from: "delay1", to: "branch1" },
      { from: "branch1", port: "yes", to: "email2" },
      { from: "branch1", port: "no", to: "email3" },
    ],
    layout: {
      trigger: { x: 0, y: 0 },
      wait1: { x: 0, y: 140 },
      email1: { x: 120, y: 280 },
      delay1: { x: 120, y: 420 },
      branch1: { x: 120, y: 560 },
      email2: { x: -20, y: 700 },
      email3: { x: 260, y: 700 },
    },
  };
}

function graphOf(definition: JourneyDefinition = cartAbandonment()): CanvasGraph {
  return definitionToGraph(definition);
}

describe("definition <-> canvas graph", () => {
  it("round-trips a canonical definition unchanged", () => {
    const definition = cartAbandonment();
    expect(graphToDefinition(definitionToGraph(definition))).toEqual(definition);
  });

  it("round-trips the empty journey", () => {
    expect(graphToDefinition(definitionToGraph(emptyDefinition()))).toEqual(emptyDefinition());
  });

  it("round-trips every node type with its default config", () => {
    const definition = emptyDefinition();
    NODE_KINDS.forEach((kind, index) => {
      const node = makeNode(kind, definition.nodes.map((item) => item.id), { x: index * 10, y: index * 100 });
      definition.nodes.push({ id: node.id, type: kind, config: node.data.config });
      definition.layout[node.id] = { x: index * 10, y: index * 100 };
    });
    expect(graphToDefinition(definitionToGraph(definition))).toEqual(definition);
  });

  it("draws one canvas node per definition node plus the trigger, with positions from the layout", () => {
    const graph = graphOf();
    expect(graph.nodes.map((node) => node.id)).toEqual(["trigger", "wait1", "email1", "delay1", "branch1", "email2", "email3"]);
    expect(graph.nodes.find((node) => node.id === "email2")?.position).toEqual({ x: -20, y: 700 });
    expect(graph.nodes[0].deletable).toBe(false);
  });

  it("puts the port of each edge on its source handle, the implied port too", () => {
    const edges = graphOf().edges;
    expect(edges.map((edge) => [edge.source, edge.sourceHandle, edge.target])).toEqual([
      ["trigger", "next", "wait1"],
      ["wait1", "timeout", "email1"],
      ["email1", "next", "delay1"],
      ["delay1", "next", "branch1"],
      ["branch1", "yes", "email2"],
      ["branch1", "no", "email3"],
    ]);
  });

  it("writes the port only where a node has more than one way out", () => {
    const definition = cartAbandonment();
    definition.edges[0] = { from: "trigger", port: "next", to: "wait1" };
    definition.edges[2] = { from: "email1", port: "next", to: "delay1" };
    expect(graphToDefinition(definitionToGraph(definition)).edges).toEqual(cartAbandonment().edges);
  });

  it("keeps keys it does not know, on the journey and on nodes", () => {
    const definition = { ...cartAbandonment(), goal_window: "P7D" } as JourneyDefinition;
    definition.nodes[1] = { ...definition.nodes[1], note: "first reminder" };
    expect(graphToDefinition(definitionToGraph(definition))).toEqual(definition);
  });

  it("carries the journey's sending choice through unchanged, and adds none where there is none", () => {
    const definition: JourneyDefinition = { ...cartAbandonment(), sending: { over_cap: "skip", max_deferral: "PT12H" } };
    const graph = definitionToGraph(definition);
    expect(graph.settings.sending).toEqual({ over_cap: "skip", max_deferral: "PT12H" });
    expect(graphToDefinition(graph)).toEqual(definition);
    expect("sending" in graphToDefinition(definitionToGraph(cartAbandonment()))).toBe(false);
  });

  it("rounds positions and records the trigger's", () => {
    const graph = graphOf();
    graph.nodes[0].position = { x: 10.4, y: -3.6 };
    expect(graphToDefinition(graph).layout.trigger).toEqual({ x: 10, y: -4 });
  });

  it("places nodes without a stored position and says the journey needs a layout", () => {
    const definition = cartAbandonment();
    definition.layout = {};
    expect(needsLayout(definition)).toBe(true);
    expect(needsLayout(cartAbandonment())).toBe(false);
    const positions = definitionToGraph(definition).nodes.map((node) => node.position.y);
    expect(new Set(positions).size).toBe(positions.length);
  });

  it("does not share objects with the definition it came from", () => {
    const definition = cartAbandonment();
    const graph = definitionToGraph(definition);
    (graph.nodes[1].data.config as { timeout: string }).timeout = "P9D";
    graph.settings.trigger.event = "Other";
    expect(definition.nodes[0].config.timeout).toBe("PT1H");
    expect(definition.trigger.event).toBe("Checkout Started");
  });
});

describe("ports", () => {
  it("mirrors the server's ports, dynamic ones included", () => {
    expect(portsOf({ type: "branch" })).toEqual(["yes", "no"]);
    expect(portsOf({ type: "split", config: { paths: [{ id: "de" }, { id: "fr" }] } })).toEqual(["de", "fr", "else"]);
    expect(portsOf({ type: "experiment", config: { variants: [{ id: "a" }, { id: "b" }] } })).toEqual(["a", "b"]);
    expect(portsOf({ type: "exit" })).toEqual([]);
    expect(defaultPort("trigger")).toBe("next");
    expect(defaultPort("webhook")).toBeNull();
  });

  it("names new nodes readably and never twice", () => {
    expect(newNodeId("wait_for_event", [])).toBe("wait1");
    expect(newNodeId("email", ["email1", "email3"])).toBe("email2");
  });

  it("finds the first way out that leads nowhere yet", () => {
    const graph = graphOf();
    expect(freePort(graph, "wait1")).toBe("event");
    expect(freePort(graph, "branch1")).toBeNull();
    expect(freePort(graph, "email2")).toBe("next");
  });
});

describe("connections the canvas refuses", () => {
  it("allows connecting a free port to another node", () => {
    expect(connectionProblem(graphOf(), { source: "wait1", sourceHandle: "event", target: "email3" })).toBeNull();
  });

  it("refuses a second edge from the same port", () => {
    expect(connectionProblem(graphOf(), { source: "wait1", sourceHandle: "timeout", target: "email2" })).toMatch(/already leads somewhere/);
  });

  it("refuses edges into the trigger, to the node itself, and out of an exit", () => {
    const graph = graphOf();
    graph.nodes.push(makeNode("exit", graph.nodes.map((node) => node.id), { x: 0, y: 900 }));
    expect(connectionProblem(graph, { source: "email2", sourceHandle: "next", target: "trigger" })).toMatch(/trigger/);
    expect(connectionProblem(graph, { source: "email2", sourceHandle: "next", target: "email2" })).toMatch(/itself/);
    expect(connectionProblem(graph, { source: "exit1", sourceHandle: null, target: "email2" })).toMatch(/no way out/);
  });

  it("refuses a port the node does not have", () => {
    expect(connectionProblem(graphOf(), { source: "email2", sourceHandle: "yes", target: "email3" })).toMatch(/not a way out/);
  });

  it("refuses a loop without a delay or a wait, allows one through a delay", () => {
    const graph = graphOf();
    // email2 -> branch1 would loop branch1 -> email2 -> branch1 with nothing that waits.
    expect(connectionProblem(graph, { source: "email2", sourceHandle: "next", target: "branch1" })).toMatch(/loop/);
    // email2 -> delay1 loops through the delay: allowed.
    expect(connectionProblem(graph, { source: "email2", sourceHandle: "next", target: "delay1" })).toBeNull();
    // email3 -> wait1: the loop passes through the wait.
    expect(connectionProblem(graph, { source: "email3", sourceHandle: "next", target: "wait1" })).toBeNull();
  });

  it("adds the edge with the port on its handle", () => {
    const graph = connect(graphOf(), { source: "wait1", sourceHandle: "event", target: "email3" });
    expect(graphToDefinition(graph).edges).toContainEqual({ from: "wait1", port: "event", to: "email3" });
  });
});

describe("editing the graph", () => {
  it("inserts a node dropped on an edge between its two ends", () => {
    const graph = graphOf();
    const edge = graph.edges.find((item) => item.source === "email1")!;
    const node = makeNode("update_contact", graph.nodes.map((item) => item.id), { x: 0, y: 0 });
    const edges = graphToDefinition(insertOnEdge(graph, edge.id, node)).edges;
    expect(edges).toContainEqual({ from: "email1", to: "update1" });
    expect(edges).toContainEqual({ from: "update1", to: "delay1" });
    expect(edges).not.toContainEqual({ from: "email1", to: "delay1" });
  });

  it("inserting a branch on an edge continues on its first port", () => {
    const graph = graphOf();
    const edge = graph.edges.find((item) => item.source === "trigger")!;
    const node = makeNode("branch", graph.nodes.map((item) => item.id), { x: 0, y: 0 });
    const edges = graphToDefinition(insertOnEdge(graph, edge.id, node)).edges;
    expect(edges).toContainEqual({ from: "trigger", to: "branch2" });
    expect(edges).toContainEqual({ from: "branch2", port: "yes", to: "wait1" });
  });

  it("removes nodes with their edges but never the trigger", () => {
    const graph = removeNodes(graphOf(), ["trigger", "delay1"]);
    expect(graph.nodes.map((node) => node.id)).toEqual(["trigger", "wait1", "email1", "branch1", "email2", "email3"]);
    expect(graph.edges.some((edge) => edge.source === "delay1" || edge.target === "delay1")).toBe(false);
  });

  it("drops the edges of a split path that was removed", () => {
    const definition = emptyDefinition();
    definition.nodes = [
      { id: "split1", type: "split", config: { paths: [{ id: "de", condition: {} }, { id: "fr", condition: {} }] } },
      { id: "email1", type: "email", config: { template: "a" } },
      { id: "email2", type: "email", config: { template: "b" } },
    ];
    definition.edges = [
      { from: "split1", port: "de", to: "email1" },
      { from: "split1", port: "fr", to: "email2" },
    ];
    const graph = updateConfig(definitionToGraph(definition), "split1", { paths: [{ id: "de", condition: {} }] });
    expect(graphToDefinition(graph).edges).toEqual([{ from: "split1", port: "de", to: "email1" }]);
  });

  it("renames a node and its edges follow", () => {
    const definition = graphToDefinition(renameNode(graphOf(), "email1", "reminder"));
    expect(definition.nodes.map((node) => node.id)).toContain("reminder");
    expect(definition.edges).toContainEqual({ from: "wait1", port: "timeout", to: "reminder" });
    expect(definition.edges).toContainEqual({ from: "reminder", to: "delay1" });
  });

  it("copies nodes with the edges between them and pastes them with fresh ids", () => {
    const graph = graphOf();
    const clipboard = copyNodes(graph, ["trigger", "branch1", "email2", "email3"]);
    expect(clipboard.nodes.map((node) => node.id)).toEqual(["branch1", "email2", "email3"]);
    const { graph: pasted, ids } = pasteNodes(graph, clipboard, { x: 40, y: 40 });
    expect(ids).toEqual(["branch2", "email4", "email5"]);
    const definition = graphToDefinition(pasted);
    expect(definition.edges).toContainEqual({ from: "branch2", port: "yes", to: "email4" });
    expect(definition.edges).toContainEqual({ from: "branch2", port: "no", to: "email5" });
    expect(definition.layout.branch2).toEqual({ x: 160, y: 600 });
    expect(definition.nodes.find((node) => node.id === "email4")?.config).toEqual({ template: "cart-big-spender" });
  });
});

describe("auto-layout", () => {
  it("puts each node below the one it comes from, yes left of no, the trigger where it was", () => {
    const definition = cartAbandonment();
    definition.layout = { trigger: { x: 50, y: 20 } };
    const laid = graphToDefinition(autoLayout(definitionToGraph(definition))).layout;
    expect(laid.trigger).toEqual({ x: 50, y: 20 });
    for (const edge of definition.edges) expect(laid[edge.to].y).toBeGreaterThan(laid[edge.from].y);
    expect(laid.email2.x).toBeLessThan(laid.email3.x);
  });
});

describe("what changed since the live version", () => {
  it("finds added, removed and changed nodes, edges and settings, and ignores moves", () => {
    const live = cartAbandonment();
    const draft = cartAbandonment();
    draft.layout.wait1 = { x: 999, y: 999 };
    expect(isEmptyDiff(diffDefinitions(live, draft))).toBe(true);

    draft.nodes = draft.nodes.filter((node) => node.id !== "email3");
    draft.edges = draft.edges.filter((edge) => edge.to !== "email3");
    draft.nodes.push({ id: "exit1", type: "exit", config: {} });
    draft.edges.push({ from: "branch1", port: "no", to: "exit1" });
    draft.nodes[0].config = { ...draft.nodes[0].config, timeout: "PT2H" };
    draft.exit_on = [];
    const diff = diffDefinitions(live, draft);
    expect(diff.added.map((node) => node.id)).toEqual(["exit1"]);
    expect(diff.removed.map((node) => node.id)).toEqual(["email3"]);
    expect(diff.changed).toEqual([{ id: "wait1", type: "wait_for_event", what: ["timeout"] }]);
    expect(diff.edgesAdded).toEqual([{ from: "branch1", port: "no", to: "exit1" }]);
    expect(diff.edgesRemoved).toEqual([{ from: "branch1", port: "no", to: "email3" }]);
    expect(diff.settings).toEqual(["exit_on"]);
  });

  it("sees a changed sending choice as a changed setting", () => {
    const draft: JourneyDefinition = { ...cartAbandonment(), sending: { over_cap: "skip" } };
    expect(diffDefinitions(cartAbandonment(), draft).settings).toEqual(["sending"]);
  });

  it("sees an edge written with or without its implied port as the same edge", () => {
    const live = cartAbandonment();
    const draft = cartAbandonment();
    draft.edges[0] = { from: "trigger", port: "next", to: "wait1" };
    expect(isEmptyDiff(diffDefinitions(live, draft))).toBe(true);
  });
});

describe("durations", () => {
  it("reads and writes ISO 8601 durations in the biggest whole unit", () => {
    expect(splitDuration("PT1H")).toEqual({ amount: 1, unit: "hours" });
    expect(splitDuration("PT90M")).toEqual({ amount: 90, unit: "minutes" });
    expect(splitDuration("P14D")).toEqual({ amount: 2, unit: "weeks" });
    expect(splitDuration("P1DT12H")).toEqual({ amount: 36, unit: "hours" });
    expect(splitDuration("soon")).toBeNull();
    expect(joinDuration(1, "hours")).toBe("PT1H");
    expect(joinDuration(3, "days")).toBe("P3D");
    expect(durationSeconds("-P30D")).toBe(-30 * 86400);
    expect(humanDuration("P1D")).toBe("1 day");
    expect(humanDuration("PT30M")).toBe("30 minutes");
  });
});
