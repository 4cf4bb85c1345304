/** Personas: made-up customers to preview and simulate with. Marketers and admins manage them;
 * everyone in the workspace uses them. */
import { useState, type FormEvent } from "react";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, TextField, fieldError } from "../lib/ui";
import { errorMessage } from "../lib/api";
import { formatMoney } from "../lib/format";
import { useDeletePersona, usePersonas, useSavePersona, type CartItem, type Persona, type PersonaInput, type RecentEvent } from "./api";

const EMPTY: PersonaInput = {
  name: "",
  description: "",
  email: "",
  traits: {},
  country: "",
  city: "",
  timezone: "",
  locale: "",
  cart_items: [],
  recent_events: [],
};

export function PersonasPage() {
  const canEdit = useCan("edit");
  const personas = usePersonas();
  const remove = useDeletePersona();
  const [editing, setEditing] = useState<Persona | "new" | null>(null);
  return (
    <div className="page">
      <PageHeader
        title="Personas"
        description="Made-up customers with a profile, a location, a cart and recent events. Preview every email as each of them would get it, and simulate their path through a journey."
        actions={
          canEdit ? (
            <button type="button" className="button button-primary" onClick={() => setEditing("new")}>
              New persona
            </button>
          ) : null
        }
      />
      {!canEdit ? <Banner>Your role uses personas; marketers and admins create and change them.</Banner> : null}
      {remove.isError ? <Banner tone="error">{errorMessage(remove.error)}</Banner> : null}
      {editing ? <PersonaForm persona={editing === "new" ? null : editing} onDone={() => setEditing(null)} /> : null}
      {personas.isLoading ? <Loading /> : null}
      <div className="qa-personas">
        {personas.data?.map((persona) => (
          <article key={persona.id} className="card qa-persona" data-testid="persona">
            <header>
              <h2>{persona.name}</h2>
              <span className="muted">{[persona.city, persona.country, persona.locale, persona.timezone].filter(Boolean).join(" · ")}</span>
            </header>
            {persona.description ? <p>{persona.description}</p> : null}
            <p className="muted">
              {persona.cart_items.length ? `Cart: ${persona.cart_items.map((item) => `${item.quantity} × ${item.sku}${item.price != null ? ` at ${formatMoney(item.price, null /* a persona's cart names no currency */)}` : ""}`).join(", ")}` : "Empty cart"}
              {persona.recent_events.length ? ` · ${persona.recent_events.length} recent event${persona.recent_events.length > 1 ? "s" : ""}` : ""}
            </p>
            {canEdit ? (
              <div className="qa-persona-actions">
                <button type="button" className="button button-small" onClick={() => setEditing(persona)}>
                  Edit
                </button>
                <button
                  type="button"
                  className="button button-quiet button-small"
                  onClick={() => {
                    if (window.confirm(`Delete the persona “${persona.name}”?`)) remove.mutate(persona.id);
                  }}
                >
                  Delete
                </button>
              </div>
            ) : null}
          </article>
        ))}
        {personas.data && personas.data.length === 0 ? <p className="muted">No personas yet.</p> : null}
      </div>
    </div>
  );
}

