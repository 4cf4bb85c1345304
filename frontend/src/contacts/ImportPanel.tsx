/**
 * Upload a CSV of contacts or products; the import runs in a worker and this panel polls its
 * progress, then shows what was created and updated and a per-row error report. A contact file is
 * previewed first: the marketer maps its columns (ImportMapping) and may choose a list to fill.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, parseError, readCookie } from "../lib/api";
import { Banner, ErrorBanner, fieldError, Loading } from "../lib/ui";
import { ImportMapping, ListChoice, type ListChoiceValue } from "./ImportMapping";
import type { ImportJob, ImportPreview } from "./types";
import "./customers.css";

const EXAMPLES: Record<ImportJob["kind"], string> = {
  contacts: "email,user_id,first_name,plan,country,timezone,locale,consent.newsletter",
  products: "sku,name,price,currency,stock,category,tags,url,image_url",
};

async function postForm<T>(path: string, fields: Record<string, string | Blob>): Promise<T> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = readCookie("csrftoken");
  if (token) headers["X-CSRFToken"] = token;
  let response: Response;
  try {
    response = await fetch(path, { method: "POST", body: form, headers, credentials: "same-origin" });
  } catch {
    throw parseError(0, { error: "Cannot reach the server. Check your connection.", code: "network", fields: {} });
  }
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw parseError(response.status, data);
  return data as T;
}

interface ContactPlan {
  mapping: Record<string, string>;
  list: ListChoiceValue;
}

function upload(kind: ImportJob["kind"], file: File, plan?: ContactPlan): Promise<ImportJob> {
  const fields: Record<string, string | Blob> = { kind, file };
  if (plan) {
    fields.mapping = JSON.stringify(plan.mapping);
    if (plan.list.mode === "existing" && plan.list.id !== null) fields.list = String(plan.list.id);
    if (plan.list.mode === "new") fields.new_list = plan.list.name;
  }
  return postForm<ImportJob>("/api/imports", fields);
}

/** The server's field errors this panel shows next to its inputs (the rest go to the banner). */
function shownFields(error: unknown, preview: ImportPreview | null): string[] {
  const shown = ["file", "list", "new_list"];
  if (preview) shown.push("mapping", ...preview.columns.map((column) => `mapping.${column}`));
  return error ? shown : [];
}

