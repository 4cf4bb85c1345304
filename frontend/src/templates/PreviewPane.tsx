/**
 * The template editor's preview: the source being edited, rendered by the server
 * (POST /api/templates/<id>/preview) with sample data, shown in a sandboxed frame.
 *
 * A seam on purpose: the live-preview issue replaces this component with one that renders per
 * contact and persona over a websocket. Keep its props (`templateId`, `source`) as they are.
 */
import { useEffect, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { errorMessage } from "../lib/api";
import { previewSource, type TemplateSource } from "./api";

const DELAY_MS = 350;

export interface PreviewPaneProps {
  templateId: number;
  source: TemplateSource;
}

function useSettled<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

export default function PreviewPane({ templateId, source }: PreviewPaneProps) {
  const settled = useSettled(source, DELAY_MS);
  const [device, setDevice] = useState<"desktop" | "mobile">("desktop");
  const [view, setView] = useState<"html" | "text">("html");
  const preview = useQuery({
    queryKey: ["templates", templateId, "preview-source", settled],
    queryFn: () => previewSource(templateId, settled),
    placeholderData: keepPreviousData,
    retry: false,
    enabled: Boolean(settled.mjml.trim()),
  });
  const rendered = preview.data;
  return (
    <section className="preview-pane" aria-label="Preview" data-testid="preview-pane">
      <header className="preview-head">
        <div className="preview-tabs" role="group" aria-label="Preview as">
          <button type="button" className={`button button-small${view === "html" && device === "desktop" ? " is-on" : ""}`} aria-pressed={view === "html" && device === "desktop"} onClick={() => (setView("html"), setDevice("desktop"))}>
            Desktop
          </button>
          <button type="button" className={`button button-small${view === "html" && device === "mobile" ? " is-on" : ""}`} aria-pressed={view === "html" && device === "mobile"} onClick={() => (setView("html"), setDevice("mobile"))}>
            Mobile
          </button>
          <button type="button" className={`button button-small${view === "text" ? " is-on" : ""}`} aria-pressed={view === "text"} onClick={() => setView("text")}>
            Text
          </button>
        </div>
        <span className="preview-state muted" role="status">
          {preview.isFetching ? "Rendering…" : preview.isError ? "Not rendered" : "Sample data"}
        </span>
      </header>
      <div className="preview-envelope">
        <div className="preview-subject" data-testid="preview-subject">
          {rendered?.subject || <span className="muted">(no subject)</span>}
        </div>
        {source.preheader ? <div className="preview-preheader muted">{source.preheader}</div> : null}
      </div>
      {preview.isError ? (
        <div className="preview-error" role="alert">
          {errorMessage(preview.error)}
        </div>
      ) : null}
      <div className={`preview-stage preview-${device}`}>
        {view === "text" ? (
          <pre className="preview-text">{rendered?.text ?? ""}</pre>
        ) : rendered?.html ? (
          <iframe title="Email preview" sandbox="" srcDoc={rendered.html} className="preview-frame" data-testid="preview-frame" />
        ) : (
          <p className="muted preview-empty">{preview.isPending ? "Rendering…" : "Nothing to show yet."}</p>
        )}
      </div>
    </section>
  );
}
