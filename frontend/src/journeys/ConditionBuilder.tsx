/**
 * The condition builder of the one rule language (journeys/rules.py): groups of all / any / none,
 * field comparisons with every operator, and event history ("did Order Completed at least once in
 * the last 30 days"). Problems from the server land on the row and input they name.
 */
import { useEffect, useId, useState } from "react";
import "./conditionBuilder.css";
import { DurationInput, FieldMessages, Suggestions, exactMessages, messagesFor } from "./fields";
import type { CountOperator, FieldRule, Operator, PerformedRule, Rule, Scalar, ValidationProblem } from "./types";

export const OPERATORS: { value: Operator; label: string }[] = [
  { value: "eq", label: "is" },
  { value: "neq", label: "is not" },
  { value: "gt", label: "is greater than" },
  { value: "gte", label: "is at least" },
  { value: "lt", label: "is less than" },
  { value: "lte", label: "is at most" },
  { value: "in", label: "is one of" },
  { value: "not_in", label: "is none of" },
  { value: "contains", label: "contains" },
  { value: "not_contains", label: "does not contain" },
  { value: "starts_with", label: "starts with" },
  { value: "exists", label: "is set" },
  { value: "not_exists", label: "is not set" },
  { value: "before", label: "is before" },
  { value: "after", label: "is after" },
];

const COUNT_OPERATORS: { value: CountOperator; label: string }[] = [
  { value: "gte", label: "at least" },
  { value: "lte", label: "at most" },
  { value: "eq", label: "exactly" },
  { value: "gt", label: "more than" },
  { value: "lt", label: "fewer than" },
  { value: "neq", label: "not exactly" },
];

type Mode = "all" | "any" | "none";

interface Group {
  mode: Mode;
  items: Rule[];
  /** the path of the items list ("config.condition.all"), or null when the rule is a single condition */
  base: string | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

export function asGroup(input: Rule | undefined | null, path: string): Group {
  const rule = input as Record<string, unknown> | undefined | null;
  if (!isRecord(rule) || Object.keys(rule).length === 0) return { mode: "all", items: [], base: `${path}.all` };
  if (Array.isArray(rule.all)) return { mode: "all", items: rule.all as Rule[], base: `${path}.all` };
  if (Array.isArray(rule.any)) return { mode: "any", items: rule.any as Rule[], base: `${path}.any` };
  if (isRecord(rule.not) && Array.isArray(rule.not.any)) return { mode: "none", items: rule.not.any as Rule[], base: `${path}.not.any` };
  return { mode: "all", items: [rule as Rule], base: null };
}

export function fromGroup(mode: Mode, items: Rule[]): Rule {
  if (mode === "any") return { any: items };
  if (mode === "none") return { not: { any: items } };
  return { all: items };
}

const NO_VALUE = new Set<Operator>(["exists", "not_exists"]);
const LIST_VALUE = new Set<Operator>(["in", "not_in"]);

/** "100" -> 100, "DE" -> "DE": numbers typed as numbers are stored as numbers. */
export function parseScalar(text: string): Scalar {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return text;
}

export function valueToText(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => (item === null ? "" : String(item))).join(", ");
  if (value === undefined || value === null) return "";
  return String(value);
}

export function textToValue(text: string, op: Operator): Scalar | Scalar[] | undefined {
  if (NO_VALUE.has(op)) return undefined;
  if (LIST_VALUE.has(op))
    return text
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean)
      .map(parseScalar);
  if (op === "before" || op === "after") return text.trim();
  return parseScalar(text);
}

function ValueInput({ rule, onChange, label, invalid }: { rule: FieldRule; onChange: (value: Scalar | Scalar[] | undefined) => void; label: string; invalid: boolean }) {
  const [text, setText] = useState(valueToText(rule.value));
  useEffect(() => {
    if (JSON.stringify(textToValue(text, rule.op)) !== JSON.stringify(rule.value)) setText(valueToText(rule.value));
  }, [rule.value, rule.op]);
  if (NO_VALUE.has(rule.op)) return <span className="condition-novalue" />;
  const placeholder = LIST_VALUE.has(rule.op) ? "DE, AT, CH" : rule.op === "before" || rule.op === "after" ? "2025-01-31, now or -P30D" : "value";
  return (
    <input
      aria-label={label}
      className="condition-value"
      value={text}
      placeholder={placeholder}
      aria-invalid={invalid || undefined}
      onChange={(event) => {
        setText(event.target.value);
        onChange(textToValue(event.target.value, rule.op));
      }}
    />
  );
}