export function ImportPanel({ kind, onDone }: { kind: ImportJob["kind"]; onDone?: () => void }) {
  const client = useQueryClient();
  const fileRef = useRef<HTMLInputElement>(null);
  const [jobId, setJobId] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [list, setList] = useState<ListChoiceValue>({ mode: "none" });
  const previewFor = useRef<File | null>(null);
  const job = useQuery({
    queryKey: ["imports", jobId],
    queryFn: ({ signal }) => api.get<ImportJob>(`imports/${jobId}`, undefined, signal),
    enabled: jobId !== null,
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === "done" || status === "failed" ? false : 500;
    },
  });
  const finished = job.data !== undefined && (job.data.status === "done" || job.data.status === "failed");
  const finishedId = finished ? job.data?.id : undefined;
  useEffect(() => {
    if (finishedId === undefined) return;
    void client.invalidateQueries({ queryKey: [kind] });
    if (kind === "contacts") void client.invalidateQueries({ queryKey: ["segments"] });
    onDone?.();
  }, [finishedId, client, kind, onDone]);

  async function choose() {
    const file = fileRef.current?.files?.[0] ?? null;
    setError(null);
    setJobId(null);
    setPreview(null);
    previewFor.current = file;
    if (kind !== "contacts" || !file) return;
    setPreviewing(true);
    try {
      const found = await postForm<ImportPreview>("/api/imports/preview", { file });
      if (previewFor.current !== file) return; // another file was chosen meanwhile
      setPreview(found);
      setMapping(Object.fromEntries(found.columns.map((column) => [column, found.suggested[column] ?? "skip"])));
    } catch (cause) {
      if (previewFor.current === file) setError(cause);
    } finally {
      if (previewFor.current === file) setPreviewing(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) {
      setError(parseError(400, { error: "Choose a CSV file first.", code: "invalid", fields: {} }));
      return;
    }
    if (kind === "contacts" && !preview) return; // the mapping step comes first
    if (list.mode === "existing" && list.id === null) {
      setError(parseError(400, { error: "Choose a list, or no list.", code: "invalid", fields: { list: ["Choose a list."] } }));
      return;
    }
    setSending(true);
    setError(null);
    try {
      const created = await upload(kind, file, kind === "contacts" ? { mapping, list } : undefined);
      setJobId(created.id);
    } catch (cause) {
      setError(cause);
    } finally {
      setSending(false);
    }
  }

  const data = job.data;
  const running = data !== undefined && !finished;
  const fileProblem = fieldError(error, "file");
  return (
    <section className="card import-panel" aria-label={`Import ${kind}`}>
      <div className="card-header">
        <h2>Import {kind} from CSV</h2>
      </div>
      <p className="muted">
        UTF-8 CSV with a header row, for example <code>{EXAMPLES[kind]}</code>.{" "}
        {kind === "contacts"
          ? "After choosing the file, say what each column is; contacts are matched by user_id, else by email."
          : "Rows are matched by sku; other columns become attributes. Price changes go to the price history."}{" "}
        Rows with errors are skipped and listed; if the file cannot be read or saving fails, nothing is imported.
      </p>
      <ErrorBanner error={error} shownFields={shownFields(error, preview)} />
      <form className="import-form" onSubmit={submit}>
        <div className="form-inline">
          <div className="field">
            <label htmlFor={`import-${kind}`}>CSV file</label>
            <input
              id={`import-${kind}`}
              ref={fileRef}
              type="file"
              accept=".csv,text/csv"
              disabled={running}
              aria-invalid={fileProblem ? true : undefined}
              onChange={() => void choose()}
            />
            {fileProblem ? <div className="field-error">{fileProblem}</div> : null}
          </div>
          {kind === "products" ? (
            <div className="form-submit">
              <button type="submit" className="button button-primary" disabled={sending || running}>
                {sending ? "Uploading…" : "Import"}
              </button>
            </div>
          ) : null}
        </div>
        {previewing ? <Loading label="Reading the file…" /> : null}
        {kind === "contacts" && preview ? (
          <>
            <ImportMapping
              preview={preview}
              mapping={mapping}
              error={error}
              onChange={(column, target) => setMapping((current) => ({ ...current, [column]: target }))}
            />
            <ListChoice value={list} onChange={setList} error={error} />
            <div className="form-submit">
              <button type="submit" className="button button-primary" disabled={sending || running}>
                {sending ? "Uploading…" : "Import"}
              </button>
            </div>
          </>
        ) : null}
      </form>
      {data ? <ImportProgress job={data} /> : null}
    </section>
  );
}

export function ImportProgress({ job }: { job: ImportJob }) {
  const label =
    job.status === "queued"
      ? "Waiting for a worker…"
      : job.status === "running"
        ? job.phase === "saving"
          ? `Saving ${job.rows_total.toLocaleString()} rows…`
          : `Checking rows: ${job.rows_done.toLocaleString()} of ${job.rows_total.toLocaleString()}`
        : job.status === "done"
          ? "Import finished"
          : "Import failed";
  return (
    <div className="import-progress" data-status={job.status}>
      <div className="progress-label">
        <span>{label}</span>
        <span className="num">{job.progress}%</span>
      </div>
      <progress max={100} value={job.progress} aria-label="Import progress" />
      {job.status === "done" ? (
        <Banner tone={job.row_errors.length ? "warning" : "success"}>
          {job.created_count.toLocaleString()} created, {job.updated_count.toLocaleString()} updated
          {job.row_errors.length ? `, ${job.row_errors.length.toLocaleString()} rows skipped because of errors` : ""}.
          {job.list ? ` ${(job.list_added ?? 0).toLocaleString()} added to the list “${job.list.name}”.` : null}
        </Banner>
      ) : null}
      {job.status === "failed" ? <Banner tone="error" title="Nothing was imported">{job.error}</Banner> : null}
      {job.row_errors.length ? (
        <details className="row-errors" open={job.row_errors.length <= 20}>
          <summary>Rows with errors ({job.row_errors.length})</summary>
          <table className="table" aria-label="Rows with errors">
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Column</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {job.row_errors.slice(0, 500).map((item, index) => (
                <tr key={`${item.row}-${item.field}-${index}`}>
                  <td className="num">{item.row}</td>
                  <td className="mono">{item.field}</td>
                  <td>{item.error}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </div>
  );
}
