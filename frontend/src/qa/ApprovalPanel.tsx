/** Approval of a journey draft: which revision QA approved, whether it still holds (any later
 * edit withdraws it), and, for admins and QA, approving the current revision. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { errorMessage } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, Loading } from "../lib/ui";
import { useApproval, useApprove, useWithdrawApproval } from "./api";

export function ApprovalPanel({ journeyId }: { journeyId: number }) {
  const canApprove = useCan("approve");
  const status = useApproval(journeyId);
  const approve = useApprove(journeyId);
  const withdraw = useWithdrawApproval(journeyId);
  const [note, setNote] = useState("");
  if (status.isLoading) return <Loading />;
  if (status.isError || !status.data) return <Banner tone="error">{errorMessage(status.error)}</Banner>;
  const data = status.data;
  return (
    <section className={`card qa-approval ${data.approved ? "is-approved" : "is-not-approved"}`} aria-labelledby="approval-title" data-testid="approval" data-approved={data.approved ? "true" : "false"}>
      <h2 id="approval-title">Approval</h2>
      <p>
        {data.required ? "Publishing this journey needs a QA approval of its current draft." : "This workspace does not require an approval to publish; approving still records the review."}{" "}
        {canApprove ? null : <span className="muted">Admins and QA members approve.</span>}
      </p>
      {data.approved && data.approval ? (
        <Banner tone="success" title="Approved">
          Revision {data.approval.revision} approved by {data.approval.approved_by ?? "someone"} on {formatDateTime(data.approval.approved_at)}.
          {data.approval.note ? ` “${data.approval.note}”` : ""} Any edit of the draft or of its templates withdraws it.
        </Banner>
      ) : (
        <Banner tone={data.required ? "warning" : "info"} title="Not approved">
          {data.problem}
        </Banner>
      )}
      {approve.isError ? <Banner tone="error">{errorMessage(approve.error)}</Banner> : null}
      {canApprove ? (
        <div className="form-inline qa-approve-form">
          {!data.approved ? (
            <>
              <input aria-label="Note" placeholder="Note (optional)" value={note} onChange={(event) => setNote(event.target.value)} />
              <button type="button" className="button button-primary" disabled={approve.isPending} onClick={() => approve.mutate({ revision: data.draft_revision, note })}>
                Approve revision {data.draft_revision}
              </button>
            </>
          ) : (
            <button type="button" className="button" disabled={withdraw.isPending} onClick={() => withdraw.mutate()}>
              Withdraw approval
            </button>
          )}
        </div>
      ) : null}
      <p className="muted">
        <Link to={`/journeys/${journeyId}`}>Publish from the canvas</Link> once approved.
      </p>
      {data.history.length ? (
        <details>
          <summary>History</summary>
          <ul>
            {data.history.map((item) => (
              <li key={item.id}>
                Revision {item.revision}, approved by {item.approved_by ?? "someone"} on {formatDateTime(item.approved_at)}
                {item.withdrawn_at ? ` — withdrawn on ${formatDateTime(item.withdrawn_at)} (${item.withdrawn_reason})` : ""}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