interface BuilderProps {
  rule: Rule | undefined | null;
  onChange: (rule: Rule) => void;
  /** the field path of this rule inside the node ("config.condition"), for server problems */
  path: string;
  problems: ValidationProblem[];
  /** field names to suggest (contact.country, event.properties.total, ...) */
  fields: readonly string[];
  /** event names to suggest for event history */
  events?: readonly string[];
  /** a label for screen readers: what this condition decides */
  label: string;
  /** inside `performed ... where`, fields name event properties and history cannot nest */
  nested?: boolean;
  depth?: number;
}

export function ConditionBuilder({ rule, onChange, path, problems, fields, events = [], label, nested = false, depth = 0 }: BuilderProps) {
  const group = asGroup(rule, path);
  const fieldList = useId();
  const eventList = useId();
  const itemPath = (index: number) => (group.base ? `${group.base}[${index}]` : path);
  const setItems = (items: Rule[]) => onChange(fromGroup(group.mode, items));
  const setItem = (index: number, item: Rule) => setItems(group.items.map((current, i) => (i === index ? item : current)));
  const removeItem = (index: number) => setItems(group.items.filter((_, i) => i !== index));
  const groupMessages = group.base ? exactMessages(problems, group.base.replace(/\.(all|any)$/, "")).concat(exactMessages(problems, group.base)) : [];

  return (
    <div className={`condition-group depth-${depth}`} role="group" aria-label={label}>
      <Suggestions id={fieldList} values={fields} />
      <Suggestions id={eventList} values={events} />
      <div className="condition-group-head">
        <label className="condition-mode">
          <span className="visually-hidden">{label}: match</span>
          <select aria-label={`${label}: match`} value={group.mode} onChange={(event) => onChange(fromGroup(event.target.value as Mode, group.items))}>
            <option value="all">All of</option>
            <option value="any">Any of</option>
            <option value="none">None of</option>
          </select>
        </label>
        <span className="muted">{group.items.length ? "these conditions" : group.mode === "any" ? "— no conditions: never holds" : "— no conditions: always holds"}</span>
      </div>
      <FieldMessages messages={groupMessages} />
      <ol className="condition-items">
        {group.items.map((item, index) => {
          const at = itemPath(index);
          const rowLabel = `${label}, condition ${index + 1}`;
          return (
            <li key={index} className="condition-item" data-field={at}>
              {isRecord(item) && (Array.isArray(item.all) || Array.isArray(item.any) || "not" in item) ? (
                <ConditionBuilder
                  rule={item}
                  onChange={(next) => setItem(index, next)}
                  path={at}
                  problems={problems}
                  fields={fields}
                  events={events}
                  label={`${rowLabel} (group)`}
                  nested={nested}
                  depth={depth + 1}
                />
              ) : isRecord(item) && "performed" in item ? (
                <PerformedRow rule={item as unknown as PerformedRule} onChange={(next) => setItem(index, next)} path={at} problems={problems} eventList={eventList} label={rowLabel} />
              ) : (
                <FieldRow rule={item as unknown as FieldRule} onChange={(next) => setItem(index, next)} path={at} problems={problems} fieldList={fieldList} label={rowLabel} />
              )}
              <button type="button" className="button button-quiet button-small condition-remove" aria-label={`Remove ${rowLabel}`} onClick={() => removeItem(index)}>
                ×
              </button>
            </li>
          );
        })}
      </ol>
      <div className="condition-add">
        <button type="button" className="button button-small" onClick={() => setItems([...group.items, { field: "", op: "eq", value: "" }])}>
          + Condition
        </button>
        {nested ? null : (
          <button type="button" className="button button-small" onClick={() => setItems([...group.items, { performed: "", within: "P30D", count: { gte: 1 } }])}>
            + Event history
          </button>
        )}
        {depth < 2 ? (
          <button type="button" className="button button-small" onClick={() => setItems([...group.items, { any: [] }])}>
            + Group
          </button>
        ) : null}
      </div>
    </div>
  );
}

