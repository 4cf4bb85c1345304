/**
 * One segment: how many are in it, membership over 30 days, the members (search, pages, export),
 * pasting emails into a list and taking people off it, and deleting the segment.
 */
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ruleText } from "../journeys/summary";
import { formatDateTime, formatDay } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Pager, TextField } from "../lib/ui";
import { MEMBER_PAGE, exportUrl, useAddMembers, useDeleteSegment, useHistory, useMembers, useRemoveMember, useSegment } from "./api";
import { KindTag, ReadyTag } from "./SegmentsPage";
import { contactCount, isEmptyRule, memberLabel, parseEmails } from "./segmentRules";
import type { HistoryDay, Segment } from "./types";

/** A segment that could not be loaded (gone, another workspace's, the network): why, and a way back. */
export function SegmentUnavailable({ error }: { error: unknown }) {
  return (
    <div className="page">
      <PageHeader title="Segment" />
      <ErrorBanner error={error} />
      <Link to="/segments">Back to segments</Link>
    </div>
  );
}

export function SegmentPage() {
  const id = Number(useParams().id);
  const segment = useSegment(id);
  if (segment.isPending) return <Loading />;
  if (segment.error || !segment.data) return <SegmentUnavailable error={segment.error} />;
  return <SegmentView segment={segment.data} />;
}

