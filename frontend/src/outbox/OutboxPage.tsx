/** Outbox: every email queued or sent with its status, and the sandbox mailbox (what the embedded
 * transport "sent"): the rendered HTML in a sandboxed frame, the text part and the headers. */
import { useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Navigate, NavLink, Route, Routes, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, type Page } from "../lib/api";
import type { MessageDetail, MessageSummary, SandboxDetail, SandboxSummary } from "./types";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Pager, SelectField, Tag, TextField } from "../lib/ui";
import "./outbox.css";

const STATUSES = ["queued", "sending", "sent", "deferred", "suppressed", "failed", "in_doubt"];
const LIMIT = 50;

export default function OutboxPage() {
  return (
    <Routes>
      <Route index element={<MessageList />} />
      <Route path="sandbox" element={<SandboxList />} />
      <Route path="sandbox/:id" element={<SandboxEmailView />} />
      <Route path="sending" element={<Navigate to="/settings/sending" replace />} />
      <Route path=":id" element={<MessageView />} />
    </Routes>
  );
}

function Tabs() {
  const canManage = useCan("manage");
  return (
    <nav className="outbox-tabs" aria-label="Outbox views">
      <NavLink end to="/outbox">
        Messages
      </NavLink>
      <NavLink to="/outbox/sandbox">Sandbox mailbox</NavLink>
      {canManage ? <NavLink to="/settings/sending">Sending settings</NavLink> : null}
    </nav>
  );
}


export function StatusTag({ status }: { status: string }) {
  const tone = status === "sent" ? "good" : status === "failed" || status === "in_doubt" ? "bad" : status === "suppressed" || status === "deferred" ? "warn" : "neutral";
  return <Tag tone={tone}>{status.replace("_", " ")}</Tag>;
}

