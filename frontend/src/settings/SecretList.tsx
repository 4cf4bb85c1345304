/** Create, list and revoke secrets that are shown once: workspace write keys and personal API tokens. */
import { useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import { formatDateTime, maskedHint } from "../lib/format";
import { Banner, ErrorBanner, fieldError, Loading, SecretBox, Tag, TextField } from "../lib/ui";

interface Secret {
  id: number;
  name: string;
  hint: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at?: string | null;
}

interface Props {
  endpoint: string;
  /** The field of the create answer that carries the raw secret, once. */
  secretField: "key" | "token";
  noun: string;
  namePlaceholder: string;
  usage: ReactNode;
  showLastUsed?: boolean;
}

export function SecretList({ endpoint, secretField, noun, namePlaceholder, usage, showLastUsed = false }: Props) {
  const client = useQueryClient();
  const queryKey = [endpoint];
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useQuery({
    queryKey,
    queryFn: ({ signal }) => api.get<Page<Secret>>(endpoint, { limit: 500 }, signal),
  });
  const create = useMutation({
    mutationFn: () => api.post<Secret & Record<string, string>>(endpoint, { name }),
    onSuccess: (answer) => {
      setCreated({ name: answer.name, secret: answer[secretField] });
      setName("");
      setNotice(null);
      void client.invalidateQueries({ queryKey });
    },
  });
  const revoke = useMutation({
    mutationFn: (secret: Secret) => api.post<Secret>(`${endpoint}/${secret.id}/revoke`),
    onSuccess: (secret) => {
      setConfirming(null);
      setNotice(`“${secret.name}” has been revoked. Requests using it are refused from now on.`);
      void client.invalidateQueries({ queryKey });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }

  const capitalized = noun.charAt(0).toUpperCase() + noun.slice(1);
  return (
    <>
      <section className="card" aria-labelledby={`${endpoint}-create`}>
        <div className="card-header">
          <h2 id={`${endpoint}-create`}>Create a {noun}</h2>
        </div>
        <p className="muted">{usage}</p>
        <ErrorBanner error={create.error} shownFields={["name"]} />
        <form className="form-inline" onSubmit={submit} noValidate>
          <TextField
            label="Name"
            name="name"
            required
            placeholder={namePlaceholder}
            value={name}
            onChange={(event) => setName(event.target.value)}
            error={fieldError(create.error, "name")}
          />
          <div className="form-submit">
            <button type="submit" className="button button-primary" disabled={create.isPending}>
              {create.isPending ? "Creating…" : `Create ${noun}`}
            </button>
          </div>
        </form>
        {created ? <SecretBox label={`New ${noun} “${created.name}”`} value={created.secret} onDone={() => setCreated(null)} /> : null}
      </section>
      {notice ? <Banner tone="success">{notice}</Banner> : null}
      <section className="card card-flush" aria-labelledby={`${endpoint}-list`}>
        <div className="card-header">
          <h2 id={`${endpoint}-list`}>{capitalized}s</h2>
        </div>
        <div style={{ padding: "0 1.25rem" }}>
          <ErrorBanner error={list.error ?? revoke.error} />
        </div>
        {list.isPending ? (
          <Loading />
        ) : list.data && list.data.results.length === 0 ? (
          <p className="table-empty">No {noun}s yet.</p>
        ) : list.data ? (
          <table className="table" aria-label={`${capitalized}s`}>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                <th scope="col">Created</th>
                {showLastUsed ? <th scope="col">Last used</th> : null}
                <th scope="col">Status</th>
                <th scope="col" className="actions">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((secret) => (
                <tr key={secret.id} className={secret.revoked_at ? "row-inactive" : undefined} data-secret={secret.name}>
                  <td>{secret.name}</td>
                  <td className="mono">{maskedHint(secret.hint)}</td>
                  <td>{formatDateTime(secret.created_at)}</td>
                  {showLastUsed ? <td>{secret.last_used_at ? formatDateTime(secret.last_used_at) : "Never"}</td> : null}
                  <td>
                    {secret.revoked_at ? (
                      <>
                        <Tag tone="bad">Revoked</Tag>
                        <span className="cell-sub">{formatDateTime(secret.revoked_at)}</span>
                      </>
                    ) : (
                      <Tag tone="good">Active</Tag>
                    )}
                  </td>
                  <td className="actions">
                    {secret.revoked_at ? null : confirming === secret.id ? (
                      <span className="confirm-inline">
                        <span>Revoke for good?</span>
                        <button type="button" className="button button-small button-danger-solid" disabled={revoke.isPending} onClick={() => revoke.mutate(secret)}>
                          Confirm revoke
                        </button>
                        <button type="button" className="button button-small button-quiet" onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </span>
                    ) : (
                      <button type="button" className="button button-small button-danger" aria-label={`Revoke ${secret.name}`} onClick={() => setConfirming(secret.id)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </>
  );
}
