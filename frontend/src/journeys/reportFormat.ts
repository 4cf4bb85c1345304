/** How the journey report's figures read: money, rates, date ranges, chart rows. Pure. */
import { formatDay, formatMoney as formatCurrency } from "../lib/format";
import type { Money } from "./types";

const DAY_MS = 86_400_000;

/** YYYY-MM-DD of a moment, in UTC (the report's days are UTC days). */
export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The last `days` days up to `today` (inclusive): 7 -> today and the six days before. */
export function presetRange(days: number, today: Date): { from: string; to: string } {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return { from: isoDay(new Date(end - (days - 1) * DAY_MS)), to: isoDay(new Date(end)) };
}

/** Which preset a range is (7, 30, 90), or null. */
export function presetOf(range: { from: string; to: string }, today: Date, presets: readonly number[]): number | null {
  return presets.find((days) => {
    const preset = presetRange(days, today);
    return preset.from === range.from && preset.to === range.to;
  }) ?? null;
}

/** "$240.00", "€9.99", "50.50" (no currency named): one amount in its currency. */
export function formatAmount(money: Money, locale?: string): string {
  return formatCurrency(money.amount, money.currency, locale);
}

/** Revenue in each currency, "$240.00 + €9.99"; "—" for none. */
export function formatMoney(amounts: readonly Money[] | undefined, locale?: string): string {
  const shown = (amounts ?? []).filter((money) => Number(money.amount) !== 0);
  return shown.length ? shown.map((money) => formatAmount(money, locale)).join(" + ") : "—";
}

/** 0.125 -> "12.5%"; null (nothing to divide by) -> "—". */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "—";
  const percent = rate * 100;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}

/** The currencies a report's revenue comes in, for one chart line each ("" is "no currency"). */
export function currenciesOf(days: readonly { revenue: readonly Money[] }[]): string[] {
  return [...new Set(days.flatMap((day) => day.revenue.map((money) => money.currency)))].sort();
}

export interface ChartDay {
  day: string;
  entries: number;
  conversions: number;
  /** revenue per currency, keyed `revenue:<currency>` so the chart can name one line each */
  [revenue: `revenue:${string}`]: number;
}

/** The daily rows as the chart draws them: numbers only, a revenue field per currency. */
export function chartDays(days: readonly { day: string; entries: number; conversions: number; revenue: readonly Money[] }[]): ChartDay[] {
  const currencies = currenciesOf(days);
  return days.map((day) => {
    const row: ChartDay = { day: day.day, entries: day.entries, conversions: day.conversions };
    for (const currency of currencies) {
      const money = day.revenue.find((item) => item.currency === currency);
      row[`revenue:${currency}`] = money ? Number(money.amount) : 0;
    }
    return row;
  });
}

/** "12 Mar" for a chart's axis (a UTC day). */
export function shortDay(day: string, locale?: string): string {
  return formatDay(day, locale);
}
