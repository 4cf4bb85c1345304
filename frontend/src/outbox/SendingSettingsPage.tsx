/** Sending settings (admins): sender, transport, send rate, frequency cap, quiet hours, subscription
 * topics, the DKIM key, and which of SPF, DKIM and DMARC the sending domain still needs. */
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import type { DomainCheck, SendingSettings } from "./types";
import { Banner, ErrorBanner, Loading, SelectField, Tag, TextField, fieldError } from "../lib/ui";
import { WINDOW_CHOICES, describeSendRate, parseLimit, windowLabel } from "./sendRate";

const KEY = ["sending-settings"];

export default function SendingSettingsPage() {
  const settings = useQuery({ queryKey: KEY, queryFn: ({ signal }) => api.get<SendingSettings>("sending-settings", undefined, signal) });
  if (settings.isPending) return <Loading />;
  if (settings.error || !settings.data) return <ErrorBanner error={settings.error} />;
  return (
    <>
      <SettingsForm initial={settings.data} />
      <DomainPanel settings={settings.data} />
    </>
  );
}

function hhmm(value: string | null): string {
  return value ? value.slice(0, 5) : "";
}

function SettingsForm({ initial }: { initial: SendingSettings }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState(initial);
  const [password, setPassword] = useState("");
  useEffect(() => setForm(initial), [initial]);
  const save = useMutation({
    mutationFn: () =>
      api.patch<SendingSettings>("sending-settings", {
        ...form,
        quiet_hours_start: form.quiet_hours_start || null,
        quiet_hours_end: form.quiet_hours_end || null,
        topics: form.topics.filter((topic) => topic.key && topic.name),
        ...(password ? { smtp_password: password } : {}),
      }),
    onSuccess: (data) => {
      queryClient.setQueryData(KEY, data);
      setPassword("");
    },
  });
  const set = <K extends keyof SendingSettings>(key: K, value: SendingSettings[K]) => setForm((current) => ({ ...current, [key]: value }));
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate();
  }
  const error = save.error;
  return (
    <form className="card sending-form" onSubmit={submit} aria-label="Sending settings">
      <h2>Sender</h2>
      <div className="form-row">
        <TextField label="From name" value={form.from_name} onChange={(e) => set("from_name", e.target.value)} error={fieldError(error, "from_name")} />
        <TextField label="From address" type="email" value={form.from_email} onChange={(e) => set("from_email", e.target.value)} error={fieldError(error, "from_email")} />
        <TextField label="Reply-to" type="email" value={form.reply_to} onChange={(e) => set("reply_to", e.target.value)} error={fieldError(error, "reply_to")} />
      </div>
      <div className="form-row">
        <TextField label="Postal address (shown in footers)" value={form.postal_address} onChange={(e) => set("postal_address", e.target.value)} />
        <TextField
          label="Unsubscribe mailbox (List-Unsubscribe mailto)"
          type="email"
          value={form.unsubscribe_mailto}
          placeholder={`unsubscribe@${form.sender_domain}`}
          onChange={(e) => set("unsubscribe_mailto", e.target.value)}
          error={fieldError(error, "unsubscribe_mailto")}
        />
      </div>
      <h2>Transport</h2>
      <SelectField
        label="Send through"
        value={form.transport}
        onChange={(e) => set("transport", e.target.value as SendingSettings["transport"])}
        options={[
          { value: "default", label: "The server's email backend (sandbox mailbox, or a provider through django-anymail)" },
          { value: "smtp", label: "This workspace's SMTP server (DKIM-signed with the key below)" },
        ]}
      />
      {form.transport === "smtp" ? (
        <div className="form-row">
          <TextField label="SMTP host" value={form.smtp_host} onChange={(e) => set("smtp_host", e.target.value)} />
          <TextField label="Port" type="number" value={form.smtp_port} onChange={(e) => set("smtp_port", Number(e.target.value))} />
          <TextField label="Username" value={form.smtp_username} onChange={(e) => set("smtp_username", e.target.value)} />
          <TextField label="Password" type="password" value={password} placeholder="unchanged" onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        </div>
      ) : null}
      <TextField
        label="Connections to the email server at once"
        type="number"
        min={1}
        max={10}
        value={form.smtp_connections}
        onChange={(e) => set("smtp_connections", Number(e.target.value))}
        error={fieldError(error, "smtp_connections")}
        hint="Per worker, for SMTP servers. More connections send a large audience faster; some providers allow only a few at once (1 to 10)."
      />
      <h2>Send rate</h2>
      <p className="muted">Mailbox providers and email servers throttle senders who go too fast. Leave a field empty for no limit.</p>
      <div className="form-row">
        <TextField
          label="Send at most this many emails per second"
          type="number"
          min={0}
          value={form.send_rate_per_second || ""}
          placeholder="No limit"
          onChange={(e) => set("send_rate_per_second", parseLimit(e.target.value))}
          error={fieldError(error, "send_rate_per_second")}
        />
        <TextField
          label="and at most this many emails"
          type="number"
          min={0}
          value={form.send_window_limit || ""}
          placeholder="No limit"
          onChange={(e) => set("send_window_limit", parseLimit(e.target.value))}
          error={fieldError(error, "send_window_limit")}
        />
        <SelectField
          label="in any"
          value={String(form.send_window_minutes)}
          onChange={(e) => set("send_window_minutes", Number(e.target.value))}
          error={fieldError(error, "send_window_minutes")}
          options={[
            ...WINDOW_CHOICES.map((choice) => ({ value: String(choice.minutes), label: choice.label })),
            ...(WINDOW_CHOICES.some((choice) => choice.minutes === form.send_window_minutes)
              ? []
              : [{ value: String(form.send_window_minutes), label: windowLabel(form.send_window_minutes).replace(/^per /, "") }]),
          ]}
        />
      </div>
      <p className="field-hint" aria-live="polite">
        {describeSendRate(form.send_rate_per_second, form.send_window_limit, form.send_window_minutes)}
      </p>
      <h2>Limits</h2>
      <div className="form-row">
        <TextField
          label="Marketing emails per contact (0 = no cap)"
          type="number"
          min={0}
          value={form.frequency_cap}
          onChange={(e) => set("frequency_cap", Number(e.target.value))}
          error={fieldError(error, "frequency_cap")}
          hint="Transactional email is never capped."
        />
        <TextField
          label="within hours"
          type="number"
          min={1}
          value={form.frequency_window_hours}
          onChange={(e) => set("frequency_window_hours", Number(e.target.value))}
          error={fieldError(error, "frequency_window_hours")}
        />
        <TextField label="Quiet hours from" type="time" value={hhmm(form.quiet_hours_start)} onChange={(e) => set("quiet_hours_start", e.target.value || null)} />
        <TextField
          label="until"
          type="time"
          value={hhmm(form.quiet_hours_end)}
          onChange={(e) => set("quiet_hours_end", e.target.value || null)}
          error={fieldError(error, "quiet_hours_end")}
          hint="In each contact's own timezone. Email is deferred to the end, never dropped."
        />
      </div>
      <h2>Subscription topics</h2>
      <p className="muted">Contacts choose these on the preference center; a template's topic decides who may receive it.</p>
      {form.topics.map((topic, index) => (
        <div className="form-row" key={index}>
          <TextField label="Key" value={topic.key} onChange={(e) => set("topics", form.topics.map((t, i) => (i === index ? { ...t, key: e.target.value } : t)))} />
          <TextField label="Name" value={topic.name} onChange={(e) => set("topics", form.topics.map((t, i) => (i === index ? { ...t, name: e.target.value } : t)))} />
          <TextField
            label="Description"
            value={topic.description}
            onChange={(e) => set("topics", form.topics.map((t, i) => (i === index ? { ...t, description: e.target.value } : t)))}
          />
          <button type="button" className="button button-quiet" onClick={() => set("topics", form.topics.filter((_, i) => i !== index))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="button button-quiet" onClick={() => set("topics", [...form.topics, { key: "", name: "", description: "" }])}>
        Add a topic
      </button>
      <ErrorBanner error={error} shownFields={[
          "from_name",
          "from_email",
          "reply_to",
          "unsubscribe_mailto",
          "smtp_connections",
          "send_rate_per_second",
          "send_window_limit",
          "send_window_minutes",
          "frequency_cap",
          "frequency_window_hours",
          "quiet_hours_end",
        ]} />
      {save.isSuccess ? <Banner tone="success">Saved.</Banner> : null}
      <div className="page-actions">
        <button type="submit" className="button button-primary" disabled={save.isPending}>
          Save sending settings
        </button>
      </div>
    </form>
  );
}

const STATUS_TONE = { ok: "good", missing: "bad", weak: "warn", error: "warn" } as const;

function DomainPanel({ settings }: { settings: SendingSettings }) {
  const queryClient = useQueryClient();
  const [selector, setSelector] = useState(settings.dkim_selector || "wayline");
  const check = useQuery({
    queryKey: ["sending-settings", "domain", settings.sender_domain, settings.dkim_selector, settings.dkim_record],
    queryFn: ({ signal }) => api.get<DomainCheck>("sending-settings/domain-check", undefined, signal),
    enabled: false,
  });
  const generate = useMutation({
    mutationFn: () => api.post<SendingSettings>("sending-settings/dkim-key", { selector }),
    onSuccess: (data) => queryClient.setQueryData(KEY, data),
  });
  return (
    <section className="card" aria-label="Sending domain">
      <h2>Sending domain: {settings.sender_domain}</h2>
      <p className="muted">Gmail and Yahoo require SPF, DKIM and DMARC of bulk senders.</p>
      <div className="form-row">
        <TextField label="DKIM selector" value={selector} onChange={(e) => setSelector(e.target.value)} />
        <button type="button" className="button" onClick={() => generate.mutate()} disabled={generate.isPending}>
          {settings.has_dkim_key ? "Replace the DKIM key" : "Generate a DKIM key"}
        </button>
      </div>
      <ErrorBanner error={generate.error} />
      {settings.dkim_record ? (
        <p>
          Publish <code>TXT {settings.dkim_selector}._domainkey.{settings.sender_domain}</code>:
          <code className="dns-record">{settings.dkim_record}</code>
        </p>
      ) : null}
      <button type="button" className="button" onClick={() => check.refetch()} disabled={check.isFetching}>
        {check.isFetching ? "Checking DNS…" : "Check DNS records"}
      </button>
      <ErrorBanner error={check.error} />
      {check.data ? (
        <table className="table" aria-label="DNS records">
          <tbody>
            {(["spf", "dkim", "dmarc"] as const).map((name) => {
              const row = check.data[name];
              return (
                <tr key={name}>
                  <th scope="row">{name.toUpperCase()}</th>
                  <td>
                    <Tag tone={STATUS_TONE[row.status]}>{row.status}</Tag> {row.detail}
                    {row.record ? <code className="dns-record">{row.record}</code> : null}
                    {row.publish ? (
                      <span className="cell-sub">
                        Publish: <code>{row.publish}</code>
                      </span>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {check.data ? (
        check.data.needs.length ? (
          <Banner tone="warning">Still needed: {check.data.needs.join(", ")}.</Banner>
        ) : (
          <Banner tone="success">SPF, DKIM and DMARC are all in place.</Banner>
        )
      ) : null}
    </section>
  );
}
