/** How a node looks on the canvas: its kind, what it does, its ports, its problems and live counts. */
import { memo } from "react";
import { Handle, Position, useStore, type NodeProps } from "@xyflow/react";
import { Icon } from "./icons";
import { problemsOf, useCanvasView } from "./context";
import { conversionText } from "./liveCounts";
import { kindLabel, nodeSummary, portLabel } from "./summary";
import { nodePorts, type CanvasNode } from "./store";
import type { NodeCounts } from "./types";
import { useSimulatedStep } from "../qa/simulation";

function Figure({ name, value }: { name: string; value: number | undefined }) {
  return (
    <div className={`figure figure-${name}`}>
      <dd data-count={name}>{value ?? 0}</dd>
      <dt>{name}</dt>
    </div>
  );
}

function Counts({ counts, email }: { counts: NodeCounts | undefined; email: boolean }) {
  const value = counts ?? { entered: 0, waiting: 0, left: 0 };
  return (
    <dl className="node-counts" aria-label="Contacts at this step">
      <Figure name="entered" value={value.entered} />
      <Figure name="waiting" value={value.waiting} />
      <Figure name="left" value={value.left} />
      {email ? (
        <>
          <Figure name="sent" value={value.sent} />
          <Figure name="opened" value={value.opened} />
          <Figure name="clicked" value={value.clicked} />
        </>
      ) : null}
    </dl>
  );
}

function JourneyNodeViewInner({ id, type, data, selected }: NodeProps<CanvasNode>) {
  const view = useCanvasView();
  const kind = type ?? "exit";
  const isTrigger = kind === "trigger";
  const ports = isTrigger ? ["next"] : nodePorts({ id, type: kind, position: { x: 0, y: 0 }, data });
  const problems = problemsOf(view.problems, id);
  const summary = isTrigger ? view.triggerText : nodeSummary(kind, data.config, view.templateName);
  const counts = view.counts ? view.counts[id] : undefined;
  // A connected way out is named on its connection (RoutedEdge), right under the port.
  const connected = useStore((state) => state.edges.filter((edge) => edge.source === id).map((edge) => edge.sourceHandle ?? "").sort().join(" "));
  const simulated = useSimulatedStep(id); // on the path of a QA simulation (src/qa/simulation.ts)
  return (
    <div
      className={`journey-node kind-${kind}${selected ? " is-selected" : ""}${problems.length ? " has-problems" : ""}${simulated ? " on-sim-path" : ""}`}
      data-testid={`node-${id}`}
      data-kind={kind}
      role="group"
      aria-label={`${kindLabel(kind)} ${id}: ${summary}${problems.length ? `, ${problems.length} problem${problems.length > 1 ? "s" : ""}` : ""}`}
    >
      {isTrigger ? null : <Handle type="target" position={Position.Top} id="in" className="port-in" isConnectable={!view.readOnly} />}
      {simulated ? <span className="sim-badge" data-testid={`sim-${id}`} title={`${simulated.outcome} at ${simulated.at}`}>{simulated.offset}</span> : null}
      <div className="journey-node-head">
        <span className="journey-node-icon">
          <Icon name={kind} size={16} />
        </span>
        <span className="journey-node-kind">{kindLabel(kind)}</span>
        <span className="journey-node-id">{id}</span>
      </div>
      <div className="journey-node-summary" title={summary}>
        {summary}
      </div>
      {problems.length ? (
        <div className="journey-node-problems" role="note" data-testid={`problems-${id}`}>
          <Icon name="warning" size={13} /> {problems[0].message}
          {problems.length > 1 ? <span className="more"> (+{problems.length - 1} more)</span> : null}
        </div>
      ) : null}
      {view.counts && !isTrigger ? <Counts counts={counts} email={kind === "email"} /> : null}
      {view.counts && isTrigger && counts ? (
        <dl className="node-counts" aria-label="Contacts who entered the journey">
          <Figure name="entered" value={counts.entered} />
        </dl>
      ) : null}
      {view.winners?.[id] ? (
        <div className="node-winner" data-testid={`winner-${id}`} title="The winner rule decided: new contacts go down this variant">
          Winner: {view.winners[id]}
        </div>
      ) : null}
      {view.counts && conversionText(counts) ? (
        <div className="node-conversions" data-testid={`conversions-${id}`} title="Conversions credited to this step, and their revenue">
          {conversionText(counts)}
        </div>
      ) : null}
      <div className="journey-node-ports">
        {ports.map((port, index) => {
          const left = `${((index + 1) / (ports.length + 1)) * 100}%`;
          const label = isTrigger ? "" : portLabel(kind, data.config, port);
          const named = label && !connected.split(" ").includes(port);
          return (
            <div key={port} className={`port port-${port}`} style={{ left }}>
              {named ? <span className="port-label">{label}</span> : null}
              <Handle
                type="source"
                position={Position.Bottom}
                id={port}
                className={`port-out port-out-${port}`}
                data-testid={`port-${id}-${port}`}
                isConnectable={!view.readOnly}
                // a pointer's handle (keyboard users connect from the side panel): a hint, not an ARIA
                // name, which a role-less div may not carry
                title={`${label || "next"} way out of ${id}`}
              />
            </div>
          );
        })}
      </div>
    </div>
  );
}

export const JourneyNodeView = memo(JourneyNodeViewInner);
