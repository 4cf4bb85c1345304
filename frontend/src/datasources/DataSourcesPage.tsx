/** Data sources: the write key, copy-paste snippets pointed at this server, events arriving live. */
import { Fragment, useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, type Page } from "../lib/api";
import { formatDateTime, maskedHint } from "../lib/format";
import { useCan } from "../lib/session";
import { ErrorBanner, Loading, PageHeader, Tag } from "../lib/ui";
import { eventLabel, type TrackedEvent } from "../contacts/types";
import "../contacts/customers.css";
import type { WriteKey } from "../settings/types";

export function snippets(origin: string, key: string) {
  const url = new URL(origin);
  const apiHost = `${url.host}/v1`;
  const protocol = url.protocol.replace(":", "");
  return {
    analyticsJs: `import { AnalyticsBrowser } from "@segment/analytics-next";

// Sends to this Wayline server instead of Segment's.
export const analytics = AnalyticsBrowser.load(
  {
    writeKey: "${key}",
    cdnSettings: { integrations: { "Segment.io": { apiKey: "${key}", apiHost: "${apiHost}", protocol: "${protocol}" } } },
  },
  { integrations: { "Segment.io": { apiHost: "${apiHost}", protocol: "${protocol}" } } },
);

analytics.identify("user-123", { email: "jane@example.com", first_name: "Jane" });
analytics.track("Product Added", { product_id: "WL-001", name: "Trail Runner 2", price: 119, quantity: 1, currency: "EUR" });`,
    python: `# pip install segment-analytics-python
import segment.analytics as analytics

analytics.write_key = "${key}"
analytics.host = "${origin}"

analytics.identify("user-123", {"email": "jane@example.com", "first_name": "Jane", "timezone": "Europe/Berlin"})
analytics.track("user-123", "Order Completed", {"order_id": "1001", "total": 119.0, "currency": "EUR"})
analytics.flush()  # before the process exits`,
    curl: `curl -u '${key}:' -H 'Content-Type: application/json' \\
  -d '{"userId": "user-123", "event": "Signed Up", "properties": {"plan": "pro"}}' \\
  ${origin}/v1/track`,
  };
}

function Snippet({ title, code }: { title: string; code: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(code);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div className="snippet">
      <h3>{title}</h3>
      <button type="button" className="button button-small" onClick={copy} aria-label={`Copy the ${title} snippet`}>
        {copied ? "Copied" : "Copy"}
      </button>
      <pre aria-label={`${title} snippet`}>
        <code>{code}</code>
      </pre>
    </div>
  );
}

function useLiveEvents() {
  const [events, setEvents] = useState<TrackedEvent[]>([]);
  const newest = events[0]?.id;
  const recent = useQuery({
    queryKey: ["events", "recent", newest ?? 0],
    queryFn: ({ signal }) => api.get<{ results: TrackedEvent[]; pending: number }>("events/recent", { after: newest, limit: 50 }, signal),
    refetchInterval: 2000,
  });
  useEffect(() => {
    const fresh = recent.data?.results ?? [];
    if (!fresh.length) return;
    setEvents((current) => {
      const known = new Set(current.map((event) => event.id));
      return [...fresh.filter((event) => !known.has(event.id)), ...current].slice(0, 50);
    });
  }, [recent.data]);
  return { events, pending: recent.data?.pending ?? 0, error: recent.error, loading: recent.isPending };
}

export default function DataSourcesPage() {
  const canManage = useCan("manage");
  const origin = window.location.origin;
  const keys = useQuery({
    queryKey: ["write-keys"],
    queryFn: ({ signal }) => api.get<Page<WriteKey>>("write-keys", { limit: 100 }, signal),
    enabled: canManage,
  });
  const active = keys.data?.results.filter((key) => !key.revoked_at) ?? [];
  const code = snippets(origin, "YOUR_WRITE_KEY");
  const live = useLiveEvents();
  const [open, setOpen] = useState<number | null>(null);
  return (
    <div className="page">
      <PageHeader
        title="Data sources"
        description={
          <>
            Send identify, track, page and batch calls to <code>{origin}/v1/</code>: it speaks Segment&apos;s HTTP Tracking API, so
            analytics.js, segment-analytics-python, RudderStack SDKs and plain HTTP work unchanged.
          </>
        }
      />
      <section className="card" aria-labelledby="key-heading">
        <div className="card-header">
          <h2 id="key-heading">Write key</h2>
          {canManage ? (
            <Link className="button button-small" to="/settings/api-keys">
              Manage keys
            </Link>
          ) : null}
        </div>
        <p className="muted">
          Send it as the HTTP Basic user name with an empty password (or as <code>writeKey</code> in the body). A key is shown once, when it is
          created; replace <code>YOUR_WRITE_KEY</code> below with yours.
        </p>
        {canManage ? (
          keys.isPending ? (
            <Loading />
          ) : active.length ? (
            <ul>
              {active.map((key) => (
                <li key={key.id}>
                  {key.name}: <span className="mono">{maskedHint(key.hint)}</span> <span className="muted">created {formatDateTime(key.created_at)}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p>
              No active write key. <Link to="/settings/api-keys">Create one</Link>.
            </p>
          )
        ) : (
          <p>Ask an admin of this workspace for a write key.</p>
        )}
      </section>
      <section className="card" aria-labelledby="snippets-heading">
        <div className="card-header">
          <h2 id="snippets-heading">Snippets</h2>
        </div>
        <Snippet title="analytics.js (browser)" code={code.analyticsJs} />
        <Snippet title="segment-analytics-python (server)" code={code.python} />
        <Snippet title="curl" code={code.curl} />
      </section>
      <section className="card card-flush" aria-labelledby="live-heading">
        <div className="card-header">
          <h2 id="live-heading">
            <span className="live-dot" aria-hidden="true" />
            Last events received
          </h2>
          <span className="muted">{live.pending ? `${live.pending.toLocaleString()} waiting to be processed` : "all processed"}</span>
        </div>
        <ErrorBanner error={live.error} />
        {live.loading && !live.events.length ? (
          <Loading />
        ) : live.events.length === 0 ? (
          <p className="table-empty">Nothing received yet. Send a call with one of the snippets; it shows up here within two seconds.</p>
        ) : (
          <table className="table" aria-label="Last events received">
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Call</th>
                <th scope="col">Who</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {live.events.map((event) => (
                <Fragment key={event.id}>
                  <tr data-event={event.id}>
                    <td>{formatDateTime(event.received_at)}</td>
                    <td>
                      <button type="button" className="button button-quiet button-small" aria-expanded={open === event.id} onClick={() => setOpen(open === event.id ? null : event.id)}>
                        {eventLabel(event)}
                      </button>
                    </td>
                    <td>
                      {event.contact ? (
                        <Link to={`/contacts/${event.contact}`} className="mono">
                          {event.user_id ?? event.anonymous_id}
                        </Link>
                      ) : (
                        <span className="mono">{event.user_id ?? event.anonymous_id}</span>
                      )}
                    </td>
                    <td>
                      {event.error ? (
                        <Tag tone="bad">failed</Tag>
                      ) : event.processed_at ? (
                        <Tag tone="good">processed</Tag>
                      ) : (
                        <Tag tone="warn">queued</Tag>
                      )}
                    </td>
                  </tr>
                  {open === event.id ? (
                    <tr>
                      <td colSpan={4}>
                        <pre className="event-json">
                          {JSON.stringify({ messageId: event.message_id, properties: event.properties, traits: event.traits, context: event.context, timestamp: event.timestamp, sentAt: event.sent_at }, null, 2)}
                        </pre>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
