/**
 * The experiment node's side panel, beyond its variants: the winner rule and bandit settings
 * (config.decide, config.mode, config.floor, config.metric; journeys/engine/experiments.py) and,
 * once the journey runs, each variant's results with the decision.
 */
import { DurationInput, FieldMessages, Labelled, SelectInput, messagesFor } from "./fields";
import { formatDateTime } from "../lib/format";
import { nodeLimit } from "./nodeTypes";
import { useExperiments, type ExperimentResult } from "./api";
import type { NodeConfig, ValidationProblem } from "./types";
import "./experimentResults.css";

type Metric = "conversion" | "click";
type Mode = "split" | "bandit";
type Fallback = "keep_split" | "take_best";

interface Decide {
  metric?: Metric;
  min_sample?: number;
  confidence?: number;
  deadline?: string;
  fallback?: Fallback;
}

const METRICS: { value: Metric; label: string }[] = [
  { value: "conversion", label: "Conversion (the journey's goal)" },
  { value: "click", label: "Click on one of the journey's emails" },
];
const MODES: { value: Mode; label: string }[] = [
  { value: "split", label: "Split by the weights" },
  { value: "bandit", label: "Bandit: more contacts to what works" },
];
const FALLBACKS: { value: Fallback; label: string }[] = [
  { value: "keep_split", label: "Keep the split" },
  { value: "take_best", label: "Take the best so far" },
];

/** 0.1234 -> "12.3%". */
export function percent(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return "–";
  return `${(value * 100).toFixed(digits)}%`;
}

/** "9.9–14.3%": a 95% interval. */
export function intervalText(interval: readonly [number, number]): string {
  return `${(interval[0] * 100).toFixed(1)}–${(interval[1] * 100).toFixed(1)}%`;
}

/** "12.0% (9.9–14.3%)": the rate with its 95% interval. */
export function rateWithInterval(rate: number, interval: readonly [number, number]): string {
  return `${percent(rate)} (${intervalText(interval)})`;
}

/** P(best) as marketers read it: never "100%" or "0%" for a probability that is only close. */
export function chance(value: number): string {
  if (value > 0.999) return ">99.9%";
  if (value < 0.001) return "<0.1%";
  return percent(value);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

interface RuleProps {
  config: NodeConfig;
  set: (config: NodeConfig, field?: string) => void;
  problems: ValidationProblem[];
}

/** Metric, mode and floor, and the winner rule (min sample, confidence, deadline, fallback). */
export function ExperimentRuleFields({ config, set, problems }: RuleProps) {
  const decide = config.decide && typeof config.decide === "object" ? (config.decide as Decide) : null;
  const mode: Mode = config.mode === "bandit" ? "bandit" : "split";
  const metric: Metric = (decide?.metric ?? config.metric) === "click" ? "click" : "conversion";
  const defaultSample = nodeLimit("experiment", "min_sample_default");
  const defaultConfidence = nodeLimit("experiment", "confidence_default_percent");
  const defaultFloor = nodeLimit("experiment", "floor_default_percent");
  const setDecide = (next: Decide | null, field = "decide") => {
    const { decide: _old, ...rest } = config;
    set(next ? { ...rest, decide: next } : rest, field);
  };
  const setMetric = (value: Metric) => {
    if (decide) setDecide({ ...decide, metric: value }, "decide.metric");
    else set({ ...config, metric: value }, "metric");
  };
  // Stored as a fraction (0.95); the validator also takes a percentage (95).
  const confidence = numberOr(decide?.confidence, defaultConfidence / 100);
  const confidencePercent = confidence > 1 ? confidence : Math.round(confidence * 10000) / 100;
  return (
    <section className="panel-section" aria-label="Results decide">
      <h3>Let results decide</h3>
      <SelectInput label="Metric" value={metric} options={METRICS} onChange={setMetric} field="config.metric" messages={[...messagesFor(problems, "config.metric"), ...messagesFor(problems, "config.decide.metric")]} />
      <SelectInput
        label="Assignment"
        value={mode}
        options={MODES}
        field="config.mode"
        messages={messagesFor(problems, "config.mode")}
        hint={mode === "bandit" ? "Thompson sampling: each variant's share follows its chance to be the best; contacts keep their variant." : undefined}
        onChange={(value) => {
          if (value === "bandit") set({ ...config, mode: value, floor: config.floor ?? defaultFloor / 100 }, "mode");
          else {
            const { floor: _floor, ...rest } = config;
            set({ ...rest, mode: value }, "mode");
          }
        }}
      />
      {mode === "bandit" ? (
        <Labelled label="Floor per variant" field="config.floor" messages={messagesFor(problems, "config.floor")} hint="No variant gets less than this share of new contacts.">
          {({ id, invalid, describedBy }) => (
            <span className="input-with-unit">
              <input
                id={id}
                type="number"
                min={0}
                max={100}
                step={1}
                value={String(Math.round(numberOr(config.floor, defaultFloor / 100) * 1000) / 10)}
                aria-invalid={invalid || undefined}
                aria-describedby={describedBy}
                onChange={(event) => set({ ...config, floor: Number(event.target.value || 0) / 100 }, "floor")}
              />{" "}
              %
            </span>
          )}
        </Labelled>
      ) : null}
      <label className="checkbox">
        <input
          type="checkbox"
          checked={decide !== null}
          onChange={(event) => {
            if (!event.target.checked) {
              const { decide: _old, ...rest } = config;
              return set(metric === "click" ? { ...rest, metric } : rest, "decide");
            }
            const { metric: nodeMetric, ...rest } = config;
            set({ ...rest, decide: { metric: nodeMetric === "click" ? "click" : "conversion", min_sample: defaultSample, confidence: defaultConfidence / 100, fallback: "keep_split" } }, "decide");
          }}
        />{" "}
        Pick a winner automatically
      </label>
      {decide ? (
        <>
          <Labelled label="Minimum sample per variant" field="config.decide.min_sample" messages={messagesFor(problems, "config.decide.min_sample")} hint="Contacts each variant needs before the first look; later looks come at 2×, 4×, … this.">
            {({ id, invalid, describedBy }) => (
              <input id={id} type="number" min={1} step={1} value={String(decide.min_sample ?? defaultSample)} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(event) => setDecide({ ...decide, min_sample: Number(event.target.value) }, "decide.min_sample")} />
            )}
          </Labelled>
          <Labelled label="Confidence" field="config.decide.confidence" messages={messagesFor(problems, "config.decide.confidence")} hint="Above 50% and below 100%. The rule spends it over its looks, so A/A tests rarely crown a winner.">
            {({ id, invalid, describedBy }) => (
              <span className="input-with-unit">
                <input id={id} type="number" min={50} max={99.9} step={0.1} value={String(confidencePercent)} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(event) => setDecide({ ...decide, confidence: Number(event.target.value) / 100 }, "decide.confidence")} />{" "}
                %
              </span>
            )}
          </Labelled>
          <DurationInput label="Deadline (after the first contact)" value={decide.deadline} onChange={(deadline) => setDecide({ ...decide, deadline }, "decide.deadline")} field="config.decide.deadline" messages={messagesFor(problems, "config.decide.deadline")} units={["hours", "days", "weeks"]} />
          <SelectInput label="With no winner by the deadline" value={decide.fallback === "take_best" ? "take_best" : "keep_split"} options={FALLBACKS} onChange={(fallback) => setDecide({ ...decide, fallback }, "decide.fallback")} field="config.decide.fallback" messages={messagesFor(problems, "config.decide.fallback")} />
        </>
      ) : null}
      <FieldMessages messages={messagesFor(problems, "config.decide").filter((message) => !["metric", "min_sample", "confidence", "deadline", "fallback"].some((key) => messagesFor(problems, `config.decide.${key}`).includes(message)))} />
    </section>
  );
}

