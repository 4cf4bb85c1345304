/** The send rate of Settings → Sending in words a marketer reads, and the window lengths offered.
 * The server (delivery/rate.py) enforces it across all workers; 0 means no limit. */

export const WINDOW_CHOICES: { minutes: number; label: string }[] = [
  { minutes: 1, label: "minute" },
  { minutes: 15, label: "15 minutes" },
  { minutes: 60, label: "hour" },
  { minutes: 1440, label: "day" },
];

/** "per hour", or "per 90 minutes" for a length set through the API. */
export function windowLabel(minutes: number): string {
  const choice = WINDOW_CHOICES.find((c) => c.minutes === minutes);
  return `per ${choice ? choice.label : `${minutes} minutes`}`;
}

/** A number field's text to a limit: empty or invalid is 0, no limit. */
export function parseLimit(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/** One sentence: what the limits set mean, e.g. "At most 20 emails a second and 10,000 per hour." */
export function describeSendRate(perSecond: number, perWindow: number, windowMinutes: number): string {
  const parts: string[] = [];
  if (perSecond > 0) parts.push(`${perSecond.toLocaleString("en-US")} ${perSecond === 1 ? "email" : "emails"} a second`);
  if (perWindow > 0) parts.push(`${perWindow.toLocaleString("en-US")} ${parts.length ? "" : perWindow === 1 ? "email " : "emails "}${windowLabel(windowMinutes)}`);
  if (!parts.length) return "No limit: email goes out as fast as the workers and the email server allow.";
  return `At most ${parts.join(" and ")}, all workers together. What does not fit waits its turn; nothing is dropped.`;
}
