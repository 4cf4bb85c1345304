import { beforeEach, describe, expect, it } from "vitest";
import { useCanvas } from "./canvasState";
import { asGroup, fromGroup, textToValue, valueToText } from "./ConditionBuilder";
import { clientProblems, nodeSummary, ruleText } from "./summary";
import { emptyDefinition, makeNode } from "./store";
import type { JourneyDefinition } from "./types";

function start(definition: JourneyDefinition = emptyDefinition()) {
  useCanvas.getState().load(7, definition, 3);
}

const ids = () => useCanvas.getState().nodes.map((node) => node.id);

describe("the canvas store", () => {
  beforeEach(() => start());

  it("loads a definition as saved at its revision", () => {
    const state = useCanvas.getState();
    expect(state.journeyId).toBe(7);
    expect(state.revision).toBe(3);
    expect(state.saveState).toBe("saved");
    expect(JSON.parse(state.savedJson)).toEqual(state.definition());
  });

  it("undoes and redoes adding a connected step", () => {
    useCanvas.getState().addNode(makeNode("delay", ids(), { x: 0, y: 150 }), { source: "trigger", port: "next" });
    expect(ids()).toEqual(["trigger", "delay1"]);
    expect(useCanvas.getState().definition().edges).toEqual([{ from: "trigger", to: "delay1" }]);
    expect(useCanvas.getState().saveState).toBe("unsaved");
    useCanvas.getState().undo();
    expect(ids()).toEqual(["trigger"]);
    expect(useCanvas.getState().definition().edges).toEqual([]);
    useCanvas.getState().redo();
    expect(ids()).toEqual(["trigger", "delay1"]);
    expect(useCanvas.getState().definition().edges).toEqual([{ from: "trigger", to: "delay1" }]);
  });

  it("makes typing into one field a single undo step", () => {
    useCanvas.getState().addNode(makeNode("wait_for_event", ids(), { x: 0, y: 150 }));
    for (const event of ["O", "Or", "Ord", "Order Completed"]) useCanvas.getState().setConfig("wait1", { event, timeout: "P1D" }, "event");
    expect(useCanvas.getState().definition().nodes[0].config.event).toBe("Order Completed");
    useCanvas.getState().undo();
    expect(useCanvas.getState().definition().nodes[0].config.event).toBe("");
    useCanvas.getState().undo();
    expect(ids()).toEqual(["trigger"]);
  });

  it("deletes steps and their connections in one undo step, never the trigger", () => {
    useCanvas.getState().addNode(makeNode("email", ids(), { x: 0, y: 150 }), { source: "trigger", port: "next" });
    useCanvas.getState().deleteElements(["trigger", "email1"], []);
    expect(ids()).toEqual(["trigger"]);
    expect(useCanvas.getState().edges).toEqual([]);
    useCanvas.getState().undo();
    expect(ids()).toEqual(["trigger", "email1"]);
    expect(useCanvas.getState().edges).toHaveLength(1);
  });

  it("keeps edits made while a save was on its way unsaved", () => {
    useCanvas.getState().addNode(makeNode("exit", ids(), { x: 0, y: 150 }));
    const sent = JSON.stringify(useCanvas.getState().definition());
    useCanvas.getState().markSaving();
    useCanvas.getState().addNode(makeNode("exit", ids(), { x: 0, y: 300 }));
    useCanvas.getState().markSaved(4, sent);
    expect(useCanvas.getState().revision).toBe(4);
    expect(useCanvas.getState().saveState).toBe("unsaved");
  });

  it("stays in conflict until the journey is loaded again", () => {
    useCanvas.getState().markConflict("Someone saved this journey after you opened it.");
    useCanvas.getState().addNode(makeNode("exit", ids(), { x: 0, y: 150 }));
    expect(useCanvas.getState().saveState).toBe("conflict");
    start();
    expect(useCanvas.getState().saveState).toBe("saved");
  });

  it("points a way out at another step from the side panel, refusing what the canvas refuses", () => {
    const state = useCanvas.getState();
    state.addNode(makeNode("wait_for_event", ids(), { x: 0, y: 150 }), { source: "trigger", port: "next" });
    state.addNode(makeNode("email", ids(), { x: 0, y: 300 }));
    state.addNode(makeNode("exit", ids(), { x: 0, y: 450 }));
    expect(useCanvas.getState().setPortTarget("wait1", "timeout", "email1")).toBeNull();
    expect(useCanvas.getState().setPortTarget("wait1", "timeout", "exit1")).toBeNull();
    expect(useCanvas.getState().definition().edges).toEqual([
      { from: "trigger", to: "wait1" },
      { from: "wait1", port: "timeout", to: "exit1" },
    ]);
    expect(useCanvas.getState().setPortTarget("email1", "next", "email1")).toMatch(/itself/);
    expect(useCanvas.getState().setPortTarget("wait1", "timeout", null)).toBeNull();
    expect(useCanvas.getState().definition().edges).toEqual([{ from: "trigger", to: "wait1" }]);
    useCanvas.getState().undo();
    expect(useCanvas.getState().definition().edges).toContainEqual({ from: "wait1", port: "timeout", to: "exit1" });
  });

  it("pastes copied steps with new ids and the connections between them", () => {
    const state = useCanvas.getState();
    state.addNode(makeNode("branch", ids(), { x: 0, y: 150 }));
    state.addNode(makeNode("email", ids(), { x: 0, y: 300 }), { source: "branch1", port: "yes" });
    useCanvas.getState().paste(useCanvas.getState().copy(["branch1", "email1"]), { x: 40, y: 40 });
    expect(ids()).toEqual(["trigger", "branch1", "email1", "branch2", "email2"]);
    expect(useCanvas.getState().definition().edges).toContainEqual({ from: "branch2", port: "yes", to: "email2" });
  });
});

