/**
 * The journey definition (shared/design.md, "Journey definition") and the journeys API's shapes.
 * The definition is the contract between canvas, API, engine and tests: keep it plain JSON.
 */
import type { components } from "../lib/schema";
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
// Generated from /api/schema/ (lib/schema.d.ts: `make types`). The schema has a definition as a
// free-form object: the answers that carry one get the JourneyDefinition above instead.

type Schemas = components["schemas"];

export type JourneyStatus = Schemas["JourneyStatusEnum"];
export type UserRef = Schemas["UserRef"];
export type JourneySummary = Schemas["JourneySummary"];
/** One problem of a definition (journeys/definition.py `Problem`). */
export type ValidationProblem = Schemas["Problem"];

export type Journey = Omit<Schemas["JourneyDetail"], "draft" | "live_definition"> & {
  draft: JourneyDefinition;
  live_definition: JourneyDefinition | null;
};

export type JourneyVersionSummary = Schemas["VersionRow"];
export type JourneyVersion = Omit<Schemas["VersionDetail"], "definition"> & { definition: JourneyDefinition };

export type NodeCounts = Schemas["NodeCounts"];
/** An amount in one currency ("" when the event named none), as the server writes it: "240.00". */
export type Money = Schemas["Money"];
export type CountsByNode = Record<string, NodeCounts>;

/** One group of contacts in flight in the publish dry run (journeys.actions.migration_plan). */
export type MigrationRow = Schemas["DryRunRow"];
export type DryRun = Schemas["DryRun"];
export type LibraryJourney = Schemas["LibraryItem"];
