/** The broadcasts API's shapes (journeys/broadcasts_api.py). */

export type BroadcastKind = "template" | "journey";
export type BroadcastSchedule = "now" | "at" | "local_time" | "best_time";
export type BroadcastStatus = "draft" | "scheduled" | "running" | "sent" | "cancelled" | "failed";

export interface Broadcast {
  id: number;
  name: string;
  kind: BroadcastKind;
  segment: number | null;
  segment_name: string | null;
  /** members of the segment now */
  member_count: number;
  template: string;
  /** the journey entered: the chosen one, or (kind template) the broadcast's own */
  journey: number | null;
  journey_name: string | null;
  schedule: BroadcastSchedule;
  send_at: string | null;
  local_time: string;
  status: BroadcastStatus;
  /** members when it started */
  total: number;
  entered: number;
  skipped: number;
  skipped_reasons: Record<string, number>;
  /** entered and skipped, in % of total */
  progress: number;
  can_cancel: boolean;
  started_at: string | null;
  finished_at: string | null;
  error: string;
  created_at: string;
  updated_at: string;
}

export interface BroadcastInput {
  name: string;
  kind: BroadcastKind;
  segment: number | null;
  template?: string;
  journey?: number | null;
  schedule: BroadcastSchedule;
  send_at?: string | null;
  local_time?: string;
}
