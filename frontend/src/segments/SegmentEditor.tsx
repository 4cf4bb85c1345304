/**
 * Creating and editing a segment: name, description, kind and, for a rule, the canvas's condition
 * builder with a live count and a sample of who matches (the preview endpoint, ~400 ms after the
 * last change). The server's problems land on the part of the rule they name.
 */
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ConditionBuilder } from "../journeys/ConditionBuilder";
import { useEventNames } from "../journeys/api";
import { CONTACT_FIELDS } from "../journeys/ruleFields";
import type { Rule } from "../journeys/types";
import { ApiError } from "../lib/api";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, SelectField, TextField, fieldError } from "../lib/ui";
import { usePreview, useSaveSegment, useSegment } from "./api";
import { SegmentUnavailable } from "./SegmentPage";
import { contactCount, hasBlankCondition, memberLabel, ruleProblems } from "./segmentRules";
import type { Segment, SegmentKind } from "./types";

const KIND_OPTIONS: { value: SegmentKind; label: string }[] = [
  { value: "dynamic", label: "Rule — kept up to date as contacts change" },
  { value: "static", label: "List — exactly the people you add" },
];

/** Fields a segment may read (segments.FIELD_ROOTS: contact, cart, orders, viewed; no trigger event, no journey). */
const SEGMENT_FIELDS = [...CONTACT_FIELDS, "orders.size", "viewed.size"];

export function SegmentEditorPage() {
  const { id } = useParams();
  const segmentId = id ? Number(id) : null;
  const segment = useSegment(segmentId);
  if (segmentId === null) return <SegmentForm segment={null} />;
  if (segment.isPending) return <Loading />;
  if (segment.error || !segment.data) return <SegmentUnavailable error={segment.error} />;
  return <SegmentForm key={segment.data.id} segment={segment.data} />;
}