function FieldRow({ rule, onChange, path, problems, fieldList, label }: { rule: FieldRule; onChange: (rule: Rule) => void; path: string; problems: ValidationProblem[]; fieldList: string; label: string }) {
  const fieldMessages = messagesFor(problems, `${path}.field`);
  const opMessages = messagesFor(problems, `${path}.op`);
  const valueMessages = messagesFor(problems, `${path}.value`);
  const own = exactMessages(problems, path);
  return (
    <div className="condition-row">
      <input
        aria-label={`${label}: field`}
        className="mono condition-field"
        list={fieldList}
        value={rule.field ?? ""}
        placeholder="contact.country"
        spellCheck={false}
        aria-invalid={fieldMessages.length ? true : undefined}
        onChange={(event) => onChange({ ...rule, field: event.target.value })}
      />
      <select
        aria-label={`${label}: operator`}
        value={rule.op ?? "eq"}
        aria-invalid={opMessages.length ? true : undefined}
        onChange={(event) => {
          const op = event.target.value as Operator;
          const next: FieldRule = { field: rule.field, op };
          const value = textToValue(valueToText(rule.value), op);
          if (value !== undefined) next.value = value;
          onChange(next);
        }}
      >
        {OPERATORS.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
        {OPERATORS.some((option) => option.value === rule.op) ? null : <option value={rule.op}>{String(rule.op)}</option>}
      </select>
      <ValueInput
        rule={rule}
        label={`${label}: value`}
        invalid={valueMessages.length > 0}
        onChange={(value) => {
          const next: FieldRule = { field: rule.field, op: rule.op };
          if (value !== undefined) next.value = value;
          onChange(next);
        }}
      />
      <FieldMessages messages={[...own, ...fieldMessages, ...opMessages, ...valueMessages]} />
    </div>
  );
}

function PerformedRow({ rule, onChange, path, problems, eventList, label }: { rule: PerformedRule; onChange: (rule: Rule) => void; path: string; problems: ValidationProblem[]; eventList: string; label: string }) {
  const [countOp, countValue] = Object.entries(rule.count ?? { gte: 1 })[0] ?? ["gte", 1];
  const [showWhere, setShowWhere] = useState(Boolean(rule.where && Object.keys(rule.where).length));
  const messages = [...exactMessages(problems, path), ...messagesFor(problems, `${path}.performed`), ...messagesFor(problems, `${path}.count`)];
  return (
    <div className="condition-row condition-performed">
      <span className="condition-word">did</span>
      <input
        aria-label={`${label}: event`}
        list={eventList}
        value={rule.performed ?? ""}
        placeholder="Order Completed"
        aria-invalid={messagesFor(problems, `${path}.performed`).length ? true : undefined}
        onChange={(event) => onChange({ ...rule, performed: event.target.value })}
      />
      <select aria-label={`${label}: how many times`} value={countOp} onChange={(event) => onChange({ ...rule, count: { [event.target.value]: Number(countValue) } })}>
        {COUNT_OPERATORS.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <input
        aria-label={`${label}: count`}
        className="condition-count"
        type="number"
        min={0}
        value={String(countValue)}
        onChange={(event) => onChange({ ...rule, count: { [countOp]: Number(event.target.value || 0) } })}
      />
      <span className="condition-word">{Number(countValue) === 1 ? "time" : "times"}</span>
      <div className="condition-within">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={Boolean(rule.within)}
            onChange={(event) => {
              const next = { ...rule };
              if (event.target.checked) next.within = "P30D";
              else delete next.within;
              onChange(next);
            }}
          />
          in the last
        </label>
        {rule.within ? <DurationInput label={`${label}: within`} value={rule.within} onChange={(within) => onChange({ ...rule, within })} messages={messagesFor(problems, `${path}.within`)} units={["hours", "days", "weeks"]} /> : <span className="muted">ever</span>}
      </div>
      <div className="condition-where">
        {showWhere ? (
          <ConditionBuilder
            rule={rule.where}
            onChange={(where) => onChange({ ...rule, where })}
            path={`${path}.where`}
            problems={problems}
            fields={[]}
            label={`${label}: with properties`}
            nested
            depth={2}
          />
        ) : (
          <button type="button" className="button button-quiet button-small" onClick={() => setShowWhere(true)}>
            + with properties…
          </button>
        )}
      </div>
      <FieldMessages messages={messages} />
    </div>
  );
}
