import { describe, expect, it } from "vitest";
import { conversionText } from "./liveCounts";
import { chartDays, currenciesOf, formatAmount, formatMoney, formatRate, isoDay, presetOf, presetRange, shortDay } from "./reportFormat";

const TODAY = new Date("2026-03-15T22:30:00Z");

describe("date ranges", () => {
  it("a preset of n days ends today and covers n days", () => {
    expect(presetRange(7, TODAY)).toEqual({ from: "2026-03-09", to: "2026-03-15" });
    expect(presetRange(30, TODAY)).toEqual({ from: "2026-02-14", to: "2026-03-15" });
    expect(presetRange(1, TODAY)).toEqual({ from: "2026-03-15", to: "2026-03-15" });
  });

  it("counts UTC days whatever the hour", () => {
    expect(isoDay(new Date("2026-03-15T23:59:59Z"))).toBe("2026-03-15");
    expect(presetRange(90, new Date("2026-01-01T00:00:01Z")).from).toBe("2025-10-04");
  });

  it("knows which preset a range is", () => {
    expect(presetOf(presetRange(30, TODAY), TODAY, [7, 30, 90])).toBe(30);
    expect(presetOf({ from: "2026-03-01", to: "2026-03-15" }, TODAY, [7, 30, 90])).toBeNull();
  });
});

describe("money and rates", () => {
  it("writes an amount in its currency, or plain without one", () => {
    expect(formatAmount({ currency: "USD", amount: "240.00" }, "en-US")).toBe("$240.00");
    expect(formatAmount({ currency: "", amount: "50.5" }, "en-US")).toBe("50.50");
    expect(formatAmount({ currency: "ZZ", amount: "3" }, "en-US")).toBe("3.00 ZZ");
  });

  it("joins currencies and says — for none", () => {
    expect(formatMoney([{ currency: "USD", amount: "1.00" }, { currency: "EUR", amount: "9.99" }], "en-US")).toBe("$1.00 + €9.99");
    expect(formatMoney([], "en-US")).toBe("—");
    expect(formatMoney([{ currency: "USD", amount: "0.00" }], "en-US")).toBe("—");
    expect(formatMoney(undefined)).toBe("—");
  });

  it("rates as percents, — when there is nothing to divide by", () => {
    expect(formatRate(1)).toBe("100%");
    expect(formatRate(0.125)).toBe("12.5%");
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(null)).toBe("—");
  });
});

describe("chart rows", () => {
  const days = [
    { day: "2026-03-14", entries: 2, conversions: 0, revenue: [] },
    { day: "2026-03-15", entries: 1, conversions: 2, revenue: [{ currency: "USD", amount: "120.00" }, { currency: "EUR", amount: "9.99" }] },
  ];

  it("gives every day a revenue figure per currency", () => {
    expect(currenciesOf(days)).toEqual(["EUR", "USD"]);
    expect(chartDays(days)).toEqual([
      { day: "2026-03-14", entries: 2, conversions: 0, "revenue:EUR": 0, "revenue:USD": 0 },
      { day: "2026-03-15", entries: 1, conversions: 2, "revenue:EUR": 9.99, "revenue:USD": 120 },
    ]);
  });

  it("names a day shortly, in UTC", () => {
    expect(shortDay("2026-03-05", "en-GB")).toBe("5 Mar");
    expect(shortDay("not a day")).toBe("not a day");
  });
});

describe("conversions on a canvas node", () => {
  it("counts conversions with their revenue", () => {
    expect(conversionText({ conversions: 3, revenue: [{ currency: "USD", amount: "240.00" }] }, "en-US")).toBe("3 conversions · $240.00");
    expect(conversionText({ conversions: 1, revenue: [] }, "en-US")).toBe("1 conversion");
  });

  it("says nothing on a node without conversions", () => {
    expect(conversionText({ conversions: 0 })).toBeNull();
    expect(conversionText(undefined)).toBeNull();
  });
});
