/** The panel at the right of the canvas: the form of the selected node (or of the trigger). */
import { useMemo } from "react";
import { useCanvas } from "./canvasState";
import { Icon } from "./icons";
import { PANELS, type Hints } from "./panels";
import { TriggerPanel } from "./TriggerPanel";
import { kindLabel } from "./summary";
import { problemsOf } from "./context";
import { isNodeKind, nodeSpec, TRIGGER_NODE } from "./nodeTypes";
import type { ValidationProblem } from "./types";

interface Props {
  nodeId: string;
  problems: ValidationProblem[];
  readOnly: boolean;
  hints: Hints;
  eventProperties: string[];
}

export function SidePanel({ nodeId, problems, readOnly, hints, eventProperties }: Props) {
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
