/**
 * The live preview pane: every chosen subject's variant of the draft being edited, re-rendered on
 * the server with the code that sends email, pushed over the websocket. One subject at a time or
 * all side by side, at desktop or mobile width, each in a sandboxed iframe that runs only its own
 * script (no same-origin: `sandbox="allow-scripts"`, and a policy that refuses every other script:
 * editor/frame.py) and morphs each new rendering into what it shows.
 *
 * Each time a variant's frame has shown a new rendering, the window gets a
 * `wayline:preview-applied` event ({subject, seq, generation}): what bench/preview_browser.py
 * times keystrokes against.
 */
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useMember } from "../lib/session";
import { usePersonas, type TestSendBody } from "../qa/api";
import { TestSendButton } from "../qa/TestSendButton";
import type { DraftSource, PreviewTarget, Problem, SavedNotice, SubjectInfo, SubjectSpec, Variant } from "./types";
import { usePreview, type RegisterFrame } from "./usePreview";
import "./preview.css";

export interface LivePreviewProps {
  target: PreviewTarget | null;
  /** the editor's current draft; each change is sent (the first at once, then the newest: usePreview) */
  draft: DraftSource | null;
  /** someone (maybe this member elsewhere) saved the object: the editor may adopt it */
  onSaved?: (saved: SavedNotice) => void;
  /** subjects to start with instead of the remembered ones */
  initialSubjects?: SubjectSpec[];
}

type Width = "desktop" | "mobile";
const WIDTHS: Record<Width, number> = { desktop: 640, mobile: 375 };
const DEFAULT_PERSONAS = 3;

function storageKey(workspace: number) {
  return `wayline.preview.subjects.${workspace}`;
}

function readSubjects(workspace: number): SubjectSpec[] | null {
  try {
    const raw = localStorage.getItem(storageKey(workspace));
    const value = raw ? (JSON.parse(raw) as unknown) : null;
    return Array.isArray(value) ? (value as SubjectSpec[]) : null;
  } catch {
    return null;
  }
}

export function specKey(spec: SubjectSpec): string {
  if ("persona" in spec) return `persona:${spec.persona}`;
  if ("contact" in spec) return `contact:${spec.contact}`;
  if ("blank" in spec) return "blank";
  return `sample:${JSON.stringify(spec.sample)}:${spec.size ?? 5}`;
}

