/** @xyflow/react set up the Wayline way: our node view, edges routed around the nodes, minimap, controls. */
import type { ReactNode } from "react";
import { Background, BackgroundVariant, Controls, MarkerType, MiniMap, ReactFlow, type ReactFlowProps } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { JourneyNodeView } from "./JourneyNodeView";
import { NODE_KINDS } from "./nodeTypes";
import { RoutedEdge } from "./RoutedEdge";
import type { CanvasEdge, CanvasNode } from "./store";

// Defined once: xyflow warns when the map changes between renders.
const nodeTypes = Object.fromEntries([...NODE_KINDS, "trigger"].map((kind) => [kind, JourneyNodeView]));

const edgeTypes = { routed: RoutedEdge };

const defaultEdgeOptions = {
  type: "routed",
  markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, color: "#8b93a7" },
  style: { strokeWidth: 1.8 },
  interactionWidth: 24,
};

const MINIMAP_COLORS: Record<string, string> = {
  trigger: "#3b4bd8",
  email: "#2f80ed",
  delay: "#b7791f",
  wait_for_event: "#b7791f",
  branch: "#7c3aed",
  split: "#7c3aed",
  experiment: "#db2777",
  update_contact: "#0f766e",
  webhook: "#0f766e",
  exit: "#64748b",
};

interface Props extends Omit<ReactFlowProps<CanvasNode, CanvasEdge>, "nodeTypes" | "edgeTypes"> {
  readOnly: boolean;
  /** the overview in the corner (hidden while the side panel leaves the canvas narrow) */
  minimap?: boolean;
  children?: ReactNode;
}

export function FlowCanvas({ readOnly, children, minimap = true, ...props }: Props) {
  return (
    <ReactFlow<CanvasNode, CanvasEdge>
      nodeTypes={nodeTypes}
      edgeTypes={edgeTypes}
      defaultEdgeOptions={defaultEdgeOptions}
      nodesDraggable={!readOnly}
      nodesConnectable={!readOnly}
      elementsSelectable
      edgesFocusable={!readOnly}
      deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
      multiSelectionKeyCode={["Shift", "Meta", "Control"]}
      selectionKeyCode="Shift"
      minZoom={0.2}
      maxZoom={1.75}
      fitView
      fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
      snapToGrid
      snapGrid={[8, 8]}
      proOptions={{ hideAttribution: true }}
      ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter to open its settings, arrow keys to move it." }}
      {...props}
    >
      <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} color="#c9cfdb" />
      {minimap ? <MiniMap pannable zoomable ariaLabel="Overview of the journey" nodeColor={(node) => MINIMAP_COLORS[node.type ?? ""] ?? "#94a3b8"} nodeStrokeWidth={2} maskColor="rgb(240 242 246 / 70%)" /> : null}
      <Controls showInteractive={false} position="bottom-left" />
      {children}
    </ReactFlow>
  );
}
