/** Settings → Predictions: what the workspace's models learned and when (GET /api/predictions), why one refused (too little data, and how much is needed), and "Fit now" for those who may edit. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useCan } from "../lib/session";
import { ErrorBanner, Loading, PageHeader, Tag } from "../lib/ui";

interface PredictionFit {
  id: number;
  kind: "clv" | "send_time" | "similarity";
  status: "running" | "done" | "refused" | "failed";
  params: Record<string, unknown>;
  quality: Record<string, unknown>;
  message: string;
  started_at: string;
  finished_at: string | null;
}

const KIND_LABEL: Record<PredictionFit["kind"], string> = {
  clv: "Customer value and churn risk (BG/NBD and Gamma-Gamma)",
  send_time: "Best send time (opens and clicks by hour of the week)",
  similarity: "Recommendations (products that go together)",
};
const STATUS_TONE = { running: "accent", done: "good", refused: "warn", failed: "bad" } as const;
const POLL_MS = 2000;

function figures(fit: PredictionFit): string {
  const q = fit.quality;
  if (fit.kind === "clv" && typeof q.customers === "number") return `${q.customers.toLocaleString("en")} customers, ${Number(q.repeaters ?? 0).toLocaleString("en")} with repeat orders`;
  if (fit.kind === "send_time" && typeof q.events === "number") return `${q.events.toLocaleString("en")} opens and clicks of ${Number(q.contacts ?? 0).toLocaleString("en")} contacts`;
  if (fit.kind === "similarity" && typeof q.contacts === "number") return `${q.contacts.toLocaleString("en")} contacts, ${Number(q.products ?? 0).toLocaleString("en")} products`;
  return "";
}

export function PredictionsPage() {
  const canEdit = useCan("edit");
  const client = useQueryClient();
  const fits = useQuery({
    queryKey: ["predictions"],
    queryFn: ({ signal }) => api.get<PredictionFit[]>("predictions", undefined, signal),
    refetchInterval: (query) => (query.state.data?.some((fit) => fit.status === "running") ? POLL_MS : false),
  });
  const fitNow = useMutation({
    mutationFn: () => api.post("predictions/fit"),
    onSuccess: () => client.invalidateQueries({ queryKey: ["predictions"] }),
  });
  return (
    <div className="page">
      <PageHeader
        title="Predictions"
        description="Models Wayline learns from this workspace's own data each night: customer value and churn risk, the best time to send, and recommendations. They refuse to predict from too little data and say how much they need."
        actions={
          canEdit ? (
            <button type="button" className="button button-primary" disabled={fitNow.isPending} onClick={() => fitNow.mutate()}>
              {fitNow.isPending ? "Starting…" : "Fit customer value now"}
            </button>
          ) : null
        }
      />
      <ErrorBanner error={fits.error ?? fitNow.error} />
      {fits.isLoading ? <Loading /> : null}
      {fits.data && fits.data.length === 0 ? <p className="muted">No model has been fitted yet: the first fits run tonight, or now with the button.</p> : null}
      {fits.data?.map((fit) => (
        <section key={fit.id} className="card" aria-label={KIND_LABEL[fit.kind]}>
          <div className="card-header">
            <h2>{KIND_LABEL[fit.kind]}</h2>
            <Tag tone={STATUS_TONE[fit.status]}>{fit.status}</Tag>
          </div>
          {fit.message ? <p data-testid={`fit-message-${fit.kind}`}>{fit.message}</p> : null}
          {figures(fit) ? <p>{figures(fit)}</p> : null}
          <p className="muted">
            Started {formatDateTime(fit.started_at)}
            {fit.finished_at ? `, finished ${formatDateTime(fit.finished_at)}` : ""}.
          </p>
        </section>
      ))}
    </div>
  );
}
