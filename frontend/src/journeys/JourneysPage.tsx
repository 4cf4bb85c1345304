/** The journeys feature: the list, the builder, and read-only versions. */
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { Link, Route, Routes, useNavigate, useSearchParams } from "react-router-dom";
import { errorMessage } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Tag, fieldError } from "../lib/ui";
import { useCreateJourney, useJourneys, useLibrary } from "./api";
import { JourneyEditorPage } from "./JourneyEditor";
import { VersionPage } from "./VersionPage";
import { who } from "./VersionsDrawer";
import type { JourneyStatus, JourneySummary } from "./types";
import "./journeys.css";

// The report brings the chart library: loaded when opened, so the canvas does not carry it.
const ReportPage = lazy(() => import("./ReportPage"));

export default function JourneysPage() {
  return (
    <Routes>
      <Route index element={<JourneyList />} />
      <Route path=":id" element={<JourneyEditorPage />} />
      <Route path=":id/versions/:number" element={<VersionPage />} />
      <Route
        path=":id/report"
        element={
          <Suspense fallback={<Loading label="Opening the report…" />}>
            <ReportPage />
          </Suspense>
        }
      />
    </Routes>
  );
}

const STATUS_TONE: Record<JourneyStatus, "neutral" | "good" | "warn" | "bad"> = { draft: "neutral", live: "good", paused: "warn", archived: "bad" };
const TRIGGER_TEXT: Record<string, string> = {
  event: "Event",
  inactivity: "Inactivity",
  date_attribute: "Contact date",
  api: "API",
  segment: "Segment",
  price_drop: "Price drop",
  back_in_stock: "Back in stock",
};

function triggerText(journey: JourneySummary): string {
  const kind = journey.trigger_type || "";
  if (kind === "event" && journey.trigger_event) return journey.trigger_event;
  return TRIGGER_TEXT[kind] ?? (kind || "—");
}

function number(value: number | undefined): string {
  return value === undefined || value === null ? "—" : value.toLocaleString();
}

