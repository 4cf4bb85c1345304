/** Small form pieces of the side panels: labelled inputs with suggestions, durations, problems. */
import { useEffect, useId, useState, type ReactNode } from "react";
import "./fields.css";
import { DURATION_UNITS, joinDuration, splitDuration, type DurationUnit } from "./duration";
import type { ValidationProblem } from "./types";

/** Messages for one field of a node: the field itself and anything inside it. */
export function messagesFor(problems: ValidationProblem[], field: string): string[] {
  return problems
    .filter((problem) => problem.field === field || problem.field.startsWith(`${field}.`) || problem.field.startsWith(`${field}[`))
    .map((problem) => problem.message);
}

/** Messages for exactly this field path (no deeper paths). */
export function exactMessages(problems: ValidationProblem[], field: string): string[] {
  return problems.filter((problem) => problem.field === field).map((problem) => problem.message);
}

export function FieldMessages({ id, messages }: { id?: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <div className="field-error" id={id} role="alert">
      {messages.map((message, index) => (
        <div key={index}>{message}</div>
      ))}
    </div>
  );
}

interface LabelledProps {
  label: string;
  hint?: ReactNode;
  messages?: string[];
  children: (props: { id: string; invalid: boolean; describedBy: string | undefined }) => ReactNode;
  className?: string;
  /** the field path, set as data-field so tests and the problem list can find the input */
  field?: string;
}

