import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { ErrorBanner, Loading, PageHeader, Pager, SelectField } from "../lib/ui";
import type { AuditEntry } from "./types";

const PAGE_SIZE = 50;

/** Action prefixes to filter by; the server matches entries whose action starts with the value. */
const ACTION_FILTERS = [
  { value: "", label: "All actions" },
  { value: "member.", label: "Members: role changes, deactivations" },
  { value: "member.role_changed", label: "— Role changed" },
  { value: "member.deactivated", label: "— Member deactivated" },
  { value: "member.reactivated", label: "— Member reactivated" },
  { value: "invitation.", label: "Invitations" },
  { value: "invitation.created", label: "— Invitation sent" },
  { value: "invitation.accepted", label: "— Invitation accepted" },
  { value: "invitation.revoked", label: "— Invitation revoked" },
  { value: "write_key.", label: "Write keys" },
  { value: "api_token.", label: "Personal tokens" },
  { value: "journey.", label: "Journeys" },
  { value: "template.", label: "Templates" },
];

const ACTION_LABELS: Record<string, string> = {
  "member.role_changed": "Changed role",
  "member.deactivated": "Deactivated member",
  "member.reactivated": "Reactivated member",
  "invitation.created": "Invited",
  "invitation.accepted": "Accepted invitation",
  "invitation.revoked": "Revoked invitation",
  "write_key.created": "Created write key",
  "write_key.revoked": "Revoked write key",
  "api_token.created": "Created personal token",
  "api_token.revoked": "Revoked personal token",
};

function describeDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}

export function AuditPage() {
  const [action, setAction] = useState("");
  const [offset, setOffset] = useState(0);
  const entries = useQuery({
    queryKey: ["audit", action, offset],
    queryFn: ({ signal }) => api.get<Page<AuditEntry>>("audit", { action, offset, limit: PAGE_SIZE }, signal),
    placeholderData: keepPreviousData,
  });
  return (
    <div className="page">
      <PageHeader title="Audit log" description="Who did what and when in this workspace: role changes, invitations, keys and tokens, and publishing." />
      <section className="card card-flush" aria-label="Audit entries">
        <div className="card-header">
          <SelectField
            label="Action"
            name="action"
            value={action}
            options={ACTION_FILTERS}
            onChange={(event) => {
              setAction(event.target.value);
              setOffset(0);
            }}
          />
          {entries.data ? <span className="muted">{entries.data.count} entries</span> : null}
        </div>
        <div style={{ padding: "0 1.25rem" }}>
          <ErrorBanner error={entries.error} />
        </div>
        {entries.isPending ? (
          <Loading />
        ) : entries.data && entries.data.results.length === 0 ? (
          <p className="table-empty">Nothing recorded{action ? " for this action" : ""} yet.</p>
        ) : entries.data ? (
          <>
            <table className="table" aria-label="Audit log">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {entries.data.results.map((entry) => (
                  <tr key={entry.id} data-action={entry.action}>
                    <td className="nowrap">{formatDateTime(entry.at)}</td>
                    <td>{entry.actor_email || "system"}</td>
                    <td>
                      {ACTION_LABELS[entry.action] ?? entry.action}
                      <span className="cell-sub mono">{entry.action}</span>
                    </td>
                    <td>{entry.target || "—"}</td>
                    <td className="details">{describeDetails(entry.details)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager offset={offset} limit={PAGE_SIZE} count={entries.data.count} onChange={setOffset} />
          </>
        ) : null}
      </section>
    </div>
  );
}