function SegmentView({ segment }: { segment: Segment }) {
  const canEdit = useCan("edit");
  const isList = segment.kind === "static";
  return (
    <div className="page">
      <p className="segment-back">
        <Link to="/segments">← Segments</Link>
      </p>
      <PageHeader
        title={segment.name}
        description={segment.description || undefined}
        actions={
          <>
            <a className="button" href={exportUrl(segment.id)} download>
              Export CSV
            </a>
            {canEdit && !segment.ready_key ? (
              <Link className="button" to={`/segments/${segment.id}/edit`}>
                Edit
              </Link>
            ) : null}
          </>
        }
      />
      <section className="card segment-summary" aria-label="Summary">
        <div>
          <div className="segment-big" data-testid="member-count">
            {segment.member_count.toLocaleString("en")}
          </div>
          <div className="muted">{segment.member_count === 1 ? "member now" : "members now"}</div>
          <RebuildBar segment={segment} />
        </div>
        <div className="segment-summary-rule">
          <KindTag kind={segment.kind} /> {segment.ready_key ? <ReadyTag /> : null}{" "}
          {isList ? <span>A list: the people you add stay until you take them off.</span> : <RuleText rule={segment.rule} />}
          {segment.ready_key ? <div className="muted">A ready segment: Wayline keeps its rule up to date with your shop's own figures, each night.</div> : null}
          <div className="muted">Updated {formatDateTime(segment.updated_at)}</div>
        </div>
      </section>
      <MembershipChart segmentId={segment.id} />
      {isList && canEdit ? <AddMembers segmentId={segment.id} /> : null}
      <Members segment={segment} canRemove={isList && canEdit} />
      {canEdit && !segment.ready_key ? <DeleteSegment segment={segment} /> : null}
    </div>
  );
}

function RuleText({ rule }: { rule: Segment["rule"] }) {
  if (isEmptyRule(rule)) return <span>Everyone matches: this rule has no conditions.</span>;
  return <span className="segment-rule-text">{ruleText(rule)}</span>;
}

function MembershipChart({ segmentId }: { segmentId: number }) {
  const history = useHistory(segmentId, 30);
  const rows: HistoryDay[] = history.data ?? [];
  const changes = rows.reduce((sum, row) => sum + row.entered + row.left, 0);
  return (
    <section className="card" aria-labelledby="segment-history-title">
      <div className="card-header">
        <h2 id="segment-history-title">Membership over 30 days</h2>
        {rows.length ? <span className="muted">{changes ? `${rows.reduce((sum, row) => sum + row.entered, 0)} entered, ${rows.reduce((sum, row) => sum + row.left, 0)} left` : "no one entered or left"}</span> : null}
      </div>
      <ErrorBanner error={history.error} />
      {history.isPending ? (
        <Loading />
      ) : rows.length ? (
        <figure className="segment-chart" aria-label="Members per day, with entries and exits">
          <ResponsiveContainer width="100%" height={240}>
            <ComposedChart data={rows} margin={{ top: 8, right: 4, bottom: 0, left: -16 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="day" tickFormatter={(day: string) => formatDay(day)} minTickGap={16} fontSize={12} />
              <YAxis allowDecimals={false} fontSize={12} />
              <Tooltip labelFormatter={(day) => formatDay(String(day))} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Bar dataKey="entered" name="Entered" fill="#2e9d5b" radius={[3, 3, 0, 0]} />
              <Bar dataKey="left" name="Left" fill="#d07a4a" radius={[3, 3, 0, 0]} />
              <Line type="linear" dataKey="members" name="Members" stroke="#4f5bd5" strokeWidth={2} dot={false} />
            </ComposedChart>
          </ResponsiveContainer>
        </figure>
      ) : null}
    </section>
  );
}

function Members({ segment, canRemove }: { segment: Segment; canRemove: boolean }) {
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [offset, setOffset] = useState(0);
  useEffect(() => {
    const timer = setTimeout(() => {
      setQ(text.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(timer);
  }, [text]);
  const members = useMembers(segment.id, q, offset);
  const remove = useRemoveMember(segment.id);
  const empty = members.data?.count === 0;
  return (
    <section className="card card-flush" aria-labelledby="segment-members-title">
      <div className="card-header">
        <h2 id="segment-members-title">Members</h2>
      </div>
      <div className="segment-members-search">
        <TextField label="Search members" type="search" placeholder="Email or user id" value={text} onChange={(event) => setText(event.target.value)} />
      </div>
      <ErrorBanner error={members.error ?? remove.error} />
      {members.isPending ? (
        <Loading />
      ) : empty && q ? (
        <p className="table-empty">No member's email or user id contains “{q}”.</p>
      ) : empty ? (
        <p className="table-empty">
          {segment.kind === "static"
            ? "Nobody is on this list yet. Paste their emails above to add them."
            : "Nobody matches this rule right now. Contacts enter on their own as soon as they do."}
        </p>
      ) : members.data ? (
        <table className="table segment-table" aria-label="Members">
          <thead>
            <tr>
              <th scope="col">Contact</th>
              <th scope="col" className="optional">
                User id
              </th>
              <th scope="col">Entered</th>
              {canRemove ? (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {members.data.results.map((member) => (
              <tr key={member.id}>
                <td>
                  <Link to={`/contacts/${member.id}`}>{memberLabel(member)}</Link>
                  {member.name && member.email ? <span className="cell-sub">{member.email}</span> : null}
                </td>
                <td className="mono optional">{member.user_id ?? <span className="muted">anonymous</span>}</td>
                <td>{formatDateTime(member.entered_at)}</td>
                {canRemove ? (
                  <td className="actions">
                    <button type="button" className="button button-quiet button-small" disabled={remove.isPending} onClick={() => remove.mutate(member.id)} aria-label={`Remove ${memberLabel(member)} from the list`}>
                      Remove
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {members.data ? <Pager offset={offset} limit={MEMBER_PAGE} count={members.data.count} onChange={setOffset} /> : null}
    </section>
  );
}

function AddMembers({ segmentId }: { segmentId: number }) {
  const [text, setText] = useState("");
  const add = useAddMembers(segmentId);
  const emails = parseEmails(text);
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!emails.length) return;
    add.mutate(emails, { onSuccess: () => setText("") });
  }
  return (
    <section className="card" aria-labelledby="segment-add-title">
      <h2 id="segment-add-title">Add people</h2>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="segment-add-emails">Emails</label>
          <textarea id="segment-add-emails" rows={4} value={text} placeholder={"ada@example.com\nbob@example.com"} onChange={(event) => setText(event.target.value)} aria-describedby="segment-add-hint" />
          <div className="field-hint" id="segment-add-hint">
            Paste from a spreadsheet or an email: one per line, or separated by commas. Only people already among your contacts can be added.
          </div>
        </div>
        <button type="submit" className="button button-primary" disabled={!emails.length || add.isPending}>
          {add.isPending ? "Adding…" : emails.length ? `Add ${emails.length === 1 ? "1 person" : `${emails.length} people`}` : "Add"}
        </button>
      </form>
      <ErrorBanner error={add.error} />
      {add.data ? (
        <Banner tone={add.data.not_found.length ? "warning" : "success"}>
          {add.data.added === 1 ? "Added 1 person." : `Added ${add.data.added} people.`}
          {add.data.not_found.length ? ` Not among your contacts: ${add.data.not_found.join(", ")}.` : ""}
        </Banner>
      ) : null}
    </section>
  );
}

function DeleteSegment({ segment }: { segment: Segment }) {
  const [asking, setAsking] = useState(false);
  const remove = useDeleteSegment(segment.id);
  const navigate = useNavigate();
  return (
    <section className="card danger-zone" aria-labelledby="segment-delete-title">
      <h2 id="segment-delete-title">Delete this segment</h2>
      {asking ? (
        <div role="alertdialog" aria-labelledby="segment-delete-question" className="segment-confirm">
          <p id="segment-delete-question">
            Delete “{segment.name}”? Its {contactCount(segment.member_count)} stay in your contacts; only the segment and its history go. This cannot be undone.
          </p>
          <div className="segment-editor-actions">
            <button type="button" className="button button-danger-solid" disabled={remove.isPending} onClick={() => remove.mutate(undefined, { onSuccess: () => navigate("/segments") })}>
              {remove.isPending ? "Deleting…" : "Delete segment"}
            </button>
            <button type="button" className="button button-quiet" onClick={() => setAsking(false)}>
              Keep it
            </button>
          </div>
          <ErrorBanner error={remove.error} />
        </div>
      ) : (
        <button type="button" className="button button-danger" onClick={() => setAsking(true)}>
          Delete segment…
        </button>
      )}
    </section>
  );
}

/** A worker is evaluating every contact for the rule just saved: how far it is. */
function RebuildBar({ segment }: { segment: Segment }) {
  const progress = segment.rebuild && "state" in segment.rebuild ? segment.rebuild : null;
  if (progress === null || progress.state === "done") return null;
  if (progress.state === "failed") {
    return (
      <p className="error" role="alert">
        Counting the members stopped on an error; save the rule again to retry.
      </p>
    );
  }
  const total = progress.total ?? 0;
  const percent = total > 0 ? Math.min(100, Math.round((100 * progress.done) / total)) : 0;
  return (
    <div className="segment-rebuild" data-testid="rebuild-progress">
      <progress max={100} value={percent} aria-label="Members counted" />
      <span className="muted">
        {progress.state === "queued" ? "Waiting for a worker to count the members…" : `Counting members: ${percent}% of ${total.toLocaleString("en")} contacts`}
      </span>
    </div>
  );
}