describe("the condition builder's rules", () => {
  it("edits any rule as a group: all, any, none (not any), or one condition", () => {
    expect(asGroup({}, "config.condition")).toEqual({ mode: "all", items: [], base: "config.condition.all" });
    expect(asGroup({ any: [{ field: "a", op: "exists" }] }, "c").base).toBe("c.any");
    expect(asGroup({ not: { any: [] } }, "c")).toEqual({ mode: "none", items: [], base: "c.not.any" });
    expect(asGroup({ field: "a", op: "exists" }, "c")).toEqual({ mode: "all", items: [{ field: "a", op: "exists" }], base: null });
    expect(fromGroup("none", [])).toEqual({ not: { any: [] } });
  });

  it("stores typed values as the rule language wants them", () => {
    expect(textToValue("100", "gte")).toBe(100);
    expect(textToValue("DE, AT", "in")).toEqual(["DE", "AT"]);
    expect(textToValue("anything", "exists")).toBeUndefined();
    expect(textToValue("-P30D", "after")).toBe("-P30D");
    expect(valueToText(["DE", "AT"])).toBe("DE, AT");
  });

  it("describes rules and nodes in words", () => {
    expect(ruleText({ all: [{ field: "cart.total", op: "gte", value: 100 }, { any: [{ field: "contact.country", op: "in", value: ["DE", "AT"] }, { performed: "Order Completed", within: "P30D", count: { gte: 1 } }] }] })).toBe(
      'cart.total ≥ 100 and (contact.country is one of “DE”, “AT” or did “Order Completed” ≥ 1× in 30 days)',
    );
    expect(nodeSummary("wait_for_event", { event: "Order Completed", timeout: "PT1H" })).toBe("Order Completed, up to 1 hour");
    expect(nodeSummary("delay", { mode: "time_of_day", time: "09:00", weekdays: ["mon", "tue", "wed", "thu", "fri"] })).toBe("Until 09:00 local time, Mon–Fri");
  });

  it("refuses experiment weights that do not add up to 100", () => {
    const definition = emptyDefinition();
    definition.nodes = [{ id: "experiment1", type: "experiment", config: { variants: [{ id: "a", weight: 60 }, { id: "b", weight: 30 }] } }];
    expect(clientProblems(definition)).toEqual([expect.objectContaining({ node: "experiment1", field: "config.variants", code: "experiment_weights" })]);
    definition.nodes[0].config = { variants: [{ id: "a", weight: 70 }, { id: "b", weight: 30 }] };
    expect(clientProblems(definition)).toEqual([]);
  });
});
