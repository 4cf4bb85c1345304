/** Shared building blocks for pages: banners, fields, page headers, secrets shown once. */
import { useEffect, useId, useRef, useState, type ReactNode, type InputHTMLAttributes, type SelectHTMLAttributes } from "react";
import { ApiError, errorMessage } from "./api";

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {description ? <p className="page-description">{description}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Wayline`;
  }, [title]);
}

type Tone = "error" | "success" | "info" | "warning";

export function Banner({ tone = "info", children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return (
    <div className={`banner banner-${tone}`} role={tone === "error" ? "alert" : "status"}>
      {title ? <strong className="banner-title">{title}</strong> : null}
      <div>{children}</div>
    </div>
  );
}

/**
 * The banner for a failed request. Errors the form shows next to its fields are left out of the
 * banner unless the server gave no general message.
 */
export function ErrorBanner({ error, shownFields = [] }: { error: unknown; shownFields?: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError) {
    const fieldOnly = Object.keys(error.fields).length > 0 && Object.keys(error.fields).every((key) => shownFields.includes(key));
    if (fieldOnly && error.code === "invalid") return null;
    return (
      <Banner tone="error">
        {error.error}
        {error.code && !error.code.startsWith("http_") && error.code !== "invalid" ? <span className="error-code"> ({error.code})</span> : null}
      </Banner>
    );
  }
  return <Banner tone="error">{errorMessage(error)}</Banner>;
}

export function fieldError(error: unknown, name: string): string | undefined {
  return error instanceof ApiError ? error.field(name) : undefined;
}

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  error?: string;
  hint?: ReactNode;
}

export function TextField({ label, error, hint, id, className, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const describedBy = [error ? `${inputId}-error` : "", hint ? `${inputId}-hint` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field ${className ?? ""}`}>
      <label htmlFor={inputId}>{label}</label>
      <input id={inputId} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {hint ? <div className="field-hint" id={`${inputId}-hint`}>{hint}</div> : null}
      {error ? <div className="field-error" id={`${inputId}-error`}>{error}</div> : null}
    </div>
  );
}

interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  label: string;
  error?: string;
  options: { value: string; label: string }[];
}

export function SelectField({ label, error, options, id, className, ...select }: SelectProps) {
  const generated = useId();
  const selectId = id ?? generated;
  return (
    <div className={`field ${className ?? ""}`}>
      <label htmlFor={selectId}>{label}</label>
      <select id={selectId} aria-invalid={error ? true : undefined} aria-describedby={error ? `${selectId}-error` : undefined} {...select}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {error ? <div className="field-error" id={`${selectId}-error`}>{error}</div> : null}
    </div>
  );
}

/** A secret shown once: the value, a copy button and a warning that it will not be shown again. */
export function SecretBox({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const inputId = useId();
  async function copy() {
    inputRef.current?.select();
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      // Clipboard access needs a secure context; the text is selected for Ctrl+C instead.
      document.execCommand?.("copy");
      setCopied(true);
    }
  }
  return (
    <section className="secret-box" aria-label="Shown once">
      <p className="secret-warning">
        <strong>Copy it now.</strong> This is the only time Wayline shows it; only a hash is stored.
      </p>
      <label htmlFor={inputId}>{label}</label>
      <div className="secret-row">
        <input id={inputId} ref={inputRef} readOnly value={value} className="mono" onFocus={(event) => event.currentTarget.select()} />
        <button type="button" className="button" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className="button button-quiet" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="loading" role="status">
      {label}
    </p>
  );
}

export function Tag({ tone = "neutral", children }: { tone?: "neutral" | "good" | "bad" | "warn" | "accent"; children: ReactNode }) {
  return <span className={`tag tag-${tone}`}>{children}</span>;
}

/** Previous / next for a LimitOffset list. */
export function Pager({ offset, limit, count, onChange }: { offset: number; limit: number; count: number; onChange: (offset: number) => void }) {
  if (count <= limit) return null;
  const last = Math.min(offset + limit, count);
  return (
    <nav className="pager" aria-label="Pages">
      <span>
        {offset + 1}–{last} of {count}
      </span>
      <button type="button" className="button button-quiet" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        Previous
      </button>
      <button type="button" className="button button-quiet" disabled={last >= count} onClick={() => onChange(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
