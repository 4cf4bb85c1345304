/** Fields of the contact a condition can read (journeys/customers/context.py `facts_of`), suggested by the condition builder in journeys and segments. */
export const CONTACT_FIELDS = [
  "contact.email",
  "contact.country",
  "contact.city",
  "contact.timezone",
  "contact.locale",
  "contact.lifetime_value",
  "contact.orders_count",
  "contact.last_activity_at",
  "contact.created_at",
  "contact.traits.first_name",
  "contact.traits.plan",
  "cart.total",
  "cart.currency",
  "cart.items.size",
];
