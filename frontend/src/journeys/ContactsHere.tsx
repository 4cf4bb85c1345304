/** The side panel's "Contacts here": who is on the selected step now, newest first. */
import { Link } from "react-router-dom";
import { formatDateTime } from "../lib/format";
import { useContactsOnNode, type EnrollmentRow } from "./api";

const STATUS: Record<EnrollmentRow["status"], string> = {
  active: "Moving on now",
  waiting: "Waiting",
  completed: "Finished",
  exited: "Left early",
  failed: "Stopped by an error",
};

export function ContactsHere({ journeyId, nodeId }: { journeyId: number; nodeId: string }) {
  const query = useContactsOnNode(journeyId, nodeId, true);
  const page = query.data;
  return (
    <section className="contacts-here" aria-label="Contacts here">
      <h3>Contacts here{page ? ` (${page.count.toLocaleString()})` : ""}</h3>
      {query.isError ? <p className="muted">The contacts on this step could not be loaded.</p> : null}
      {page && page.count === 0 ? <p className="muted">No contact is on this step now.</p> : null}
      {page && page.results.length ? (
        <ul>
          {page.results.map((row) => (
            <li key={row.id}>
              <Link to={`/contacts/${row.contact.id}`}>{row.contact.email || row.contact.user_id}</Link>
              <span className="muted">
                {" "}
                {STATUS[row.status] ?? row.status}
                {row.wake_at && row.status === "waiting" ? `, until ${formatDateTime(row.wake_at)}` : ""} · v{row.version}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {page && page.count > page.results.length ? <p className="muted">The newest {page.results.length} of {page.count.toLocaleString()}.</p> : null}
    </section>
  );
}
