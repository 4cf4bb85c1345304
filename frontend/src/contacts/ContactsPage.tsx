/** Contacts: search, the profile (traits, cart, orders, journeys, emails, timeline), edit, export, erase, import. */
import { useEffect, useState, type FormEvent } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Route, Routes, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, type Page } from "../lib/api";
import { formatDate, formatDateTime, formatMoney } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Pager, Tag, TextField, fieldError } from "../lib/ui";
import { ContactEmails, ContactJourneys } from "./ContactActivity";
import { ImportPanel } from "./ImportPanel";
import { eventLabel, type CartLine, type Contact, type ContactSummary, type TrackedEvent } from "./types";
import "./customers.css";

export default function ContactsPage() {
  return (
    <Routes>
      <Route index element={<ContactList />} />
      <Route path=":id" element={<ContactProfile />} />
    </Routes>
  );
}

const LIMIT = 50;

function ContactList() {
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const [text, setText] = useState(search);
  const [importing, setImporting] = useState(false);
  const canEdit = useCan("edit");
  const navigate = useNavigate();
  useEffect(() => {
    const timer = setTimeout(() => {
      if (text !== search) {
        const next = new URLSearchParams();
        if (text) next.set("search", text);
        setParams(next, { replace: true });
      }
    }, 250);
    return () => clearTimeout(timer);
  }, [text, search, setParams]);
  const contacts = useQuery({
    queryKey: ["contacts", search, offset],
    queryFn: ({ signal }) => api.get<Page<ContactSummary>>("contacts", { search, offset, limit: LIMIT }, signal),
    placeholderData: keepPreviousData,
  });
  function goTo(nextOffset: number) {
    const next = new URLSearchParams(params);
    next.set("offset", String(nextOffset));
    setParams(next);
  }
  return (
    <div className="page">
      <PageHeader
        title="Contacts"
        description="Everyone your shop or app has told Wayline about, through identify and track calls or an import."
        actions={
          canEdit ? (
            <button type="button" className="button" onClick={() => setImporting((value) => !value)} aria-expanded={importing}>
              {importing ? "Close import" : "Import contacts"}
            </button>
          ) : null
        }
      />
      {importing ? <ImportPanel kind="contacts" /> : null}
      <div className="toolbar">
        <TextField
          label="Search"
          type="search"
          placeholder="Email, user id, anonymous id, or trait:value (plan:vip)"
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
      </div>
      <section className="card card-flush">
        <ErrorBanner error={contacts.error} />
        {contacts.isPending ? (
          <Loading />
        ) : contacts.data && contacts.data.results.length === 0 ? (
          <p className="table-empty">{search ? `No contact matches “${search}”.` : "No contacts yet. Send an identify call or import a CSV."}</p>
        ) : contacts.data ? (
          <table className="table" aria-label="Contacts">
            <thead>
              <tr>
                <th scope="col">Contact</th>
                <th scope="col">User id</th>
                <th scope="col">Location</th>
                <th scope="col" className="num">Orders</th>
                <th scope="col" className="num">Lifetime value</th>
                <th scope="col" className="num">In cart</th>
                <th scope="col">Last activity</th>
              </tr>
            </thead>
            <tbody>
              {contacts.data.results.map((contact) => (
                <tr key={contact.id} className="row-link" onClick={() => navigate(`/contacts/${contact.id}`)}>
                  <td>
                    <Link to={`/contacts/${contact.id}`} onClick={(event) => event.stopPropagation()}>
                      {contact.name || contact.email || contact.user_id || `Contact ${contact.id}`}
                    </Link>
                    {contact.name && contact.email ? <span className="cell-sub">{contact.email}</span> : null}
                  </td>
                  <td className="mono">{contact.user_id ?? <span className="muted">anonymous</span>}</td>
                  <td>{[contact.city, contact.country].filter(Boolean).join(", ") || "—"}</td>
                  <td className="num">{contact.orders_count}</td>
                  <td className="num">{formatMoney(contact.lifetime_value, contact.currency)}</td>
                  <td className="num">{contact.cart_quantity || "—"}</td>
                  <td>{formatDateTime(contact.last_activity_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {contacts.data ? <Pager offset={offset} limit={LIMIT} count={contacts.data.count} onChange={goTo} /> : null}
      </section>
    </div>
  );
}

function ContactProfile() {
  const { id } = useParams();
  const contact = useQuery({
    queryKey: ["contacts", "detail", id],
    queryFn: ({ signal }) => api.get<Contact>(`contacts/${id}`, undefined, signal),
  });
  const [erased, setErased] = useState<string | null>(null);
  if (erased) {
    return (
      <div className="page">
        <PageHeader title="Contact erased" />
        <Banner tone="success">{erased}</Banner>
        <Link to="/contacts">Back to contacts</Link>
      </div>
    );
  }
  if (contact.isPending) return <Loading />;
  if (contact.error || !contact.data) {
    return (
      <div className="page">
        <PageHeader title="Contact" />
        <ErrorBanner error={contact.error} />
        <Link to="/contacts">Back to contacts</Link>
      </div>
    );
  }
  const data = contact.data;
  const title = data.name || data.email || data.user_id || `Contact ${data.id}`;
  return (
    <div className="page">
      <p>
        <Link to="/contacts">← Contacts</Link>
      </p>
      <PageHeader
        title={title}
        description={
          <>
            {data.email ? <span>{data.email}</span> : null} {data.suppressed ? <Tag tone="bad">Suppressed</Tag> : null}{" "}
            {data.merged_into ? (
              <Banner tone="info">
                Merged into <Link to={`/contacts/${data.merged_into}`}>contact {data.merged_into}</Link>.
              </Banner>
            ) : null}
          </>
        }
        actions={
          <a className="button" href={`/api/contacts/${data.id}/export`} download={`contact-${data.id}.json`}>
            Export JSON
          </a>
        }
      />
      <div className="stats">
        <div className="stat">
          <span className="muted">Lifetime value</span>
          <strong>{formatMoney(data.lifetime_value, data.currency)}</strong>
        </div>
        <div className="stat">
          <span className="muted">Orders</span>
          <strong>{data.orders_count}</strong>
        </div>
        <div className="stat">
          <span className="muted">Cart</span>
          <strong>{data.cart.quantity ? formatMoney(data.cart.total, data.cart.currency) : "Empty"}</strong>
        </div>
        <div className="stat">
          <span className="muted">Last activity</span>
          <strong>{formatDateTime(data.last_activity_at)}</strong>
        </div>
      </div>
      <div className="profile-grid">
        <div>
          <ProfileCard contact={data} />
          <CartCard contact={data} />
          <PredictionCard contact={data} />
          <OrdersCard contact={data} />
          <ViewedCard items={data.recently_viewed} />
        </div>
        <div>
          <ContactJourneys contactId={data.id} />
          <ContactEmails contactId={data.id} />
          <Timeline contactId={data.id} />
          <EraseCard contact={data} onErased={setErased} />
        </div>
      </div>
    </div>
  );
}

function ProfileCard({ contact }: { contact: Contact }) {
  const canEdit = useCan("edit");
  const [editing, setEditing] = useState(false);
  const traits = Object.entries(contact.traits).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className="card" aria-labelledby="profile-heading">
      <div className="card-header">
        <h2 id="profile-heading">Profile</h2>
        {canEdit && !editing ? (
          <button type="button" className="button button-small" onClick={() => setEditing(true)}>
            Edit
          </button>
        ) : null}
      </div>
      {editing ? (
        <ProfileForm contact={contact} onClose={() => setEditing(false)} />
      ) : (
        <>
          <dl className="facts">
            <dt>Email</dt>
            <dd>{contact.email || "—"}</dd>
            <dt>Country</dt>
            <dd>{contact.country || "—"}</dd>
            <dt>City</dt>
            <dd>{contact.city || "—"}</dd>
            <dt>Time zone</dt>
            <dd>{contact.timezone || "—"}</dd>
            <dt>Locale</dt>
            <dd>{contact.locale || "—"}</dd>
            <dt>Consent</dt>
            <dd>
              {Object.keys(contact.consent).length
                ? Object.entries(contact.consent).map(([topic, given]) => (
                    <Tag key={topic} tone={given ? "good" : "neutral"}>
                      {topic}: {given ? "yes" : "no"}
                    </Tag>
                  ))
                : "—"}
            </dd>
            <dt>Ids</dt>
            <dd>
              {contact.identities.map((identity) => (
                <div key={`${identity.kind}:${identity.value}`} className="mono">
                  {identity.value} <span className="muted">({identity.kind === "user_id" ? "user id" : "anonymous id"})</span>
                </div>
              ))}
            </dd>
            <dt>First seen</dt>
            <dd>{formatDateTime(contact.created_at)}</dd>
          </dl>
          <h3>Traits</h3>
          {traits.length ? (
            <table className="table kv-table" aria-label="Traits">
              <thead>
                <tr>
                  <th scope="col">Trait</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {traits.map(([key, value]) => (
                  <tr key={key}>
                    <td>{key}</td>
                    <td>{typeof value === "string" ? value : JSON.stringify(value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No traits yet.</p>
          )}
        </>
      )}
    </section>
  );
}

function ProfileForm({ contact, onClose }: { contact: Contact; onClose: () => void }) {
  const client = useQueryClient();
  const [fields, setFields] = useState({
    email: contact.email,
    country: contact.country,
    city: contact.city,
    timezone: contact.timezone,
    locale: contact.locale,
  });
  const [traits, setTraits] = useState<[string, string][]>(
    Object.entries(contact.traits).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
  const save = useMutation({
    mutationFn: () => {
      const original = new Set(Object.keys(contact.traits));
      const next: Record<string, unknown> = {};
      for (const [key, raw] of traits) {
        if (!key.trim()) continue;
        let value: unknown = raw;
        try {
          value = raw.trim() && /^[[{0-9tfn-]/.test(raw.trim()) ? JSON.parse(raw) : raw;
        } catch {
          value = raw;
        }
        next[key.trim()] = value;
      }
      const remove = [...original].filter((key) => !(key in next));
      return api.patch<Contact>(`contacts/${contact.id}`, { ...fields, traits: next, remove_traits: remove });
    },
    onSuccess: (updated) => {
      client.setQueryData(["contacts", "detail", String(contact.id)], updated);
      void client.invalidateQueries({ queryKey: ["contacts"] });
      onClose();
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate();
  }
  const set = (key: keyof typeof fields) => (event: { target: { value: string } }) => setFields({ ...fields, [key]: event.target.value });
  return (
    <form onSubmit={submit} noValidate aria-label="Edit profile">
      <ErrorBanner error={save.error} shownFields={["email", "country", "city", "timezone", "locale"]} />
      <div className="form-grid">
        <TextField label="Email" value={fields.email} onChange={set("email")} error={fieldError(save.error, "email")} />
        <TextField label="Country" value={fields.country} onChange={set("country")} error={fieldError(save.error, "country")} hint="ISO code or name" />
        <TextField label="City" value={fields.city} onChange={set("city")} error={fieldError(save.error, "city")} />
        <TextField label="Time zone" value={fields.timezone} onChange={set("timezone")} error={fieldError(save.error, "timezone")} hint="e.g. Europe/Berlin" />
        <TextField label="Locale" value={fields.locale} onChange={set("locale")} error={fieldError(save.error, "locale")} hint="e.g. de-DE" />
      </div>
      <h3>Traits</h3>
      {traits.map(([key, value], index) => (
        <div className="trait-row" key={index}>
          <TextField
            label="Trait"
            value={key}
            onChange={(event) => setTraits(traits.map((row, i) => (i === index ? [event.target.value, row[1]] : row)))}
          />
          <TextField
            label={`Value of ${key || "trait"}`}
            value={value}
            onChange={(event) => setTraits(traits.map((row, i) => (i === index ? [row[0], event.target.value] : row)))}
          />
          <button type="button" className="button button-quiet button-small" aria-label={`Remove ${key || "trait"}`} onClick={() => setTraits(traits.filter((_, i) => i !== index))}>
            Remove
          </button>
        </div>
      ))}
      <p>
        <button type="button" className="button button-small" onClick={() => setTraits([...traits, ["", ""]])}>
          Add trait
        </button>
      </p>
      <div className="form-submit">
        <button type="submit" className="button button-primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save profile"}
        </button>{" "}
        <button type="button" className="button button-quiet" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ProductCell({ item }: { item: CartLine }) {
  const label = item.name ?? item.sku ?? item.product_id ?? "Product";
  return (
    <div className="product-cell">
      {item.image_url ? <img src={item.image_url} alt="" loading="lazy" /> : null}
      <div>
        {item.url ? (
          <a href={item.url} target="_blank" rel="noreferrer">
            {label}
          </a>
        ) : (
          label
        )}
        {item.sku || item.product_id ? <span className="cell-sub mono">{item.sku ?? item.product_id}</span> : null}
      </div>
    </div>
  );
}

function CartCard({ contact }: { contact: Contact }) {
  const cart = contact.cart;
  return (
    <section className="card card-flush" aria-labelledby="cart-heading">
      <div className="card-header">
        <h2 id="cart-heading">Current cart</h2>
        {cart.updated_at ? <span className="muted">updated {formatDateTime(cart.updated_at)}</span> : null}
      </div>
      {cart.items.length === 0 ? (
        <p className="table-empty">The cart is empty.</p>
      ) : (
        <table className="table" aria-label="Cart">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" className="num">Quantity</th>
              <th scope="col" className="num">Price</th>
            </tr>
          </thead>
          <tbody>
            {cart.items.map((item, index) => (
              <tr key={`${item.product_id ?? item.sku ?? index}`}>
                <td>
                  <ProductCell item={item} />
                </td>
                <td className="num">{item.quantity}</td>
                <td className="num">{formatMoney(item.price, item.currency)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Total</th>
              <td className="num">{cart.quantity}</td>
              <td className="num">
                <strong>{formatMoney(cart.total, cart.currency)}</strong>
              </td>
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}

const RISK_TONE = { low: "good", medium: "warn", high: "bad" } as const;

/** What the customer-value models predict for this contact, in plain words (journeys/predictions/clv.py). */
function PredictionCard({ contact }: { contact: Contact }) {
  const prediction = contact.prediction;
  if (!prediction || !("churn_risk" in prediction)) return null;
  return (
    <section className="card" aria-labelledby="prediction-heading">
      <div className="card-header">
        <h2 id="prediction-heading">Predicted</h2>
        <Tag tone={RISK_TONE[prediction.churn_risk]}>Churn risk: {prediction.churn_risk}</Tag>
      </div>
      <p data-testid="prediction-explanation">{prediction.explanation}</p>
      <dl className="facts">
        <dt>Orders in the next 90 days</dt>
        <dd>{prediction.orders_next_90d.toFixed(1)}</dd>
        <dt>Likely still a customer</dt>
        <dd>{Math.round(prediction.probability_active * 100)}%</dd>
        <dt>Value over the next year</dt>
        <dd>{formatMoney(prediction.clv_365d, contact.currency)}</dd>
        <dt>Next order expected</dt>
        <dd>{formatDate(prediction.next_order_date)}</dd>
      </dl>
      <p className="muted">Fitted {formatDateTime(prediction.fitted_at)} on the workspace's orders (BG/NBD and Gamma-Gamma models).</p>
    </section>
  );
}

function OrdersCard({ contact }: { contact: Contact }) {
  return (
    <section className="card card-flush" aria-labelledby="orders-heading">
      <div className="card-header">
        <h2 id="orders-heading">Orders</h2>
      </div>
      {contact.orders.length === 0 ? (
        <p className="table-empty">No orders yet.</p>
      ) : (
        <table className="table" aria-label="Orders">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Items</th>
              <th scope="col" className="num">Total</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {contact.orders.map((order) => (
              <tr key={order.order_id}>
                <td className="mono">{order.order_id}</td>
                <td>{formatDateTime(order.placed_at)}</td>
                <td>{order.products.map((item) => item.name ?? item.sku ?? item.product_id).filter(Boolean).join(", ") || "—"}</td>
                <td className="num">{formatMoney(order.revenue, order.currency)}</td>
                <td>
                  <Tag tone={order.status === "completed" ? "good" : "warn"}>{order.status}</Tag>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ViewedCard({ items }: { items: CartLine[] }) {
  return (
    <section className="card card-flush" aria-labelledby="viewed-heading">
      <div className="card-header">
        <h2 id="viewed-heading">Recently viewed</h2>
      </div>
      {items.length === 0 ? (
        <p className="table-empty">No product views yet.</p>
      ) : (
        <table className="table" aria-label="Recently viewed">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" className="num">Price</th>
              <th scope="col">Viewed</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item, index) => (
              <tr key={`${item.product_id ?? item.sku ?? index}`}>
                <td>
                  <ProductCell item={item} />
                </td>
                <td className="num">{formatMoney(item.price, item.currency)}</td>
                <td>{formatDateTime(item.viewed_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Timeline({ contactId }: { contactId: number }) {
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<number | null>(null);
  const events = useQuery({
    queryKey: ["contacts", "timeline", contactId, offset],
    queryFn: ({ signal }) => api.get<Page<TrackedEvent>>(`contacts/${contactId}/timeline`, { offset, limit: 25 }, signal),
    placeholderData: keepPreviousData,
  });
  return (
    <section className="card card-flush" aria-labelledby="timeline-heading">
      <div className="card-header">
        <h2 id="timeline-heading">Timeline</h2>
        {events.data ? <span className="muted">{events.data.count.toLocaleString()} events</span> : null}
      </div>
      <ErrorBanner error={events.error} />
      {events.isPending ? (
        <Loading />
      ) : events.data && events.data.results.length === 0 ? (
        <p className="table-empty">No events yet.</p>
      ) : events.data ? (
        <ol className="timeline" aria-label="Events">
          {events.data.results.map((event) => (
            <li key={event.id}>
              <div className="timeline-head">
                <button type="button" className="button button-quiet button-small" aria-expanded={open === event.id} onClick={() => setOpen(open === event.id ? null : event.id)}>
                  {eventLabel(event)}
                </button>
                <span className="muted">{formatDateTime(event.timestamp)}</span>
              </div>
              {open === event.id ? (
                <pre>{JSON.stringify({ properties: event.properties, traits: event.traits, context: event.context, messageId: event.message_id }, null, 2)}</pre>
              ) : null}
            </li>
          ))}
        </ol>
      ) : null}
      {events.data ? <Pager offset={offset} limit={25} count={events.data.count} onChange={setOffset} /> : null}
    </section>
  );
}

function EraseCard({ contact, onErased }: { contact: Contact; onErased: (message: string) => void }) {
  const canErase = useCan("manage");
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const erase = useMutation({
    mutationFn: () => api.post<{ contact_id: number; suppressed: number }>(`contacts/${contact.id}/erase`),
    onSuccess: (answer) => {
      void client.invalidateQueries({ queryKey: ["contacts"] });
      onErased(
        `The profile, its events and orders were deleted. ${answer.suppressed} address${answer.suppressed === 1 ? " is" : "es are"} kept only as a hash, so ${answer.suppressed === 1 ? "it is" : "they are"} never mailed again.`,
      );
    },
  });
  if (!canErase) return null;
  return (
    <section className="card danger-zone" aria-labelledby="erase-heading">
      <div className="card-header">
        <h2 id="erase-heading">Erase this contact</h2>
      </div>
      <p className="muted">
        Deletes the profile, every event and order, and personal data in sent messages. Only a hash of the email address is kept so it is
        never mailed again. This cannot be undone.
      </p>
      <ErrorBanner error={erase.error} />
      {confirming ? (
        <span className="confirm-inline">
          <span>Erase for good?</span>
          <button type="button" className="button button-small button-danger-solid" disabled={erase.isPending} onClick={() => erase.mutate()}>
            {erase.isPending ? "Erasing…" : "Confirm erase"}
          </button>
          <button type="button" className="button button-small button-quiet" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <button type="button" className="button button-danger" onClick={() => setConfirming(true)}>
          Erase contact…
        </button>
      )}
    </section>
  );
}
