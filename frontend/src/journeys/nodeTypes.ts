/**
 * THE list of node types on the browser side: a mirror of journeys/engine/nodes.py (`catalog()`).
 *
 * The block between the BEGIN/END markers is strict JSON so that tests/canvas/test_node_types_agree.py
 * can read it and check that it equals the server's catalog. Change both together.
 */

// BEGIN CATALOG
export const CATALOG = {
  "node_types": [
    {
      "type": "email",
      "label": "Send email",
      "ports": [
        "next"
      ],
      "dynamic_ports": null,
      "config": [
        "template",
        "category",
        "send_time"
      ],
      "description": "Sends one email, personalized for the contact at send time: now, or at each contact's best time (the hour of the week it tends to open) within the next few hours.",
      "waits": false,
      "decides": false,
      "limits": {
        "send_time_within_min_hours": 1,
        "send_time_within_max_hours": 168,
        "send_time_within_default_hours": 24
      }
    },
    {
      "type": "delay",
      "label": "Delay",
      "ports": [
        "next"
      ],
      "dynamic_ports": null,
      "config": [
        "mode",
        "duration",
        "time",
        "weekdays",
        "attribute",
        "offset"
      ],
      "description": "Waits a duration, until a local time on chosen weekdays, or until a contact date ± offset.",
      "waits": true,
      "decides": false,
      "limits": {}
    },
    {
      "type": "wait_for_event",
      "label": "Wait for event",
      "ports": [
        "event",
        "timeout"
      ],
      "dynamic_ports": null,
      "config": [
        "event",
        "where",
        "match",
        "timeout"
      ],
      "description": "Waits for an event (with conditions, optionally matching a trigger property) or a timeout.",
      "waits": true,
      "decides": false,
      "limits": {}
    },
    {
      "type": "branch",
      "label": "Branch",
      "ports": [
        "yes",
        "no"
      ],
      "dynamic_ports": null,
      "config": [
        "condition"
      ],
      "description": "Goes one way if the condition holds, the other way if not.",
      "waits": false,
      "decides": true,
      "limits": {}
    },
    {
      "type": "split",
      "label": "Split",
      "ports": [
        "else"
      ],
      "dynamic_ports": "paths",
      "config": [
        "paths"
      ],
      "description": "Ordered paths, each with a condition; the first that holds wins, otherwise “else”.",
      "waits": false,
      "decides": true,
      "limits": {}
    },
    {
      "type": "experiment",
      "label": "Experiment",
      "ports": [],
      "dynamic_ports": "variants",
      "config": [
        "variants",
        "mode",
        "floor",
        "metric",
        "decide"
      ],
      "description": "Sends each contact down one variant by weight (or by results: a winner rule, a bandit); a contact always gets the same variant.",
      "waits": false,
      "decides": true,
      "limits": {
        "weights_total": 100,
        "min_variants": 2,
        "min_sample_default": 100,
        "confidence_default_percent": 95,
        "floor_default_percent": 10
      }
    },
    {
      "type": "update_contact",
      "label": "Update contact",
      "ports": [
        "next"
      ],
      "dynamic_ports": null,
      "config": [
        "set"
      ],
      "description": "Sets contact attributes; values may use Liquid.",
      "waits": false,
      "decides": false,
      "limits": {}
    },
    {
      "type": "webhook",
      "label": "Webhook",
      "ports": [
        "success",
        "failure"
      ],
      "dynamic_ports": null,
      "config": [
        "method",
        "url",
        "headers",
        "body",
        "timeout",
        "retries"
      ],
      "description": "Calls an HTTP endpoint (never a private address); the response is kept for later nodes.",
      "waits": false,
      "decides": false,
      "limits": {
        "timeout_default_seconds": 10,
        "timeout_max_seconds": 15,
        "retries_default": 2,
        "retries_max": 9
      }
    },
    {
      "type": "exit",
      "label": "Exit",
      "ports": [],
      "dynamic_ports": null,
      "config": [],
      "description": "Ends the journey for the contact.",
      "waits": false,
      "decides": false,
      "limits": {}
    }
  ],
  "trigger_types": [
    "event",
    "inactivity",
    "date_attribute",
    "api",
    "segment",
    "price_drop",
    "back_in_stock"
  ],
  "segment_changes": [
    "entered",
    "left"
  ],
  "interests": [
    "viewed",
    "carted",
    "wishlisted"
  ],
  "default_interest_window": "P30D",
  "price_drop_percent": [
    1,
    99
  ],
  "re_entry_policies": [
    "once",
    "after_exit",
    "cooldown"
  ],
  "email_categories": [
    "marketing",
    "transactional"
  ],
  "send_time_modes": [
    "now",
    "best"
  ],
  "weekdays": [
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun"
  ],
  "webhook_methods": [
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE"
  ],
  "over_cap_choices": [
    "defer",
    "skip"
  ],
  "default_max_deferral": "P3D",
  "default_attribution": {
    "click": "P5D",
    "open": "P5D",
    "send": "P1D"
  },
  "max_attribution_days": 366
} as const;
// END CATALOG

