/**
 * The journey definition (shared/design.md, "Journey definition") and the journeys API's shapes.
 * The definition is the contract between canvas, API, engine and tests: keep it plain JSON.
 */
import type { EmailCategory, NodeKind, OverCap, ReEntryPolicy, SendTimeMode, TriggerType, Weekday, WebhookMethod } from "./nodeTypes";

// -- The rule language (journeys/rules.py) ------------------------------------------------------

export type Operator =
  | "eq"
  | "neq"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "in"
  | "not_in"
  | "contains"
  | "not_contains"
  | "starts_with"
  | "exists"
  | "not_exists"
  | "before"
  | "after";

export type CountOperator = "eq" | "neq" | "gt" | "gte" | "lt" | "lte";

export type Scalar = string | number | boolean | null;

export interface FieldRule {
  field: string;
  op: Operator;
  value?: Scalar | Scalar[];
}

export interface PerformedRule {
  performed: string;
  within?: string;
  count?: Partial<Record<CountOperator, number>>;
  where?: Rule;
}

export interface AllRule {
  all: Rule[];
}
export interface AnyRule {
  any: Rule[];
}
export interface NotRule {
  not: Rule;
}

/** `{}` means "no condition" and holds. */
export type Rule = AllRule | AnyRule | NotRule | FieldRule | PerformedRule | Record<string, never>;

// -- The definition -----------------------------------------------------------------------------

export interface Trigger {
  type: TriggerType;
  event?: string;
  where?: Rule;
  /** inactivity: no event for this long */
  duration?: string;
  /** date_attribute: the contact date, "before"/"after" and how long */
  attribute?: string;
  direction?: "before" | "after";
  offset?: string;
  time?: string;
  /** segment: the saved segment, entering or leaving it, and whether leaving ends the trip */
  segment?: number;
  on?: "entered" | "left";
  exit_when_left?: boolean;
  /** price_drop: by at least this percentage, and/or below this price */
  min_percent?: number;
  below?: number;
  /** price_drop, back_in_stock: who showed interest in the product, and how recently */
  interest?: ("viewed" | "carted" | "wishlisted")[];
  window?: string;
  [key: string]: unknown;
}

export interface Entry {
  re_entry?: ReEntryPolicy;
  cooldown?: string;
  audience?: Rule;
  [key: string]: unknown;
}

/** What the workspace's frequency cap does with this journey's marketing emails (delivery.policies). */
export interface Sending {
  /** "defer" (the default): delay it until the cap allows it; "skip": drop it */
  over_cap?: OverCap;
  /** deferred longer than this (ISO 8601, default P3D): skipped */
  max_deferral?: string;
  [key: string]: unknown;
}

export interface ExitGoal {
  event: string;
  as_conversion?: boolean;
  where?: Rule;
  revenue?: string;
  [key: string]: unknown;
}

/** The journey's conversion event and attribution windows (journeys/report.py); all optional. */
export interface ConversionSettings {
  /** left out: the first exit_on goal that counts as a conversion */
  event?: string;
  where?: Rule;
  /** the event property holding the revenue; left out: revenue, total or value */
  revenue?: string;
  /** ISO 8601 durations after a click, an open, a send (default P5D, P5D, P1D) */
  windows?: { click?: string; open?: string; send?: string };
  [key: string]: unknown;
}

export interface EmailConfig {
  template?: string;
  category?: EmailCategory;
  /** left out: send now; "best": at each contact's best hour within `within` (ISO 8601, PT1H to P7D) */
  send_time?: { mode: SendTimeMode; within?: string };
}

export interface DelayConfig {
  mode?: "duration" | "time_of_day" | "date_attribute";
  duration?: string;
  time?: string;
  weekdays?: Weekday[];
  attribute?: string;
  offset?: string;
}

export interface WaitForEventConfig {
  event?: string;
  where?: Rule;
  match?: { property: string; trigger_property?: string } | string;
  timeout?: string;
}

export interface BranchConfig {
  condition?: Rule;
}

