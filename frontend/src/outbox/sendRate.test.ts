import { describe, expect, it } from "vitest";
import { describeSendRate, parseLimit, windowLabel } from "./sendRate";

describe("the send rate in words", () => {
  it("says there is no limit when both are 0", () => {
    expect(describeSendRate(0, 0, 60)).toMatch(/^No limit/);
  });

  it("names each limit that is set", () => {
    expect(describeSendRate(20, 10000, 60)).toMatch(/^At most 20 emails a second and 10,000 per hour,/);
    expect(describeSendRate(0, 500, 1440)).toMatch(/^At most 500 emails per day,/);
    expect(describeSendRate(1, 0, 60)).toMatch(/^At most 1 email a second,/);
  });

  it("names a window length the choices do not offer", () => {
    expect(windowLabel(90)).toBe("per 90 minutes");
    expect(windowLabel(15)).toBe("per 15 minutes");
  });

  it("reads an empty or negative field as no limit", () => {
    expect(parseLimit("")).toBe(0);
    expect(parseLimit("-3")).toBe(0);
    expect(parseLimit("12")).toBe(12);
  });
});
