/** Email templates: the list and the editor (MJML with Liquid in CodeMirror or visually, subject and preheader, blocks, preview). */
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, Route, Routes, useNavigate, useParams } from "react-router-dom";
import { errorMessage } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, Tag, fieldError } from "../lib/ui";
import { useQuery } from "@tanstack/react-query";
import { namesOf } from "../journeys/api";
import { api } from "../lib/api";
import { CodeEditor, type CodeEditorHandle } from "./CodeEditor";
import { StarterGallery } from "./StarterGallery";
import { setEventPropertyNames } from "./liquid";
import type { VisualEditorHandle } from "./VisualEditor";
import { useContentBlocks, useCreateTemplate, useSaveTemplate, useTemplate, useTemplates, validateSource, type Category, type TemplateDetail, type TemplateProblem, type TemplateSource } from "./api";
import "./templates.css";

// The preview pane is a seam the live-preview work replaces; it loads on its own.
const PreviewPane = lazy(() => import("./PreviewPane"));
// GrapesJS is large: the visual editor (and its css) loads only when its tab is opened.
const VisualEditor = lazy(() => import("./VisualEditor"));

type SourceView = "code" | "visual";

/** Narrow screens (phones) keep the code view: the visual editor needs room for canvas and blocks. */
function useNarrowScreen(query = "(max-width: 820px)") {
  const [narrow, setNarrow] = useState(() => typeof window !== "undefined" && window.matchMedia?.(query).matches);
  useEffect(() => {
    const media = window.matchMedia?.(query);
    if (!media) return;
    const update = () => setNarrow(media.matches);
    update();
    media.addEventListener("change", update);
    return () => media.removeEventListener("change", update);
  }, [query]);
  return narrow;
}

export default function TemplatesPage() {
  return (
    <Routes>
      <Route index element={<TemplateList />} />
      <Route path=":id" element={<TemplateEditorPage />} />
    </Routes>
  );
}

export const STARTER_MJML = `<mjml>
  <mj-head>
    <mj-title>{{ workspace.name }}</mj-title>
  </mj-head>
  <mj-body background-color="#f4f4f7">
    <mj-section background-color="#ffffff" padding="28px 24px">
      <mj-column>
        <mj-text font-size="22px" font-weight="700">Hi {{ contact.first_name | default: "there" }},</mj-text>
        <mj-text font-size="15px" line-height="1.5">Write your message here.</mj-text>
        <mj-button href="https://example.com" background-color="#3b4bd8">Call to action</mj-button>
      </mj-column>
    </mj-section>
    <mj-section>
      <mj-column>
        <mj-text font-size="12px" color="#8a91a0" align="center">
          <a href="{{ links.unsubscribe }}">Unsubscribe</a> · <a href="{{ links.view_in_browser }}">View in your browser</a>
        </mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`;

function slugify(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^\w\s-]/g, "")
    .trim()
    .replace(/[\s_]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 80);
}