function PersonaForm({ persona, onDone }: { persona: Persona | null; onDone: () => void }) {
  const save = useSavePersona();
  const [values, setValues] = useState<PersonaInput>(() => (persona ? { ...EMPTY, ...persona } : EMPTY));
  const [traits, setTraits] = useState(() => JSON.stringify(values.traits, null, 2));
  const [traitsError, setTraitsError] = useState<string | null>(null);
  const set = <K extends keyof PersonaInput>(key: K, value: PersonaInput[K]) => setValues((old) => ({ ...old, [key]: value }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let parsed: Record<string, unknown>;
    try {
      parsed = traits.trim() ? (JSON.parse(traits) as Record<string, unknown>) : {};
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    } catch {
      setTraitsError('Traits are a JSON object, e.g. {"first_name": "Ada", "plan": "vip"}.');
      return;
    }
    setTraitsError(null);
    save.mutate({ id: persona?.id ?? null, body: { ...values, traits: parsed } }, { onSuccess: onDone });
  };

  const error = save.error;
  return (
    <form className="card form qa-persona-form" onSubmit={submit} aria-label={persona ? `Edit ${persona.name}` : "New persona"}>
      <h2>{persona ? `Edit ${persona.name}` : "New persona"}</h2>
      <ErrorBanner error={error} shownFields={["name", "email", "country", "city", "timezone", "locale", "traits", "cart_items", "recent_events"]} />
      <div className="qa-grid">
        <TextField label="Name" value={values.name} onChange={(event) => set("name", event.target.value)} error={fieldError(error, "name")} required />
        <TextField label="Email (for display)" type="email" value={values.email} onChange={(event) => set("email", event.target.value)} error={fieldError(error, "email")} />
        <TextField label="Country" value={values.country} maxLength={2} placeholder="DE" onChange={(event) => set("country", event.target.value)} error={fieldError(error, "country")} />
        <TextField label="City" value={values.city} onChange={(event) => set("city", event.target.value)} error={fieldError(error, "city")} />
        <TextField label="Time zone" value={values.timezone} placeholder="Europe/Berlin" onChange={(event) => set("timezone", event.target.value)} error={fieldError(error, "timezone")} />
        <TextField label="Locale" value={values.locale} placeholder="de_DE" onChange={(event) => set("locale", event.target.value)} error={fieldError(error, "locale")} />
      </div>
      <TextField label="Description" value={values.description} onChange={(event) => set("description", event.target.value)} />
      <div className="field">
        <label htmlFor="persona-traits">Traits (JSON)</label>
        <textarea id="persona-traits" className="mono" rows={4} value={traits} onChange={(event) => setTraits(event.target.value)} />
        {traitsError || fieldError(error, "traits") ? <div className="field-error">{traitsError || fieldError(error, "traits")}</div> : null}
      </div>
      <CartEditor items={values.cart_items} onChange={(items) => set("cart_items", items)} error={fieldError(error, "cart_items")} />
      <EventsEditor events={values.recent_events} onChange={(events) => set("recent_events", events)} error={fieldError(error, "recent_events")} />
      <div className="form-inline">
        <button type="submit" className="button button-primary" disabled={save.isPending}>
          {persona ? "Save persona" : "Create persona"}
        </button>
        <button type="button" className="button button-quiet" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function CartEditor({ items, onChange, error }: { items: CartItem[]; onChange: (items: CartItem[]) => void; error?: string }) {
  const update = (index: number, change: Partial<CartItem>) => onChange(items.map((item, at) => (at === index ? { ...item, ...change } : item)));
  return (
    <fieldset className="qa-rows">
      <legend>Cart (the price when added; today's price comes from the catalog)</legend>
      {items.map((item, index) => (
        <div key={index} className="qa-row">
          <input aria-label="SKU" placeholder="SKU" value={item.sku} onChange={(event) => update(index, { sku: event.target.value })} />
          <input aria-label="Quantity" type="number" min={1} value={item.quantity} onChange={(event) => update(index, { quantity: Number(event.target.value) || 1 })} />
          <input aria-label="Price when added" type="number" step="0.01" min={0} placeholder="price" value={item.price ?? ""} onChange={(event) => update(index, { price: event.target.value === "" ? null : Number(event.target.value) })} />
          <button type="button" className="button button-quiet button-small" onClick={() => onChange(items.filter((_, at) => at !== index))} aria-label="Remove item">
            ×
          </button>
        </div>
      ))}
      <button type="button" className="button button-small" onClick={() => onChange([...items, { sku: "", quantity: 1, price: null }])}>
        Add cart item
      </button>
      {error ? <div className="field-error">{error}</div> : null}
    </fieldset>
  );
}

function EventsEditor({ events, onChange, error }: { events: RecentEvent[]; onChange: (events: RecentEvent[]) => void; error?: string }) {
  const update = (index: number, change: Partial<RecentEvent>) => onChange(events.map((item, at) => (at === index ? { ...item, ...change } : item)));
  return (
    <fieldset className="qa-rows">
      <legend>Recent events (how long ago: PT2H is two hours, P3D three days)</legend>
      {events.map((event, index) => (
        <div key={index} className="qa-row">
          <input aria-label="Event name" placeholder="Order Completed" value={event.name} onChange={(change) => update(index, { name: change.target.value })} />
          <input aria-label="How long ago" placeholder="PT2H" value={event.ago} onChange={(change) => update(index, { ago: change.target.value })} />
          <button type="button" className="button button-quiet button-small" onClick={() => onChange(events.filter((_, at) => at !== index))} aria-label="Remove event">
            ×
          </button>
        </div>
      ))}
      <button type="button" className="button button-small" onClick={() => onChange([...events, { name: "", ago: "PT1H", properties: {} }])}>
        Add event
      </button>
      {error ? <div className="field-error">{error}</div> : null}
    </fieldset>
  );
}
