import { describe, expect, it } from "vitest";
import { formatDate, formatDateTime, formatDay, formatMoney } from "./format";

describe("formatMoney", () => {
  it("names the currency of the amount", () => {
    expect(formatMoney(20, "USD", "en-US")).toBe("$20.00");
    expect(formatMoney("9.9", "EUR", "en-US")).toBe("€9.90");
    expect(formatMoney(0, "USD", "en-US")).toBe("$0.00");
  });

  it("puts a code that is not ISO 4217 after the number", () => {
    expect(formatMoney(3, "ZZ", "en-US")).toBe("3.00 ZZ");
  });

  it("shows the bare amount only when no currency is known, and — for no amount", () => {
    expect(formatMoney(50.5, null, "en-US")).toBe("50.50");
    expect(formatMoney(50.5, "", "en-US")).toBe("50.50");
    expect(formatMoney(null, "USD")).toBe("—");
    expect(formatMoney(undefined, "USD")).toBe("—");
    expect(formatMoney("not a number", "USD")).toBe("not a number");
  });
});

describe("dates", () => {
  it("formats a moment with its time and — for none", () => {
    const at = "2026-03-12T09:30:00Z";
    expect(formatDateTime(at)).toBe(new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(new Date(at)));
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("soon")).toBe("soon");
  });

  it("keeps a calendar day the same day in every time zone", () => {
    expect(formatDate("2026-04-01")).toBe(new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" }).format(Date.UTC(2026, 3, 1)));
    expect(formatDate(undefined)).toBe("—");
  });

  it("names a chart's UTC day shortly", () => {
    expect(formatDay("2026-03-05", "en-GB")).toBe("5 Mar");
    expect(formatDay("2026-03-05", "en-US")).toBe("Mar 5");
    expect(formatDay("not a day")).toBe("not a day");
  });
});