function TemplateList() {
  const templates = useTemplates();
  const canEdit = useCan("edit");
  const [creating, setCreating] = useState(false);
  const [search, setSearch] = useState("");
  const rows = (templates.data ?? []).filter((template) => `${template.name} ${template.slug} ${template.subject}`.toLowerCase().includes(search.toLowerCase()));
  return (
    <div className="page-container">
      <PageHeader
        title="Templates"
        description="Email templates in MJML with Liquid. Each save is a new version; journeys send the version that was current when they were published."
        actions={
          canEdit ? (
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              New template
            </button>
          ) : null
        }
      />
      <div className="list-filters" role="search">
        <div className="field">
          <label htmlFor="template-search">Search</label>
          <input id="template-search" type="search" value={search} placeholder="Name, slug or subject" onChange={(event) => setSearch(event.target.value)} />
        </div>
      </div>
      {templates.isError ? <Banner tone="error">{errorMessage(templates.error)}</Banner> : null}
      <div className="card card-flush">
        {templates.isPending ? (
          <Loading />
        ) : rows.length === 0 ? (
          <div className="table-empty">{templates.data?.length ? "No template matches." : "No templates yet."}</div>
        ) : (
          <table className="table" data-testid="templates-table">
            <thead>
              <tr>
                <th scope="col">Template</th>
                <th scope="col">Subject</th>
                <th scope="col">Category</th>
                <th scope="col">Version</th>
                <th scope="col">Changed</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((template) => (
                <tr key={template.id}>
                  <td>
                    <Link to={`/templates/${template.id}`} className="journey-link">
                      {template.name}
                    </Link>
                    <span className="cell-sub mono">{template.slug}</span>
                  </td>
                  <td>{template.subject}</td>
                  <td>
                    <Tag tone={template.category === "transactional" ? "accent" : "neutral"}>{template.category}</Tag>
                  </td>
                  <td>{template.version ? `v${template.version}` : "—"}</td>
                  <td>{formatDateTime(template.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {creating ? <NewTemplateDialog onClose={() => setCreating(false)} /> : null}
    </div>
  );
}

function NewTemplateDialog({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const navigate = useNavigate();
  const create = useCreateTemplate();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugTouched, setSlugTouched] = useState(false);
  const [category, setCategory] = useState<Category>("marketing");
  const [fromStarter, setFromStarter] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  const submit = () =>
    create.mutate(
      { name: name.trim(), slug: slug || slugify(name), category, subject: `News from {{ workspace.name }}`, preheader: "", mjml: STARTER_MJML },
      { onSuccess: (template) => navigate(`/templates/${template.id}`) },
    );
  return (
    <dialog ref={dialog} className={fromStarter ? "dialog starter-dialog" : "dialog"} aria-labelledby="new-template-title" onClose={onClose} onCancel={onClose}>
      {fromStarter ? (
        <StarterGallery titleId="new-template-title" onCreated={(template) => navigate(`/templates/${template.id}`)} onBack={() => setFromStarter(false)} onCancel={onClose} />
      ) : (
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <h2 id="new-template-title">New template</h2>
        <div className="new-template-start">
          <button type="button" className="button" onClick={() => setFromStarter(true)}>
            Start from a starter
          </button>
          <span className="field-hint">or start from a blank email:</span>
        </div>
        <div className="field">
          <label htmlFor="template-name">Name</label>
          <input
            id="template-name"
            value={name}
            autoFocus
            required
            onChange={(event) => {
              setName(event.target.value);
              if (!slugTouched) setSlug(slugify(event.target.value));
            }}
          />
        </div>
        <div className="field">
          <label htmlFor="template-slug">Slug</label>
          <input
            id="template-slug"
            className="mono"
            value={slug}
            required
            aria-invalid={fieldError(create.error, "slug") ? true : undefined}
            onChange={(event) => {
              setSlugTouched(true);
              setSlug(slugify(event.target.value));
            }}
          />
          <div className="field-hint">Journeys refer to the template by its slug.</div>
          {fieldError(create.error, "slug") ? <div className="field-error">{fieldError(create.error, "slug")}</div> : null}
        </div>
        <div className="field">
          <label htmlFor="template-category">Category</label>
          <select id="template-category" value={category} onChange={(event) => setCategory(event.target.value as Category)}>
            <option value="marketing">Marketing</option>
            <option value="transactional">Transactional</option>
          </select>
        </div>
        <ErrorBanner error={create.error} shownFields={["slug"]} />
        <footer className="dialog-foot">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create and edit"}
          </button>
        </footer>
      </form>
      )}
    </dialog>
  );
}

function TemplateEditorPage() {
  const id = Number(useParams().id);
  const template = useTemplate(id);
  if (template.isError)
    return (
      <div className="page-container">
        <Banner tone="error">{errorMessage(template.error)}</Banner>
        <Link to="/templates">Back to templates</Link>
      </div>
    );
  if (!template.data) return <Loading label="Opening the template…" />;
  return <TemplateEditor key={id} template={template.data} />;
}

function sourceOf(template: TemplateDetail): TemplateSource {
  const version = template.latest_version;
  return { subject: version?.subject ?? "", preheader: version?.preheader ?? "", mjml: version?.mjml ?? STARTER_MJML };
}

function same(a: TemplateSource, b: TemplateSource): boolean {
  return a.subject === b.subject && a.preheader === b.preheader && a.mjml === b.mjml;
}

function useEventPropertyHints() {
  // The properties of every event seen so far feed `event.properties.` completion.
  const properties = useQuery({
    queryKey: ["events", "properties", "*"],
    queryFn: ({ signal }) => api.get<unknown>("events/properties", undefined, signal).then(namesOf),
    staleTime: 5 * 60_000,
  });
  useEffect(() => {
    if (properties.data) setEventPropertyNames(properties.data.map((name) => name.replace(/^properties\./, "")));
  }, [properties.data]);
}

function TemplateEditor({ template }: { template: TemplateDetail }) {
  const canEdit = useCan("edit");
  const saved = useMemo(() => sourceOf(template), [template]);
  const [source, setSource] = useState<TemplateSource>(saved);
  const [name, setName] = useState(template.name);
  const [problems, setProblems] = useState<TemplateProblem[]>([]);
  const [checking, setChecking] = useState(false);
  const [showBlocks, setShowBlocks] = useState(false);
  const mjmlEditor = useRef<CodeEditorHandle>(null);
  const subjectEditor = useRef<CodeEditorHandle>(null);
  const preheaderEditor = useRef<CodeEditorHandle>(null);
  const visualEditor = useRef<VisualEditorHandle>(null);
  const [view, setView] = useState<SourceView>("code");
  const [typing, setTyping] = useState(false); // a text being typed in the visual editor, not in `source` yet
  const narrow = useNarrowScreen();
  const showVisual = view === "visual" && !narrow;
  const save = useSaveTemplate(template.id);
  const blocks = useContentBlocks();
  useEventPropertyHints();

  const dirty = !same(source, saved) || name.trim() !== template.name || typing;
  const errors = problems.filter((problem) => problem.kind !== "undefined");

  // The server checks the source as it is typed: Liquid and MJML errors with line and column.
  useEffect(() => {
    let cancelled = false;
    setChecking(true);
    const timer = setTimeout(() => {
      validateSource(source)
        .then((answer) => {
          if (!cancelled) setProblems(answer.problems ?? []);
        })
        .catch(() => undefined)
        .finally(() => {
          if (!cancelled) setChecking(false);
        });
    }, 300);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [source]);

  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (dirty) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  // What the visual editor holds: the text being typed reaches the source when its editing ends.
  const flushVisual = useCallback(async (): Promise<string | null> => {
    if (!showVisual || !visualEditor.current) return null;
    const mjml = await visualEditor.current.flush();
    setTyping(false);
    return mjml;
  }, [showVisual]);

  const onSave = useCallback(async () => {
    if (!canEdit || save.isPending) return;
    const mjml = (await flushVisual()) ?? source.mjml;
    save.mutate({ ...source, mjml, name: name.trim() || template.name });
  }, [canEdit, flushVisual, name, save, source, template.name]);

  const switchTo = async (next: SourceView) => {
    if (next === view) return;
    await flushVisual();
    setView(next);
  };

  // The include goes in at the code view's cursor (the visual view has these blocks to drag).
  const insertBlock = async (blockName: string) => {
    if (showVisual) {
      await switchTo("code");
      await new Promise((resolve) => setTimeout(resolve));
    }
    mjmlEditor.current?.insert(`{% include "${blockName}" %}`);
  };

  const setPart = (part: keyof TemplateSource) => (value: string) => setSource((current) => (current[part] === value ? current : { ...current, [part]: value }));
  const reveal = (problem: TemplateProblem) => {
    const editor = problem.part === "subject" ? subjectEditor : problem.part === "preheader" ? preheaderEditor : mjmlEditor;
    if (editor === mjmlEditor && view === "visual") {
      void switchTo("code").then(() => setTimeout(() => mjmlEditor.current?.reveal(problem.line, problem.column)));
      return;
    }
    editor.current?.reveal(problem.line, problem.column);
  };
  const version = template.latest_version;

  return (
    <div className="template-editor" data-testid="template-editor">
      <header className="editor-bar">
        <Link to="/templates" className="button button-quiet button-small editor-back" aria-label="Back to templates">
          ←
        </Link>
        <div className="editor-title">
          <label htmlFor="template-title" className="visually-hidden">
            Template name
          </label>
          <input id="template-title" className="editor-name" value={name} readOnly={!canEdit} onChange={(event) => setName(event.target.value)} />
          <span className="mono muted">{template.slug}</span>
          <Tag tone={template.category === "transactional" ? "accent" : "neutral"}>{template.category}</Tag>
          <span className={`save-status save-${dirty ? "unsaved" : "saved"}`} role="status" data-testid="template-save-status">
            {save.isPending ? "Saving…" : dirty ? "Unsaved changes" : version ? `Version ${version.number} saved` : "Not saved yet"}
          </span>
        </div>
        <div className="editor-actions">
          <button type="button" className="button button-quiet button-small" aria-expanded={showBlocks} onClick={() => setShowBlocks(!showBlocks)}>
            Content blocks
          </button>
          {canEdit ? (
            <button type="button" className="button button-primary button-small" onClick={() => void onSave()} disabled={!dirty || save.isPending || errors.length > 0} title={errors.length ? "Fix the errors first" : "Save as a new version (Ctrl+S)"}>
              Save version
            </button>
          ) : null}
        </div>
      </header>
      {!canEdit ? (
        <div className="editor-banner banner banner-info" role="status">
          Read-only: your role can look at templates, preview and test them, not change them.
        </div>
      ) : null}
      {save.isError ? (
        <div className="editor-banner banner banner-error" role="alert">
          {errorMessage(save.error)}
        </div>
      ) : null}
      <div className={`template-body${showVisual ? " is-visual" : ""}`}>
        <div className="template-source">
          <div className="field template-line">
            <label id="subject-label">Subject</label>
            <CodeEditor ref={subjectEditor} kind="line" part="subject" label="Subject" value={source.subject} onChange={setPart("subject")} problems={problems} readOnly={!canEdit} onSave={onSave} placeholder="Your cart is waiting, {{ contact.first_name }}" />
          </div>
          <div className="field template-line">
            <label id="preheader-label">Preheader</label>
            <CodeEditor ref={preheaderEditor} kind="line" part="preheader" label="Preheader" value={source.preheader} onChange={setPart("preheader")} problems={problems} readOnly={!canEdit} onSave={onSave} placeholder="The line inboxes show after the subject" />
          </div>
          <div className="source-views" role="tablist" aria-label="Edit the email as">
            {(["code", "visual"] as const).map((option) => (
              <button
                key={option}
                type="button"
                role="tab"
                id={`source-tab-${option}`}
                aria-selected={view === option}
                aria-controls={`source-panel-${option}`}
                className={view === option ? "is-on" : undefined}
                disabled={option === "visual" && !canEdit}
                title={option === "visual" && !canEdit ? "Your role cannot change templates" : undefined}
                onClick={() => void switchTo(option)}
              >
                {option === "code" ? "Code" : "Visual"}
              </button>
            ))}
          </div>
          {view === "visual" && narrow ? (
            <div className="banner banner-info visual-narrow" role="status">
              The visual editor needs a larger screen. The code view stays here.
            </div>
          ) : null}
          <div className="template-code" id="source-panel-code" role="tabpanel" aria-labelledby="source-tab-code" hidden={showVisual}>
            <CodeEditor ref={mjmlEditor} kind="mjml" part="mjml" label="MJML" value={source.mjml} onChange={setPart("mjml")} problems={problems} readOnly={!canEdit} onSave={onSave} />
          </div>
          {showVisual ? (
            <div className="template-visual" id="source-panel-visual" role="tabpanel" aria-labelledby="source-tab-visual">
              <Suspense fallback={<Loading label="Loading the visual editor…" />}>
                {blocks.isPending ? <Loading label="Loading the visual editor…" /> : <VisualEditor ref={visualEditor} source={source.mjml} onChange={setPart("mjml")} onTyping={setTyping} contentBlocks={blocks.data ?? []} onSave={onSave} />}
              </Suspense>
            </div>
          ) : null}
          <ProblemList problems={problems} checking={checking} onReveal={reveal} />
        </div>
        {showBlocks ? (
          <aside className="blocks-panel" aria-label="Content blocks">
            <header>
              <h2>Content blocks</h2>
              <button type="button" className="button button-quiet button-small" aria-label="Close content blocks" onClick={() => setShowBlocks(false)}>
                ×
              </button>
            </header>
            <p className="muted">Shared pieces (header, footer, product grid…). Inserting puts an include at the cursor; the block's newest text is used when the template is saved.</p>
            {blocks.isPending ? <Loading /> : null}
            {blocks.data && blocks.data.length === 0 ? <p className="muted">No content blocks yet.</p> : null}
            <ul>
              {(blocks.data ?? []).map((block) => (
                <li key={block.id}>
                  <div>
                    <strong className="mono">{block.name}</strong>
                    {block.condition ? <Tag tone="accent">adaptive</Tag> : null}
                    {block.description ? <span className="cell-sub">{block.description}</span> : null}
                  </div>
                  <button type="button" className="button button-small" disabled={!canEdit} onClick={() => void insertBlock(block.name)} aria-label={`Insert ${block.name}`}>
                    Insert
                  </button>
                </li>
              ))}
            </ul>
          </aside>
        ) : null}
        <Suspense fallback={<Loading label="Loading the preview…" />}>
          <PreviewPane templateId={template.id} source={source} />
        </Suspense>
      </div>
    </div>
  );
}

function ProblemList({ problems, checking, onReveal }: { problems: TemplateProblem[]; checking: boolean; onReveal: (problem: TemplateProblem) => void }) {
  if (!problems.length)
    return (
      <div className="template-problems is-ok" role="status" data-testid="template-problems">
        {checking ? "Checking…" : "✓ No problems"}
      </div>
    );
  return (
    <div className="template-problems" role="status" data-testid="template-problems">
      <strong>
        {problems.length} problem{problems.length > 1 ? "s" : ""}
      </strong>
      <ul>
        {problems.map((problem, index) => (
          <li key={index} className={`problem-${problem.kind ?? "syntax"}`}>
            <button type="button" className="problems-item" onClick={() => onReveal(problem)}>
              <span className="mono">
                {problem.part}
                {problem.line ? ` ${problem.line}:${problem.column ?? 1}` : ""}
              </span>{" "}
              {problem.message}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
