/** A contact's activity on its profile: the journeys it is in or was in (where it is now, what it
 * earned) and every email it was sent, with opens, clicks and unsubscribes. */
import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, type Page } from "../lib/api";
import { formatDateTime, formatMoney } from "../lib/format";
import { ErrorBanner, Loading, Pager, Tag } from "../lib/ui";
import "./contactActivity.css";

/** GET /api/contacts/{id}/journeys (journeys/customers/api.py, ContactEnrollmentSerializer). */
export interface ContactJourney {
  id: number;
  journey: { id: number; name: string };
  version: number;
  status: "active" | "waiting" | "completed" | "exited" | "failed";
  node: { id: string; type: string; label: string };
  node_entered_at: string;
  wake_at: string | null;
  entered_at: string;
  finished_at: string | null;
  exit_reason: string;
  conversion: { goal: string; revenue: number; currency: string; at: string } | null;
}

/** A row of GET /api/outbox?contact= (delivery/api.py, MessageSerializer): what this page shows. */
export interface ContactEmail {
  id: number;
  status: string;
  reason: string;
  subject: string;
  template: string;
  journey: { id: number; name: string } | null;
  sent_at: string | null;
  opened_at: string | null;
  open_count: number;
  clicked_at: string | null;
  click_count: number;
  unsubscribed_at: string | null;
  created_at: string;
}

const LIMIT = 10;

export const activityKeys = {
  journeys: (contactId: number, offset: number) => ["contacts", "journeys", contactId, offset] as const,
  emails: (contactId: number, offset: number) => ["outbox", "contact", contactId, offset] as const,
};

function useContactJourneys(contactId: number, offset: number) {
  return useQuery({
    queryKey: activityKeys.journeys(contactId, offset),
    queryFn: ({ signal }) => api.get<Page<ContactJourney>>(`contacts/${contactId}/journeys`, { offset, limit: LIMIT }, signal),
    placeholderData: keepPreviousData,
  });
}

function useContactEmails(contactId: number, offset: number) {
  return useQuery({
    queryKey: activityKeys.emails(contactId, offset),
    // Test sends rendered for this contact went to a team member, not to the contact: left out.
    queryFn: ({ signal }) => api.get<Page<ContactEmail>>("outbox", { contact: contactId, test: "false", offset, limit: LIMIT }, signal),
    placeholderData: keepPreviousData,
  });
}

const JOURNEY_STATUS: Record<ContactJourney["status"], { label: string; tone: "good" | "neutral" | "warn" | "bad" | "accent" }> = {
  active: { label: "In the journey", tone: "accent" },
  waiting: { label: "In the journey", tone: "accent" },
  completed: { label: "Finished", tone: "neutral" },
  exited: { label: "Left early", tone: "warn" },
  failed: { label: "Stopped by an error", tone: "bad" },
};

const REACHED_GOAL = { label: "Reached the goal", tone: "good" as const };

const EXIT_REASON: Record<string, string> = {
  goal: "reached the journey's goal",
  exit_node: "reached an exit step",
  end_of_path: "reached the end of its path",
  journey_archived: "the journey was archived",
  removed_at_publish: "its step was removed in a new version",
  contact_merged: "merged into another contact",
  unknown_node: "its step no longer exists",
  error: "a step could not run",
};

function stepName(row: ContactJourney): string {
  if (row.node.type === "trigger") return "the start";
  return row.node.label ? `${row.node.label} (${row.node.id})` : row.node.id;
}

/** Where the contact is now (open) or where it finished, in a marketer's words. */
function whereNow(row: ContactJourney): string {
  if (row.status === "waiting") return `Waiting at ${stepName(row)}${row.wake_at ? ` until ${formatDateTime(row.wake_at)}` : " for an event"}`;
  if (row.status === "active") return `Moving on from ${stepName(row)}`;
  const reason = EXIT_REASON[row.exit_reason] ?? row.exit_reason.replaceAll("_", " ");
  return `Ended at ${stepName(row)}${reason ? `: ${reason}` : ""}`;
}

