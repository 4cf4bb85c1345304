/** One-line descriptions of nodes, rules and ports for the canvas cards. Pure. */
import { humanDuration } from "./duration";
import { nodeLimit, nodeSpec, type NodeKind } from "./nodeTypes";
import type { JourneySettings } from "./store";
import type { NodeConfig, Rule, Scalar, SplitPath, Variant, ValidationProblem, JourneyDefinition } from "./types";

const OP_TEXT: Record<string, string> = {
  eq: "is",
  neq: "is not",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
  in: "is one of",
  not_in: "is none of",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  exists: "is set",
  not_exists: "is not set",
  before: "is before",
  after: "is after",
};

function valueText(value: Scalar | Scalar[] | undefined): string {
  if (Array.isArray(value)) return value.map((item) => valueText(item)).join(", ");
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return `“${value}”`;
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

/** "cart.total ≥ 100 and contact.country is one of “DE”, “AT”" */
export function ruleText(input: Rule | undefined | null): string {
  const rule = input as Record<string, unknown> | undefined | null;
  if (!isRecord(rule) || Object.keys(rule).length === 0) return "always";
  if (Array.isArray(rule.all)) return rule.all.length ? rule.all.map((item) => wrap(item as Rule)).join(" and ") : "always";
  if (Array.isArray(rule.any)) return rule.any.length ? rule.any.map((item) => wrap(item as Rule)).join(" or ") : "never";
  if ("not" in rule) return `not (${ruleText(rule.not as Rule)})`;
  if (typeof rule.performed === "string") {
    const count = isRecord(rule.count) ? Object.entries(rule.count).map(([op, n]) => `${OP_TEXT[op] ?? op} ${n}×`)[0] : "";
    const within = typeof rule.within === "string" && rule.within ? ` in ${humanDuration(rule.within)}` : "";
    return `did “${rule.performed}”${count ? ` ${count}` : ""}${within}`;
  }
  if (typeof rule.field === "string") {
    const op = String(rule.op ?? "eq");
    const value = op === "exists" || op === "not_exists" ? "" : ` ${valueText(rule.value as Scalar)}`;
    return `${rule.field} ${OP_TEXT[op] ?? op}${value}`;
  }
  return "condition";
}

function wrap(input: Rule): string {
  const text = ruleText(input);
  const rule = input as Record<string, unknown>;
  const items = Array.isArray(rule.all) ? rule.all : Array.isArray(rule.any) ? rule.any : [];
  return items.length > 1 ? `(${text})` : text;
}

const WEEKDAY_LABELS: Record<string, string> = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

export function weekdaysText(days: unknown): string {
  if (!Array.isArray(days) || days.length === 0 || days.length === 7) return "any day";
  const key = days.join(",");
  if (key === "mon,tue,wed,thu,fri") return "Mon–Fri";
  if (key === "sat,sun") return "weekends";
  return days.map((day) => WEEKDAY_LABELS[String(day)] ?? String(day)).join(", ");
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** What a node does, in a few words. */
export function nodeSummary(kind: NodeKind, config: NodeConfig, templateName?: (ref: string) => string | undefined): string {
  switch (kind) {
    case "email": {
      const ref = text(config.template);
      if (!ref) return "Choose a template";
      const name = templateName?.(ref) ?? ref;
      return config.category === "transactional" ? `${name} · transactional` : name;
    }
    case "delay": {
      const mode = text(config.mode) || (config.attribute ? "date_attribute" : config.time || config.weekdays ? "time_of_day" : "duration");
      if (mode === "time_of_day") return `Until ${text(config.time) || "09:00"} local time, ${weekdaysText(config.weekdays)}`;
      if (mode === "date_attribute") {
        const offset = text(config.offset);
        const sign = offset.startsWith("-") ? "before" : "after";
        const amount = offset ? `${humanDuration(offset.replace(/^[-+]/, ""))} ${sign} ` : "";
        return `Until ${amount}${text(config.attribute) || "a contact date"}`;
      }
      return config.duration ? `Wait ${humanDuration(text(config.duration))}` : "Choose how long";
    }
    case "wait_for_event": {
      const event = text(config.event);
      if (!event) return "Choose the event";
      return config.timeout ? `${event}, up to ${humanDuration(text(config.timeout))}` : `${event}, no time limit`;
    }
    case "branch":
      return `If ${ruleText(config.condition as Rule)}`;
    case "split": {
      const paths = Array.isArray(config.paths) ? config.paths.length : 0;
      return `${paths} path${paths === 1 ? "" : "s"} + else, first match wins`;
    }
    case "experiment": {
      const variants = (Array.isArray(config.variants) ? config.variants : []) as Variant[];
      return variants.map((variant) => `${variant.label || variant.id} ${variant.weight ?? 0}%`).join(" · ") || "No variants";
    }
    case "update_contact": {
      const keys = isRecord(config.set) ? Object.keys(config.set) : [];
      return keys.length ? `Set ${keys.join(", ")}` : "Choose attributes to set";
    }
    case "webhook": {
      const url = text(config.url);
      let host = url;
      try {
        host = url ? new URL(url.split("{")[0]).host || url : "";
      } catch {
        host = url;
      }
      return url ? `${text(config.method) || "POST"} ${host}` : "Enter the URL";
    }
    case "exit":
      return "The journey ends here";
  }
}

export function triggerSummary(settings: Pick<JourneySettings, "trigger">): string {
  const trigger = settings.trigger ?? { type: "event" };
  switch (trigger.type) {
    case "event":
      return trigger.event ? `When “${trigger.event}” happens` : "Choose the event";
    case "inactivity":
      return trigger.duration ? `No activity for ${humanDuration(trigger.duration)}` : "Choose how long without activity";
    case "date_attribute":
      return trigger.attribute ? `Around ${trigger.attribute}` : "Choose a contact date";
    case "api":
      return "Enrolled through the API";
    case "segment":
      return trigger.segment ? `On ${trigger.on === "left" ? "leaving" : "entering"} a segment` : "Choose a segment";
    case "price_drop": {
      const parts = [trigger.min_percent ? `by ${trigger.min_percent}% or more` : "", trigger.below ? `below ${trigger.below}` : ""].filter(Boolean);
      return parts.length ? `When a price drops ${parts.join(" and ")}` : "Choose how much the price must drop";
    }
    case "back_in_stock":
      return "When a product is back in stock";
    default:
      return String(trigger.type ?? "");
  }
}

const PORT_LABELS: Record<string, string> = {
  next: "",
  yes: "Yes",
  no: "No",
  event: "Event",
  timeout: "Timeout",
  success: "Success",
  failure: "Failure",
  else: "Else",
};

/** The label under a port: "Yes", "Timeout", a split path's or a variant's name. */
export function portLabel(kind: string, config: NodeConfig, port: string): string {
  if (kind === "split") {
    const path = ((config.paths as SplitPath[] | undefined) ?? []).find((item) => item.id === port);
    if (path) return path.label || path.id;
  }
  if (kind === "experiment") {
    const variant = ((config.variants as Variant[] | undefined) ?? []).find((item) => item.id === port);
    if (variant) return `${variant.label || variant.id} · ${variant.weight ?? 0}%`;
  }
  return PORT_LABELS[port] ?? port;
}

export function kindLabel(kind: string): string {
  if (kind === "trigger") return "Trigger";
  return nodeSpec(kind)?.label ?? kind;
}

/** Why an experiment's weights are refused (the server's rule and words), or null. */
export function weightsProblem(variants: readonly Variant[]): string | null {
  const wanted = nodeLimit("experiment", "weights_total");
  const total = variants.reduce((sum, variant) => sum + (Number(variant.weight) || 0), 0);
  if (!variants.length || Math.abs(total - wanted) <= 1e-6) return null;
  return `The weights add up to ${Number(total.toFixed(2))}%; they must add up to ${wanted}%.`;
}

/** Checks the browser makes before the server answers (the same rule: nodeTypes' limits). */
export function clientProblems(definition: JourneyDefinition): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const node of definition.nodes ?? []) {
    if (node.type !== "experiment") continue;
    const message = weightsProblem((Array.isArray(node.config.variants) ? node.config.variants : []) as Variant[]);
    if (message) {
      problems.push({
        code: "experiment_weights",
        node: node.id,
        field: "config.variants",
        path: `nodes.${node.id}.config.variants`,
        message,
      });
    }
  }
  return problems;
}
