/**
 * The side-panel form of each node type. `PANELS` is the registry: node type -> its form and the
 * config fields the form shows problems on (the rest are listed at the top of the panel).
 */
import { useEffect, useId, useRef, useState, type ComponentType, type KeyboardEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ConditionBuilder } from "./ConditionBuilder";
import { ExperimentRuleFields } from "./ExperimentResults";
import { weightsProblem } from "./summary";
import { DurationInput, FieldMessages, PairsInput, SelectInput, TextInput, exactMessages, messagesFor } from "./fields";
import { EMAIL_CATEGORIES, SEND_TIME_MODES, WEBHOOK_METHODS, WEEKDAYS, nodeLimit, type NodeKind } from "./nodeTypes";
import { useEventProperties } from "./api";
import { findTemplate, templateRef, useTemplateThumbnail, useTemplateThumbnails, useTemplates } from "../templates/api";
import { TemplateThumbnail as EmailThumbnail } from "../templates/thumbnails";
import type { EmailConfig, NodeConfig, Rule, Scalar, SplitPath, ValidationProblem, Variant } from "./types";

export interface Hints {
  /** event names this workspace has received */
  events: string[];
  /** fields a condition can use (contact.*, cart.*, event.properties.* of the trigger) */
  fields: string[];
  /** the trigger's event, if the journey starts with one */
  triggerEvent: string;
}

export interface PanelProps {
  id: string;
  config: NodeConfig;
  set: (config: NodeConfig, field?: string) => void;
  problems: ValidationProblem[];
  hints: Hints;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="panel-section">
      <h3>{title}</h3>
      {children}
    </section>
  );
}

// -- email ------------------------------------------------------------------------------------

function TemplateThumbnail({ reference }: { reference: string }) {
  const templates = useTemplates();
  const template = findTemplate(templates.data, reference);
  const preview = useTemplateThumbnail(template);
  if (!template) return null;
  return (
    <div className="template-thumb">
      <div className="template-thumb-frame" aria-hidden="true">
        {preview.data?.html ? <iframe title={`Preview of ${template.name}`} sandbox="" srcDoc={preview.data.html} tabIndex={-1} /> : <div className="template-thumb-empty">{preview.isError || !template.version ? "No preview" : "Rendering…"}</div>}
      </div>
      <div className="template-thumb-meta">
        <strong>{template.name}</strong>
        {preview.data?.subject ? <span className="muted">{preview.data.subject}</span> : null}
        <Link to={`/templates/${template.id}`} className="button button-small">
          Edit template
        </Link>
      </div>
    </div>
  );
}

/**
 * "Browse templates…": a popover to find a template by name or slug among thumbnails (the ARIA
 * combobox pattern: a text box owning a listbox, arrows move, Enter picks, Escape closes). It sets
 * the same value as the "Template" select beside it, which stays for keyboard users and tests.
 */