export type NodeKind = (typeof CATALOG.node_types)[number]["type"];
export type TriggerType = (typeof CATALOG.trigger_types)[number];
export type ReEntryPolicy = (typeof CATALOG.re_entry_policies)[number];
export type EmailCategory = (typeof CATALOG.email_categories)[number];
export type Weekday = (typeof CATALOG.weekdays)[number];
export type WebhookMethod = (typeof CATALOG.webhook_methods)[number];
export type OverCap = (typeof CATALOG.over_cap_choices)[number];
export type SendTimeMode = (typeof CATALOG.send_time_modes)[number];

export interface NodeTypeSpec {
  type: NodeKind;
  label: string;
  ports: readonly string[];
  dynamic_ports: "paths" | "variants" | null;
  config: readonly string[];
  description: string;
  waits: boolean;
  decides: boolean;
  limits: Readonly<Record<string, number>>;
}

export const TRIGGER_NODE = "trigger";

export const NODE_TYPES: readonly NodeTypeSpec[] = CATALOG.node_types;
export const NODE_KINDS: readonly NodeKind[] = NODE_TYPES.map((spec) => spec.type);
export const TRIGGER_TYPES: readonly TriggerType[] = CATALOG.trigger_types;
export type Interest = (typeof CATALOG.interests)[number];
export const INTERESTS: readonly Interest[] = CATALOG.interests;
export const DEFAULT_INTEREST_WINDOW: string = CATALOG.default_interest_window;
export const PRICE_DROP_PERCENT: readonly [number, number] = [CATALOG.price_drop_percent[0], CATALOG.price_drop_percent[1]];
export const RE_ENTRY_POLICIES: readonly ReEntryPolicy[] = CATALOG.re_entry_policies;
export const EMAIL_CATEGORIES: readonly EmailCategory[] = CATALOG.email_categories;
/** An email node's send_time mode: now, or each contact's best time within a window (hours: limits). */
export const SEND_TIME_MODES: readonly SendTimeMode[] = CATALOG.send_time_modes;
export const WEEKDAYS: readonly Weekday[] = CATALOG.weekdays;
export const WEBHOOK_METHODS: readonly WebhookMethod[] = CATALOG.webhook_methods;
export const OVER_CAP_CHOICES: readonly OverCap[] = CATALOG.over_cap_choices;
export const DEFAULT_MAX_DEFERRAL: string = CATALOG.default_max_deferral;
/** A conversion's credit when the journey names no windows (journeys/report.py). */
export const DEFAULT_ATTRIBUTION = CATALOG.default_attribution;
export const MAX_ATTRIBUTION_DAYS: number = CATALOG.max_attribution_days;

const BY_TYPE = new Map<string, NodeTypeSpec>(NODE_TYPES.map((spec) => [spec.type, spec]));

export function isNodeKind(value: unknown): value is NodeKind {
  return typeof value === "string" && BY_TYPE.has(value);
}

export function nodeSpec(kind: string): NodeTypeSpec | undefined {
  return BY_TYPE.get(kind);
}

/** A node type's limit, as the server states it (journeys.engine.nodes.limit). */
export function nodeLimit(kind: NodeKind, name: string): number {
  const value = BY_TYPE.get(kind)?.limits[name];
  if (value === undefined) throw new Error(`no limit ${name} for ${kind}`);
  return value;
}

interface HasPorts {
  type: string;
  config?: Record<string, unknown> | null;
}

/** The output ports of one node, in order (journeys.nodes.ports_of). */
export function portsOf(node: HasPorts): string[] {
  if (node.type === TRIGGER_NODE) return ["next"];
  const spec = BY_TYPE.get(node.type);
  if (!spec) return [];
  if (spec.dynamic_ports) {
    const items = node.config?.[spec.dynamic_ports];
    const dynamic = Array.isArray(items)
      ? items.flatMap((item) => (item && typeof item === "object" && (item as { id?: unknown }).id ? [String((item as { id: unknown }).id)] : []))
      : [];
    return [...dynamic, ...spec.ports];
  }
  return [...spec.ports];
}

/** The port an edge without `port` means (journeys.nodes.default_port). */
export function defaultPort(kind: string | undefined): string | null {
  if (kind === TRIGGER_NODE) return "next";
  const spec = kind ? BY_TYPE.get(kind) : undefined;
  if (spec && !spec.dynamic_ports && spec.ports.length === 1) return spec.ports[0];
  return null;
}
