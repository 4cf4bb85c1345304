/**
 * Shapes of the customer-data API (journeys/customers/api.py), generated from /api/schema/
 * (lib/schema.d.ts: `make types`). `Required<>`: a model serializer writes every field in its answers,
 * even those a request may leave out (the schema marks those optional).
 */
import type { components } from "../lib/schema";

type Schemas = components["schemas"];

export type ContactSummary = Required<Schemas["ContactList"]>;
export type CartLine = Schemas["CartLine"];
export type Cart = Schemas["Cart"];
export type Order = Schemas["Order"];
/** Every key is there once a fit has predicted the contact; the schema cannot say "all or none". */
export type Prediction = Required<Schemas["Prediction"]>;
export type Contact = Omit<Required<Schemas["Contact"]>, "prediction"> & {
  /** what the customer-value models predict (the `predicted` root of rules and templates); {} before any fit */
  prediction: Prediction | Record<string, never>;
};
export type TrackedEvent = Required<Schemas["Event"]>;
export type ImportJob = Required<Schemas["ImportJob"]>;
/** POST /api/imports/preview: a contact CSV's header and first rows, with a suggested mapping. */
export type ImportPreview = Schemas["ImportPreview"];

export function eventLabel(event: Pick<TrackedEvent, "type" | "name">): string {
  if (event.type === "track") return event.name;
  if (event.type === "page" || event.type === "screen") return `${event.type === "page" ? "Page" : "Screen"}${event.name ? `: ${event.name}` : ""}`;
  return event.type.charAt(0).toUpperCase() + event.type.slice(1);
}

export { formatMoney as money } from "../lib/format";