export function ContactJourneys({ contactId }: { contactId: number }) {
  const [offset, setOffset] = useState(0);
  const journeys = useContactJourneys(contactId, offset);
  const page = journeys.data;
  return (
    <section className="card card-flush" aria-labelledby="journeys-heading">
      <div className="card-header">
        <h2 id="journeys-heading">Journeys</h2>
        {page ? <span className="muted">{page.count.toLocaleString()} in total</span> : null}
      </div>
      <ErrorBanner error={journeys.error} />
      {journeys.isPending ? (
        <Loading />
      ) : page && page.results.length === 0 ? (
        <p className="table-empty">Not in any journey yet. A contact joins a journey when it does what starts one.</p>
      ) : page ? (
        <ul className="activity-list" aria-label="Journeys of this contact">
          {page.results.map((row) => {
            const status =
              row.exit_reason === "goal" ? REACHED_GOAL : (JOURNEY_STATUS[row.status] ?? { label: row.status, tone: "neutral" as const });
            return (
              <li key={row.id} aria-label={row.journey.name}>
                <div className="activity-head">
                  <Link to={`/journeys/${row.journey.id}`} className="activity-title">
                    {row.journey.name}
                  </Link>
                  <span className="activity-tags">
                    <Tag tone={status.tone}>{status.label}</Tag>
                    {row.conversion ? <Tag tone="good">Converted {formatMoney(row.conversion.revenue, row.conversion.currency)}</Tag> : null}
                  </span>
                </div>
                <p className="activity-line">{whereNow(row)}</p>
                <p className="activity-line muted">
                  Entered {formatDateTime(row.entered_at)}
                  {row.finished_at ? ` · finished ${formatDateTime(row.finished_at)}` : ""}
                  {row.conversion ? ` · converted ${formatDateTime(row.conversion.at)} (${row.conversion.goal})` : ""} · version {row.version}
                </p>
              </li>
            );
          })}
        </ul>
      ) : null}
      {page ? <Pager offset={offset} limit={LIMIT} count={page.count} onChange={setOffset} /> : null}
    </section>
  );
}

const EMAIL_STATUS: Record<string, { label: string; tone: "good" | "neutral" | "warn" | "bad" | "accent" }> = {
  queued: { label: "Waiting to be sent", tone: "neutral" },
  sending: { label: "Sending", tone: "neutral" },
  sent: { label: "Sent", tone: "good" },
  deferred: { label: "Held back for now", tone: "warn" },
  suppressed: { label: "Not sent", tone: "warn" },
  failed: { label: "Failed", tone: "bad" },
  in_doubt: { label: "Maybe sent", tone: "bad" },
};

export function ContactEmails({ contactId }: { contactId: number }) {
  const [offset, setOffset] = useState(0);
  const emails = useContactEmails(contactId, offset);
  const page = emails.data;
  return (
    <section className="card card-flush" aria-labelledby="emails-heading">
      <div className="card-header">
        <h2 id="emails-heading">Emails</h2>
        {page ? <span className="muted">{page.count.toLocaleString()} in total</span> : null}
      </div>
      <ErrorBanner error={emails.error} />
      {emails.isPending ? (
        <Loading />
      ) : page && page.results.length === 0 ? (
        <p className="table-empty">No email has been sent to this contact yet.</p>
      ) : page ? (
        <ul className="activity-list" aria-label="Emails sent to this contact">
          {page.results.map((email) => {
            const status = EMAIL_STATUS[email.status] ?? { label: email.status.replaceAll("_", " "), tone: "neutral" as const };
            const subject = email.subject || `Email ${email.id} (${email.template})`;
            return (
              <li key={email.id} aria-label={subject}>
                <div className="activity-head">
                  <Link to={`/outbox/${email.id}`} className="activity-title">
                    {subject}
                  </Link>
                  <span className="activity-tags">
                    <Tag tone={status.tone}>{status.label}</Tag>
                    {email.open_count ? <Tag tone="good">{`Opened ×${email.open_count}`}</Tag> : null}
                    {email.click_count ? <Tag tone="good">{`Clicked ×${email.click_count}`}</Tag> : null}
                    {email.unsubscribed_at ? <Tag tone="bad">Unsubscribed</Tag> : null}
                  </span>
                </div>
                <p className="activity-line">
                  {email.journey ? (
                    <>
                      From <Link to={`/journeys/${email.journey.id}`}>{email.journey.name}</Link>
                    </>
                  ) : (
                    "Not from a journey"
                  )}
                  {" · "}
                  {email.sent_at ? `sent ${formatDateTime(email.sent_at)}` : `queued ${formatDateTime(email.created_at)}`}
                </p>
                {email.status === "sent" && !email.open_count && !email.click_count ? (
                  <p className="activity-line muted">Not opened yet.</p>
                ) : null}
                {email.open_count || email.click_count || email.unsubscribed_at ? (
                  <p className="activity-line muted">
                    {[
                      email.opened_at ? `first opened ${formatDateTime(email.opened_at)}` : "",
                      email.clicked_at ? `first clicked ${formatDateTime(email.clicked_at)}` : "",
                      email.unsubscribed_at ? `unsubscribed ${formatDateTime(email.unsubscribed_at)}` : "",
                    ]
                      .filter(Boolean)
                      .join(" · ")}
                  </p>
                ) : null}
                {email.reason && email.status !== "sent" ? <p className="activity-line muted">{email.reason}</p> : null}
              </li>
            );
          })}
        </ul>
      ) : null}
      {page ? <Pager offset={offset} limit={LIMIT} count={page.count} onChange={setOffset} /> : null}
    </section>
  );
}