export function LivePreview({ target, draft, onSaved, initialSubjects }: LivePreviewProps) {
  const member = useMember();
  const personas = usePersonas();
  const session = usePreview(target, draft, { onSaved });
  const [specs, setSpecs] = useState<SubjectSpec[] | null>(() => initialSubjects ?? readSubjects(member.workspace.id));
  const [mode, setMode] = useState<"all" | "one">("all");
  const [width, setWidth] = useState<Width>("desktop");
  const [picking, setPicking] = useState(false);
  const [current, setCurrent] = useState<string | null>(null);

  // First visit: the first personas of the workspace (none yet: no contact, the defaults).
  useEffect(() => {
    if (specs !== null || !personas.data) return;
    const first = personas.data.slice(0, DEFAULT_PERSONAS).map((persona): SubjectSpec => ({ persona: persona.id }));
    setSpecs(first.length ? first : [{ blank: true }]);
  }, [personas.data, specs]);

  const { setSubjects } = session;
  useEffect(() => {
    if (specs === null) return;
    setSubjects(specs);
    try {
      localStorage.setItem(storageKey(member.workspace.id), JSON.stringify(specs));
    } catch {
      // private mode: the choice lasts for this page only
    }
  }, [specs, setSubjects, member.workspace.id]);

  const shown = session.subjects;
  const selected = shown.find((subject) => subject.key === current) ?? shown[0];
  const errors = session.ok === false ? session.problems : [];
  const warnings = session.ok ? session.problems : [];
  const others = session.presence.filter((person) => !person.me);

  return (
    <section className="live-preview" data-testid="live-preview" data-state={session.state} data-pending={session.pending ? "true" : "false"} aria-label="Live preview">
      <header className="lp-bar">
        <button type="button" className="button button-small" onClick={() => setPicking((open) => !open)} aria-expanded={picking} data-testid="choose-subjects">
          Subjects ({shown.length})
        </button>
        <div className="lp-toggle" role="group" aria-label="Show">
          <button type="button" className={`button button-small${mode === "all" ? " is-on" : ""}`} aria-pressed={mode === "all"} onClick={() => setMode("all")}>
            Side by side
          </button>
          <button type="button" className={`button button-small${mode === "one" ? " is-on" : ""}`} aria-pressed={mode === "one"} onClick={() => setMode("one")}>
            One at a time
          </button>
        </div>
        <div className="lp-toggle" role="group" aria-label="Width">
          {(["desktop", "mobile"] as Width[]).map((item) => (
            <button key={item} type="button" className={`button button-small${width === item ? " is-on" : ""}`} aria-pressed={width === item} onClick={() => setWidth(item)}>
              {item === "desktop" ? "Desktop" : "Mobile"}
            </button>
          ))}
        </div>
        <span className="lp-spacer" />
        {others.length ? (
          <span className="lp-presence" data-testid="presence" title={others.map((person) => person.email).join(", ")}>
            {others.map((person) => (
              <span key={person.user_id} className="lp-avatar" aria-label={`${person.name} is here`}>
                {(person.name || person.email).slice(0, 1).toUpperCase()}
              </span>
            ))}
            <span className="muted">{others.length === 1 ? `${others[0].name} is here too` : `${others.length} others here`}</span>
          </span>
        ) : null}
        <span className={`lp-status lp-status-${session.state}`} data-testid="preview-status">
          {session.state !== "open" ? (session.state === "refused" ? "Not allowed" : "Reconnecting…") : session.pending ? "Rendering…" : session.lastMs !== null ? `Live · ${Math.round(session.lastMs)} ms` : "Live"}
        </span>
        <button type="button" className="button button-quiet button-small" onClick={session.refresh} title="Rebuild each subject with today's prices, stock and cart">
          Refresh data
        </button>
      </header>
      {picking ? <SubjectPicker specs={specs ?? []} onChange={setSpecs} onClose={() => setPicking(false)} search={session.search} contacts={session.contacts} /> : null}
      {session.error ? (
        <div className="banner banner-error lp-banner" role="alert">
          {session.error}
        </div>
      ) : null}
      {session.saved && !session.saved.mine ? (
        <div className="banner banner-info lp-banner" role="status" data-testid="saved-notice">
          {session.saved.by.name || session.saved.by.email || "Someone"} saved {session.saved.object.kind === "template" ? `version ${session.saved.revision}` : `revision ${session.saved.revision}`}.
        </div>
      ) : null}
      {errors.length ? <ProblemList problems={errors} title="The template does not compile; showing the last version that did." tone="error" /> : null}
      {warnings.length ? <ProblemList problems={warnings} title="Warnings" tone="warn" /> : null}
      {shown.length === 0 ? (
        <p className="muted lp-empty">
          Choose preview subjects: personas, contacts or a sample. <Link to="/qa/personas">Manage personas</Link>
        </p>
      ) : null}
      {mode === "one" && shown.length ? (
        <div className="lp-tabs" role="tablist">
          {shown.map((subject) => (
            <button key={subject.key} type="button" role="tab" aria-selected={subject.key === selected?.key} className={`lp-tab${subject.key === selected?.key ? " is-on" : ""}`} onClick={() => setCurrent(subject.key)}>
              {subject.label}
            </button>
          ))}
        </div>
      ) : null}
      <div className={`lp-frames mode-${mode}`}>
        {(mode === "all" ? shown : selected ? [selected] : []).map((subject) => (
          <VariantCard
            key={subject.key}
            subject={subject}
            variant={session.variants[subject.key]}
            width={WIDTHS[width]}
            stale={session.ok === false}
            single={mode === "one" || shown.length === 1}
            target={target}
            onFrameBusy={session.frameBusy}
            registerFrame={session.registerFrame}
          />
        ))}
      </div>
    </section>
  );
}

/** What "Send test" sends for this card: the saved version of the target, for this subject. */
function testSendBody(target: PreviewTarget | null, subject: SubjectInfo): Omit<TestSendBody, "to"> | null {
  if (!target || "scratch" in target) return null;
  const [kind, id] = subject.key.split(":");
  const who = kind === "persona" ? { persona: Number(id) } : kind === "contact" ? { contact: Number(id) } : { profile: {} };
  return "template" in target ? { template: target.template, ...who } : { journey: target.journey, node: target.node, ...who };
}

function describe(subject: SubjectInfo): string {
  if (subject.kind === "blank") return "no contact data";
  const facts = subject.facts;
  const parts = [facts.country, facts.city, facts.locale].filter(Boolean);
  parts.push(facts.cart_items ? `${facts.cart_items} in cart` : "empty cart");
  return parts.join(" · ");
}

