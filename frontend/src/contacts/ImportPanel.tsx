/**
 * Upload a CSV of contacts or products; the import runs in a worker and this panel polls its
 * progress, then shows what was created and updated and a per-row error report.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, parseError, readCookie } from "../lib/api";
import { Banner, ErrorBanner } from "../lib/ui";
import type { ImportJob } from "./types";

const EXAMPLES: Record<ImportJob["kind"], string> = {
  contacts: "email,user_id,first_name,plan,country,timezone,locale,consent.newsletter",
  products: "sku,name,price,currency,stock,category,tags,url,image_url",
};

async function upload(kind: ImportJob["kind"], file: File): Promise<ImportJob> {
  const form = new FormData();
  form.append("kind", kind);
  form.append("file", file);
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = readCookie("csrftoken");
  if (token) headers["X-CSRFToken"] = token;
  const response = await fetch("/api/imports", { method: "POST", body: form, headers, credentials: "same-origin" });
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw parseError(response.status, data);
  return data as ImportJob;
}

export function ImportPanel({ kind, onDone }: { kind: ImportJob["kind"]; onDone?: () => void }) {
  const client = useQueryClient();
  const fileRef = useRef<HTMLInputElement>(null);
  const [jobId, setJobId] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
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
    onDone?.();
  }, [finishedId, client, kind, onDone]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) {
      setError(parseError(400, { error: "Choose a CSV file first.", code: "invalid", fields: {} }));
      return;
    }
    setSending(true);
    setError(null);
    try {
      const created = await upload(kind, file);
      setJobId(created.id);
    } catch (cause) {
      setError(cause);
    } finally {
      setSending(false);
    }
  }

  const data = job.data;
  return (
    <section className="card import-panel" aria-label={`Import ${kind}`}>
      <div className="card-header">
        <h2>Import {kind} from CSV</h2>
      </div>
      <p className="muted">
        UTF-8 CSV with a header row, for example <code>{EXAMPLES[kind]}</code>.{" "}
        {kind === "contacts"
          ? "Rows are matched by user_id, else by email; other columns become traits."
          : "Rows are matched by sku; other columns become attributes. Price changes go to the price history."}{" "}
        Rows with errors are skipped and listed; if the file cannot be read or saving fails, nothing is imported.
      </p>
      <ErrorBanner error={error} />
      <form className="form-inline" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`import-${kind}`}>CSV file</label>
          <input id={`import-${kind}`} ref={fileRef} type="file" accept=".csv,text/csv" />
        </div>
        <div className="form-submit">
          <button type="submit" className="button button-primary" disabled={sending || (data !== undefined && !finished)}>
            {sending ? "Uploading…" : "Import"}
          </button>
        </div>
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