function JourneyList() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const trigger = params.get("trigger") ?? "";
  const search = params.get("search") ?? "";
  const [text, setText] = useState(search);
  const canEdit = useCan("edit");
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => {
      if (text !== search) {
        const next = new URLSearchParams(params);
        if (text) next.set("search", text);
        else next.delete("search");
        setParams(next, { replace: true });
      }
    }, 250);
    return () => clearTimeout(timer);
  }, [text, search, params, setParams]);
  const filters = useMemo(() => Object.fromEntries(Object.entries({ status, q: search }).filter(([, value]) => value)), [status, search]);
  const journeys = useJourneys(filters);
  // Filter here too, so the list is right whatever the server supports.
  const rows = useMemo(
    () =>
      (journeys.data ?? []).filter(
        (journey) =>
          (status ? journey.status === status : journey.status !== "archived") &&
          (!trigger || journey.trigger_type === trigger) &&
          (!search || `${journey.name} ${journey.trigger_event}`.toLowerCase().includes(search.toLowerCase())),
      ),
    [journeys.data, status, trigger, search],
  );
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <div className="page-container journeys-list">
      <PageHeader
        title="Journeys"
        description="Each journey starts from a trigger and takes every contact through its steps: waits, branches, emails."
        actions={
          canEdit ? (
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              New journey
            </button>
          ) : null
        }
      />
      <div className="list-filters" role="search">
        <div className="field">
          <label htmlFor="journey-search">Search</label>
          <input id="journey-search" type="search" value={text} placeholder="Name or event" onChange={(event) => setText(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="journey-status">Status</label>
          <select id="journey-status" value={status} onChange={(event) => setFilter("status", event.target.value)}>
            <option value="">All but archived</option>
            <option value="draft">Draft</option>
            <option value="live">Live</option>
            <option value="paused">Paused</option>
            <option value="archived">Archived</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="journey-trigger">Trigger</label>
          <select id="journey-trigger" value={trigger} onChange={(event) => setFilter("trigger", event.target.value)}>
            <option value="">All</option>
            {Object.entries(TRIGGER_TEXT).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {journeys.isError ? <Banner tone="error">{errorMessage(journeys.error)}</Banner> : null}
      <div className="card card-flush">
        {journeys.isPending ? (
          <Loading />
        ) : rows.length === 0 ? (
          <div className="table-empty" data-testid="journeys-empty">
            {/* The server filters too: an empty answer to a filtered list is no match, not an empty workspace. */}
            {search ? (
              <>
                No journeys match “{search}”{status || trigger ? " with these filters" : ""}.{" "}
                <button type="button" className="button button-quiet button-small" onClick={() => setText("")}>
                  Clear the search
                </button>
              </>
            ) : status || trigger || journeys.data?.length ? (
              "No journey matches these filters."
            ) : canEdit ? (
              "No journeys yet. Start one from scratch or from a ready-made journey."
            ) : (
              "No journeys yet."
            )}
          </div>
        ) : (
          <table className="table" data-testid="journeys-table">
            <thead>
              <tr>
                <th scope="col">Journey</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col" className="num">
                  In now
                </th>
                <th scope="col" className="num" title="Entered in the last 7 days">
                  Entered 7d
                </th>
                <th scope="col" className="num" title="Converted in the last 7 days">
                  Converted 7d
                </th>
                <th scope="col">Last edited</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((journey) => (
                <tr key={journey.id}>
                  <td>
                    <Link to={`/journeys/${journey.id}`} className="journey-link">
                      {journey.name}
                    </Link>
                    {journey.description ? <span className="cell-sub">{journey.description}</span> : null}
                  </td>
                  <td>
                    <Tag tone={STATUS_TONE[journey.status]}>{journey.status}</Tag>
                  </td>
                  <td>{triggerText(journey)}</td>
                  <td className="num">{number(journey.in_journey)}</td>
                  <td className="num">{number(journey.entered_7d)}</td>
                  <td className="num">{number(journey.converted_7d)}</td>
                  <td>
                    {formatDateTime(journey.updated_at)}
                    {who(journey.updated_by) ? <span className="cell-sub">by {who(journey.updated_by)}</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {creating ? <NewJourneyDialog onClose={() => setCreating(false)} /> : null}
    </div>
  );
}

function NewJourneyDialog({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [start, setStart] = useState("");
  const library = useLibrary(true);
  const create = useCreateJourney();
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  const submit = () => {
    const chosen = library.data?.find((item) => item.key === start);
    create.mutate({ name: name.trim() || chosen?.name || "", ...(start ? { library_key: start } : {}) }, { onSuccess: (journey) => navigate(`/journeys/${journey.id}`) });
  };
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="new-journey-title" onClose={onClose} onCancel={onClose}>
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <header className="dialog-head">
          <h2 id="new-journey-title">New journey</h2>
        </header>
        <div className="field">
          <label htmlFor="new-journey-name">Name</label>
          <input id="new-journey-name" value={name} autoFocus placeholder="Cart abandonment" onChange={(event) => setName(event.target.value)} aria-invalid={fieldError(create.error, "name") ? true : undefined} />
          {fieldError(create.error, "name") ? <div className="field-error">{fieldError(create.error, "name")}</div> : null}
        </div>
        <fieldset className="start-options">
          <legend>Start from</legend>
          <label className={`start-option${start === "" ? " is-on" : ""}`}>
            <input type="radio" name="start" value="" checked={start === ""} onChange={() => setStart("")} />
            <strong>An empty canvas</strong>
            <span className="muted">Just the trigger; add the steps yourself.</span>
          </label>
          {library.isPending ? <Loading label="Loading ready-made journeys…" /> : null}
          {(library.data ?? []).map((item) => (
            <label key={item.key} className={`start-option${start === item.key ? " is-on" : ""}`}>
              <input type="radio" name="start" value={item.key} checked={start === item.key} onChange={() => setStart(item.key)} />
              <strong>{item.name}</strong>
              <span className="muted">{item.description}</span>
            </label>
          ))}
        </fieldset>
        <ErrorBanner error={create.error} shownFields={["name"]} />
        <footer className="dialog-foot">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={create.isPending || (!name.trim() && !start)}>
            {create.isPending ? "Creating…" : "Create journey"}
          </button>
        </footer>
      </form>
    </dialog>
  );
}
