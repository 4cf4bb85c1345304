/** The gallery of starter templates (the new-template dialog): a card per starter with its
 * thumbnail; choosing one copies it into the workspace as a new template. */
import { ErrorBanner, Loading } from "../lib/ui";
import { freeSlug, useCreateFromStarter, useStarters, useTemplates, type TemplateDetail } from "./api";
import { TemplateThumbnail } from "./thumbnails";
import "./starters.css";

interface StarterGalleryProps {
  /** the dialog's heading id (its accessible name) */
  titleId: string;
  onCreated: (template: TemplateDetail) => void;
  onBack: () => void;
  onCancel: () => void;
}

export function StarterGallery({ titleId, onCreated, onBack, onCancel }: StarterGalleryProps) {
  const starters = useStarters();
  const templates = useTemplates();
  const create = useCreateFromStarter();
  const choose = (key: string) => {
    // A workspace that has a template of that slug already gets "price-drop-2" and so on.
    const slug = freeSlug(key, (templates.data ?? []).map((template) => template.slug));
    create.mutate({ key, slug }, { onSuccess: onCreated });
  };
  return (
    <div className="form starter-gallery">
      <h2 id={titleId}>Start from a starter</h2>
      <p className="starter-gallery-intro">Ready-made emails with personalization in place. Pick one: it becomes a new template you can edit.</p>
      {starters.isPending ? (
        <Loading label="Loading starters…" />
      ) : starters.isError ? (
        <ErrorBanner error={starters.error} />
      ) : (
        <ul className="starter-grid" aria-label="Starters">
          {starters.data.map((starter) => (
            <li key={starter.key} className="starter-card" data-testid={`starter-${starter.key}`}>
              <TemplateThumbnail html={starter.html} title={`Preview of the “${starter.name}” starter`} width={200} height={240} />
              <button
                type="button"
                className="starter-card-choose"
                aria-describedby={`starter-${starter.key}-description`}
                disabled={create.isPending || templates.isPending}
                onClick={() => choose(starter.key)}
              >
                {starter.name}
              </button>
              <p id={`starter-${starter.key}-description`}>{starter.description}</p>
            </li>
          ))}
        </ul>
      )}
      <ErrorBanner error={create.error} />
      <footer className="dialog-foot">
        <button type="button" className="button" onClick={onBack}>
          Back
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        {create.isPending ? <span role="status">Creating…</span> : null}
      </footer>
    </div>
  );
}