/** One subject's card; memo: an edit re-renders only the cards whose variant changed. */
export const VariantCard = memo(function VariantCard({
  subject,
  variant,
  width,
  stale,
  single = false,
  target = null,
  onFrameBusy,
  registerFrame,
}: {
  subject: SubjectInfo;
  variant: Variant | undefined;
  width: number;
  stale: boolean;
  single?: boolean;
  /** what "Send test" sends the saved version of (none: no button) */
  target?: PreviewTarget | null;
  /** the frame started or finished loading a new rendering (usePreview paces edits by it) */
  onFrameBusy?: (subjectKey: string, busy: boolean) => void;
  /** where the socket hands this subject's new variants straight to the frame */
  registerFrame?: RegisterFrame;
}) {
  const [showText, setShowText] = useState(false);
  const testSend = useMemo(() => testSendBody(target, subject), [target, subject]);
  const frame = usePreviewFrame(subject.key, variant, Boolean(variant?.ok) && !showText, onFrameBusy, registerFrame);
  return (
    <article
      className={`lp-variant${stale ? " is-stale" : ""}`}
      data-testid="variant"
      data-subject-key={subject.key}
      data-label={subject.label}
      data-generation={variant?.generation ?? 0}
      style={{ width: width + 24 }}
    >
      <header className="lp-variant-head">
        <strong>{subject.label}</strong>
        <span className="muted">
          {subject.kind === "persona" ? "persona" : subject.kind === "sample" ? "sampled contact" : subject.kind === "blank" ? "defaults" : "contact"} · {describe(subject)}
        </span>
      </header>
      {variant ? (
        <>
          <dl className="lp-envelope">
            <div>
              <dt>Subject</dt>
              <dd data-testid={single ? "preview-subject" : "variant-subject"}>{variant.subject}</dd>
            </div>
            <div>
              <dt>Preheader</dt>
              <dd data-testid="variant-preheader">{variant.preheader || <span className="muted">none</span>}</dd>
            </div>
          </dl>
          {variant.blocks.length ? (
            <ul className="lp-blocks" aria-label="Content blocks">
              {variant.blocks.map((block) => (
                <li key={block.name} className={block.shown ? "is-shown" : "is-hidden"} title={block.adaptive ? "adaptive block" : "block"}>
                  {block.name}: {block.shown ? "shown" : "hidden"}
                </li>
              ))}
            </ul>
          ) : null}
          {variant.warnings.length ? (
            <ul className="lp-warnings" data-testid="variant-warnings">
              {variant.warnings.map((warning, index) => (
                <li key={index}>
                  {warning.message}
                  {warning.line ? <span className="muted"> ({where(warning)})</span> : null}
                </li>
              ))}
            </ul>
          ) : null}
          {variant.ok ? (
            showText ? (
              <pre className="lp-text" style={{ width }}>
                {variant.text}
              </pre>
            ) : (
              <iframe ref={frame.ref} onLoad={frame.onLoad} className="lp-frame" title={`Email for ${subject.label}`} sandbox="allow-scripts" src={FRAME_URL} style={{ width }} data-testid={single ? "preview-frame" : "variant-frame"} />
            )
          ) : null}
          <div className="lp-actions">
            <button type="button" className="button button-quiet button-small" onClick={() => setShowText((value) => !value)}>
              {showText ? "Show HTML" : "Show text part"}
            </button>
            {testSend ? <TestSendButton body={testSend} title="Sends the saved version" /> : null}
          </div>
        </>
      ) : (
        <p className="muted">Rendering…</p>
      )}
    </article>
  );
});

interface FrameDocument {
  html: string;
  seq: number;
  generation: number;
}

/** A frame that has not said it showed a rendering after this long is not waited for any more. */
const FRAME_PATIENCE_MS = 1000;
/** The frame document every variant's iframe loads once (editor/frame.py). */
export const FRAME_URL = "/preview/frame";

/** `posted`: when the parent sent it to the frame (performance.now); `frameMs`: the frame's own
 * time applying it; `at`: when the frame's document changed (performance.now of this page). None
 * of them: the frame showed it already. */
function applied(subject: string, shown: FrameDocument, timing: { posted?: number; frameMs?: number; at?: number } = {}) {
  window.dispatchEvent(new CustomEvent("wayline:preview-applied", { detail: { subject, seq: shown.seq, generation: shown.generation, ...timing } }));
}

