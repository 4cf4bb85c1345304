/** One published version, read-only: the canvas as it was published. */
import { useMemo } from "react";
import { Link, useParams } from "react-router-dom";
import { ReactFlowProvider } from "@xyflow/react";
import { errorMessage } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { Banner, Loading } from "../lib/ui";
import { useTemplates, templateRef } from "../templates/api";
import { useJourney, useVersion } from "./api";
import { CanvasContext, type CanvasView } from "./context";
import { FlowCanvas } from "./FlowCanvas";
import { autoLayout } from "./layout";
import { definitionToGraph, needsLayout } from "./store";
import { triggerSummary } from "./summary";
import { who } from "./VersionsDrawer";
import "./journeys.css";

export function VersionPage() {
  const params = useParams();
  const id = Number(params.id);
  const number = Number(params.number);
  const journey = useJourney(id);
  const version = useVersion(id, number);
  const templates = useTemplates();
  const graph = useMemo(() => {
    if (!version.data) return null;
    const drawn = definitionToGraph(version.data.definition);
    return needsLayout(version.data.definition) ? autoLayout(drawn) : drawn;
  }, [version.data]);
  const view: CanvasView = useMemo(
    () => ({
      problems: [],
      counts: null,
      readOnly: true,
      templateName: (ref: string) => templates.data?.find((item) => templateRef(item) === ref)?.name,
      triggerText: graph ? triggerSummary(graph.settings) : "",
    }),
    [graph, templates.data],
  );
  if (version.isError) {
    return (
      <div className="page-container">
        <Banner tone="error">{errorMessage(version.error)}</Banner>
        <Link to={`/journeys/${id}`}>Back to the journey</Link>
      </div>
    );
  }
  if (!graph || !version.data) return <Loading label="Opening the version…" />;
  return (
    <CanvasContext.Provider value={view}>
      <div className="journey-editor" data-readonly="true" data-testid="version-view">
        <header className="editor-bar">
          <Link to={`/journeys/${id}`} className="button button-quiet button-small editor-back" aria-label="Back to the draft">
            ←
          </Link>
          <div className="editor-title">
            <h1 className="editor-name-static">
              {journey.data?.name ?? "Journey"} · version {number}
            </h1>
            <span className="muted">
              published {formatDateTime(version.data.published_at)}
              {who(version.data.published_by) ? ` by ${who(version.data.published_by)}` : ""}
            </span>
          </div>
          <div className="editor-actions">
            <Link to={`/journeys/${id}`} className="button button-small">
              Back to the draft
            </Link>
          </div>
        </header>
        <div className="editor-banner banner banner-info" role="status">
          A published version never changes: this is how it was published, read-only.
        </div>
        <div className="editor-body is-readonly">
          <div className="canvas-wrap">
            <ReactFlowProvider>
              <FlowCanvas readOnly nodes={graph.nodes} edges={graph.edges} />
            </ReactFlowProvider>
          </div>
        </div>
      </div>
    </CanvasContext.Provider>
  );
}
