/** Live preview of a saved template for chosen subjects (QA's view; editing happens in the
 * template editor, whose preview pane is the same component). */
import { useMemo } from "react";
import { Link, useParams } from "react-router-dom";
import { errorMessage } from "../lib/api";
import { Banner, Loading, PageHeader } from "../lib/ui";
import { LivePreview } from "../preview/LivePreview";
import { useTemplate, useTemplates } from "../templates/api";

export function TemplatesToPreview() {
  const templates = useTemplates();
  return (
    <div className="page">
      <PageHeader title="Preview templates" description="Each template's latest version, live, for personas, contacts or a sample of contacts." />
      {templates.isLoading ? <Loading /> : null}
      {templates.isError ? <Banner tone="error">{errorMessage(templates.error)}</Banner> : null}
      <ul className="qa-template-list">
        {templates.data?.map((template) => (
          <li key={template.id}>
            <Link to={`/qa/templates/${template.id}`}>{template.name}</Link> <span className="muted">{template.subject}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function TemplatePreviewPage() {
  const id = Number(useParams().id);
  const template = useTemplate(id);
  return (
    <div className="page page-wide">
      <PageHeader title={template.data ? `Preview: ${template.data.name}` : "Preview"} description={<Link to="/qa/templates">All templates</Link>} />
      <LivePreview target={{ template: id }} draft={null} />
    </div>
  );
}

/** Live preview of the template an email node of a journey draft sends. */
export function NodePreviewPage() {
  const params = useParams();
  const id = Number(params.id);
  const node = params.node ?? "";
  const target = useMemo(() => ({ journey: id, node }), [id, node]);
  return (
    <div className="page page-wide">
      <PageHeader title={`Preview: ${node}`} description={<Link to={`/qa/journeys/${id}`}>Back to the review</Link>} />
      <LivePreview target={target} draft={null} />
    </div>
  );
}
