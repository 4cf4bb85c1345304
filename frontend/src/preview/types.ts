/** The live preview protocol (editor/preview.py), as the browser sees it. */

export interface DraftSource {
  mjml: string;
  subject: string;
  preheader: string;
}

/** What a preview session renders: a template, the email node of a journey draft, or unsaved source. */
export type PreviewTarget = { template: number } | { journey: number; node: string } | { scratch: true };

/** A preview subject as chosen in the browser. */
export type SubjectSpec = { persona: number } | { contact: number } | { sample: unknown; size?: number } | { blank: true };

export interface SubjectInfo {
  key: string;
  kind: "persona" | "contact" | "sample" | "blank";
  label: string;
  facts: { country?: string; city?: string; locale?: string; timezone?: string; cart_items?: number; email?: string };
}

export interface Problem {
  message: string;
  line: number | null;
  column: number | null;
  part: string;
  kind: string;
}

export interface Variant {
  subject_key: string;
  seq: number;
  generation: number;
  ok: boolean;
  subject: string;
  preheader: string;
  html: string;
  text: string;
  blocks: { name: string; shown: boolean; adaptive: boolean }[];
  warnings: Problem[];
}

export interface Member {
  user_id: number;
  email: string;
  name: string;
  role: string;
  me: boolean;
}

export interface SavedNotice {
  object: { kind: "template" | "journey"; id: number };
  by: { user_id?: number; email?: string; name?: string };
  mine: boolean;
  revision: number;
  name?: string;
  draft?: DraftSource;
}

export interface ContactHit {
  id: number;
  label: string;
  email: string;
  country: string;
  city: string;
  cart_items: number;
}