/**
 * A variant's frame: loaded once (FRAME_URL), then sent each new rendering by postMessage, which it
 * morphs into what it shows (frame/main.ts) instead of loading a new document. One rendering is
 * in flight per frame: while the frame applies one, newer ones only replace one another, and
 * when it says it is done ("wayline:applied"), the newest goes. Messages count only from this
 * frame's own window (its origin is opaque: `event.source` is what tells it apart).
 */
function usePreviewFrame(subject: string, variant: Variant | undefined, visible: boolean, onBusy?: (subject: string, busy: boolean) => void, register?: RegisterFrame) {
  const frame = useRef<HTMLIFrameElement | null>(null);
  const ready = useRef(false);
  const shown = useRef<FrameDocument | null>(null); // what the frame shows or is applying
  const sentAt = useRef<number | null>(null); // applying since
  // The newest variant: as the socket delivers it (`register`), before React has rendered it; the
  // prop catches up after. (No variant any more: another template or subject, nothing to show.)
  const offered = useRef<Variant | undefined>(undefined);
  if (!variant) offered.current = undefined;
  const rendered = useRef(variant);
  rendered.current = variant;
  const showing = useRef(visible);
  showing.current = visible;
  const busy = useRef(onBusy);
  busy.current = onBusy;

  const idle = () => {
    if (sentAt.current === null) return;
    sentAt.current = null;
    busy.current?.(subject, false);
  };

  const push = () => {
    const next = offered.current ?? rendered.current;
    const window_ = frame.current?.contentWindow;
    if (!window_ || !ready.current || !next || !next.ok) return idle();
    if (sentAt.current !== null && performance.now() - sentAt.current < FRAME_PATIENCE_MS) return; // its answer sends the next
    const current = shown.current;
    if (current && current.seq === next.seq && current.generation === next.generation) return idle();
    const document_ = { html: next.html, seq: next.seq, generation: next.generation };
    shown.current = document_;
    if (current && current.html === next.html) {
      applied(subject, document_); // the frame shows it already
      return idle();
    }
    if (sentAt.current === null) busy.current?.(subject, true);
    sentAt.current = performance.now();
    window_.postMessage({ type: "wayline:render", ...document_ }, "*");
  };

  // A layout effect: listening before the frame can have loaded and said it is ready.
  useLayoutEffect(() => {
    const onMessage = (event: MessageEvent) => {
      if (!frame.current || event.source !== frame.current.contentWindow) return;
      const message = event.data as { type?: string; seq?: number; generation?: number; ms?: number; at?: number } | null;
      if (message?.type === "wayline:frame-ready") {
        ready.current = true;
        shown.current = null;
        idle();
        push();
      } else if (message?.type === "wayline:applied") {
        const current = shown.current;
        if (current && current.seq === message.seq && current.generation === message.generation) {
          // `at`: when the frame's document changed, on the clock both share (timeOrigin + now)
          const at = typeof message.at === "number" ? message.at - performance.timeOrigin : undefined;
          applied(subject, current, { posted: sentAt.current ?? undefined, frameMs: message.ms, at });
        }
        sentAt.current = null;
        push();
        if (sentAt.current === null) busy.current?.(subject, false);
      }
    };
    window.addEventListener("message", onMessage);
    return () => {
      window.removeEventListener("message", onMessage);
      idle(); // unmounted while applying: not applying any more
    };
  }, [subject]);

  // Straight from the socket: the frame gets a new rendering without waiting for React.
  useEffect(
    () =>
      register?.(subject, (next) => {
        offered.current = next;
        if (showing.current) push();
      }),
    [subject, register],
  );

  // A layout effect: a rendering that arrived through React (not the socket's sink) goes out before paint.
  useLayoutEffect(() => {
    if (!visible) {
      ready.current = false; // no frame; a new one says when it is ready
      shown.current = null;
      idle();
      return;
    }
    push();
  }, [variant, visible]);

  const ref = useCallback((node: HTMLIFrameElement | null) => {
    frame.current = node;
    ready.current = false;
    shown.current = null;
  }, []);
  // The frame's script runs before its load event: loaded is ready too, should its "ready" have
  // been missed.
  const onLoad = () => {
    if (ready.current) return;
    ready.current = true;
    shown.current = null;
    idle();
    push();
  };
  return { ref, onLoad };
}