export function Labelled({ label, hint, messages = [], children, className, field }: LabelledProps) {
  const id = useId();
  const invalid = messages.length > 0;
  const describedBy = [invalid ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field ${className ?? ""}${invalid ? " field-invalid" : ""}`} data-field={field}>
      <label htmlFor={id}>{label}</label>
      {children({ id, invalid, describedBy })}
      {hint ? (
        <div className="field-hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      <FieldMessages id={`${id}-error`} messages={messages} />
    </div>
  );
}

/** A datalist of suggestions shared by inputs (`list={id}`). */
export function Suggestions({ id, values }: { id: string; values: readonly string[] }) {
  return (
    <datalist id={id}>
      {values.map((value) => (
        <option key={value} value={value} />
      ))}
    </datalist>
  );
}

interface TextProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  messages?: string[];
  hint?: ReactNode;
  placeholder?: string;
  suggestions?: readonly string[];
  field?: string;
  mono?: boolean;
  type?: string;
  className?: string;
}

export function TextInput({ label, value, onChange, messages, hint, placeholder, suggestions, field, mono, type = "text", className }: TextProps) {
  const listId = useId();
  return (
    <Labelled label={label} messages={messages} hint={hint} field={field} className={className}>
      {({ id, invalid, describedBy }) => (
        <>
          <input
            id={id}
            type={type}
            className={mono ? "mono" : undefined}
            value={value}
            placeholder={placeholder}
            list={suggestions?.length ? listId : undefined}
            aria-invalid={invalid || undefined}
            aria-describedby={describedBy}
            autoComplete="off"
            spellCheck={false}
            onChange={(event) => onChange(event.target.value)}
          />
          {suggestions?.length ? <Suggestions id={listId} values={suggestions} /> : null}
        </>
      )}
    </Labelled>
  );
}

interface SelectProps<T extends string> {
  label: string;
  value: T;
  options: readonly { value: T; label: string }[];
  onChange: (value: T) => void;
  messages?: string[];
  hint?: ReactNode;
  field?: string;
}

export function SelectInput<T extends string>({ label, value, options, onChange, messages, hint, field }: SelectProps<T>) {
  return (
    <Labelled label={label} messages={messages} hint={hint} field={field}>
      {({ id, invalid, describedBy }) => (
        <select id={id} value={value} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(event) => onChange(event.target.value as T)}>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </Labelled>
  );
}

interface DurationProps {
  label: string;
  value: string | undefined;
  onChange: (value: string) => void;
  messages?: string[];
  hint?: ReactNode;
  field?: string;
  units?: DurationUnit[];
}

/** A number and a unit, stored as an ISO 8601 duration ("PT1H"). */
export function DurationInput({ label, value, onChange, messages, hint, field, units }: DurationProps) {
  const parsed = splitDuration(value);
  const [amount, setAmount] = useState(parsed ? String(parsed.amount) : "");
  const [unit, setUnit] = useState<DurationUnit>(parsed?.unit ?? "hours");
  // Follow the stored value when it changes from outside (undo, another node).
  useEffect(() => {
    const next = splitDuration(value);
    if (!next || (amount !== "" && joinDuration(Number(amount), unit) === value)) return;
    setAmount(String(next.amount));
    setUnit(next.unit);
  }, [value]);
  const options = DURATION_UNITS.filter((item) => (units ? units.includes(item.value) : item.value !== "seconds") || item.value === unit);
  const invalidText = value && !parsed ? `“${value}” is not a duration; choose a number and a unit.` : null;
  return (
    <Labelled label={label} messages={[...(invalidText ? [invalidText] : []), ...(messages ?? [])]} hint={hint} field={field} className="duration-field">
      {({ id, invalid, describedBy }) => (
        <div className="duration-row">
          <input
            id={id}
            type="number"
            min={0}
            step={1}
            inputMode="numeric"
            value={amount}
            aria-invalid={invalid || undefined}
            aria-describedby={describedBy}
            onChange={(event) => {
              setAmount(event.target.value);
              if (event.target.value !== "" && Number(event.target.value) >= 0) onChange(joinDuration(Number(event.target.value), unit));
            }}
          />
          <select
            aria-label={`${label}: unit`}
            value={unit}
            onChange={(event) => {
              const next = event.target.value as DurationUnit;
              setUnit(next);
              if (amount !== "") onChange(joinDuration(Number(amount), next));
            }}
          >
            {options.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      )}
    </Labelled>
  );
}

/** A list of name/value rows (headers, attributes to set). */
export function PairsInput({
  label,
  pairs,
  onChange,
  keyLabel,
  valueLabel,
  keySuggestions,
  addLabel,
  messagesFor: messagesOf,
  mono,
}: {
  label: string;
  pairs: [string, string][];
  onChange: (pairs: [string, string][]) => void;
  keyLabel: string;
  valueLabel: string;
  keySuggestions?: readonly string[];
  addLabel: string;
  messagesFor?: (key: string) => string[];
  mono?: boolean;
}) {
  const listId = useId();
  return (
    <fieldset className="pairs">
      <legend>{label}</legend>
      {keySuggestions?.length ? <Suggestions id={listId} values={keySuggestions} /> : null}
      {pairs.map(([key, value], index) => {
        const messages = messagesOf ? messagesOf(key) : [];
        return (
          <div className="pair-row" key={index}>
            <input
              aria-label={`${keyLabel} ${index + 1}`}
              className="mono"
              value={key}
              list={keySuggestions?.length ? listId : undefined}
              placeholder={keyLabel}
              aria-invalid={messages.length ? true : undefined}
              onChange={(event) => onChange(pairs.map((pair, i) => (i === index ? [event.target.value, pair[1]] : pair)))}
            />
            <input
              aria-label={`${valueLabel} ${index + 1}`}
              className={mono ? "mono" : undefined}
              value={value}
              placeholder={valueLabel}
              onChange={(event) => onChange(pairs.map((pair, i) => (i === index ? [pair[0], event.target.value] : pair)))}
            />
            <button type="button" className="button button-quiet button-small" aria-label={`Remove ${keyLabel.toLowerCase()} ${index + 1}`} onClick={() => onChange(pairs.filter((_, i) => i !== index))}>
              ×
            </button>
            <FieldMessages messages={messages} />
          </div>
        );
      })}
      <button type="button" className="button button-small" onClick={() => onChange([...pairs, ["", ""]])}>
        {addLabel}
      </button>
    </fieldset>
  );
}
