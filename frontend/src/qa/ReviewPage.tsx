/** Review one journey draft: every persona's email at every email step (with the simulated path
 * that leads there and when it would arrive), path simulation, test sends, approval. */
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useJourney } from "../journeys/api";
import { errorMessage } from "../lib/api";
import { Banner, Loading, PageHeader, Tag } from "../lib/ui";
import { useGallery, type Gallery, type GalleryCell } from "./api";
import { ApprovalPanel } from "./ApprovalPanel";
import { SimulationPanel } from "./SimulationPanel";
import { TestSendButton } from "./TestSendButton";
import { offsetLabel } from "./simulation";

export function ReviewPage() {
  const id = Number(useParams().id);
  const journey = useJourney(id);
  const gallery = useGallery(id);
  return (
    <div className="page qa-review">
      <PageHeader
        title={journey.data ? `Review: ${journey.data.name}` : "Review"}
        description={
          journey.data ? (
            <>
              Draft revision {journey.data.draft_revision} · <Tag tone={journey.data.status === "live" ? "good" : "neutral"}>{journey.data.status}</Tag> ·{" "}
              <Link to={`/journeys/${id}`}>Open on the canvas</Link>
            </>
          ) : null
        }
        actions={
          <button type="button" className="button" onClick={() => gallery.refetch()} disabled={gallery.isFetching}>
            {gallery.isFetching ? "Rendering…" : "Render again"}
          </button>
        }
      />
      <ApprovalPanel journeyId={id} />
      <section aria-labelledby="gallery-title">
        <h2 id="gallery-title">Variant gallery</h2>
        <p className="muted">Each persona's email at each email step of the draft, rendered as sending renders it, at the time the simulation says it would arrive.</p>
        {gallery.isLoading ? <Loading label="Rendering every variant…" /> : null}
        {gallery.isError ? <Banner tone="error">{errorMessage(gallery.error)}</Banner> : null}
        {gallery.data ? <GalleryGrid gallery={gallery.data} journeyId={id} /> : null}
      </section>
      <SimulationPanel journeyId={id} />
    </div>
  );
}

const ROW_STYLE = { display: "contents" } as const;

function GalleryGrid({ gallery, journeyId }: { gallery: Gallery; journeyId: number }) {
  if (!gallery.nodes.length) return <Banner>This draft has no email step yet.</Banner>;
  if (!gallery.personas.length) {
    return (
      <Banner>
        No personas yet: <Link to="/qa/personas">create some</Link> to see their emails.
      </Banner>
    );
  }
  const cells = new Map(gallery.cells.map((cell) => [`${cell.persona}:${cell.node}`, cell]));
  return (
    <div className="qa-gallery" data-testid="gallery" role="table" aria-labelledby="gallery-title" style={{ gridTemplateColumns: `10rem repeat(${gallery.nodes.length}, minmax(18rem, 1fr))` }}>
      {/* Rows are ARIA rows that take no box of their own: their cells stay items of the grid. */}
      <div role="row" style={ROW_STYLE}>
        <div className="qa-gallery-corner" role="columnheader">
          <span className="visually-hidden">Persona</span>
        </div>
        {gallery.nodes.map((node) => (
          <div key={node.id} className="qa-gallery-head" role="columnheader">
            <strong>{node.id}</strong>
            <span className="muted">{node.template ?? "no template"}</span>
            <Link to={`/qa/journeys/${journeyId}/nodes/${encodeURIComponent(node.id)}`}>Live preview</Link>
          </div>
        ))}
      </div>
      {gallery.personas.map((persona) => (
        <GalleryRow key={persona.id} persona={persona} nodes={gallery.nodes.map((node) => node.id)} cells={cells} start={gallery.generated_at} journeyId={journeyId} />
      ))}
    </div>
  );
}

function GalleryRow({
  persona,
  nodes,
  cells,
  start,
  journeyId,
}: {
  persona: Gallery["personas"][number];
  nodes: string[];
  cells: Map<string, GalleryCell>;
  start: string;
  journeyId: number;
}) {
  return (
    <div role="row" style={ROW_STYLE}>
      <div className="qa-gallery-persona" role="rowheader">
        <strong>{persona.name}</strong>
        <span className="muted">{[persona.city, persona.country].filter(Boolean).join(", ")}</span>
      </div>
      {nodes.map((node) => {
        const cell = cells.get(`${persona.id}:${node}`);
        return cell ? <Cell key={node} cell={cell} personaName={persona.name} start={start} journeyId={journeyId} /> : <div key={node} role="cell" />;
      })}
    </div>
  );
}

function Cell({ cell, personaName, start, journeyId }: { cell: GalleryCell; personaName: string; start: string; journeyId: number }) {
  const [open, setOpen] = useState(false);
  const path = cell.path.map((step) => step.node).filter((node, index, all) => all[index - 1] !== node);
  return (
    <div className={`qa-cell${cell.reached ? " is-reached" : " is-off-path"}`} role="cell" data-testid="gallery-cell" data-persona={cell.persona} data-node={cell.node} data-reached={cell.reached ? "true" : "false"}>
      <div className="qa-cell-when">
        {cell.reached && cell.arrives_at ? <Tag tone="good">arrives {offsetLabel(start, cell.arrives_at)}</Tag> : <Tag tone="neutral">not on this persona's path</Tag>}
        {cell.template ? (
          <span className="muted">
            {cell.template.name} v{cell.template.version}
          </span>
        ) : null}
      </div>
      {cell.reached ? (
        <div className="qa-cell-path" title="The simulated path that leads here">
          {["trigger", ...path].join(" → ")}
        </div>
      ) : (
        <div className="qa-cell-path muted">{cell.reason || `path: ${["trigger", ...path].join(" → ") || "—"} (${cell.status})`}</div>
      )}
      {cell.ok ? (
        <>
          <div className="qa-cell-subject" data-testid="cell-subject">
            {cell.subject}
          </div>
          <div className="muted qa-cell-preheader">{cell.preheader}</div>
          {cell.warnings?.length ? <div className="qa-cell-warn">{cell.warnings.length} warning{cell.warnings.length > 1 ? "s" : ""}: {cell.warnings[0].message}</div> : null}
          <div className={`qa-thumb${open ? " is-open" : ""}`}>
            <iframe title={`${cell.node} for ${personaName}`} sandbox="" srcDoc={cell.html} />
          </div>
          <div className="qa-cell-actions">
            <button type="button" className="button button-quiet button-small" onClick={() => setOpen((value) => !value)}>
              {open ? "Smaller" : "Larger"}
            </button>
            <TestSendButton body={{ journey: journeyId, node: cell.node, persona: cell.persona }} />
          </div>
        </>
      ) : (
        <Banner tone="error">{cell.error ?? cell.warnings?.[0]?.message ?? "This variant cannot be rendered."}</Banner>
      )}
    </div>
  );
}
