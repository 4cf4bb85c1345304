/** Pure helpers of the segment pages: server field errors as builder problems, pasted emails, names. */
import type { FieldErrors } from "../lib/api";
import type { ValidationProblem } from "../journeys/types";
import type { MemberContact } from "./types";

/** The server's `{"rule.all[0].field": ["…"]}` as the condition builder's problems (path "rule"). */
export function ruleProblems(fields: FieldErrors | undefined, root = "rule"): ValidationProblem[] {
  if (!fields) return [];
  return Object.entries(fields)
    .filter(([field]) => field === root || field.startsWith(`${root}.`) || field.startsWith(`${root}[`))
    .flatMap(([field, messages]) => messages.map((message) => ({ code: "invalid", message, path: field, node: null, field })));
}

/**
 * Emails pasted from a spreadsheet, a CSV column or a mail client: one each, in order, no repeats.
 * Two are the same when they differ only in the domain's case (identity.email_address: the local
 * part keeps its case).
 */
export function parseEmails(text: string): string[] {
  const seen = new Set<string>();
  const emails: string[] = [];
  for (const part of text.split(/[\s,;]+/)) {
    const email = part.replace(/^<|>$/g, "").replace(/^mailto:/i, "").trim();
    if (!email.includes("@")) continue;
    const at = email.lastIndexOf("@");
    const key = `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`;
    if (seen.has(key)) continue;
    seen.add(key);
    emails.push(email);
  }
  return emails;
}

/** What a member is called in lists: the name, else the email, else the user id. */
export function memberLabel(contact: MemberContact): string {
  return contact.name || contact.email || contact.user_id || `Contact ${contact.id}`;
}

/** "1 contact", "1,204 contacts" */
export function contactCount(count: number): string {
  return `${count.toLocaleString("en")} ${count === 1 ? "contact" : "contacts"}`;
}

/** A rule with no conditions in it ({} or {"all": []}). */
export function isEmptyRule(rule: unknown): boolean {
  if (!rule || typeof rule !== "object") return true;
  const record = rule as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 0) return true;
  if (keys.length === 1 && Array.isArray(record.all)) return record.all.length === 0;
  return false;
}

/** A condition just added and not filled in yet (no field, no event): not worth a preview. */
export function hasBlankCondition(rule: unknown): boolean {
  if (Array.isArray(rule)) return rule.some(hasBlankCondition);
  if (!rule || typeof rule !== "object") return false;
  const record = rule as Record<string, unknown>;
  if ("field" in record && !String(record.field ?? "").trim()) return true;
  if ("performed" in record && !String(record.performed ?? "").trim()) return true;
  return ["all", "any", "not"].some((key) => key in record && hasBlankCondition(record[key]));
}
