/**
 * The canvas's one store (zustand): the graph being drawn, its undo/redo history and where the
 * draft stands against the server (revision, save state). Server data about the journey
 * (status, versions, problems, counts) stays in TanStack Query; nothing is kept in both places.
 *
 * Every change to the graph goes through an operation of store.ts, so the rules tested there are
 * the rules the canvas applies.
 */
import { applyEdgeChanges, applyNodeChanges, type EdgeChange, type NodeChange } from "@xyflow/react";
import { create } from "zustand";
import {
  connect,
  connectionProblem,
  definitionToGraph,
  graphToDefinition,
  insertOnEdge,
  needsLayout,
  pasteNodes,
  removeEdges,
  removeNodes,
  renameNode,
  updateConfig,
  copyNodes,
  type CanvasEdge,
  type CanvasGraph,
  type CanvasNode,
  type Clipboard,
  type Connection,
  type JourneySettings,
} from "./store";
import { autoLayout } from "./layout";
import { TRIGGER_NODE } from "./nodeTypes";
import type { JourneyDefinition, NodeConfig, Point } from "./types";

export type SaveState = "saved" | "unsaved" | "saving" | "conflict" | "error";

interface Snapshot {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  settings: JourneySettings;
}

const HISTORY_LIMIT = 100;
/** Typing into one field is one undo step: edits of the same field this close together merge. */
const MERGE_WINDOW_MS = 1200;

export interface CanvasState extends CanvasGraph {
  journeyId: number | null;
  /** the draft revision the graph is based on (sent with each save; a stale one gets 409) */
  revision: number;
  /** bumped on every change of the definition (not on selection); autosave watches it */
  changes: number;
  saveState: SaveState;
  saveError: string | null;
  /** the JSON last saved or loaded, to skip saves that change nothing */
  savedJson: string;
  past: Snapshot[];
  future: Snapshot[];
  lastRecord: { key: string; at: number } | null;
  /** the side panel's node: the trigger or a node id */
  panel: string | null;
  /** a short message about something the canvas refused */
  notice: string | null;

  load(journeyId: number, definition: JourneyDefinition, revision: number): void;
  definition(): JourneyDefinition;
  markSaving(): void;
  markSaved(revision: number, json: string): void;
  markConflict(message: string): void;
  markError(message: string): void;

  onNodesChange(changes: NodeChange<CanvasNode>[]): void;
  onEdgesChange(changes: EdgeChange<CanvasEdge>[]): void;
  beginDrag(): void;
  addNode(node: CanvasNode, from?: { source: string; port: string } | null): void;
  insertNode(edgeId: string, node: CanvasNode): void;
  connectPorts(connection: Connection): void;
  /** point a node's port at another node (or at nothing): one undo step; the reason when refused */
  setPortTarget(source: string, port: string, target: string | null): string | null;
  deleteNodes(ids: string[]): void;
  deleteElements(nodeIds: string[], edgeIds: string[]): void;
  deleteEdges(ids: string[]): void;
  setConfig(id: string, config: NodeConfig, field?: string): void;
  setSettings(settings: JourneySettings, field?: string): void;
  rename(from: string, to: string): void;
  layout(): void;
  paste(clipboard: Clipboard, offset: Point): void;
  copy(ids: string[]): Clipboard;
  undo(): void;
  redo(): void;
  openPanel(id: string | null): void;
  select(ids: string[]): void;
  say(notice: string | null): void;
}

function snapshot(state: CanvasGraph): Snapshot {
  return { nodes: state.nodes, edges: state.edges, settings: state.settings };
}

const emptySettings: JourneySettings = { trigger: { type: "event" }, entry: {}, exit_on: [], extra: {} };

