/** The segments API's shapes (journeys/customers/segments_api.py). */
import type { Rule } from "../journeys/types";

export type SegmentKind = "dynamic" | "static";

export interface RebuildProgress {
  state: "queued" | "running" | "done" | "failed";
  done: number;
  total: number | null;
}

export interface Segment {
  id: number;
  name: string;
  description: string;
  kind: SegmentKind;
  /** a condition in the rule language; {} for a static list */
  rule: Rule;
  /** contacts in the segment now */
  member_count: number;
  /** the evaluation of every contact after the rule was set (a worker's, for a large workspace) */
  rebuild: RebuildProgress | Record<string, never>;
  /** a ready segment Wayline keeps (RFM groups, predictions); "" for one of the workspace's own */
  ready_key: string;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface SegmentInput {
  name: string;
  description: string;
  kind?: SegmentKind;
  rule: Rule;
}

export interface MemberContact {
  id: number;
  email: string;
  user_id: string | null;
  name: string;
}

export interface SegmentMember extends MemberContact {
  entered_at: string;
}

export interface Preview {
  /** matching contacts among those evaluated */
  count: number;
  sample: MemberContact[];
  evaluated: number;
  /** contacts in the workspace */
  total: number;
  /** only the first `evaluated` contacts were looked at */
  capped: boolean;
}

export interface HistoryDay {
  day: string;
  /** members at the end of the day (UTC) */
  members: number;
  entered: number;
  left: number;
}

export interface Added {
  added: number;
  not_found: string[];
}