function TemplateBrowser({ value, onPick }: { value: string; onPick: (slug: string) => void }) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const id = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(search.trim()), 200);
    return () => window.clearTimeout(timer);
  }, [search]);
  const found = useTemplateThumbnails(query, open);
  const options = found.data ?? [];
  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    if (!open) return;
    input.current?.focus();
    const outside = (event: MouseEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open]);
  useEffect(() => {
    if (open) document.getElementById(`${id}-option-${active}`)?.scrollIntoView({ block: "nearest" });
  }, [active, open, id]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const pick = (slug: string) => {
    onPick(slug);
    close();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (options.length) setActive((current) => (current + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length);
    } else if (event.key === "Home" && options.length) {
      event.preventDefault();
      setActive(0);
    } else if (event.key === "End" && options.length) {
      event.preventDefault();
      setActive(options.length - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const chosen = options[active];
      if (chosen) pick(chosen.slug);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  };
  const listId = `${id}-list`;
  return (
    <div className="template-browser" ref={root}>
      <button ref={button} type="button" className="button button-small" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen((was) => !was)}>
        Browse templates…
      </button>
      {open ? (
        <div className="template-browser-popover" role="dialog" aria-labelledby={`${id}-title`}>
          <h4 id={`${id}-title`}>Pick an email</h4>
          <input
            ref={input}
            type="text"
            role="combobox"
            aria-label="Search by name or slug"
            aria-expanded={options.length > 0}
            aria-controls={listId}
            aria-autocomplete="list"
            aria-activedescendant={options[active] ? `${id}-option-${active}` : undefined}
            placeholder="Search by name or slug"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            onKeyDown={onKeyDown}
          />
          <ul id={listId} role="listbox" aria-label="Matching emails" className="template-browser-list">
            {options.map((option, index) => (
              <li
                key={option.slug}
                id={`${id}-option-${index}`}
                role="option"
                aria-selected={index === active}
                data-current={option.slug === value || undefined}
                className="template-browser-option"
                onMouseEnter={() => setActive(index)}
                onMouseDown={(event) => event.preventDefault()}
                onClick={() => pick(option.slug)}
              >
                <EmailThumbnail html={option.html} title={`Preview of ${option.name}`} width={72} height={60} />
                <span>
                  {option.name}
                  {option.slug === value ? " (chosen)" : ""}
                  <span className="mono">{option.slug}</span>
                </span>
              </li>
            ))}
          </ul>
          <div className="template-browser-status" role="status">
            {found.isPending ? "Loading…" : found.isError ? "The templates could not be loaded." : options.length === 0 ? "No template matches." : `${options.length === 1 ? "1 template" : `${options.length} templates`}${found.data && found.data.length >= 50 ? " (the first 50)" : ""}`}
          </div>
        </div>
      ) : null}
    </div>
  );
}

function EmailPanel({ config, set, problems }: PanelProps) {
  const templates = useTemplates();
  const reference = str(config.template);
  const choose = (template: string) => {
    const chosen = templates.data?.find((item) => templateRef(item) === template);
    set({ ...config, template, ...(chosen ? { category: chosen.category } : {}) }, "template");
  };
  const options = [
    { value: "", label: templates.isPending ? "Loading templates…" : "Choose a template" },
    ...(templates.data ?? []).map((template) => ({ value: templateRef(template), label: template.name })),
  ];
  if (reference && !options.some((option) => option.value === reference)) options.push({ value: reference, label: `${reference} (not found)` });
  return (
    <>
      <TemplateBrowser value={reference} onPick={choose} />
      <SelectInput
        label="Template"
        field="config.template"
        value={reference}
        options={options}
        onChange={choose}
        messages={messagesFor(problems, "config.template")}
        hint={
          <>
            Each contact gets it personalized at send time. <Link to="/templates">All templates</Link>
          </>
        }
      />
      {reference ? <TemplateThumbnail reference={reference} /> : null}
      <SelectInput
        label="Category"
        field="config.category"
        value={str(config.category) || "marketing"}
        options={EMAIL_CATEGORIES.map((value) => ({ value, label: value === "marketing" ? "Marketing (consent, caps and quiet hours apply)" : "Transactional (always sent)" }))}
        onChange={(category) => set({ ...config, category }, "category")}
        messages={messagesFor(problems, "config.category")}
      />
      <SendTimeFields config={config} set={set} problems={problems} />
    </>
  );
}

function sendTimeOf(config: NodeConfig): EmailConfig["send_time"] {
  const value = config.send_time;
  if (value && typeof value === "object" && (value as { mode?: unknown }).mode === "best") return value as EmailConfig["send_time"];
  return undefined;
}

/** Send now, or at each contact's best time (the hour of the week it tends to open) within N hours. */
function SendTimeFields({ config, set, problems }: Pick<PanelProps, "config" | "set" | "problems">) {
  const sendTime = sendTimeOf(config);
  const fallback = `PT${nodeLimit("email", "send_time_within_default_hours")}H`;
  const least = nodeLimit("email", "send_time_within_min_hours");
  const most = nodeLimit("email", "send_time_within_max_hours");
  const withoutSendTime = (): NodeConfig => {
    const { send_time: _dropped, ...rest } = config;
    return rest;
  };
  return (
    <>
      <SelectInput
        label="Send"
        field="config.send_time.mode"
        value={sendTime ? "best" : "now"}
        options={SEND_TIME_MODES.map((value) => ({ value, label: value === "best" ? "At each contact's best time" : "Now" }))}
        onChange={(mode) => set(mode === "best" ? { ...config, send_time: { mode: "best", within: fallback } } : withoutSendTime(), "send_time")}
        messages={exactMessages(problems, "config.send_time").concat(exactMessages(problems, "config.send_time.mode"))}
        hint={sendTime ? "The hour of the week each contact tends to open or click, learned from its past emails; quiet hours and the frequency cap still apply." : undefined}
      />
      {sendTime ? (
        <DurationInput
          label="Within the next"
          field="config.send_time.within"
          value={sendTime.within ?? fallback}
          units={["hours", "days"]}
          onChange={(within) => set({ ...config, send_time: { mode: "best", within } }, "send_time")}
          messages={messagesFor(problems, "config.send_time.within")}
          hint={`From ${least} to ${most} hours. A contact with little history gets the workspace's usual time.`}
        />
      ) : null}
    </>
  );
}

// -- delay ------------------------------------------------------------------------------------

const WEEKDAY_NAMES: Record<string, string> = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

function DelayPanel({ config, set, problems }: PanelProps) {
  const mode = str(config.mode) || (config.attribute ? "date_attribute" : config.time || config.weekdays ? "time_of_day" : "duration");
  const weekdays = Array.isArray(config.weekdays) ? (config.weekdays as string[]) : [...WEEKDAYS];
  const offset = str(config.offset);
  const before = offset.startsWith("-");
  const switchMode = (next: string) => {
    if (next === "duration") set({ mode: next, duration: str(config.duration) || "P1D" }, "mode");
    else if (next === "time_of_day") set({ mode: next, time: str(config.time) || "09:00", weekdays: ["mon", "tue", "wed", "thu", "fri"] }, "mode");
    else set({ mode: next, attribute: str(config.attribute) || "contact.traits.", offset: "-P7D", time: "09:00" }, "mode");
  };
  return (
    <>
      <fieldset className="segmented" data-field="config.mode">
        <legend>Wait</legend>
        {[
          ["duration", "For a time"],
          ["time_of_day", "Until a time of day"],
          ["date_attribute", "Until a contact date"],
        ].map(([value, label]) => (
          <label key={value} className={mode === value ? "is-on" : undefined}>
            <input type="radio" name="delay-mode" value={value} checked={mode === value} onChange={() => switchMode(value)} />
            {label}
          </label>
        ))}
      </fieldset>
      <FieldMessages messages={messagesFor(problems, "config.mode")} />
      {mode === "duration" ? (
        <DurationInput label="How long" field="config.duration" value={str(config.duration)} onChange={(duration) => set({ ...config, duration }, "duration")} messages={messagesFor(problems, "config.duration")} />
      ) : null}
      {mode === "time_of_day" ? (
        <>
          <TextInput label="Local time" type="time" field="config.time" value={str(config.time)} onChange={(time) => set({ ...config, time }, "time")} messages={messagesFor(problems, "config.time")} hint="In each contact's own timezone." />
          <fieldset className="weekdays" data-field="config.weekdays">
            <legend>On</legend>
            {WEEKDAYS.map((day) => (
              <label key={day} className={weekdays.includes(day) ? "is-on" : undefined}>
                <input
                  type="checkbox"
                  checked={weekdays.includes(day)}
                  onChange={(event) => {
                    const next = event.target.checked ? WEEKDAYS.filter((item) => item === day || weekdays.includes(item)) : weekdays.filter((item) => item !== day);
                    set({ ...config, weekdays: next }, "weekdays");
                  }}
                />
                {WEEKDAY_NAMES[day]}
              </label>
            ))}
          </fieldset>
          <FieldMessages messages={messagesFor(problems, "config.weekdays")} />
        </>
      ) : null}
      {mode === "date_attribute" ? (
        <>
          <TextInput
            label="Contact date"
            mono
            field="config.attribute"
            value={str(config.attribute)}
            placeholder="contact.traits.renewal_date"
            suggestions={["contact.traits.renewal_date", "contact.traits.birthday", "contact.created_at", "contact.last_activity_at"]}
            onChange={(attribute) => set({ ...config, attribute }, "attribute")}
            messages={messagesFor(problems, "config.attribute")}
          />
          <div className="inline-fields">
            <DurationInput
              label="Offset"
              field="config.offset"
              value={offset.replace(/^[-+]/, "") || "P0D"}
              units={["hours", "days", "weeks"]}
              onChange={(value) => set({ ...config, offset: before ? `-${value}` : value }, "offset")}
              messages={messagesFor(problems, "config.offset")}
            />
            <SelectInput
              label="Before or after"
              value={before ? "before" : "after"}
              options={[
                { value: "before", label: "before the date" },
                { value: "after", label: "after the date" },
              ]}
              onChange={(side) => set({ ...config, offset: side === "before" ? `-${offset.replace(/^[-+]/, "") || "P0D"}` : offset.replace(/^[-+]/, "") || "P0D" }, "offset")}
            />
          </div>
          <TextInput label="At local time" type="time" field="config.time" value={str(config.time)} onChange={(time) => set({ ...config, time }, "time")} messages={messagesFor(problems, "config.time")} />
        </>
      ) : null}
    </>
  );
}

// -- wait for event ---------------------------------------------------------------------------

function WaitPanel({ config, set, problems, hints }: PanelProps) {
  const event = str(config.event);
  const properties = useEventProperties(event || undefined);
  const triggerProperties = useEventProperties(hints.triggerEvent || undefined);
  const match = config.match && typeof config.match === "object" ? (config.match as { property?: string; trigger_property?: string }) : typeof config.match === "string" ? { property: config.match } : null;
  return (
    <>
      <TextInput
        label="Wait for the event"
        field="config.event"
        value={event}
        placeholder="Order Completed"
        suggestions={hints.events}
        onChange={(value) => set({ ...config, event: value }, "event")}
        messages={messagesFor(problems, "config.event")}
      />
      <label className="checkbox">
        <input
          type="checkbox"
          checked={Boolean(config.timeout)}
          onChange={(change) => {
            const next = { ...config };
            if (change.target.checked) next.timeout = "P1D";
            else delete next.timeout;
            set(next, "timeout");
          }}
        />
        Give up after a while (the “Timeout” way out)
      </label>
      {config.timeout ? (
        <DurationInput label="Timeout" field="config.timeout" value={str(config.timeout)} onChange={(timeout) => set({ ...config, timeout }, "timeout")} messages={messagesFor(problems, "config.timeout")} />
      ) : (
        <FieldMessages messages={messagesFor(problems, "config.timeout")} />
      )}
      <Section title="Same as the trigger">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={Boolean(match)}
            onChange={(change) => {
              const next = { ...config };
              if (change.target.checked) next.match = { property: "cart_id" };
              else delete next.match;
              set(next, "match");
            }}
          />
          Only an event about the same thing as the trigger (same cart, same order)
        </label>
        {match ? (
          <div className="inline-fields">
            <TextInput
              label="Event property"
              mono
              field="config.match"
              value={match.property ?? ""}
              suggestions={properties.data ?? []}
              onChange={(property) => set({ ...config, match: { ...match, property } }, "match")}
              messages={messagesFor(problems, "config.match")}
            />
            <TextInput
              label="equals the trigger's"
              mono
              value={match.trigger_property ?? ""}
              placeholder={match.property || "same name"}
              suggestions={triggerProperties.data ?? []}
              onChange={(trigger_property) => {
                const next: { property: string; trigger_property?: string } = { property: match.property ?? "" };
                if (trigger_property) next.trigger_property = trigger_property;
                set({ ...config, match: next }, "match");
              }}
            />
          </div>
        ) : null}
      </Section>
      <Section title="Event conditions">
        <ConditionBuilder
          label="Event conditions"
          rule={config.where as Rule | undefined}
          onChange={(where) => set({ ...config, where }, "where")}
          path="config.where"
          problems={problems}
          fields={(properties.data ?? []).map((name) => `properties.${name}`)}
          nested
        />
      </Section>
    </>
  );
}

// -- branch, split, experiment ----------------------------------------------------------------

function BranchPanel({ config, set, problems, hints }: PanelProps) {
  return (
    <>
      <p className="panel-help">Contacts for whom the condition holds go out of “Yes”, the others out of “No”.</p>
      <ConditionBuilder
        label="Branch condition"
        rule={config.condition as Rule | undefined}
        onChange={(condition) => set({ ...config, condition }, "condition")}
        path="config.condition"
        problems={problems}
        fields={hints.fields}
        events={hints.events}
      />
      <FieldMessages messages={exactMessages(problems, "config.condition")} />
    </>
  );
}

function nextId(prefix: string, taken: string[]): string {
  for (let n = 1; ; n += 1) if (!taken.includes(`${prefix}${n}`)) return `${prefix}${n}`;
}

function SplitPanel({ config, set, problems, hints }: PanelProps) {
  const paths = (Array.isArray(config.paths) ? config.paths : []) as SplitPath[];
  const setPaths = (next: SplitPath[], field = "paths") => set({ ...config, paths: next }, field);
  const move = (index: number, by: number) => {
    const next = [...paths];
    const [item] = next.splice(index, 1);
    next.splice(index + by, 0, item);
    setPaths(next);
  };
  return (
    <>
      <p className="panel-help">Paths are tried in order; the first whose condition holds wins. Contacts matching none go out of “Else”.</p>
      <FieldMessages messages={exactMessages(problems, "config.paths")} />
      <ol className="split-paths">
        {paths.map((path, index) => (
          <li key={path.id} className="split-path" data-field={`config.paths[${index}]`}>
            <div className="split-path-head">
              <TextInput label={`Path ${index + 1} name`} value={path.label ?? ""} placeholder={path.id} onChange={(label) => setPaths(paths.map((item, i) => (i === index ? { ...item, label } : item)), `paths.${index}.label`)} messages={messagesFor(problems, `config.paths[${index}].id`)} />
              <div className="split-path-actions">
                <button type="button" className="button button-quiet button-small" aria-label={`Move path ${index + 1} up`} disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" className="button button-quiet button-small" aria-label={`Move path ${index + 1} down`} disabled={index === paths.length - 1} onClick={() => move(index, 1)}>
                  ↓
                </button>
                <button type="button" className="button button-quiet button-small" aria-label={`Remove path ${index + 1}`} onClick={() => setPaths(paths.filter((_, i) => i !== index))}>
                  ×
                </button>
              </div>
            </div>
            <ConditionBuilder
              label={`Path ${index + 1} condition`}
              rule={path.condition}
              onChange={(condition) => setPaths(paths.map((item, i) => (i === index ? { ...item, condition } : item)), `paths.${index}.condition`)}
              path={`config.paths[${index}].condition`}
              problems={problems}
              fields={hints.fields}
              events={hints.events}
            />
            <FieldMessages messages={exactMessages(problems, `config.paths[${index}].condition`)} />
          </li>
        ))}
      </ol>
      <button
        type="button"
        className="button button-small"
        onClick={() => {
          const id = nextId("path", paths.map((item) => item.id));
          setPaths([...paths, { id, label: `Path ${paths.length + 1}`, condition: { all: [] } }]);
        }}
      >
        + Path
      </button>
    </>
  );
}

function ExperimentPanel({ config, set, problems }: PanelProps) {
  const variants = (Array.isArray(config.variants) ? config.variants : []) as Variant[];
  const total = variants.reduce((sum, variant) => sum + (Number(variant.weight) || 0), 0);
  const setVariants = (next: Variant[], field = "variants") => set({ ...config, variants: next }, field);
  const wanted = nodeLimit("experiment", "weights_total");
  const even = () => {
    const share = Math.floor(wanted / Math.max(variants.length, 1));
    setVariants(variants.map((variant, index) => ({ ...variant, weight: index === 0 ? wanted - share * (variants.length - 1) : share })));
  };
  const problem = weightsProblem(variants);
  const ok = problem === null;
  return (
    <>
      <p className="panel-help">Each contact gets one variant by weight and keeps it, even when entering again.</p>
      <table className="variants">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Weight</th>
            <th scope="col">
              <span className="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {variants.map((variant, index) => (
            <tr key={variant.id} data-field={`config.variants[${index}]`}>
              <td>
                <input aria-label={`Variant ${index + 1} name`} value={variant.label ?? ""} placeholder={variant.id} onChange={(event) => setVariants(variants.map((item, i) => (i === index ? { ...item, label: event.target.value } : item)), `variants.${index}.label`)} />
              </td>
              <td className="variant-weight">
                <input
                  aria-label={`Variant ${index + 1} weight`}
                  type="number"
                  min={0}
                  max={wanted}
                  value={String(variant.weight ?? 0)}
                  aria-invalid={!ok || messagesFor(problems, `config.variants[${index}].weight`).length ? true : undefined}
                  onChange={(event) => setVariants(variants.map((item, i) => (i === index ? { ...item, weight: Number(event.target.value || 0) } : item)), `variants.${index}.weight`)}
                />
                %
              </td>
              <td>
                <button type="button" className="button button-quiet button-small" aria-label={`Remove variant ${index + 1}`} disabled={variants.length <= 2} onClick={() => setVariants(variants.filter((_, i) => i !== index))}>
                  ×
                </button>
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            <td className={ok ? "variant-total" : "variant-total is-bad"} data-testid="weights-total">
              {Number(total.toFixed(2))}%
            </td>
            <td />
          </tr>
        </tfoot>
      </table>
      <FieldMessages messages={[...(problem ? [problem] : []), ...messagesFor(problems, "config.variants").filter((message) => message !== problem)]} />
      <div className="button-row">
        <button
          type="button"
          className="button button-small"
          onClick={() => {
            const id = String.fromCharCode(97 + variants.length);
            const taken = variants.map((item) => item.id);
            setVariants([...variants, { id: taken.includes(id) ? nextId("v", taken) : id, label: id.toUpperCase(), weight: 0 }]);
          }}
        >
          + Variant
        </button>
        <button type="button" className="button button-small" onClick={even}>
          Split evenly
        </button>
      </div>
      <ExperimentRuleFields config={config} set={set} problems={problems} />
    </>
  );
}

// -- update contact, webhook, exit ------------------------------------------------------------

const SETTABLE = ["traits.first_name", "traits.last_name", "traits.plan", "traits.segment", "timezone", "locale", "country", "city"];

function UpdateContactPanel({ config, set, problems }: PanelProps) {
  const entries = Object.entries((config.set as Record<string, Scalar>) ?? {}).map(([key, value]) => [key, value === null ? "" : String(value)] as [string, string]);
  return (
    <>
      <p className="panel-help">
        Values may use Liquid, e.g. <code>{"{{ event.properties.plan }}"}</code>.
      </p>
      <PairsInput
        label="Attributes to set"
        keyLabel="Attribute"
        valueLabel="Value"
        addLabel="+ Attribute"
        mono
        pairs={entries}
        keySuggestions={SETTABLE}
        messagesFor={(key) => messagesFor(problems, `config.set.${key}`)}
        onChange={(pairs) => set({ ...config, set: Object.fromEntries(pairs) }, "set")}
      />
      <FieldMessages messages={exactMessages(problems, "config.set")} />
    </>
  );
}

function WebhookPanel({ config, set, problems }: PanelProps) {
  const headers = Object.entries((config.headers as Record<string, string>) ?? {}).map(([key, value]) => [key, String(value)] as [string, string]);
  return (
    <>
      <div className="inline-fields webhook-line">
        <SelectInput label="Method" field="config.method" value={str(config.method) || "POST"} options={WEBHOOK_METHODS.map((value) => ({ value, label: value }))} onChange={(method) => set({ ...config, method }, "method")} messages={messagesFor(problems, "config.method")} />
        <TextInput label="URL" mono field="config.url" value={str(config.url)} placeholder="https://api.example.com/hooks/{{ contact.id }}" onChange={(url) => set({ ...config, url }, "url")} messages={messagesFor(problems, "config.url")} className="grow" />
      </div>
      <PairsInput label="Headers" keyLabel="Header" valueLabel="Value" addLabel="+ Header" pairs={headers} messagesFor={() => []} onChange={(pairs) => set({ ...config, headers: Object.fromEntries(pairs) }, "headers")} />
      <FieldMessages messages={messagesFor(problems, "config.headers")} />
      <div className="field" data-field="config.body">
        <label htmlFor="webhook-body">Body (Liquid)</label>
        <textarea id="webhook-body" className="mono" rows={6} value={str(config.body)} spellCheck={false} placeholder={'{"email": "{{ contact.email }}"}'} onChange={(event) => set({ ...config, body: event.target.value }, "body")} />
        <FieldMessages messages={messagesFor(problems, "config.body")} />
      </div>
      <div className="inline-fields">
        <DurationInput label="Timeout" field="config.timeout" value={str(config.timeout) || "PT10S"} units={["seconds"]} onChange={(timeout) => set({ ...config, timeout }, "timeout")} messages={messagesFor(problems, "config.timeout")} hint={`At most ${nodeLimit("webhook", "timeout_max_seconds")} s.`} />
        <TextInput label="Retries" type="number" field="config.retries" value={String(config.retries ?? 2)} onChange={(value) => set({ ...config, retries: Number(value || 0) }, "retries")} messages={messagesFor(problems, "config.retries")} />
      </div>
      <p className="panel-help">The response is kept for later steps as <code>journey.webhook.&lt;node&gt;</code>. Private and loopback addresses are refused.</p>
    </>
  );
}

function ExitPanel() {
  return <p className="panel-help">Contacts reaching this step leave the journey. A way out left unconnected ends the journey too; an Exit makes it explicit.</p>;
}

export interface PanelEntry {
  Panel: ComponentType<PanelProps>;
  /** config fields shown inline (their problems are not repeated at the top) */
  fields: string[];
}

export const PANELS: Record<NodeKind, PanelEntry> = {
  email: { Panel: EmailPanel, fields: ["config.template", "config.category", "config.send_time", "config.send_time.mode", "config.send_time.within"] },
  delay: { Panel: DelayPanel, fields: ["config.mode", "config.duration", "config.time", "config.weekdays", "config.attribute", "config.offset"] },
  wait_for_event: { Panel: WaitPanel, fields: ["config.event", "config.timeout", "config.match", "config.where"] },
  branch: { Panel: BranchPanel, fields: ["config.condition"] },
  split: { Panel: SplitPanel, fields: ["config.paths"] },
  experiment: { Panel: ExperimentPanel, fields: ["config.variants", "config.mode", "config.floor", "config.metric", "config.decide"] },
  update_contact: { Panel: UpdateContactPanel, fields: ["config.set"] },
  webhook: { Panel: WebhookPanel, fields: ["config.method", "config.url", "config.headers", "config.body", "config.timeout", "config.retries"] },
  exit: { Panel: ExitPanel, fields: [] },
};