export const useCanvas = create<CanvasState>()((set, get) => {
  /** Apply a change to the graph as one undo step (merged with the previous one when `key` repeats). */
  function change(next: (state: CanvasState) => Partial<CanvasGraph>, key?: string) {
    const state = get();
    const now = Date.now();
    const merge = key !== undefined && state.lastRecord?.key === key && now - state.lastRecord.at < MERGE_WINDOW_MS;
    const past = merge ? state.past : [...state.past, snapshot(state)].slice(-HISTORY_LIMIT);
    set({ ...next(state), past, future: [], changes: state.changes + 1, lastRecord: key ? { key, at: now } : null, saveState: state.saveState === "conflict" ? "conflict" : "unsaved" });
  }

  return {
    journeyId: null,
    nodes: [],
    edges: [],
    settings: emptySettings,
    revision: 0,
    changes: 0,
    saveState: "saved",
    saveError: null,
    savedJson: "",
    past: [],
    future: [],
    lastRecord: null,
    panel: null,
    notice: null,

    load(journeyId, definition, revision) {
      let graph = definitionToGraph(definition);
      if (needsLayout(definition)) graph = autoLayout(graph);
      set({
        journeyId,
        ...graph,
        revision,
        changes: 0,
        saveState: "saved",
        saveError: null,
        savedJson: JSON.stringify(graphToDefinition(graph)),
        past: [],
        future: [],
        lastRecord: null,
        panel: null,
        notice: null,
      });
    },
    definition: () => graphToDefinition(get()),
    markSaving: () => set({ saveState: "saving", saveError: null }),
    markSaved(revision, json) {
      const state = get();
      // Edits made while the save was on its way stay unsaved; the next save takes them.
      const current = JSON.stringify(graphToDefinition(state));
      set({ revision, savedJson: json, saveState: current === json ? "saved" : "unsaved", saveError: null });
    },
    markConflict: (message) => set({ saveState: "conflict", saveError: message }),
    markError: (message) => set({ saveState: "error", saveError: message }),

    onNodesChange(changes) {
      // Removals arrive through deleteElements (xyflow's onDelete), as one undo step.
      const rest = changes.filter((item) => item.type !== "remove");
      if (!rest.length) return;
      const moved = rest.some((item) => item.type === "position" && item.position);
      const nodes = applyNodeChanges(rest, get().nodes);
      if (moved) set({ nodes, changes: get().changes + 1, saveState: get().saveState === "conflict" ? "conflict" : "unsaved" });
      else set({ nodes });
    },
    onEdgesChange(changes) {
      const rest = changes.filter((item) => item.type !== "remove");
      if (rest.length) set({ edges: applyEdgeChanges(rest, get().edges) });
    },
    deleteElements(nodeIds, edgeIds) {
      const nodes = nodeIds.filter((id) => id !== TRIGGER_NODE);
      if (!nodes.length && !edgeIds.length) return;
      change((state) => {
        const graph = removeEdges(removeNodes(state, nodes), edgeIds);
        return { nodes: graph.nodes, edges: graph.edges };
      });
      if (nodes.includes(get().panel ?? "")) set({ panel: null });
    },
    beginDrag() {
      const state = get();
      set({ past: [...state.past, snapshot(state)].slice(-HISTORY_LIMIT), future: [], lastRecord: null });
    },
    addNode(node, from) {
      change((state) => {
        let graph: CanvasGraph = { ...state, nodes: [...state.nodes.map((item) => ({ ...item, selected: false })), { ...node, selected: true }] };
        if (from) graph = connect(graph, { source: from.source, sourceHandle: from.port, target: node.id });
        return { nodes: graph.nodes, edges: graph.edges };
      });
      set({ panel: node.id });
    },
    insertNode(edgeId, node) {
      change((state) => {
        const graph = insertOnEdge({ ...state, nodes: state.nodes.map((item) => ({ ...item, selected: false })) }, edgeId, { ...node, selected: true });
        return { nodes: graph.nodes, edges: graph.edges };
      });
      set({ panel: node.id });
    },
    connectPorts(connection) {
      change((state) => ({ edges: connect(state, connection).edges }));
    },
    setPortTarget(source, port, target) {
      const state = get();
      const without = state.edges.filter((edge) => !(edge.source === source && (edge.sourceHandle ?? "") === port));
      if (target) {
        const problem = connectionProblem({ nodes: state.nodes, edges: without }, { source, sourceHandle: port, target });
        if (problem) return problem;
      }
      change((current) => {
        const edges = current.edges.filter((edge) => !(edge.source === source && (edge.sourceHandle ?? "") === port));
        return { edges: target ? connect({ ...current, edges }, { source, sourceHandle: port, target }).edges : edges };
      });
      return null;
    },
    deleteNodes(ids) {
      const deletable = ids.filter((id) => id !== TRIGGER_NODE);
      if (!deletable.length) return;
      change((state) => {
        const graph = removeNodes(state, deletable);
        return { nodes: graph.nodes, edges: graph.edges };
      });
      if (deletable.includes(get().panel ?? "")) set({ panel: null });
    },
    deleteEdges(ids) {
      if (!ids.length) return;
      change((state) => ({ edges: removeEdges(state, ids).edges }));
    },
    setConfig(id, config, field) {
      change((state) => {
        const graph = updateConfig(state, id, config);
        return { nodes: graph.nodes, edges: graph.edges };
      }, field ? `${id}:${field}` : undefined);
    },
    setSettings(settings, field) {
      change(() => ({ settings }), field ? `settings:${field}` : undefined);
    },
    rename(from, to) {
      change((state) => {
        const graph = renameNode(state, from, to);
        return { nodes: graph.nodes, edges: graph.edges };
      });
      if (get().panel === from) set({ panel: to });
    },
    layout() {
      change((state) => ({ nodes: autoLayout(state).nodes }));
    },
    paste(clipboard, offset) {
      if (!clipboard.nodes.length) return;
      let ids: string[] = [];
      change((state) => {
        const result = pasteNodes(state, clipboard, offset);
        ids = result.ids;
        return { nodes: result.graph.nodes, edges: result.graph.edges };
      });
      set({ panel: ids.length === 1 ? ids[0] : null });
    },
    copy: (ids) => copyNodes(get(), ids),
    undo() {
      const state = get();
      const previous = state.past[state.past.length - 1];
      if (!previous) return;
      set({
        ...previous,
        past: state.past.slice(0, -1),
        future: [snapshot(state), ...state.future].slice(0, HISTORY_LIMIT),
        changes: state.changes + 1,
        lastRecord: null,
        saveState: state.saveState === "conflict" ? "conflict" : "unsaved",
      });
    },
    redo() {
      const state = get();
      const next = state.future[0];
      if (!next) return;
      set({
        ...next,
        past: [...state.past, snapshot(state)].slice(-HISTORY_LIMIT),
        future: state.future.slice(1),
        changes: state.changes + 1,
        lastRecord: null,
        saveState: state.saveState === "conflict" ? "conflict" : "unsaved",
      });
    },
    openPanel: (id) => set({ panel: id }),
    select(ids) {
      const chosen = new Set(ids);
      set({ nodes: get().nodes.map((node) => (node.selected === chosen.has(node.id) ? node : { ...node, selected: chosen.has(node.id) })) });
    },
    say: (notice) => set({ notice }),
  };
});