function MessageList() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const q = params.get("q") ?? "";
  const journey = params.get("journey") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const navigate = useNavigate();
  const messages = useQuery({
    queryKey: ["outbox", status, q, journey, offset],
    queryFn: ({ signal }) => api.get<Page<MessageSummary>>("outbox", { status, q, journey, offset, limit: LIMIT }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
  });
  function update(next: Record<string, string>) {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value) merged.set(key, value);
      else merged.delete(key);
    }
    setParams(merged);
  }
  return (
    <div className="page">
      <PageHeader title="Outbox" description="Every email Wayline queued or sent, with its status and why." />
      <Tabs />
      <div className="toolbar">
        <SelectField
          label="Status"
          value={status}
          onChange={(event) => update({ status: event.target.value, offset: "" })}
          options={[{ value: "", label: "All" }, ...STATUSES.map((s) => ({ value: s, label: s.replace("_", " ") }))]}
        />
        <TextField label="Recipient" type="search" placeholder="Address contains…" maxLength={254} value={q} onChange={(event) => update({ q: event.target.value, offset: "" })} />
        {journey ? (
          <button type="button" className="button button-quiet button-small" onClick={() => update({ journey: "", offset: "" })}>
            Show every journey's
          </button>
        ) : null}
      </div>
      <section className="card card-flush">
        <ErrorBanner error={messages.error} />
        {messages.isPending ? (
          <Loading />
        ) : messages.data && messages.data.results.length === 0 ? (
          <p className="table-empty">{status || q || journey ? "No message matches." : "No messages yet. Publish a journey or send a test."}</p>
        ) : messages.data ? (
          <table className="table" aria-label="Messages">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Template</th>
                <th scope="col">Journey</th>
                <th scope="col">Created</th>
                <th scope="col" className="num">Opens</th>
                <th scope="col" className="num">Clicks</th>
              </tr>
            </thead>
            <tbody>
              {messages.data.results.map((message) => (
                <tr key={message.id} className="row-link" onClick={() => navigate(`/outbox/${message.id}`)}>
                  <td>
                    <StatusTag status={message.status} />
                    {message.is_test ? <Tag tone="accent">test</Tag> : null}
                  </td>
                  <td>
                    <Link to={`/outbox/${message.id}`} onClick={(event) => event.stopPropagation()}>
                      {message.to_email}
                    </Link>
                  </td>
                  <td>
                    {message.subject || <span className="muted">—</span>}
                    {message.reason ? <span className="cell-sub">{message.reason}</span> : null}
                  </td>
                  <td className="mono">
                    {message.template} v{message.template_version}
                  </td>
                  <td>
                    {message.journey ? (
                      <>
                        <Link to={`/journeys/${message.journey.id}`} onClick={(event) => event.stopPropagation()}>
                          {message.journey.name}
                        </Link>
                        <span className="cell-sub mono">{message.node_id}</span>
                      </>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>{formatDateTime(message.created_at)}</td>
                  <td className="num">{message.open_count}</td>
                  <td className="num">{message.click_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {messages.data ? <Pager offset={offset} limit={LIMIT} count={messages.data.count} onChange={(next) => update({ offset: String(next) })} /> : null}
      </section>
    </div>
  );
}

type Part = "html" | "text" | "headers";

/** The rendered email: HTML in a frame that may run nothing (sandbox=""), the text part, headers. */
export function EmailParts({ html, text, headers }: { html: string; text: string; headers: Record<string, string> }) {
  const [part, setPart] = useState<Part>("html");
  return (
    <section className="card email-parts">
      <div className="outbox-tabs" role="tablist" aria-label="Parts of the email">
        {(["html", "text", "headers"] as Part[]).map((name) => (
          <button key={name} type="button" role="tab" aria-selected={part === name} className={part === name ? "active" : ""} onClick={() => setPart(name)}>
            {name === "html" ? "HTML" : name === "text" ? "Text part" : "Headers"}
          </button>
        ))}
      </div>
      {part === "html" ? (
        <iframe title="Rendered HTML" className="email-frame" sandbox="" srcDoc={html} />
      ) : part === "text" ? (
        <pre className="email-text" aria-label="Text part">
          {text}
        </pre>
      ) : (
        <table className="table headers-table" aria-label="Headers">
          <tbody>
            {Object.entries(headers).map(([name, value]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td className="mono">{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function MessageView() {
  const { id } = useParams();
  const canManage = useCan("manage");
  const queryClient = useQueryClient();
  const message = useQuery({
    queryKey: ["outbox", "detail", id],
    queryFn: ({ signal }) => api.get<MessageDetail>(`outbox/${id}`, undefined, signal),
  });
  const resolve = useMutation({
    mutationFn: (resolution: "sent" | "resend") => api.post<MessageSummary>(`outbox/${id}/resolve`, { resolution }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["outbox"] }),
  });
  if (message.isPending) return <Loading />;
  if (message.error || !message.data) {
    return (
      <div className="page">
        <PageHeader title="Message" />
        <ErrorBanner error={message.error} />
        <Link to="/outbox">Back to the outbox</Link>
      </div>
    );
  }
  const m = message.data;
  const shown = m.sandbox ?? (m.html ? { html: m.html, text: m.text, headers: m.headers } : null);
  return (
    <div className="page">
      <PageHeader title={m.subject || `Message ${m.id}`} description={<Link to="/outbox">← Outbox</Link>} />
      <section className="card">
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusTag status={m.status} /> {m.is_test ? <Tag tone="accent">test</Tag> : null}
            {m.reason ? <span className="cell-sub">{m.reason}</span> : null}
          </dd>
          <dt>To</dt>
          <dd>{m.to_email}</dd>
          <dt>From</dt>
          <dd>{m.from_email || "—"}</dd>
          <dt>Template</dt>
          <dd className="mono">
            {m.template} v{m.template_version}
          </dd>
          <dt>Category</dt>
          <dd>{m.category}</dd>
          {m.topic ? (
            <>
              <dt>Topic</dt>
              <dd>{m.topic}</dd>
            </>
          ) : null}
          {m.journey ? (
            <>
              <dt>Sent by</dt>
              <dd>
                <Link to={`/journeys/${m.journey.id}`}>{m.journey.name}</Link>, step <span className="mono">{m.node_id}</span> ·{" "}
                <Link to={`/outbox?journey=${m.journey.id}`}>its other emails</Link>
              </dd>
            </>
          ) : null}
          <dt>Sent</dt>
          <dd>{formatDateTime(m.sent_at)}</dd>
          {m.next_attempt_at && m.status !== "sent" ? (
            <>
              <dt>Next attempt</dt>
              <dd>{formatDateTime(m.next_attempt_at)}</dd>
            </>
          ) : null}
          <dt>Attempts</dt>
          <dd>{m.attempts}</dd>
          <dt>Opens</dt>
          <dd>{m.open_count}</dd>
          <dt>Clicks</dt>
          <dd>{m.click_count}</dd>
        </dl>
        {m.status === "in_doubt" && canManage ? (
          <div className="page-actions">
            <ErrorBanner error={resolve.error} />
            <button type="button" className="button" onClick={() => resolve.mutate("sent")} disabled={resolve.isPending}>
              The provider has it: mark sent
            </button>
            <button type="button" className="button button-secondary" onClick={() => resolve.mutate("resend")} disabled={resolve.isPending}>
              Send it again
            </button>
          </div>
        ) : null}
      </section>
      {m.sandbox ? <Banner tone="info">Sent to the sandbox mailbox: nothing left this machine.</Banner> : null}
      {shown ? <EmailParts html={shown.html} text={shown.text} headers={shown.headers} /> : <p className="muted">Nothing was rendered for this message.</p>}
    </div>
  );
}

function SandboxList() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const navigate = useNavigate();
  const mails = useQuery({
    queryKey: ["sandbox", offset],
    queryFn: ({ signal }) => api.get<Page<SandboxSummary>>("sandbox", { offset, limit: LIMIT }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
  });
  return (
    <div className="page">
      <PageHeader title="Outbox" description="The sandbox mailbox keeps every email the embedded transport sent, instead of delivering it." />
      <Tabs />
      <section className="card card-flush">
        <ErrorBanner error={mails.error} />
        {mails.isPending ? (
          <Loading />
        ) : mails.data && mails.data.results.length === 0 ? (
          <p className="table-empty">The sandbox mailbox is empty.</p>
        ) : mails.data ? (
          <table className="table" aria-label="Sandbox mailbox">
            <thead>
              <tr>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">From</th>
                <th scope="col">Received</th>
              </tr>
            </thead>
            <tbody>
              {mails.data.results.map((mail) => (
                <tr key={mail.id} className="row-link" onClick={() => navigate(`/outbox/sandbox/${mail.id}`)}>
                  <td>
                    <Link to={`/outbox/sandbox/${mail.id}`} onClick={(event) => event.stopPropagation()}>
                      {mail.to.join(", ")}
                    </Link>
                  </td>
                  <td>{mail.subject}</td>
                  <td>{mail.from_email}</td>
                  <td>{formatDateTime(mail.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {mails.data ? (
          <Pager
            offset={offset}
            limit={LIMIT}
            count={mails.data.count}
            onChange={(next) => setParams(new URLSearchParams({ offset: String(next) }))}
          />
        ) : null}
      </section>
    </div>
  );
}

function SandboxEmailView() {
  const { id } = useParams();
  const mail = useQuery({
    queryKey: ["sandbox", "detail", id],
    queryFn: ({ signal }) => api.get<SandboxDetail>(`sandbox/${id}`, undefined, signal),
  });
  if (mail.isPending) return <Loading />;
  if (mail.error || !mail.data) {
    return (
      <div className="page">
        <PageHeader title="Sandbox email" />
        <ErrorBanner error={mail.error} />
      </div>
    );
  }
  return (
    <div className="page">
      <PageHeader title={mail.data.subject} description={<Link to="/outbox/sandbox">← Sandbox mailbox</Link>} />
      <section className="card">
        <dl className="facts">
          <dt>To</dt>
          <dd>{mail.data.to.join(", ")}</dd>
          <dt>From</dt>
          <dd>{mail.data.from_email}</dd>
          <dt>Received</dt>
          <dd>{formatDateTime(mail.data.created_at)}</dd>
        </dl>
      </section>
      <EmailParts html={mail.data.html} text={mail.data.text} headers={mail.data.headers} />
    </div>
  );
}
