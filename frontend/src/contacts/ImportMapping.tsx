/**
 * The mapping step of a contact import: each column of the file with the target it goes to
 * (a contact field, a trait, a consent topic or nothing) above its first rows, and the static
 * list the imported contacts go into.
 */
import { useId } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import { fieldError, Loading } from "../lib/ui";
import type { Segment } from "../segments/types";
import type { ImportPreview } from "./types";

const FIELD_LABELS: Record<string, string> = {
  email: "Email",
  user_id: "User ID",
  first_name: "First name",
  last_name: "Last name",
  phone: "Phone",
  timezone: "Time zone",
  locale: "Locale",
  country: "Country",
  city: "City",
};

export const SKIP = "skip";

/** "Favourite Colour" -> "favourite_colour", as the server names a column's trait ("" when nothing usable is left). */
export function traitSlug(name: string): string {
  let slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 64);
  if (/^[0-9]/.test(slug)) slug = `_${slug}`.slice(0, 64);
  return /^[a-z_][a-z0-9_]{0,63}$/.test(slug) ? slug : "";
}

export function targetLabel(target: string): string {
  if (target === SKIP) return "Skip";
  if (target.startsWith("traits.")) return `Trait: ${target.slice("traits.".length)}`;
  if (target.startsWith("consent.")) return `Consent: ${target.slice("consent.".length)}`;
  return FIELD_LABELS[target] ?? target;
}

/** The targets offered for a column: the fields, its own trait, what was suggested or chosen, and Skip. */
export function targetOptions(column: string, fields: string[], ...also: (string | undefined)[]): { value: string; label: string }[] {
  const values = [...fields];
  const slug = traitSlug(column);
  for (const target of [slug ? `traits.${slug}` : undefined, ...also]) {
    if (target && target !== SKIP && !values.includes(target)) values.push(target);
  }
  values.push(SKIP);
  return values.map((value) => ({ value, label: targetLabel(value) }));
}

