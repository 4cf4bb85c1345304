/**
 * The template editor's preview: the live preview (src/preview/), per persona, contact or sample,
 * re-rendered on the server over a websocket at each edit, with the code that sends email.
 *
 * A seam on purpose: the editor passes the template and the source being edited; keep these
 * props (`templateId`, `source`) as they are.
 */
import { useMemo } from "react";
import LivePreview from "../preview/LivePreview";
import type { TemplateSource } from "./api";

export interface PreviewPaneProps {
  templateId: number;
  source: TemplateSource;
}

export default function PreviewPane({ templateId, source }: PreviewPaneProps) {
  const target = useMemo(() => ({ template: templateId }), [templateId]);
  return (
    <div className="preview-pane live-preview-pane" data-testid="preview-pane">
      <LivePreview target={target} draft={source} />
    </div>
  );
}
