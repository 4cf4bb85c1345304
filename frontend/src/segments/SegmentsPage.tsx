/** Segments: saved audiences (a rule Wayline keeps up to date, or a list filled by hand), their editor and their page. */
import { useEffect, useState } from "react";
import { Link, Route, Routes, useNavigate, useSearchParams } from "react-router-dom";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { ErrorBanner, Loading, PageHeader, Pager, Tag, TextField } from "../lib/ui";
import { SEGMENT_PAGE, useSegments } from "./api";
import { SegmentEditorPage } from "./SegmentEditor";
import { SegmentPage } from "./SegmentPage";
import { contactCount } from "./segmentRules";
import type { SegmentKind } from "./types";
import "./segments.css";

export default function SegmentsPage() {
  return (
    <Routes>
      <Route index element={<SegmentList />} />
      <Route path="new" element={<SegmentEditorPage />} />
      <Route path=":id" element={<SegmentPage />} />
      <Route path=":id/edit" element={<SegmentEditorPage />} />
    </Routes>
  );
}

export const KIND_LABEL: Record<SegmentKind, string> = { dynamic: "Rule", static: "List" };

/** A ready segment: its rule is Wayline's (journeys/predictions/ready.py). */
export function ReadyTag() {
  return <Tag tone="neutral">Ready</Tag>;
}

export function KindTag({ kind }: { kind: SegmentKind }) {
  return <Tag tone={kind === "dynamic" ? "accent" : "neutral"}>{KIND_LABEL[kind]}</Tag>;
}

function SegmentList() {
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const [text, setText] = useState(search);
  const canEdit = useCan("edit");
  const navigate = useNavigate();
  useEffect(() => {
    const timer = setTimeout(() => {
      if (text !== search) setParams(text ? { search: text } : {}, { replace: true });
    }, 250);
    return () => clearTimeout(timer);
  }, [text, search, setParams]);
  const segments = useSegments(search, offset);
  const nothingYet = segments.data?.count === 0 && !search;
  return (
    <div className="page">
      <PageHeader
        title="Segments"
        description="Groups of contacts you describe once. A rule keeps itself up to date as contacts change; a list holds exactly the people you put in it."
        actions={
          canEdit ? (
            <Link className="button button-primary" to="/segments/new">
              New segment
            </Link>
          ) : null
        }
      />
      {nothingYet ? null : (
        <div className="toolbar">
          <TextField label="Search" type="search" placeholder="Segment name" value={text} onChange={(event) => setText(event.target.value)} />
        </div>
      )}
      <section className="card card-flush">
        <ErrorBanner error={segments.error} />
        {segments.isPending ? (
          <Loading />
        ) : nothingYet ? (
          <div className="table-empty segment-empty">
            <p>
              <strong>No segments yet.</strong>
            </p>
            <p>
              Describe an audience once — “plan is pro”, “ordered in the last 30 days”, “left a cart over €100” — and Wayline keeps it up to date as your contacts change. Or make a list and
              paste the emails of the people in it.
            </p>
            {canEdit ? (
              <Link className="button button-primary" to="/segments/new">
                Create your first segment
              </Link>
            ) : null}
          </div>
        ) : segments.data && segments.data.results.length === 0 ? (
          <p className="table-empty">No segment is called anything like “{search}”.</p>
        ) : segments.data ? (
          <table className="table segment-table" aria-label="Segments">
            <thead>
              <tr>
                <th scope="col">Segment</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Members now
                </th>
                <th scope="col" className="optional">
                  Updated
                </th>
              </tr>
            </thead>
            <tbody>
              {segments.data.results.map((segment) => (
                <tr key={segment.id} className="row-link" onClick={() => navigate(`/segments/${segment.id}`)}>
                  <td>
                    <Link to={`/segments/${segment.id}`} onClick={(event) => event.stopPropagation()}>
                      {segment.name}
                    </Link>
                    {segment.description ? <span className="cell-sub">{segment.description}</span> : null}
                  </td>
                  <td>
                    <KindTag kind={segment.kind} /> {segment.ready_key ? <ReadyTag /> : null}
                  </td>
                  <td className="num" aria-label={contactCount(segment.member_count)}>
                    {segment.member_count.toLocaleString("en")}
                  </td>
                  <td className="optional">{formatDateTime(segment.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {segments.data ? <Pager offset={offset} limit={SEGMENT_PAGE} count={segments.data.count} onChange={(next) => setParams({ ...(search ? { search } : {}), offset: String(next) })} /> : null}
      </section>
    </div>
  );
}
