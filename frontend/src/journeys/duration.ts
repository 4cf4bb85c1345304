/** ISO 8601 durations as marketers read and type them: "PT1H" <-> 1 hour. Pure. */

export type DurationUnit = "seconds" | "minutes" | "hours" | "days" | "weeks";

export const DURATION_UNITS: { value: DurationUnit; label: string; singular: string }[] = [
  { value: "seconds", label: "seconds", singular: "second" },
  { value: "minutes", label: "minutes", singular: "minute" },
  { value: "hours", label: "hours", singular: "hour" },
  { value: "days", label: "days", singular: "day" },
  { value: "weeks", label: "weeks", singular: "week" },
];

const PATTERN = /^([+-])?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** The length in seconds, or null when it is not an ISO 8601 duration (same rules as journeys.rules). */
export function durationSeconds(text: string | null | undefined): number | null {
  if (typeof text !== "string") return null;
  const match = PATTERN.exec(text.trim().toUpperCase());
  if (!match) return null;
  const [, sign, years, months, weeks, days, hours, minutes, seconds] = match;
  const total =
    (Number(years ?? 0) * 365 + Number(months ?? 0) * 30 + Number(weeks ?? 0) * 7 + Number(days ?? 0)) * 86400 +
    Number(hours ?? 0) * 3600 +
    Number(minutes ?? 0) * 60 +
    Number(seconds ?? 0);
  return sign === "-" ? -total : total;
}

const SECONDS: Record<DurationUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400, weeks: 604800 };

/** The biggest unit that divides the duration: PT90M -> 90 minutes, P14D -> 2 weeks. */
export function splitDuration(text: string | null | undefined): { amount: number; unit: DurationUnit } | null {
  const seconds = durationSeconds(text);
  if (seconds === null || seconds < 0) return null;
  for (const unit of ["weeks", "days", "hours", "minutes", "seconds"] as DurationUnit[]) {
    if (seconds > 0 && seconds % SECONDS[unit] === 0) return { amount: seconds / SECONDS[unit], unit };
  }
  return seconds === 0 ? { amount: 0, unit: "hours" } : { amount: Math.round(seconds), unit: "seconds" };
}

export function joinDuration(amount: number, unit: DurationUnit): string {
  const n = Math.max(0, Math.floor(amount));
  switch (unit) {
    case "seconds":
      return `PT${n}S`;
    case "minutes":
      return `PT${n}M`;
    case "hours":
      return `PT${n}H`;
    case "days":
      return `P${n}D`;
    case "weeks":
      return `P${n}W`;
  }
}

/** "1 hour", "3 days", "90 minutes"; the text itself when it is not a duration. */
export function humanDuration(text: string | null | undefined): string {
  const parts = splitDuration(text);
  if (!parts) return text ?? "";
  const unit = DURATION_UNITS.find((item) => item.value === parts.unit)!;
  return `${parts.amount} ${parts.amount === 1 ? unit.singular : unit.label}`;
}
