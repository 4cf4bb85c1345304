/**
 * A connection drawn as an orthogonal route around the nodes: ELK's route while the nodes are
 * where "Arrange" put them (edge data `points`), otherwise one found around the current boxes
 * (layout.ts, routeAround). It leaves its own way out downwards and enters the target from
 * above; its label (Yes, No, Timeout, a path's name) sits right under the way out it leaves.
 */
import { memo, useMemo } from "react";
import { BaseEdge, EdgeLabelRenderer, useStore, type EdgeProps, type ReactFlowState } from "@xyflow/react";
import { NODE_HEIGHT, NODE_WIDTH, routeAround, roundedPath, simplify, type Box, type XY } from "./layout";
import { portLabel } from "./summary";
import type { CanvasEdge, CanvasNode } from "./store";

export interface RoutedEdgeData extends Record<string, unknown> {
  /** ELK's route for the current geometry, when there is one */
  points?: XY[];
}

/** The nodes as boxes, only changing when a node moves or resizes (not on selection). */
function boxesOf(state: ReactFlowState): string {
  let key = "";
  for (const node of state.nodeLookup.values()) {
    const at = node.internals.positionAbsolute;
    key += `${node.id}\u0001${Math.round(at.x)}\u0001${Math.round(at.y)}\u0001${Math.round(node.measured?.width ?? NODE_WIDTH)}\u0001${Math.round(node.measured?.height ?? NODE_HEIGHT)}\u0002`;
  }
  return key;
}

function parseBoxes(key: string): Box[] {
  return key
    .split("\u0002")
    .filter(Boolean)
    .map((row) => {
      const [id, x, y, width, height] = row.split("\u0001");
      return { id, x: Number(x), y: Number(y), width: Number(width), height: Number(height) };
    });
}

/** ELK's route moved onto the handles the canvas draws (ELK's port ends are a pixel or two off). */
function onHandles(points: XY[], from: XY, to: XY): XY[] {
  if (points.length < 2) return [from, to];
  const inner = points.slice(1, -1).map((point) => ({ ...point }));
  if (inner.length) {
    inner[0].x = from.x;
    inner[inner.length - 1].x = to.x;
  }
  return simplify([from, ...inner, to]);
}

function RoutedEdgeInner({ id, source, target, sourceHandleId, sourceX, sourceY, targetX, targetY, markerEnd, style, interactionWidth, data }: EdgeProps<CanvasEdge>) {
  const geometry = useStore(boxesOf);
  const label = useStore((state) => {
    const node = state.nodeLookup.get(source) as unknown as CanvasNode | undefined;
    if (!node || node.type === "trigger" || !node.type) return "";
    return portLabel(node.type, node.data.config, sourceHandleId ?? "");
  });
  const elkPoints = (data as RoutedEdgeData | undefined)?.points;
  const points = useMemo(() => {
    const from = { x: sourceX, y: sourceY };
    const to = { x: targetX, y: targetY };
    if (elkPoints && elkPoints.length >= 2) return onHandles(elkPoints, from, to);
    return routeAround(from, to, parseBoxes(geometry), source, target);
  }, [elkPoints, geometry, source, target, sourceX, sourceY, targetX, targetY]);
  const path = roundedPath(points);
  const port = sourceHandleId ?? "";
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} interactionWidth={interactionWidth} />
      {label && port !== "next" ? (
        <EdgeLabelRenderer>
          <div
            className={`edge-label edge-label-${port}`}
            data-testid={`edge-label-${id}`}
            style={{ transform: `translate(${sourceX + 6}px, ${sourceY + 4}px)` }}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

export const RoutedEdge = memo(RoutedEdgeInner);