function where(problem: Problem): string {
  const part = problem.part === "mjml" ? "" : `${problem.part}, `;
  return `${part}line ${problem.line}${problem.column ? `, column ${problem.column}` : ""}`;
}

function ProblemList({ problems, title, tone }: { problems: Problem[]; title: string; tone: "error" | "warn" }) {
  return (
    <div className={`banner banner-${tone === "error" ? "error" : "warning"} lp-banner`} role={tone === "error" ? "alert" : "status"} data-testid={tone === "error" ? "preview-errors" : "preview-warnings"}>
      <strong>{title}</strong>
      <ul>
        {problems.map((problem, index) => (
          <li key={index}>
            {problem.line ? <span className="lp-where">{where(problem)}: </span> : null}
            {problem.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function SubjectPicker({
  specs,
  onChange,
  onClose,
  search,
  contacts,
}: {
  specs: SubjectSpec[];
  onChange: (specs: SubjectSpec[]) => void;
  onClose: () => void;
  search: (query: string) => void;
  contacts: { id: number; label: string; email: string; country: string; cart_items: number }[];
}) {
  const personas = usePersonas();
  const [query, setQuery] = useState("");
  const [country, setCountry] = useState("");
  const [size, setSize] = useState(5);
  const chosen = useMemo(() => new Set(specs.map(specKey)), [specs]);

  useEffect(() => {
    const timer = setTimeout(() => search(query), 200);
    return () => clearTimeout(timer);
  }, [query, search]);

  const toggle = (spec: SubjectSpec) => {
    const key = specKey(spec);
    onChange(chosen.has(key) ? specs.filter((item) => specKey(item) !== key) : [...specs, spec]);
  };
  const addSample = () => {
    const rule = country.trim() ? { field: "contact.country", op: "eq", value: country.trim().toUpperCase() } : { all: [] };
    onChange([...specs.filter((item) => !("sample" in item)), { sample: rule, size }]);
  };

  return (
    <div className="lp-picker" role="dialog" aria-label="Preview subjects">
      <div className="lp-picker-col">
        <h3>Personas</h3>
        <label className="checkbox">
          <input type="checkbox" checked={chosen.has("blank")} onChange={() => toggle({ blank: true })} /> No contact <span className="muted">(how the defaults read)</span>
        </label>
        {personas.data?.length ? (
          personas.data.map((persona) => (
            <label key={persona.id} className="checkbox">
              <input type="checkbox" checked={chosen.has(`persona:${persona.id}`)} onChange={() => toggle({ persona: persona.id })} /> {persona.name}
              <span className="muted"> {[persona.country, persona.city].filter(Boolean).join(", ")}</span>
            </label>
          ))
        ) : (
          <p className="muted">
            No personas yet. <Link to="/qa/personas">Create one</Link>
          </p>
        )}
      </div>
      <div className="lp-picker-col">
        <h3>Contacts</h3>
        <input type="search" className="input" placeholder="Search by email, name, city" value={query} onChange={(event) => setQuery(event.target.value)} aria-label="Search contacts" />
        <ul className="lp-hits">
          {contacts.map((contact) => (
            <li key={contact.id}>
              <label className="checkbox">
                <input type="checkbox" checked={chosen.has(`contact:${contact.id}`)} onChange={() => toggle({ contact: contact.id })} /> {contact.label}
                <span className="muted">
                  {" "}
                  {contact.email} {contact.country}
                </span>
              </label>
            </li>
          ))}
        </ul>
      </div>
      <div className="lp-picker-col">
        <h3>Random sample</h3>
        <label className="field">
          <span>Contacts in country (empty: anyone)</span>
          <input className="input" value={country} maxLength={2} onChange={(event) => setCountry(event.target.value)} placeholder="DE" />
        </label>
        <label className="field">
          <span>How many</span>
          <input className="input" type="number" min={1} max={20} value={size} onChange={(event) => setSize(Number(event.target.value) || 5)} />
        </label>
        <button type="button" className="button button-small" onClick={addSample}>
          Add sample
        </button>
        {specs.some((item) => "sample" in item) ? (
          <button type="button" className="button button-quiet button-small" onClick={() => onChange(specs.filter((item) => !("sample" in item)))}>
            Remove sample
          </button>
        ) : null}
      </div>
      <div className="lp-picker-foot">
        <button type="button" className="button button-primary button-small" onClick={onClose}>
          Done
        </button>
      </div>
    </div>
  );
}

export default LivePreview;