/** Each variant's contacts, conversions, rate ± interval, P(best) and share; the decision. */
export function ExperimentResults({ journeyId, nodeId }: { journeyId: number; nodeId: string }) {
  const query = useExperiments(journeyId, true);
  const result = query.data?.find((item) => item.node === nodeId);
  return (
    <section className="experiment-results panel-section" aria-label="Experiment results" data-testid="experiment-results">
      <h3>Results</h3>
      {query.isError ? <p className="muted">The results could not be loaded.</p> : null}
      {query.data && !result ? <p className="muted">This step is not in the live version yet.</p> : null}
      {result ? <ResultTable result={result} /> : null}
    </section>
  );
}

function ResultTable({ result }: { result: ExperimentResult }) {
  const what = result.metric === "click" ? "Clicked" : "Converted";
  const { decision, next_look: next } = result;
  return (
    <>
      <table className="variants experiment-table">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Contacts</th>
            <th scope="col">{what}</th>
            <th scope="col" title="The rate and its 95% credible interval">Rate</th>
            <th scope="col" title="The probability that this variant beats the others, and the share of new contacts it gets now">
              P(best)
            </th>
          </tr>
        </thead>
        <tbody>
          {result.variants.map((variant) => (
            <tr key={variant.id} className={decision?.winner === variant.id ? "is-winner" : undefined}>
              <th scope="row" className="mono">
                {variant.id}
                {decision?.winner === variant.id ? " ★" : ""}
              </th>
              <td>{variant.contacts.toLocaleString()}</td>
              <td>{variant.conversions.toLocaleString()}</td>
              <td aria-label={rateWithInterval(variant.rate, variant.interval)}>
                {percent(variant.rate)}
                <span className="experiment-interval">{intervalText(variant.interval)}</span>
              </td>
              <td>
                {chance(variant.p_best)}
                <span className="experiment-interval">gets {`${Number(variant.weight.toFixed(1))}%`}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {decision ? (
        <p className="experiment-decision" role="status">
          <strong>{decision.winner ? `Winner: ${decision.winner}` : "Split kept"}</strong> since {formatDateTime(decision.decided_at)}. {decision.reason}.{" "}
          {decision.winner ? "New contacts go down its path; contacts already assigned keep their variant." : ""}
        </p>
      ) : next ? (
        <p className="muted">
          Next look at {next.contacts.toLocaleString()} contacts per variant: a variant wins with P(best) ≥ {percent(next.confidence, 2)}.
          {next.deadline ? ` Deadline ${formatDateTime(next.deadline)}.` : ""}
        </p>
      ) : (
        <p className="muted">{result.mode === "bandit" ? "The bandit re-weights new contacts as results arrive." : "No winner rule: the split stays as set."}</p>
      )}
    </>
  );
}
