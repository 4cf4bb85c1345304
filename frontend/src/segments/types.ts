/**
 * The segments API's shapes (journeys/customers/segments_api.py), generated from /api/schema/
 * (lib/schema.d.ts: `make types`).
 */
import type { components } from "../lib/schema";
import type { Rule } from "../journeys/types";

type Schemas = components["schemas"];

export type SegmentKind = Schemas["SegmentKindEnum"];
/** Every key is there once the first evaluation started; the schema cannot say "all or none". */
export type RebuildProgress = Required<Schemas["Rebuild"]>;

/** The schema's `rule` is a JSON object; its shape is the rule language (journeys/types.ts). */
export type Segment = Omit<Required<Schemas["Segment"]>, "rule" | "rebuild"> & {
  /** a condition in the rule language; {} for a static list */
  rule: Rule;
  /** the evaluation of every contact after the rule was set (a worker's, for a large workspace) */
  rebuild: RebuildProgress | Record<string, never>;
};

export type SegmentInput = Omit<Schemas["SegmentRequest"], "kind" | "rule"> & { kind?: SegmentKind; rule: Rule };
export type MemberContact = Schemas["SegmentContact"];
export type SegmentMember = Schemas["SegmentMember"];
export type Preview = Schemas["Preview"];
export type HistoryDay = Schemas["HistoryDay"];
export type Added = Schemas["Added"];