function SegmentForm({ segment }: { segment: Segment | null }) {
  const navigate = useNavigate();
  const canEdit = useCan("edit");
  const [name, setName] = useState(segment?.name ?? "");
  const [description, setDescription] = useState(segment?.description ?? "");
  const [kind, setKind] = useState<SegmentKind>(segment?.kind ?? "dynamic");
  const [rule, setRule] = useState<Rule>(segment?.rule ?? {});
  const [triedRule, setTriedRule] = useState<string | null>(null);
  const save = useSaveSegment(segment?.id ?? null);
  const events = useEventNames();
  const dynamic = kind === "dynamic";
  const blank = hasBlankCondition(rule);
  const preview = usePreview(rule, dynamic && !blank);
  const ruleJson = JSON.stringify(rule);

  const problems = useMemo(() => {
    const fromPreview = preview.error instanceof ApiError ? ruleProblems(preview.error.fields) : [];
    const fromSave = save.error instanceof ApiError && triedRule === ruleJson ? ruleProblems(save.error.fields) : [];
    const seen = new Set<string>();
    return [...fromSave, ...fromPreview].filter((problem) => {
      const key = `${problem.field}\n${problem.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }, [preview.error, save.error, triedRule, ruleJson]);

  function submit(event: FormEvent) {
    event.preventDefault();
    setTriedRule(ruleJson);
    const body = { name: name.trim(), description, rule: dynamic ? rule : {}, ...(segment ? {} : { kind }) };
    save.mutate(body, { onSuccess: (saved) => navigate(`/segments/${saved.id}`) });
  }

  const shownFields = save.error instanceof ApiError ? Object.keys(save.error.fields).filter((field) => ["name", "description", "kind"].includes(field) || field.startsWith("rule")) : [];
  const title = segment ? `Edit “${segment.name}”` : "New segment";
  return (
    <div className="page">
      <PageHeader title={title} description={segment ? undefined : "Describe who belongs in it. You can change the rule later; membership follows."} />
      {!canEdit ? <Banner tone="warning">Your role can look at segments but not change them.</Banner> : null}
      <form className="segment-editor" onSubmit={submit} aria-label={title}>
        <div className="segment-editor-main">
          <section className="card">
            <ErrorBanner error={save.error} shownFields={shownFields} />
            <TextField label="Name" value={name} onChange={(event) => setName(event.target.value)} required maxLength={200} placeholder="Pro customers in Germany" error={fieldError(save.error, "name")} />
            <div className="field">
              <label htmlFor="segment-description">Description</label>
              <textarea id="segment-description" rows={2} value={description} maxLength={2000} placeholder="Who this is for, and which journeys use it" onChange={(event) => setDescription(event.target.value)} />
              {fieldError(save.error, "description") ? <div className="field-error">{fieldError(save.error, "description")}</div> : null}
            </div>
            {segment ? (
              <p className="muted segment-kind-fixed">{kind === "dynamic" ? "A rule: Wayline keeps its members up to date." : "A list: you add and remove its members by hand."}</p>
            ) : (
              <SelectField label="Kind" value={kind} options={KIND_OPTIONS} onChange={(event) => setKind(event.target.value as SegmentKind)} error={fieldError(save.error, "kind")} />
            )}
          </section>
          {dynamic ? (
            <section className="card segment-rule" aria-labelledby="segment-rule-title">
              <h2 id="segment-rule-title">Who is in it</h2>
              <p className="muted">Contacts who match these conditions right now. As they change — a new trait, an order, a cart — they enter or leave on their own.</p>
              <ConditionBuilder label="Segment rule" rule={rule} onChange={setRule} path="rule" problems={problems} fields={SEGMENT_FIELDS} events={events.data ?? []} />
            </section>
          ) : (
            <section className="card">
              <h2>Who is in it</h2>
              <p className="muted">{segment ? "Add people on the list's page by pasting their emails." : "After you save, paste the emails of the people who belong on this list."}</p>
            </section>
          )}
          <div className="segment-editor-actions">
            <button type="submit" className="button button-primary" disabled={!canEdit || save.isPending || !name.trim()}>
              {save.isPending ? "Saving…" : segment ? "Save changes" : "Save segment"}
            </button>
            <Link className="button button-quiet" to={segment ? `/segments/${segment.id}` : "/segments"}>
              Cancel
            </Link>
          </div>
        </div>
        {dynamic ? <PreviewPanel preview={preview} blank={blank} /> : null}
      </form>
    </div>
  );
}

function PreviewPanel({ preview, blank }: { preview: ReturnType<typeof usePreview>; blank: boolean }) {
  const data = preview.data;
  const ruleError = preview.error instanceof ApiError && Object.keys(preview.error.fields).some((field) => field.startsWith("rule"));
  return (
    <aside className="card segment-preview" aria-labelledby="segment-preview-title">
      <h2 id="segment-preview-title">Who matches now</h2>
      <div className="segment-preview-count" role="status" aria-live="polite" aria-label="Live count">
        {blank ? (
          <span className="muted">Finish the new condition to see who matches.</span>
        ) : ruleError ? (
          <span className="muted">Fix the rule to see who matches.</span>
        ) : data ? (
          <>
            <strong data-testid="preview-count">{data.count.toLocaleString("en")}</strong> {data.count === 1 ? "contact matches" : "contacts match"}
            {preview.isFetching ? <span className="muted"> · counting…</span> : null}
          </>
        ) : preview.isFetching ? (
          <span className="muted">Counting…</span>
        ) : null}
      </div>
      {data && !blank && !ruleError ? (
        <>
          {data.capped ? (
            <p className="muted">
              Counted among the first {contactCount(data.evaluated)} of {data.total.toLocaleString("en")}. Once saved, the segment counts everyone.
            </p>
          ) : (
            <p className="muted">out of {contactCount(data.total)} in this workspace</p>
          )}
          {data.sample.length ? (
            <>
              <h3>A few of them</h3>
              <ul className="segment-sample" aria-label="Sample of matching contacts">
                {data.sample.map((contact) => (
                  <li key={contact.id}>
                    <Link to={`/contacts/${contact.id}`} target="_blank" rel="noreferrer">
                      {memberLabel(contact)}
                    </Link>
                    {contact.name && contact.email ? <span className="cell-sub">{contact.email}</span> : null}
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p className="segment-preview-empty">Nobody matches yet. Loosen a condition, or compare the field names with a contact's profile.</p>
          )}
        </>
      ) : null}
      {preview.error && !ruleError ? <ErrorBanner error={preview.error} /> : null}
    </aside>
  );
}