export function ImportMapping({
  preview,
  mapping,
  onChange,
  error,
}: {
  preview: ImportPreview;
  mapping: Record<string, string>;
  onChange: (column: string, target: string) => void;
  error: unknown;
}) {
  const id = useId();
  const general = fieldError(error, "mapping");
  return (
    <div className="import-mapping">
      <h3 id={`${id}-title`}>Map the columns</h3>
      <p className="muted">
        Choose what each column is. Contacts are matched by user ID, else by email: map a column to one of them. The first{" "}
        {preview.rows.length === 1 ? "row is" : `${preview.rows.length} rows are`} shown below.
      </p>
      {general ? (
        <div className="field-error" role="alert">
          {general}
        </div>
      ) : null}
      <div className="import-mapping-scroll" role="region" aria-labelledby={`${id}-title`} tabIndex={0}>
        <table className="table import-mapping-table" aria-label="Column mapping">
          <thead>
            <tr>
              {preview.columns.map((column, index) => (
                <th key={index} scope="col" className="mono">
                  {column || <span className="muted">(no name)</span>}
                </th>
              ))}
            </tr>
            <tr className="import-mapping-targets">
              {preview.columns.map((column, index) => {
                const selectId = `${id}-target-${index}`;
                const problem = fieldError(error, `mapping.${column}`);
                const target = mapping[column] ?? SKIP;
                return (
                  <td key={index} data-column={column}>
                    <select
                      id={selectId}
                      aria-label={`Target of column ${column || index + 1}`}
                      value={target}
                      aria-invalid={problem ? true : undefined}
                      aria-describedby={problem ? `${selectId}-error` : undefined}
                      onChange={(event) => onChange(column, event.target.value)}
                    >
                      {targetOptions(column, preview.fields, preview.suggested[column], target).map((option) => (
                        <option key={option.value} value={option.value}>
                          {option.label}
                        </option>
                      ))}
                    </select>
                    {problem ? (
                      <div className="field-error" id={`${selectId}-error`} role="alert">
                        {problem}
                      </div>
                    ) : null}
                  </td>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {preview.rows.length === 0 ? (
              <tr>
                <td colSpan={Math.max(1, preview.columns.length)} className="muted">
                  The file has no rows below its header.
                </td>
              </tr>
            ) : (
              preview.rows.map((row, rowIndex) => (
                <tr key={rowIndex} className={rowIndex === 0 ? "preview-first" : undefined}>
                  {row.map((cell, index) => (
                    <td key={index} className={(mapping[preview.columns[index]] ?? SKIP) === SKIP ? "is-skipped" : undefined}>
                      {cell}
                    </td>
                  ))}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export type ListChoiceValue = { mode: "none" } | { mode: "existing"; id: number | null } | { mode: "new"; name: string };

/** Where the imported contacts go: nowhere, an existing static list, or a new list by name. */
export function ListChoice({ value, onChange, error }: { value: ListChoiceValue; onChange: (value: ListChoiceValue) => void; error: unknown }) {
  const id = useId();
  const lists = useQuery({
    queryKey: ["segments", "static-lists"],
    // The segments API lists every kind: the static ones are picked here (500 is a page's most).
    queryFn: ({ signal }) => api.get<Page<Segment>>("segments", { limit: 500 }, signal),
    select: (page) => page.results.filter((segment) => segment.kind === "static"),
    enabled: value.mode === "existing",
  });
  const listError = fieldError(error, "list");
  const nameError = fieldError(error, "new_list");
  return (
    <fieldset className="import-list-choice">
      <legend>Put the imported contacts in a list</legend>
      <label className="choice">
        <input type="radio" name={`${id}-list`} checked={value.mode === "none"} onChange={() => onChange({ mode: "none" })} />
        No list
      </label>
      <label className="choice">
        <input type="radio" name={`${id}-list`} checked={value.mode === "existing"} onChange={() => onChange({ mode: "existing", id: null })} />
        An existing static list
      </label>
      {value.mode === "existing" ? (
        <div className="field choice-detail">
          <label htmlFor={`${id}-existing`}>List</label>
          {lists.isPending ? (
            <Loading label="Loading lists…" />
          ) : (
            <select
              id={`${id}-existing`}
              value={value.id === null ? "" : String(value.id)}
              aria-invalid={listError ? true : undefined}
              aria-describedby={listError ? `${id}-existing-error` : undefined}
              onChange={(event) => onChange({ mode: "existing", id: event.target.value ? Number(event.target.value) : null })}
            >
              <option value="">{lists.data?.length ? "Choose a list…" : "No static lists yet"}</option>
              {(lists.data ?? []).map((segment) => (
                <option key={segment.id} value={segment.id}>
                  {segment.name} ({segment.member_count.toLocaleString()})
                </option>
              ))}
            </select>
          )}
          {lists.isError ? <div className="field-error">The lists could not be loaded.</div> : null}
          {listError ? (
            <div className="field-error" id={`${id}-existing-error`} role="alert">
              {listError}
            </div>
          ) : null}
        </div>
      ) : null}
      <label className="choice">
        <input type="radio" name={`${id}-list`} checked={value.mode === "new"} onChange={() => onChange({ mode: "new", name: "" })} />
        A new list
      </label>
      {value.mode === "new" ? (
        <div className="field choice-detail">
          <label htmlFor={`${id}-new`}>New list name</label>
          <input
            id={`${id}-new`}
            value={value.name}
            maxLength={200}
            autoFocus
            aria-invalid={nameError ? true : undefined}
            aria-describedby={nameError ? `${id}-new-error` : undefined}
            onChange={(event) => onChange({ mode: "new", name: event.target.value })}
          />
          {nameError ? (
            <div className="field-error" id={`${id}-new-error`} role="alert">
              {nameError}
            </div>
          ) : null}
        </div>
      ) : null}
      {!listError && value.mode === "existing" && !lists.isPending && lists.data?.length === 0 ? (
        <p className="muted">Create a static list on the Segments page, or choose a new list here.</p>
      ) : null}
    </fieldset>
  );
}
