/**
 * Publishing: what changed since the live version, and what happens to the contacts in flight
 * (keep them on their version, move them node by node, or let them exit), with the counts of the
 * engine's dry run for the choice made; and about how many will enter a day, from the last week's
 * events (GET /api/journeys/{id}/entry-estimate).
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../lib/api";
import { Banner } from "../lib/ui";
import { publishDryRun, useEntryEstimate, usePublish, type EntryEstimate, type NodeMap } from "./api";
import { useCanvas } from "./canvasState";
import { diffDefinitions, isEmptyDiff, type DefinitionDiff } from "./store";
import { kindLabel } from "./summary";
import type { Journey, MigrationRow } from "./types";

const SETTING_LABELS: Record<string, string> = { trigger: "What starts the journey", entry: "Who may enter", exit_on: "Goals", sending: "Over the frequency cap" };

function DiffList({ diff }: { diff: DefinitionDiff }) {
  if (isEmptyDiff(diff)) return <p className="muted">No changes to the steps or settings (only positions, if anything).</p>;
  return (
    <ul className="diff-list" data-testid="publish-diff">
      {diff.added.map((node) => (
        <li key={`a-${node.id}`} className="diff-added">
          <span className="diff-sign">+</span> {kindLabel(node.type)} <span className="mono">{node.id}</span> added
        </li>
      ))}
      {diff.removed.map((node) => (
        <li key={`r-${node.id}`} className="diff-removed">
          <span className="diff-sign">−</span> {kindLabel(node.type)} <span className="mono">{node.id}</span> removed
        </li>
      ))}
      {diff.changed.map((node) => (
        <li key={`c-${node.id}`} className="diff-changed">
          <span className="diff-sign">~</span> {kindLabel(node.type)} <span className="mono">{node.id}</span>: {node.what.join(", ")} changed
        </li>
      ))}
      {diff.edgesAdded.map((edge) => (
        <li key={`ea-${edge.from}-${edge.port}-${edge.to}`} className="diff-added">
          <span className="diff-sign">+</span> connection <span className="mono">{edge.from}</span>
          {edge.port && edge.port !== "next" ? ` (${edge.port})` : ""} → <span className="mono">{edge.to}</span>
        </li>
      ))}
      {diff.edgesRemoved.map((edge) => (
        <li key={`er-${edge.from}-${edge.port}-${edge.to}`} className="diff-removed">
          <span className="diff-sign">−</span> connection <span className="mono">{edge.from}</span>
          {edge.port && edge.port !== "next" ? ` (${edge.port})` : ""} → <span className="mono">{edge.to}</span>
        </li>
      ))}
      {diff.settings.map((key) => (
        <li key={`s-${key}`} className="diff-changed">
          <span className="diff-sign">~</span> {SETTING_LABELS[key] ?? key} changed
        </li>
      ))}
    </ul>
  );
}

function EstimateSection({ estimate, pending, failed }: { estimate: EntryEstimate | undefined; pending: boolean; failed: boolean }) {
  let figure: string;
  if (pending) figure = "Estimating…";
  else if (failed || !estimate) figure = "No estimate: the events could not be counted.";
  else if (estimate.per_day === null) figure = "No estimate.";
  else if (estimate.per_day === 0) figure = "About nobody a day: nobody sent the event in the last 7 days.";
  else figure = `About ${estimate.per_day < 1 ? "less than one contact" : `${estimate.per_day.toLocaleString(undefined, { maximumFractionDigits: 1 })} contact${estimate.per_day === 1 ? "" : "s"}`} a day.`;
  return (
    <section className="dialog-section" data-testid="entry-estimate">
      <h3>Who will enter</h3>
      <p>
        <strong>{figure}</strong> {estimate && !pending ? <span className="muted">{estimate.basis}</span> : null}
      </p>
    </section>
  );
}

type Choice = "keep" | "exit" | `move:${string}`;

export function PublishDialog({ journey, onClose }: { journey: Journey; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const revision = useCanvas((state) => state.revision);
  const draft = useCanvas.getState().definition();
  const newIds = useMemo(() => draft.nodes.map((node) => node.id), [draft.nodes]);
  const diff = useMemo(() => (journey.live_definition ? diffDefinitions(journey.live_definition, draft) : null), [journey.live_definition, draft]);
  const [choices, setChoices] = useState<Record<string, Choice>>({});
  const nodeMap: NodeMap = useMemo(() => {
    const map: NodeMap = {};
    for (const [node, choice] of Object.entries(choices)) {
      if (choice === "exit") map[node] = null;
      else if (choice.startsWith("move:")) map[node] = choice.slice(5);
    }
    return map;
  }, [choices]);
  const plan = useQuery({
    queryKey: ["journeys", journey.id, "dry-run", revision, nodeMap],
    queryFn: () => publishDryRun(journey.id, revision, nodeMap),
    enabled: Boolean(journey.live_version),
  });
  const publish = usePublish(journey.id);
  const estimate = useEntryEstimate(journey.id, revision);

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);

  // Contacts in flight, per node (summed over the older versions they are on).
  const inFlight = useMemo(() => {
    const byNode = new Map<string, number>();
    for (const row of plan.data?.nodes ?? ([] as MigrationRow[])) byNode.set(row.node, (byNode.get(row.node) ?? 0) + row.count);
    return [...byNode.entries()].map(([node, count]) => ({ node, count }));
  }, [plan.data]);
  const total = inFlight.reduce((sum, row) => sum + row.count, 0);
  const moveAll = () => setChoices(Object.fromEntries(inFlight.map((row) => [row.node, newIds.includes(row.node) || row.node === "trigger" ? (`move:${row.node}` as Choice) : ("keep" as Choice)])));

  const submit = () =>
    publish.mutate(
      { revision, node_map: nodeMap },
      {
        onSuccess: () => {
          onClose();
        },
      },
    );

  const nextNumber = (typeof journey.live_version === "number" ? journey.live_version : 0) + 1;
  return (
    <dialog ref={dialog} className="dialog publish-dialog" aria-labelledby="publish-title" onClose={onClose} onCancel={onClose} data-testid="publish-dialog">
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <header className="dialog-head">
          <h2 id="publish-title">Publish {journey.live_version ? `version ${nextNumber}` : "this journey"}</h2>
          <p className="muted">
            {journey.live_version
              ? "Publishing makes the draft the live version. New contacts enter the new version."
              : "Publishing makes the journey live: contacts start entering it as soon as its trigger fires."}
          </p>
        </header>
        {journey.live_version ? (
          <>
            <section className="dialog-section">
              <h3>What changed since the live version</h3>
              {diff ? <DiffList diff={diff} /> : <p className="muted">The live version could not be compared.</p>}
            </section>
            <section className="dialog-section">
              <h3>Contacts in the journey now</h3>
              {plan.isPending ? <p className="muted">Counting…</p> : null}
              {plan.isError ? <Banner tone="error">{errorMessage(plan.error)}</Banner> : null}
              {plan.data && total === 0 ? <p className="muted">Nobody is in the journey right now.</p> : null}
              {plan.data && total > 0 ? (
                <>
                  <p>
                    {total} contact{total === 1 ? " is" : "s are"} somewhere in an older version. By default they finish the version they entered.{" "}
                    <button type="button" className="button button-small" onClick={moveAll}>
                      Move everyone to the same step
                    </button>{" "}
                    <button type="button" className="button button-quiet button-small" onClick={() => setChoices({})}>
                      Keep everyone
                    </button>
                  </p>
                  <table className="table migration-table">
                    <thead>
                      <tr>
                        <th scope="col">Step now</th>
                        <th scope="col">Contacts</th>
                        <th scope="col">What happens</th>
                      </tr>
                    </thead>
                    <tbody>
                      {inFlight.map((row) => (
                        <tr key={row.node} data-testid={`migration-${row.node}`}>
                          <td className="mono">{row.node}</td>
                          <td>{row.count}</td>
                          <td>
                            <select aria-label={`Contacts at ${row.node}`} value={choices[row.node] ?? "keep"} onChange={(event) => setChoices({ ...choices, [row.node]: event.target.value as Choice })}>
                              <option value="keep">Stay on their version</option>
                              {newIds.map((id) => (
                                <option key={id} value={`move:${id}`}>
                                  Move to {id}
                                  {id === row.node ? " (same step)" : ""}
                                </option>
                              ))}
                              <option value="exit">Leave the journey</option>
                            </select>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  <p className="migration-totals" data-testid="migration-totals">
                    {plan.data.totals.keep} stay · {plan.data.totals.move} move · {plan.data.totals.exit} leave
                  </p>
                </>
              ) : null}
            </section>
          </>
        ) : null}
        <EstimateSection estimate={estimate.data} pending={estimate.isPending} failed={estimate.isError} />
        {publish.isError ? <Banner tone="error">{errorMessage(publish.error)}</Banner> : null}
        <footer className="dialog-foot">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={publish.isPending || (Boolean(journey.live_version) && !plan.data)} data-testid="publish-confirm">
            {publish.isPending ? "Publishing…" : journey.live_version ? `Publish version ${nextNumber}` : "Publish and go live"}
          </button>
        </footer>
      </form>
    </dialog>
  );
}
