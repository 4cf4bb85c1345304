/**
 * Variants as the preview socket sends them: whole the first time for a subject, then as the
 * change from the one sent before (editor/preview.py, text_patch): `html_patch` and `text_patch`
 * are [start, end, insert, length], offsets in UTF-16 code units; `length` is that of the text
 * they apply to, a check that both sides agree on it.
 */
import type { Variant } from "./types";

export type TextPatch = [start: number, end: number, insert: string, length: number];
export type VariantMessage = Omit<Variant, "html" | "text"> & { html?: string; text?: string; html_patch?: TextPatch; text_patch?: TextPatch };

/** What was received for each subject: the base the next patch applies to. */
export type Bases = Map<string, { html: string; text: string }>;

function apply(base: string | undefined, patch: TextPatch | undefined, whole: string | undefined): string | null {
  if (whole !== undefined) return whole;
  if (base === undefined || !Array.isArray(patch) || patch.length !== 4) return null;
  const [start, end, insert, length] = patch;
  if (base.length !== length || !(start >= 0 && start <= end && end <= length) || typeof insert !== "string") return null;
  return base.slice(0, start) + insert + base.slice(end);
}

/** The whole variant (and `bases` updated), or null when a patch does not fit what this side
 * has: the caller asks the server to send them whole again ("resync"). */
export function expandVariant(message: VariantMessage, bases: Bases): Variant | null {
  const { html_patch, text_patch, ...rest } = message;
  const base = bases.get(message.subject_key);
  const html = apply(base?.html, html_patch, message.html);
  const text = apply(base?.text, text_patch, message.text);
  if (html === null || text === null) return null;
  bases.set(message.subject_key, { html, text });
  return { ...rest, html, text };
}
