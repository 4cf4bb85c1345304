import { describe, expect, it } from "vitest";
import { chance, percent, rateWithInterval } from "./ExperimentResults";

describe("experiment results as marketers read them", () => {
  it("shows a rate with its 95% interval", () => {
    expect(rateWithInterval(0.12, [0.0987, 0.1432])).toBe("12.0% (9.9–14.3%)");
    expect(percent(0.993375, 2)).toBe("99.34%");
  });

  it("never rounds a probability to certainty", () => {
    expect(chance(0.99996)).toBe(">99.9%");
    expect(chance(0.00004)).toBe("<0.1%");
    expect(chance(0.5)).toBe("50.0%");
  });
});
