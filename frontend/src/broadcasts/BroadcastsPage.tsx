/**
 * Broadcasts: a template sent, or a journey entered, once to every member of a segment — now, at a
 * time, at a time of day in each contact's own timezone, or (a template) at each contact's best time
 * within 24 hours. The list, the form, and one broadcast's page with its progress bar while it runs
 * and then what it did (its journey's report).
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link, Route, Routes, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useJourneys } from "../journeys/api";
import { reportKeys, useJourneyReport } from "../journeys/reportApi";
import { formatRate, presetRange } from "../journeys/reportFormat";
import { ApiError } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Pager, SelectField, Tag, TextField, fieldError, useDocumentTitle } from "../lib/ui";
import { useSegments } from "../segments/api";
import { useTemplates } from "../templates/api";
import { BROADCAST_PAGE, REPORT_POLL_MS, useBroadcast, useBroadcasts, useCancelBroadcast, useCreateBroadcast, useDeleteBroadcast, useStartBroadcast } from "./api";
import type { Broadcast, BroadcastKind, BroadcastSchedule, BroadcastStatus } from "./types";
import "./broadcasts.css";

export default function BroadcastsPage() {
  return (
    <Routes>
      <Route index element={<BroadcastList />} />
      <Route path="new" element={<BroadcastForm />} />
      <Route path=":id" element={<BroadcastPage />} />
    </Routes>
  );
}

const STATUS_LABEL: Record<BroadcastStatus, string> = {
  draft: "Draft",
  scheduled: "Scheduled",
  running: "Sending",
  sent: "Sent",
  cancelled: "Cancelled",
  failed: "Failed",
};
const STATUS_TONE: Record<BroadcastStatus, "neutral" | "good" | "bad" | "warn" | "accent"> = {
  draft: "neutral",
  scheduled: "accent",
  running: "accent",
  sent: "good",
  cancelled: "warn",
  failed: "bad",
};

function StatusTag({ status }: { status: BroadcastStatus }) {
  return <Tag tone={STATUS_TONE[status]}>{STATUS_LABEL[status]}</Tag>;
}

function whenText(broadcast: Broadcast): string {
  if (broadcast.schedule === "at") return `At ${formatDateTime(broadcast.send_at)}`;
  if (broadcast.schedule === "local_time") return `${broadcast.local_time} in each contact's timezone`;
  if (broadcast.schedule === "best_time") return "At each contact's best time (within 24 hours)";
  return "Now";
}

function BroadcastList() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const canEdit = useCan("edit");
  const navigate = useNavigate();
  const list = useBroadcasts(offset);
  useDocumentTitle("Broadcasts");
  return (
    <div className="page">
      <PageHeader
        title="Broadcasts"
        description="Send a template, or start a journey, once for everyone in a segment: now, at a time, or at a time of day in each contact's timezone."
        actions={
          canEdit ? (
            <Link className="button button-primary" to="/broadcasts/new">
              New broadcast
            </Link>
          ) : null
        }
      />
      <section className="card card-flush">
        <ErrorBanner error={list.error} />
        {list.isPending ? (
          <Loading />
        ) : list.data && list.data.results.length === 0 ? (
          <p className="table-empty">No broadcasts yet.</p>
        ) : list.data ? (
          <table className="table broadcast-table" aria-label="Broadcasts">
            <thead>
              <tr>
                <th scope="col">Broadcast</th>
                <th scope="col">Status</th>
                <th scope="col" className="optional">
                  Segment
                </th>
                <th scope="col" className="num">
                  Entered
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((broadcast) => (
                <tr key={broadcast.id} className="row-link" onClick={() => navigate(`/broadcasts/${broadcast.id}`)}>
                  <td>
                    <Link to={`/broadcasts/${broadcast.id}`} onClick={(event) => event.stopPropagation()}>
                      {broadcast.name}
                    </Link>
                    <span className="cell-sub">{whenText(broadcast)}</span>
                  </td>
                  <td>
                    <StatusTag status={broadcast.status} />
                  </td>
                  <td className="optional">{broadcast.segment_name ?? "—"}</td>
                  <td className="num">{broadcast.status === "draft" ? "—" : `${broadcast.entered.toLocaleString("en")} / ${broadcast.total.toLocaleString("en")}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {list.data ? <Pager offset={offset} limit={BROADCAST_PAGE} count={list.data.count} onChange={(next) => setParams({ offset: String(next) })} /> : null}
      </section>
    </div>
  );
}

const FORM_FIELDS = ["name", "segment", "template", "journey", "schedule", "send_at", "local_time", "kind"];

function BroadcastForm() {
  const navigate = useNavigate();
  const segments = useSegments("", 0);
  const templates = useTemplates();
  const journeys = useJourneys({ status: "live" });
  const create = useCreateBroadcast();
  const [name, setName] = useState("");
  const [segment, setSegment] = useState("");
  const [kind, setKind] = useState<BroadcastKind>("template");
  const [template, setTemplate] = useState("");
  const [journey, setJourney] = useState("");
  const [schedule, setSchedule] = useState<BroadcastSchedule>("now");
  const [sendAt, setSendAt] = useState("");
  const [localTime, setLocalTime] = useState("09:00");
  const chooseKind = (next: BroadcastKind) => {
    setKind(next);
    if (next === "journey" && schedule === "best_time") setSchedule("now"); // a journey's emails choose their own time
  };
  useDocumentTitle("New broadcast");
  const chosen = segments.data?.results.find((item) => String(item.id) === segment);
  const error = create.error;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      {
        name,
        kind,
        segment: segment ? Number(segment) : null,
        ...(kind === "template" ? { template } : { journey: journey ? Number(journey) : null }),
        schedule,
        ...(schedule === "at" ? { send_at: sendAt ? new Date(sendAt).toISOString() : null } : {}),
        ...(schedule === "local_time" ? { local_time: localTime } : {}),
      },
      { onSuccess: (broadcast) => navigate(`/broadcasts/${broadcast.id}`) },
    );
  };

  return (
    <div className="page">
      <p className="broadcast-back">
        <Link to="/broadcasts">← Broadcasts</Link>
      </p>
      <PageHeader title="New broadcast" />
      <form className="card broadcast-form" onSubmit={submit} aria-label="New broadcast">
        <ErrorBanner error={error} shownFields={FORM_FIELDS} />
        <TextField label="Name" value={name} onChange={(event) => setName(event.target.value)} error={fieldError(error, "name")} required maxLength={200} />
        <SelectField
          label="Segment"
          value={segment}
          onChange={(event) => setSegment(event.target.value)}
          error={fieldError(error, "segment")}
          options={[{ value: "", label: "Choose a segment…" }, ...(segments.data?.results ?? []).map((item) => ({ value: String(item.id), label: `${item.name} (${item.member_count.toLocaleString("en")})` }))]}
        />
        {chosen ? (
          <p className="field-hint" data-testid="segment-member-count">
            {chosen.member_count === 0 ? "This segment has no members yet." : `${chosen.member_count.toLocaleString("en")} ${chosen.member_count === 1 ? "contact is" : "contacts are"} in it now.`}
          </p>
        ) : null}
        <fieldset className="broadcast-choice">
          <legend>What it does</legend>
          <label>
            <input type="radio" name="kind" checked={kind === "template"} onChange={() => setKind("template")} /> Send a template
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === "journey"} onChange={() => chooseKind("journey")} /> Enter a journey
          </label>
        </fieldset>
        {kind === "template" ? (
          <SelectField
            label="Template"
            value={template}
            onChange={(event) => setTemplate(event.target.value)}
            error={fieldError(error, "template")}
            options={[{ value: "", label: "Choose a template…" }, ...(templates.data ?? []).filter((item) => item.version !== null).map((item) => ({ value: item.slug, label: `${item.name} — ${item.subject}` }))]}
          />
        ) : (
          <SelectField
            label="Journey"
            value={journey}
            onChange={(event) => setJourney(event.target.value)}
            error={fieldError(error, "journey")}
            options={[{ value: "", label: "Choose a live journey…" }, ...(journeys.data ?? []).map((item) => ({ value: String(item.id), label: item.name }))]}
          />
        )}
        <fieldset className="broadcast-choice">
          <legend>When</legend>
          <label>
            <input type="radio" name="schedule" checked={schedule === "now"} onChange={() => setSchedule("now")} /> Now
          </label>
          <label>
            <input type="radio" name="schedule" checked={schedule === "at"} onChange={() => setSchedule("at")} /> At a time
          </label>
          <label>
            <input type="radio" name="schedule" checked={schedule === "local_time"} onChange={() => setSchedule("local_time")} /> At a time of day in each contact's timezone
          </label>
          {kind === "template" ? (
            <label>
              <input type="radio" name="schedule" checked={schedule === "best_time"} onChange={() => setSchedule("best_time")} /> At each contact's best time (within 24 hours)
            </label>
          ) : null}
        </fieldset>
        {schedule === "at" ? <TextField label="Send at" type="datetime-local" value={sendAt} onChange={(event) => setSendAt(event.target.value)} error={fieldError(error, "send_at")} /> : null}
        {schedule === "local_time" ? (
          <TextField
            label="Time of day"
            type="time"
            value={localTime}
            onChange={(event) => setLocalTime(event.target.value)}
            error={fieldError(error, "local_time")}
            hint="Contacts without a timezone get it at this time in UTC."
          />
        ) : null}
        {schedule === "best_time" && kind === "template" ? (
          <p className="field-hint">Each contact gets it in the hour of the week it tends to open or click, within 24 hours of the start; contacts with little history get the workspace's usual time. Quiet hours and the frequency cap still apply.</p>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={create.isPending}>
            Save broadcast
          </button>
        </div>
      </form>
    </div>
  );
}

function BroadcastPage() {
  const id = Number(useParams().id);
  const broadcast = useBroadcast(id);
  useDocumentTitle(broadcast.data?.name ?? "Broadcast");
  if (broadcast.isPending) return <Loading />;
  if (broadcast.error || !broadcast.data)
    return (
      <div className="page">
        <PageHeader title="Broadcast" />
        <ErrorBanner error={broadcast.error} />
        <Link to="/broadcasts">Back to broadcasts</Link>
      </div>
    );
  return <BroadcastView broadcast={broadcast.data} />;
}

function BroadcastView({ broadcast }: { broadcast: Broadcast }) {
  const canEdit = useCan("edit");
  const navigate = useNavigate();
  const start = useStartBroadcast(broadcast.id);
  const cancel = useCancelBroadcast(broadcast.id);
  const remove = useDeleteBroadcast(broadcast.id);
  const [confirming, setConfirming] = useState(false);
  const error = start.error ?? cancel.error ?? remove.error;
  const segmentProblem = error instanceof ApiError ? error.field("segment") : undefined;
  return (
    <div className="page">
      <p className="broadcast-back">
        <Link to="/broadcasts">← Broadcasts</Link>
      </p>
      <PageHeader
        title={broadcast.name}
        description={
          <>
            <StatusTag status={broadcast.status} /> {broadcast.kind === "template" ? `Sends “${broadcast.template}”` : `Enters “${broadcast.journey_name ?? "a journey"}”`} to{" "}
            {broadcast.segment_name ?? "a deleted segment"} · {whenText(broadcast)}
          </>
        }
        actions={
          canEdit ? (
            <>
              {broadcast.status === "draft" ? (
                <>
                  <button type="button" className="button button-primary" disabled={start.isPending} onClick={() => start.mutate()}>
                    {broadcast.schedule === "at" ? "Schedule" : "Start"}
                  </button>
                  <button type="button" className="button" disabled={remove.isPending} onClick={() => remove.mutate(undefined, { onSuccess: () => navigate("/broadcasts") })}>
                    Delete
                  </button>
                </>
              ) : null}
              {broadcast.can_cancel ? (
                confirming ? (
                  <span role="group" aria-label="Cancel the broadcast?">
                    <button type="button" className="button button-danger" onClick={() => cancel.mutate(undefined, { onSettled: () => setConfirming(false) })}>
                      Cancel the rest
                    </button>
                    <button type="button" className="button" onClick={() => setConfirming(false)}>
                      Keep sending
                    </button>
                  </span>
                ) : (
                  <button type="button" className="button" onClick={() => setConfirming(true)}>
                    Cancel broadcast…
                  </button>
                )
              ) : null}
            </>
          ) : null
        }
      />
      {segmentProblem ? <Banner tone="error">{segmentProblem}</Banner> : <ErrorBanner error={error} />}
      {broadcast.error ? <Banner tone="error">{broadcast.error}</Banner> : null}
      {broadcast.status === "draft" ? (
        <section className="card">
          <p>
            {broadcast.member_count.toLocaleString("en")} {broadcast.member_count === 1 ? "contact is" : "contacts are"} in {broadcast.segment_name ?? "the segment"} now. Those in it when the broadcast starts get it, once each.
          </p>
        </section>
      ) : broadcast.status === "scheduled" ? (
        <section className="card">
          <p>Starts {formatDateTime(broadcast.send_at)}.</p>
        </section>
      ) : (
        <Progress broadcast={broadcast} />
      )}
      {broadcast.journey && broadcast.status !== "draft" && broadcast.status !== "scheduled" ? <Results broadcast={broadcast} journeyId={broadcast.journey} /> : null}
    </div>
  );
}

const REASONS: Record<string, string> = {
  duplicate_trigger: "entered already",
  already_in_journey: "already in the journey",
  already_entered_once: "entered this journey before",
  not_in_audience: "not in the journey's audience",
  cooldown: "entered recently",
};

function Progress({ broadcast }: { broadcast: Broadcast }) {
  const done = broadcast.entered + broadcast.skipped;
  const percent = Math.round(broadcast.progress);
  const reasons = Object.entries(broadcast.skipped_reasons);
  return (
    <section className="card broadcast-progress" aria-label="Progress">
      <div className="broadcast-progress-head">
        <strong data-testid="broadcast-progress-text">
          {done.toLocaleString("en")} of {broadcast.total.toLocaleString("en")}
        </strong>
        <span>{percent}%</span>
      </div>
      <div className="broadcast-bar" role="progressbar" aria-label="Contacts entered" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="broadcast-bar-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="field-hint">
        {broadcast.entered.toLocaleString("en")} entered{broadcast.skipped ? `, ${broadcast.skipped.toLocaleString("en")} skipped` : ""}
        {reasons.length ? ` (${reasons.map(([reason, n]) => `${n.toLocaleString("en")} ${REASONS[reason] ?? reason}`).join(", ")})` : ""}.
        {broadcast.started_at ? ` Started ${formatDateTime(broadcast.started_at)}.` : ""}
        {broadcast.finished_at ? ` Done ${formatDateTime(broadcast.finished_at)}.` : ""}
      </p>
    </section>
  );
}

/** What it did: the figures of its journey's report (the same endpoint and hook as the journey's Report tab). */
function Results({ broadcast, journeyId }: { broadcast: Broadcast; journeyId: number }) {
  const [query] = useState(() => ({ ...presetRange(30, new Date()), version: null }));
  const report = useJourneyReport(journeyId, query);
  const email = report.data?.nodes.find((node) => node.email)?.email;
  // Asked again while the emails of those entered are still going out (the report's own hook has no polling).
  const client = useQueryClient();
  const pending = broadcast.kind === "template" && broadcast.status !== "cancelled" && (email?.sent ?? 0) + (email?.failed ?? 0) + (email?.suppressed ?? 0) < broadcast.entered;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => client.invalidateQueries({ queryKey: reportKeys.report(journeyId, query) }), REPORT_POLL_MS);
    return () => clearInterval(timer);
  }, [pending, client, journeyId, query]);
  return (
    <section className="card" aria-label="Results">
      <div className="broadcast-results-head">
        <h2>Results</h2>
        <Link to={`/journeys/${journeyId}/report`}>Full report</Link>
      </div>
      <ErrorBanner error={report.error} />
      {report.data ? (
        <dl className="broadcast-figures">
          <div>
            <dt>Entered</dt>
            <dd>{report.data.totals.entries.toLocaleString("en")}</dd>
          </div>
          {broadcast.kind === "template" && email ? (
            <>
              <div>
                <dt>Sent</dt>
                <dd data-testid="broadcast-sent">{email.sent.toLocaleString("en")}</dd>
              </div>
              <div>
                <dt>Opened</dt>
                <dd>{formatRate(email.open_rate)}</dd>
              </div>
              <div>
                <dt>Clicked</dt>
                <dd>{formatRate(email.click_rate)}</dd>
              </div>
            </>
          ) : null}
          <div>
            <dt>Conversions</dt>
            <dd>{report.data.totals.conversions.toLocaleString("en")}</dd>
          </div>
        </dl>
      ) : report.isPending ? (
        <Loading />
      ) : null}
    </section>
  );
}
