/** Shapes of the customer-data API (journeys/customer_api.py). */

export interface ContactSummary {
  id: number;
  user_id: string | null;
  email: string;
  name: string;
  country: string;
  city: string;
  timezone: string;
  locale: string;
  lifetime_value: number;
  orders_count: number;
  cart_quantity: number;
  last_activity_at: string | null;
  created_at: string;
}

export interface CartLine {
  product_id?: string;
  sku?: string;
  name?: string;
  price?: number;
  currency?: string;
  quantity: number;
  url?: string;
  image_url?: string;
  viewed_at?: string;
}

export interface Cart {
  items: CartLine[];
  total: number;
  quantity: number;
  currency: string | null;
  updated_at: string | null;
}

export interface Order {
  order_id: string;
  revenue: number;
  net: number;
  currency: string;
  status: string;
  products: CartLine[];
  placed_at: string;
}

export interface Contact extends ContactSummary {
  traits: Record<string, unknown>;
  consent: Record<string, boolean>;
  cart: Cart;
  recently_viewed: CartLine[];
  identities: { kind: "user_id" | "anonymous_id"; value: string }[];
  orders: Order[];
  merged_into: number | null;
  suppressed: boolean;
  /** what the customer-value models predict (the `predicted` root of rules and templates); {} before any fit */
  prediction: Prediction | Record<string, never>;
  updated_at: string;
}

export interface Prediction {
  orders_next_90d: number;
  probability_active: number;
  clv_365d: number;
  churn_risk: "low" | "medium" | "high";
  next_order_date: string | null;
  fitted_at: string;
  /** the same in plain words */
  explanation: string;
}

export interface TrackedEvent {
  id: number;
  type: string;
  name: string;
  message_id: string;
  user_id: string | null;
  anonymous_id: string | null;
  contact: number | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
  timestamp: string;
  original_timestamp: string | null;
  sent_at: string | null;
  received_at: string;
  processed_at: string | null;
  error: string;
}

export interface ImportJob {
  id: number;
  kind: "contacts" | "products";
  status: "queued" | "running" | "done" | "failed";
  phase: string;
  filename: string;
  rows_total: number;
  rows_done: number;
  progress: number;
  created_count: number;
  updated_count: number;
  row_errors: { row: number; field: string; error: string }[];
  error: string;
  /** the column mapping chosen; null: columns read by name */
  mapping: Record<string, string> | null;
  /** the static list that receives the imported contacts */
  list: { id: number; name: string } | null;
  /** contacts that entered the list (once done) */
  list_added: number | null;
  created_at: string;
  finished_at: string | null;
}

/** POST /api/imports/preview: a contact CSV's header and first rows, with a suggested mapping. */
export interface ImportPreview {
  columns: string[];
  /** {column: target}: a field, "traits.<name>", "consent.<topic>" or "skip" */
  suggested: Record<string, string>;
  /** the first rows, one cell per column */
  rows: string[][];
  /** the contact fields a column can go to */
  fields: string[];
}

export function eventLabel(event: Pick<TrackedEvent, "type" | "name">): string {
  if (event.type === "track") return event.name;
  if (event.type === "page" || event.type === "screen") return `${event.type === "page" ? "Page" : "Screen"}${event.name ? `: ${event.name}` : ""}`;
  return event.type.charAt(0).toUpperCase() + event.type.slice(1);
}

export function money(value: number | null | undefined, currency?: string | null): string {
  if (value === null || value === undefined) return "—";
  const code = currency && /^[A-Z]{3}$/.test(currency) ? currency : undefined;
  try {
    return new Intl.NumberFormat(undefined, code ? { style: "currency", currency: code } : { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
  } catch {
    return value.toFixed(2);
  }
}