export interface SplitPath {
  id: string;
  label?: string;
  condition?: Rule;
}
export interface SplitConfig {
  paths?: SplitPath[];
}

export interface Variant {
  id: string;
  label?: string;
  weight: number;
}
export interface ExperimentConfig {
  variants?: Variant[];
}

export interface UpdateContactConfig {
  set?: Record<string, Scalar>;
}

export interface WebhookConfig {
  method?: WebhookMethod;
  url?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout?: string;
  retries?: number;
}

export interface NodeConfigs {
  email: EmailConfig;
  delay: DelayConfig;
  wait_for_event: WaitForEventConfig;
  branch: BranchConfig;
  split: SplitConfig;
  experiment: ExperimentConfig;
  update_contact: UpdateContactConfig;
  webhook: WebhookConfig;
  exit: Record<string, never>;
}

export type NodeConfig = Record<string, unknown>;

export interface NodeDef {
  id: string;
  type: NodeKind;
  config: NodeConfig;
  [key: string]: unknown;
}

export interface EdgeDef {
  from: string;
  to: string;
  port?: string;
}

export interface Point {
  x: number;
  y: number;
}

export interface JourneyDefinition {
  trigger: Trigger;
  entry: Entry;
  exit_on: ExitGoal[];
  /** left out: defer, P3D */
  sending?: Sending;
  /** left out: conversions are the first goal's, with the default windows */
  conversion?: ConversionSettings;
  nodes: NodeDef[];
  edges: EdgeDef[];
  layout: Record<string, Point>;
  [key: string]: unknown;
}

// -- The API ------------------------------------------------------------------------------------

export type JourneyStatus = "draft" | "live" | "paused" | "archived";

export interface UserRef {
  id: number;
  email: string;
  name?: string;
}

export interface JourneySummary {
  id: number;
  name: string;
  description?: string;
  status: JourneyStatus;
  trigger_type: string;
  trigger_event: string;
  in_journey?: number;
  entered_7d?: number;
  converted_7d?: number;
  updated_at: string;
  updated_by?: UserRef | string | null;
  live_version?: number | null;
  has_unpublished_changes?: boolean;
}

/** One problem of a definition (journeys/definition.py `Problem`). */
export interface ValidationProblem {
  code: string;
  message: string;
  /** where in the definition: "nodes.wait1.config.timeout", "trigger.event", "edges[2].port" */
  path: string;
  /** the node the canvas highlights ("trigger" for the trigger, entry and goals), null for the journey */
  node: string | null;
  /** the field inside the node: "config.timeout", "ports.next", "where.all[0].op" */
  field: string;
}

export interface Journey extends JourneySummary {
  draft: JourneyDefinition;
  draft_revision: number;
  live_definition?: JourneyDefinition | null;
  problems?: ValidationProblem[];
}

export interface JourneyVersionSummary {
  number: number;
  published_at: string;
  published_by?: UserRef | string | null;
  live?: boolean;
}

export interface JourneyVersion extends JourneyVersionSummary {
  definition: JourneyDefinition;
}

export interface NodeCounts {
  entered: number;
  waiting: number;
  left: number;
  sent?: number;
  opened?: number;
  clicked?: number;
  /** on the nodes conversions are credited to (an email node) */
  conversions?: number;
  revenue?: Money[];
}

/** An amount in one currency ("" when the event named none), as the server writes it: "240.00". */
export interface Money {
  currency: string;
  amount: string;
}

export type CountsByNode = Record<string, NodeCounts>;

/** One group of contacts in flight in the publish dry run (journeys.actions.migration_plan). */
export interface MigrationRow {
  version: number;
  node: string;
  count: number;
  action: "move" | "keep" | "exit";
  to: string | null;
}

export interface DryRun {
  nodes: MigrationRow[];
  totals: { move: number; keep: number; exit: number };
}

export interface LibraryJourney {
  key: string;
  name: string;
  description: string;
  trigger?: string;
}
