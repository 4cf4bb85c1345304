/**
 * Path simulation: pick a persona or a contact, add events that have not happened yet ("Order
 * Completed after 30 minutes"), and see the path the draft would take them on, with times. The
 * path is also put on the canvas (src/qa/simulation.ts), where each step on it is highlighted.
 */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, errorMessage, type Page } from "../lib/api";
import { Banner } from "../lib/ui";
import { simulate, usePersonas, type HypotheticalEvent, type SimulationResult } from "./api";
import { offsetLabel, useSimulation } from "./simulation";

const UNITS = [
  { value: "M", label: "minutes" },
  { value: "H", label: "hours" },
  { value: "D", label: "days" },
];

interface EventRow {
  name: string;
  amount: number;
  unit: string;
  properties: string;
}

export function durationOf(amount: number, unit: string): string {
  return unit === "D" ? `P${amount}D` : `PT${amount}${unit}`;
}

interface ContactRow {
  id: number;
  email: string;
  user_id?: string | null;
}

export function SimulationPanel({ journeyId, onCanvas = false }: { journeyId: number; onCanvas?: boolean }) {
  const personas = usePersonas();
  const showPath = useSimulation((state) => state.showPath);
  const clear = useSimulation((state) => state.clear);
  const [who, setWho] = useState<string>("");
  const [contactQuery, setContactQuery] = useState("");
  const [rows, setRows] = useState<EventRow[]>([]);
  const [result, setResult] = useState<SimulationResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const contacts = useQuery({
    queryKey: ["qa", "contact-search", contactQuery],
    queryFn: async ({ signal }) => {
      const data = await api.get<Page<ContactRow> | ContactRow[]>("contacts", { search: contactQuery, limit: 10 }, signal);
      return Array.isArray(data) ? data : data.results;
    },
    enabled: contactQuery.trim().length > 1,
  });
  const subject = who || (personas.data?.[0] ? `persona:${personas.data[0].id}` : "");

  const run = async () => {
    setError(null);
    const events: HypotheticalEvent[] = [];
    for (const row of rows) {
      if (!row.name.trim()) continue;
      let properties: Record<string, unknown> = {};
      if (row.properties.trim()) {
        try {
          properties = JSON.parse(row.properties) as Record<string, unknown>;
        } catch {
          setError(`The properties of “${row.name}” are not a JSON object.`);
          return;
        }
      }
      events.push({ name: row.name.trim(), after: durationOf(row.amount, row.unit), properties });
    }
    const [kind, id] = subject.split(":");
    if (!id) {
      setError("Choose a persona or a contact.");
      return;
    }
    setRunning(true);
    try {
      const answer = await simulate(journeyId, kind === "persona" ? { persona: Number(id), events } : { contact: Number(id), events });
      setResult(answer);
      showPath(journeyId, answer);
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className={`card qa-simulation${onCanvas ? " on-canvas" : ""}`} aria-labelledby={`simulation-${journeyId}`} data-testid="simulation">
      <h2 id={`simulation-${journeyId}`}>Path simulation</h2>
      <p className="muted">The path of the saved draft for one subject, starting now, with events that have not happened yet.</p>
      <div className="qa-sim-who">
        <label className="field">
          <span>Subject</span>
          <select value={subject} onChange={(event) => setWho(event.target.value)} aria-label="Subject">
            <optgroup label="Personas">
              {personas.data?.map((persona) => (
                <option key={persona.id} value={`persona:${persona.id}`}>
                  {persona.name}
                </option>
              ))}
            </optgroup>
            {contacts.data?.length ? (
              <optgroup label="Contacts">
                {contacts.data.map((contact) => (
                  <option key={contact.id} value={`contact:${contact.id}`}>
                    {contact.email || contact.user_id || `Contact ${contact.id}`}
                  </option>
                ))}
              </optgroup>
            ) : null}
          </select>
        </label>
        <label className="field">
          <span>Find a contact</span>
          <input type="search" value={contactQuery} onChange={(event) => setContactQuery(event.target.value)} placeholder="email or id" />
        </label>
      </div>
      <fieldset className="qa-rows">
        <legend>Hypothetical events</legend>
        {rows.map((row, index) => (
          <div key={index} className="qa-row" data-testid="hypothetical-event">
            <input aria-label="Event name" placeholder="Order Completed" value={row.name} onChange={(event) => setRows(rows.map((item, at) => (at === index ? { ...item, name: event.target.value } : item)))} />
            <span>after</span>
            <input aria-label="After" type="number" min={0} value={row.amount} onChange={(event) => setRows(rows.map((item, at) => (at === index ? { ...item, amount: Number(event.target.value) || 0 } : item)))} />
            <select aria-label="Unit" value={row.unit} onChange={(event) => setRows(rows.map((item, at) => (at === index ? { ...item, unit: event.target.value } : item)))}>
              {UNITS.map((unit) => (
                <option key={unit.value} value={unit.value}>
                  {unit.label}
                </option>
              ))}
            </select>
            <input aria-label="Properties" placeholder='{"total": 80}' value={row.properties} onChange={(event) => setRows(rows.map((item, at) => (at === index ? { ...item, properties: event.target.value } : item)))} />
            <button type="button" className="button button-quiet button-small" aria-label="Remove event" onClick={() => setRows(rows.filter((_, at) => at !== index))}>
              ×
            </button>
          </div>
        ))}
        <button type="button" className="button button-small" onClick={() => setRows([...rows, { name: "", amount: 30, unit: "M", properties: "" }])}>
          Add event
        </button>
      </fieldset>
      <div className="form-inline">
        <button type="button" className="button button-primary" onClick={run} disabled={running}>
          {running ? "Simulating…" : "Simulate"}
        </button>
        {result ? (
          <button
            type="button"
            className="button button-quiet"
            onClick={() => {
              setResult(null);
              clear();
            }}
          >
            Clear
          </button>
        ) : null}
        {result && !onCanvas ? <Link to={`/journeys/${journeyId}`}>See the path on the canvas</Link> : null}
      </div>
      {error ? <Banner tone="error">{error}</Banner> : null}
      {result ? <PathList result={result} /> : null}
    </section>
  );
}

function PathList({ result }: { result: SimulationResult }) {
  if (!result.entered) return <Banner>Not entered: {result.reason ?? result.status}</Banner>;
  const outcome =
    result.status === "exited"
      ? `Left the journey: ${result.exit_reason === "goal" ? `goal reached${result.conversion ? ` (${result.conversion.goal})` : ""}` : result.exit_reason}`
      : result.status === "completed"
        ? "Completed the journey"
        : result.status === "waiting"
          ? `Still waiting at ${result.waiting_at}${result.reason ? ` (${result.reason})` : ""}`
          : result.status;
  return (
    <div className="qa-path" data-testid="simulated-path">
      <ol>
        {result.path.map((step, index) => (
          <li key={index} data-node={step.node} data-outcome={step.outcome}>
            <span className="qa-path-time">{offsetLabel(result.start, step.at)}</span> <strong>{step.node}</strong> <span className="muted">{step.type}</span> — {step.outcome}
            {step.port && step.port !== "next" ? ` (${step.port})` : ""}
          </li>
        ))}
      </ol>
      <p data-testid="simulation-outcome">
        {outcome}. {result.messages.length ? `Emails: ${result.messages.map((message) => `${message.node} ${offsetLabel(result.start, message.at)}`).join(", ")}.` : "No email."}
      </p>
    </div>
  );
}
