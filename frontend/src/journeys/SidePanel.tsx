/** The panel at the right of the canvas: the form of the selected node (or of the trigger). */
import { useMemo } from "react";
import { useCanvas } from "./canvasState";
import { Icon } from "./icons";
import { PANELS, type Hints } from "./panels";
import { TriggerPanel } from "./TriggerPanel";
import { ContactsHere } from "./ContactsHere";
import { ExperimentResults } from "./ExperimentResults";
import { kindLabel } from "./summary";
import { problemsOf } from "./context";
import { isNodeKind, nodeSpec, TRIGGER_NODE } from "./nodeTypes";
import { nodePorts } from "./store";
import { portLabel } from "./summary";
import type { ValidationProblem } from "./types";

interface Props {
  nodeId: string;
  problems: ValidationProblem[];
  readOnly: boolean;
  hints: Hints;
  eventProperties: string[];
  /** The journey, when it has run (its contacts on the step are listed). */
  journeyId?: number;
}

export function SidePanel({ nodeId, problems, readOnly, hints, eventProperties, journeyId }: Props) {
  const node = useCanvas((state) => state.nodes.find((item) => item.id === nodeId));
  const settings = useCanvas((state) => state.settings);
  const setConfig = useCanvas((state) => state.setConfig);
  const setSettings = useCanvas((state) => state.setSettings);
  const deleteNodes = useCanvas((state) => state.deleteNodes);
  const openPanel = useCanvas((state) => state.openPanel);
  const own = useMemo(() => problemsOf(problems, nodeId), [problems, nodeId]);
  const journeyProblems = useMemo(() => problems.filter((problem) => !problem.node), [problems]);
  if (!node) return null;
  const kind = node.type ?? "exit";
  const entry = isNodeKind(kind) ? PANELS[kind] : null;
  // Problems no input of the form shows (ports, reachability, loops) are listed at the top.
  const inline = entry?.fields ?? [];
  const elsewhere = nodeId === TRIGGER_NODE ? own.filter((problem) => problem.field.startsWith("ports.")) : own.filter((problem) => !inline.some((field) => problem.field === field || problem.field.startsWith(`${field}.`) || problem.field.startsWith(`${field}[`)));

  return (
    <aside className="side-panel" aria-label={`${kindLabel(kind)} ${nodeId}`} data-testid="side-panel">
      <header className="side-panel-head">
        <span className={`side-panel-icon kind-${kind}`}>
          <Icon name={kind} size={18} />
        </span>
        <div>
          <h2>{kindLabel(kind)}</h2>
          <span className="mono muted">{nodeId}</span>
        </div>
        <button type="button" className="button button-quiet button-small side-panel-close" aria-label="Close the panel" onClick={() => openPanel(null)}>
          <Icon name="close" size={16} />
        </button>
      </header>
      {nodeId !== TRIGGER_NODE ? <p className="side-panel-description">{nodeSpec(kind)?.description}</p> : null}
      {elsewhere.length ? (
        <div className="panel-problems" role="alert">
          <strong>Fix before publishing</strong>
          <ul>
            {elsewhere.map((problem, index) => (
              <li key={index}>{problem.message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <fieldset className="side-panel-form" disabled={readOnly}>
        <legend className="visually-hidden">Settings of {nodeId}</legend>
        {nodeId === TRIGGER_NODE ? (
          <TriggerPanel settings={settings} set={setSettings} problems={own} journeyProblems={journeyProblems} hints={hints} eventProperties={eventProperties} />
        ) : entry ? (
          <entry.Panel id={nodeId} config={node.data.config} set={(config, field) => setConfig(nodeId, config, field)} problems={own} hints={hints} />
        ) : (
          <p>Unknown node type “{kind}”.</p>
        )}
      </fieldset>
      {journeyId !== undefined && kind === "experiment" ? <ExperimentResults journeyId={journeyId} nodeId={nodeId} /> : null}
      <WaysOut nodeId={nodeId} readOnly={readOnly} />
      {journeyId !== undefined && nodeId !== TRIGGER_NODE ? <ContactsHere journeyId={journeyId} nodeId={nodeId} /> : null}
      {!readOnly && nodeId !== TRIGGER_NODE ? (
        <footer className="side-panel-foot">
          <button type="button" className="button button-danger button-small" onClick={() => deleteNodes([nodeId])}>
            <Icon name="trash" size={14} /> Delete step
          </button>
        </footer>
      ) : null}
    </aside>
  );
}

/** Each way out of the node and where it leads: connecting from the keyboard. */
function WaysOut({ nodeId, readOnly }: { nodeId: string; readOnly: boolean }) {
  const node = useCanvas((state) => state.nodes.find((item) => item.id === nodeId));
  const nodes = useCanvas((state) => state.nodes);
  const edges = useCanvas((state) => state.edges);
  const setPortTarget = useCanvas((state) => state.setPortTarget);
  const say = useCanvas((state) => state.say);
  if (!node) return null;
  const ports = nodeId === TRIGGER_NODE ? ["next"] : nodePorts(node);
  if (!ports.length) return null;
  const others = nodes.filter((item) => item.id !== nodeId && item.id !== TRIGGER_NODE);
  return (
    <section className="ways-out" aria-label="Ways out">
      <h3>Leads to</h3>
      {ports.map((port) => {
        const target = edges.find((edge) => edge.source === nodeId && (edge.sourceHandle ?? "") === port)?.target ?? "";
        const label = portLabel(node.type ?? "", node.data.config, port) || "Next";
        return (
          <label key={port} className="way-out">
            <span>{label}</span>
            <select
              value={target}
              disabled={readOnly}
              aria-label={`${label} leads to`}
              onChange={(event) => {
                const problem = setPortTarget(nodeId, port, event.target.value || null);
                if (problem) say(problem);
              }}
            >
              <option value="">— nothing (the journey ends) —</option>
              {others.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.id}
                </option>
              ))}
            </select>
          </label>
        );
      })}
    </section>
  );
}
