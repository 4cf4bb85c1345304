import { useEffect, useState, type FormEvent } from "react";
import { useCan } from "../lib/session";
import { Banner, ErrorBanner, Loading, PageHeader, fieldError } from "../lib/ui";
import { useQASettings, useSaveQASettings } from "./api";

export function QASettingsPage() {
  const isAdmin = useCan("manage");
  const settings = useQASettings();
  const save = useSaveQASettings();
  const [required, setRequired] = useState(false);
  const [seeds, setSeeds] = useState("");
  useEffect(() => {
    if (!settings.data) return;
    setRequired(settings.data.publish_requires_approval);
    setSeeds(settings.data.seed_list.join("\n"));
  }, [settings.data]);
  if (settings.isLoading) return <Loading />;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ publish_requires_approval: required, seed_list: seeds.split(/[\s,;]+/).filter(Boolean) });
  };
  return (
    <div className="page">
      <PageHeader title="QA settings" description="Whether publishing needs a QA approval, and where test emails may go besides the member's own address." />
      {!isAdmin ? <Banner>Only admins change these settings.</Banner> : null}
      <form className="card form" onSubmit={submit}>
        <ErrorBanner error={save.error} shownFields={["seed_list"]} />
        {save.isSuccess ? <Banner tone="success">Saved.</Banner> : null}
        <label className="checkbox">
          <input type="checkbox" checked={required} disabled={!isAdmin} onChange={(event) => setRequired(event.target.checked)} /> Publishing needs a QA approval of the current draft
        </label>
        <div className="field">
          <label htmlFor="seed-list">Seed list (one address per line)</label>
          <textarea id="seed-list" rows={4} value={seeds} disabled={!isAdmin} onChange={(event) => setSeeds(event.target.value)} placeholder="inbox-tests@example.com" />
          {fieldError(save.error, "seed_list") ? <div className="field-error">{fieldError(save.error, "seed_list")}</div> : null}
        </div>
        {isAdmin ? (
          <div>
            <button type="submit" className="button button-primary" disabled={save.isPending}>
              Save settings
            </button>
          </div>
        ) : null}
      </form>
    </div>
  );
}
