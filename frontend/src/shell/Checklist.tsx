/**
 * "Get started": the first-run checklist of a new workspace, above the page content. Each step is
 * done when the workspace holds what it leaves behind (an event, a product, a live journey, a test
 * message), asked of the list endpoints with `limit=1`. Shown to the members who can do the steps
 * (admins, marketers) until all four are done or it is hidden in this browser.
 */
import { useState } from "react";
import { useQueries } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, type Page } from "../lib/api";
import type { MemberSession } from "../lib/session";
import "./checklist.css";

interface Step {
  key: string;
  title: string;
  hint: string;
  to: string;
  action: string;
  /** Whether the workspace has done it: one cheap question to an endpoint. */
  check: (signal: AbortSignal) => Promise<boolean>;
}

const hasAny = async (path: string, params: Record<string, string | number>, signal: AbortSignal) =>
  (await api.get<Page<unknown>>(path, { ...params, limit: 1 }, signal)).results.length > 0;

export const CHECKLIST_STEPS: Step[] = [
  {
    key: "events",
    title: "Send data with the snippet",
    hint: "Paste the tracking snippet (or call the Segment-compatible API) with a write key.",
    to: "/data-sources",
    action: "Set up tracking",
    check: async (signal) => (await api.get<{ results: unknown[] }>("events/recent", { limit: 1 }, signal)).results.length > 0,
  },
  {
    key: "products",
    title: "Import products",
    hint: "Upload a CSV of your catalog, or create a product by hand.",
    to: "/catalog",
    action: "Add products",
    check: (signal) => hasAny("products", {}, signal),
  },
  {
    key: "journey",
    title: "Publish a journey from a starter",
    hint: "“New journey”, pick a starter, adjust it and publish.",
    to: "/journeys",
    action: "Start a journey",
    check: (signal) => hasAny("journeys", { status: "live" }, signal),
  },
  {
    key: "test",
    title: "Send a test",
    hint: "Open a template and send it to yourself.",
    to: "/templates",
    action: "Pick a template",
    check: (signal) => hasAny("outbox", { test: "true" }, signal),
  },
];

export const checklistKey = (workspace: number) => ["get-started", workspace] as const;

function hiddenKey(workspace: number) {
  return `wayline.get-started.hidden.${workspace}`;
}

function readHidden(workspace: number): boolean {
  try {
    return localStorage.getItem(hiddenKey(workspace)) === "1";
  } catch {
    return false;
  }
}

export function Checklist({ member }: { member: MemberSession }) {
  const workspace = member.workspace.id;
  const eligible = member.capabilities.includes("edit");
  const [hidden, setHidden] = useState(() => readHidden(workspace));
  const [hiddenFor, setHiddenFor] = useState(workspace);
  if (hiddenFor !== workspace) {
    // Another workspace was picked: its own choice applies.
    setHiddenFor(workspace);
    setHidden(readHidden(workspace));
  }
  const show = eligible && !hidden;
  const answers = useQueries({
    queries: CHECKLIST_STEPS.map((step) => ({
      queryKey: [...checklistKey(workspace), step.key],
      queryFn: ({ signal }: { signal: AbortSignal }) => step.check(signal),
      enabled: show,
      staleTime: 30_000,
      // Once done, a step stays done: no need to ask again.
      refetchOnWindowFocus: (query: { state: { data: unknown } }) => query.state.data !== true,
    })),
  });
  if (!show || answers.some((answer) => answer.data === undefined)) return null;
  const done = answers.map((answer) => answer.data === true);
  const count = done.filter(Boolean).length;
  if (count === CHECKLIST_STEPS.length) return null;

  const hide = () => {
    try {
      localStorage.setItem(hiddenKey(workspace), "1");
    } catch {
      // Private mode without storage: hidden until the next reload.
    }
    setHidden(true);
  };

  return (
    <section className="get-started" aria-labelledby="get-started-title">
      <div className="card get-started-card">
        <div className="card-header">
          <h2 id="get-started-title">Get started</h2>
          <span className="muted" data-testid="get-started-progress">
            {count} of {CHECKLIST_STEPS.length} done
          </span>
          <button type="button" className="button button-quiet button-small get-started-hide" onClick={hide}>
            Hide
          </button>
        </div>
        <ol className="get-started-steps" aria-label="First steps">
          {CHECKLIST_STEPS.map((step, index) => (
            <li key={step.key} className="get-started-step" data-done={done[index] ? "true" : "false"} data-testid={`get-started-${step.key}`}>
              <span className="get-started-mark" aria-hidden="true">
                {done[index] ? "✓" : index + 1}
              </span>
              <div className="get-started-text">
                <strong>{step.title}</strong>
                <span className="visually-hidden">{done[index] ? " (done)" : " (to do)"}</span>
                <span className="cell-sub">{step.hint}</span>
              </div>
              {done[index] ? (
                <span className="tag tag-good">Done</span>
              ) : (
                <Link to={step.to} className="button button-small get-started-go">
                  {step.action}
                </Link>
              )}
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}
