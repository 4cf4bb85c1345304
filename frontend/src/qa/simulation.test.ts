import { describe, expect, it } from "vitest";
import { offsetLabel, stepsOf } from "./simulation";
import type { SimulationResult } from "./api";

const start = "2026-11-28T10:00:00+00:00";

describe("the simulated path on the canvas", () => {
  it("labels times after the start", () => {
    expect(offsetLabel(start, start)).toBe("at once");
    expect(offsetLabel(start, "2026-11-28T11:30:00+00:00")).toBe("+1 h 30 min");
    expect(offsetLabel(start, "2026-11-29T11:00:00+00:00")).toBe("+1 d 1 h");
  });

  it("keeps each node's arrival and order, and its last way out", () => {
    const result = {
      entered: true,
      start,
      subject: { persona: 1, contact: null, label: "Jonas" },
      path: [
        { node: "wait1", type: "wait_for_event", outcome: "waiting", port: "", at: start },
        { node: "wait1", type: "wait_for_event", outcome: "timeout", port: "timeout", at: "2026-11-28T11:00:00+00:00" },
        { node: "mail1", type: "email", outcome: "sent", port: "next", at: "2026-11-28T11:00:00+00:00" },
      ],
    } as unknown as SimulationResult;
    const steps = stepsOf(result);
    expect(Object.keys(steps)).toEqual(["trigger", "wait1", "mail1"]);
    expect(steps.wait1).toMatchObject({ order: 1, offset: "at once", outcome: "timeout", port: "timeout" });
    expect(steps.mail1).toMatchObject({ order: 2, offset: "+1 h", email: true });
  });
});
