/**
 * Liquid inside MJML for CodeMirror 6: highlighting (lang-liquid over lang-html), completion of the
 * objects a Wayline email sees at send time (delivery/personalize.py: contact, event, cart,
 * recommendations, offer, links, products, workspace) and of Wayline's own filters, and the
 * server's problems (line and column) as inline diagnostics.
 */
import { html } from "@codemirror/lang-html";
import { closePercentBrace, liquid } from "@codemirror/lang-liquid";
import type { Completion } from "@codemirror/autocomplete";
import type { Diagnostic } from "@codemirror/lint";
import type { Text } from "@codemirror/state";
import type { TemplateProblem } from "./api";

function fields(names: [string, string][], type = "property"): Completion[] {
  return names.map(([label, detail]) => ({ label, detail, type }));
}

const PRODUCT_FIELDS = fields([
  ["sku", "product code"],
  ["name", "product name"],
  ["url", "product page"],
  ["image_url", "picture"],
  ["price", "price (in the cart: when added)"],
  ["live_price", "today's price"],
  ["price_dropped", "cheaper today than when added"],
  ["quantity", "in the cart"],
  ["stock", "units in stock"],
  ["in_stock", "true / false"],
  ["currency", "ISO code"],
  ["category", "category"],
  ["tags", "list of tags"],
]);

export const LIQUID_OBJECTS: Completion[] = fields(
  [
    ["contact", "the recipient"],
    ["event", "the event that started the journey"],
    ["cart", "the contact's cart, live prices and stock"],
    ["recommendations", "products for this contact"],
    ["offer", "the contact's coupon"],
    ["links", "unsubscribe, preferences, view in browser"],
    ["products", 'catalog lookup: products["SKU-1"]'],
    ["journey", "the journey's context"],
    ["workspace", "your workspace"],
    ["now", "the send time"],
  ],
  "variable",
);

const PROPERTIES: Record<string, Completion[]> = {
  contact: fields([
    ["first_name", "text"],
    ["last_name", "text"],
    ["email", "address"],
    ["id", "your id for them"],
    ["user_id", "your id for them"],
    ["country", "ISO code"],
    ["city", "text"],
    ["timezone", "e.g. Europe/Berlin"],
    ["locale", "e.g. de_DE"],
    ["traits", "everything identify sent"],
    ["orders_count", "number"],
    ["lifetime_value", "money"],
  ]),
  event: fields([
    ["name", "e.g. Checkout Started"],
    ["properties", "what the event carried"],
    ["timestamp", "when it happened"],
  ]),
  cart: fields([
    ["items", "lines: sku, name, price, live_price, stock…"],
    ["total", "money"],
    ["currency", "ISO code"],
  ]),
  offer: fields([
    ["code", "the coupon code"],
    ["percent_off", "number"],
    ["description", "text"],
    ["expires_at", "date"],
  ]),
  links: fields([
    ["unsubscribe", "one-click unsubscribe page"],
    ["preferences", "preference center"],
    ["view_in_browser", "this email on the web"],
  ]),
  workspace: fields([["name", "text"]]),
  "contact.traits": fields([
    ["first_name", "trait"],
    ["plan", "trait"],
    ["company", "trait"],
  ]),
  "event.properties": fields([
    ["cart_id", "property"],
    ["total", "property"],
    ["currency", "property"],
    ["products", "property"],
  ]),
};

/** Loop variables that usually hold a product: `{% for item in cart.items %}{{ item.` */
const PRODUCT_NAMES = new Set(["item", "line", "product", "recommendation", "rec", "p"]);

export const WAYLINE_FILTERS: Completion[] = fields(
  [
    ["money", "price in the contact's currency and locale"],
    ["date", 'date in the contact\'s timezone: date: "%d %B"'],
    ["product", "look up a product by sku"],
    ["default", 'fallback: default: "there"'],
  ],
  "function",
);

/** Property names of events seen by this workspace, for `event.properties.` (set by the page). */
let eventProperties: string[] = [];
export function setEventPropertyNames(names: string[]) {
  eventProperties = names;
}

function propertiesOf(path: readonly string[]): Completion[] {
  const key = path.join(".");
  if (key === "event.properties" && eventProperties.length) return fields(eventProperties.map((name) => [name, "property"]));
  if (PROPERTIES[key]) return PROPERTIES[key];
  if (key === "recommendations" || key === "cart.items") return fields([["first", "the first one"], ["size", "how many"]]);
  const last = path[path.length - 1];
  if (path.length === 1 && PRODUCT_NAMES.has(last)) return PRODUCT_FIELDS;
  if (path.length === 2 && path[0] === "products") return PRODUCT_FIELDS;
  return [];
}

/** MJML (as HTML) with Liquid: highlighting and completion. */
export function mjmlWithLiquid() {
  return [liquid({ base: html({ selfClosingTags: true }), variables: LIQUID_OBJECTS, filters: WAYLINE_FILTERS, properties: propertiesOf }), closePercentBrace];
}

/** A line of text with Liquid (subject, preheader). */
export function textWithLiquid() {
  return [liquid({ variables: LIQUID_OBJECTS, filters: WAYLINE_FILTERS, properties: propertiesOf }), closePercentBrace];
}

/** A 1-based line and column as an offset into the document, kept inside it. */
export function offsetOf(doc: Text, line: number | null, column: number | null): number {
  if (!line) return 0;
  const at = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(at.from + Math.max((column ?? 1) - 1, 0), at.to);
}

/** The server's problems of one part ("mjml", "subject", "preheader") as CodeMirror diagnostics. */
export function diagnosticsFor(doc: Text, problems: TemplateProblem[], part: string): Diagnostic[] {
  return problems
    .filter((problem) => problem.part === part)
    .map((problem) => {
      const from = offsetOf(doc, problem.line, problem.column);
      const lineEnd = doc.lineAt(from).to;
      return {
        from,
        to: Math.min(lineEnd, from + 1) > from ? Math.min(lineEnd, from + 1) : from,
        severity: problem.kind === "undefined" ? "warning" : "error",
        message: problem.line ? `${problem.message} (line ${problem.line}, column ${problem.column ?? 1})` : problem.message,
        source: problem.kind,
      } satisfies Diagnostic;
    });
}
