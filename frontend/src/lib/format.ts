/** Small display helpers shared by pages. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const calendarDay = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTime.format(date);
}

/** A moment's day, or a calendar day ("2026-04-01", which is no moment: the same day in every zone). */
export function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = new Date(day ? `${value}T00:00:00Z` : value);
  return Number.isNaN(date.getTime()) ? value : (day ? calendarDay : dateOnly).format(date);
}

/** A UTC day ("2026-03-12", a chart's axis) as "12 Mar" (the order of the locale). */
export function formatDay(day: string, locale?: string): string {
  const at = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(at.getTime()) ? day : new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" }).format(at);
}

/**
 * An amount in its currency: "$20.00", "€9.99", "3.00 ZZ" (a code that is not ISO 4217 follows the
 * number); "—" for no value. Every amount shown goes through here, with the currency it is in:
 * only when none is known ("" or null) is the bare amount shown, "20.00".
 */
export function formatMoney(value: number | string | null | undefined, currency: string | null | undefined, locale?: string): string {
  if (value === null || value === undefined || value === "") return "—";
  const amount = Number(value);
  if (!Number.isFinite(amount)) return String(value);
  if (currency) {
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency }).format(amount);
    } catch {
      return `${amount.toFixed(2)} ${currency}`;
    }
  }
  return new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);
}

/** A secret recognised by its first characters (the server stores only those and a hash): "wk_a1B2c3d…". */
export function maskedHint(hint: string | null | undefined): string {
  return hint ? `${hint}…` : "—";
}
