/**
 * The journey builder: palette, canvas, side panel, toolbar. The graph lives in the canvas store
 * (canvasState.ts); the journey record, problems and versions come from the server through
 * TanStack Query; drafts save themselves with the revision they were based on.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Panel, ReactFlowProvider, useNodesInitialized, useReactFlow, type OnConnectEnd, type OnSelectionChangeFunc } from "@xyflow/react";
import { api, ApiError, errorMessage } from "../lib/api";
import { useCan } from "../lib/session";
import { Banner, Loading, Tag } from "../lib/ui";
import { useTemplates, templateRef } from "../templates/api";
import { journeyKeys, renameJourney, saveDraft, useEventNames, useEventProperties, useExperiments, useJourney, useLifecycle, validateDraft, winnersOf } from "./api";
import { useCanvas } from "./canvasState";
import { CanvasContext, type CanvasView } from "./context";
import { FlowCanvas } from "./FlowCanvas";
import { Icon } from "./icons";
import { keepInView, NODE_HEIGHT, NODE_WIDTH, type Rect } from "./layout";
import { arrange, type Arranged } from "./elkLayout";
import { useLiveCounts } from "./liveCounts";
import { NODE_TYPES, TRIGGER_NODE, type NodeKind } from "./nodeTypes";
import type { Hints } from "./panels";
import { PublishDialog } from "./PublishDialog";
import { SidePanel } from "./SidePanel";
import { connectionProblem, freePort, graphToDefinition, makeNode, needsLayout, type Clipboard } from "./store";
import { clientProblems, triggerSummary } from "./summary";
import type { Journey, JourneyStatus, ValidationProblem } from "./types";
import { VersionsDrawer } from "./VersionsDrawer";
import { SimulationDrawer } from "../qa/SimulationDrawer";
import { useSimulationFor } from "../qa/simulation";
import { JourneyPresence } from "../preview/JourneyPresence";
import { JourneyTabs } from "./JourneyTabs";
import "./journeys.css";
import "./phone.css";
import { CONTACT_FIELDS } from "./ruleFields";

const DRAG_TYPE = "application/x-wayline-node";
const AUTOSAVE_MS = 700;
const CLIPBOARD_KEY = "wayline.canvas.clipboard";

const STATUS_TONE: Record<JourneyStatus, "neutral" | "good" | "warn" | "bad"> = { draft: "neutral", live: "good", paused: "warn", archived: "bad" };

export function JourneyEditorPage() {
  const id = Number(useParams().id);
  const journey = useJourney(id);
  const loadedFor = useRef<number | null>(null);
  const load = useCanvas((state) => state.load);
  const loaded = useCanvas((state) => state.journeyId === id);
  useEffect(() => {
    if (journey.data && loadedFor.current !== id) {
      loadedFor.current = id;
      load(id, journey.data.draft, journey.data.draft_revision);
    }
  }, [journey.data, id, load]);
  if (journey.isError) {
    return (
      <div className="page-container">
        <Banner tone="error">{errorMessage(journey.error)}</Banner>
        <Link to="/journeys">Back to journeys</Link>
      </div>
    );
  }
  if (!journey.data || !loaded) return <Loading label="Opening the journey…" />;
  return (
    <ReactFlowProvider>
      <Editor journey={journey.data} />
    </ReactFlowProvider>
  );
}

function readClipboard(): Clipboard | null {
  try {
    const raw = localStorage.getItem(CLIPBOARD_KEY);
    return raw ? (JSON.parse(raw) as Clipboard) : null;
  } catch {
    return null;
  }
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || Boolean(target.closest(".cm-editor"));
}

function Editor({ journey }: { journey: Journey }) {
  const id = journey.id;
  const client = useQueryClient();
  const flow = useReactFlow();
  const canEdit = useCan("edit");
  const readOnly = !canEdit || journey.status === "archived";
  const store = useCanvas;
  const nodes = useCanvas((state) => state.nodes);
  const edges = useCanvas((state) => state.edges);
  const settings = useCanvas((state) => state.settings);
  const panel = useCanvas((state) => state.panel);
  const changes = useCanvas((state) => state.changes);
  const saveState = useCanvas((state) => state.saveState);
  const saveError = useCanvas((state) => state.saveError);
  const notice = useCanvas((state) => state.notice);
  const canUndo = useCanvas((state) => state.past.length > 0);
  const canRedo = useCanvas((state) => state.future.length > 0);
  const [dropEdge, setDropEdge] = useState<string | null>(null);
  const [publishing, setPublishing] = useState(false);
  const [showVersions, setShowVersions] = useState(false);
  const [simulating, setSimulating] = useState(false); // QA path simulation over the canvas (src/qa/)
  useSimulationFor(id);
  const [name, setName] = useState(journey.name);
  const wrapper = useRef<HTMLDivElement>(null);
  /** ELK's last arrangement: its routes are drawn while the nodes stay where it put them */
  const [arranged, setArranged] = useState<Arranged | null>(null);
  /** where the minimap sits in the pane's bottom right corner (React Flow's default size until seen) */
  const minimapCorner = useRef({ width: 200, height: 150, right: 15, bottom: 15 });
  const fitOnOpen = useRef(nodes.length > 1).current;

  // -- server problems, refreshed after every save; client checks on top ---------------------
  const problemsQuery = useQuery({
    queryKey: journeyKeys.problems(id),
    queryFn: () => validateDraft(id, store.getState().definition()).then((answer) => answer.problems ?? []),
    staleTime: Infinity,
  });
  const definition = useMemo(() => graphToDefinition({ nodes, edges, settings }), [nodes, edges, settings]);
  const problems: ValidationProblem[] = useMemo(() => [...(problemsQuery.data ?? []), ...clientProblems(definition)], [problemsQuery.data, definition]);

  // -- autosave -------------------------------------------------------------------------------
  const inFlight = useRef(false);
  const save = useCallback(async () => {
    const state = store.getState();
    if (readOnly || state.saveState === "conflict" || inFlight.current) return;
    const current = state.definition();
    const json = JSON.stringify(current);
    if (json === state.savedJson) {
      if (state.saveState !== "saved") store.setState({ saveState: "saved" });
      return;
    }
    inFlight.current = true;
    state.markSaving();
    try {
      const saved = await saveDraft(id, current, state.revision);
      store.getState().markSaved(saved.draft_revision, json);
      if (saved.problems) client.setQueryData(journeyKeys.problems(id), saved.problems);
      else client.invalidateQueries({ queryKey: journeyKeys.problems(id) });
      client.setQueryData<Journey>(journeyKeys.detail(id), (old) => (old ? { ...old, ...saved, draft: current, draft_revision: saved.draft_revision } : old));
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) store.getState().markConflict(error.error);
      else store.getState().markError(errorMessage(error));
    } finally {
      inFlight.current = false;
    }
    // Edits made meanwhile go out next.
    if (store.getState().saveState === "unsaved") setTimeout(save, AUTOSAVE_MS);
  }, [client, id, readOnly, store]);

  useEffect(() => {
    if (readOnly || changes === 0) return;
    const timer = setTimeout(save, AUTOSAVE_MS);
    return () => clearTimeout(timer);
  }, [changes, readOnly, save]);

  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      const state = store.getState().saveState;
      if (state === "unsaved" || state === "saving") event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [store]);

  // -- live counts ------------------------------------------------------------------------------
  const hasResults = journey.status === "live" || journey.status === "paused" || (journey.status === "archived" && Boolean(journey.live_version));
  const [showCounts, setShowCounts] = useState(true);
  const live = useLiveCounts(id, hasResults && showCounts);

  // -- hints for the side panels ------------------------------------------------------------
  const eventNames = useEventNames();
  // Events keep arriving while the canvas is open: opening a panel refreshes the suggestions.
  const refreshNames = eventNames.refetch;
  useEffect(() => {
    if (panel) refreshNames();
  }, [panel, refreshNames]);
  const triggerEvent = settings.trigger.type === "event" ? (settings.trigger.event ?? "") : "";
  const triggerProperties = useEventProperties(triggerEvent || undefined);
  const hints: Hints = useMemo(
    () => ({
      events: eventNames.data ?? [],
      triggerEvent,
      fields: [...CONTACT_FIELDS, ...(triggerProperties.data ?? []).map((name) => `event.properties.${name}`), ...nodes.filter((node) => node.type === "webhook").map((node) => `journey.webhook.${node.id}.status`)],
    }),
    [eventNames.data, triggerEvent, triggerProperties.data, nodes],
  );
  const templates = useTemplates();
  const hasExperiments = nodes.some((node) => node.type === "experiment");
  const experiments = useExperiments(id, hasResults && hasExperiments);
  const winners = useMemo(() => winnersOf(experiments.data, nodes), [experiments.data, nodes]);
  const view: CanvasView = useMemo(
    () => ({
      problems,
      counts: live.counts ?? (hasResults && showCounts ? {} : null),
      readOnly,
      templateName: (ref: string) => templates.data?.find((item) => templateRef(item) === ref || String(item.id) === ref)?.name,
      triggerText: triggerSummary(settings),
      winners,
    }),
    [problems, live.counts, hasResults, showCounts, readOnly, templates.data, settings, winners],
  );

  // -- drawing ------------------------------------------------------------------------------
  const say = useCallback((message: string | null) => store.getState().say(message), [store]);
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => say(null), 5000);
    return () => clearTimeout(timer);
  }, [notice, say]);

  const isValidConnection = useCallback((connection: { source: string; sourceHandle?: string | null; target: string }) => !connectionProblem(store.getState(), connection), [store]);
  const onConnectEnd: OnConnectEnd = useCallback(
    (_event, state) => {
      if (state.isValid || !state.toNode || !state.fromNode) return;
      const problem = connectionProblem(store.getState(), { source: state.fromNode.id, sourceHandle: state.fromHandle?.id ?? null, target: state.toNode.id });
      if (problem) say(problem);
    },
    [say, store],
  );
  const onSelectionChange: OnSelectionChangeFunc = useCallback(
    ({ nodes: selected }) => {
      const state = store.getState();
      if (selected.length === 1 && state.panel !== selected[0].id) state.openPanel(selected[0].id);
      if (selected.length === 0 && state.panel && state.nodes.every((node) => !node.selected)) state.openPanel(null);
    },
    [store],
  );

  const edgeAt = (clientX: number, clientY: number): string | null => {
    for (const element of document.elementsFromPoint(clientX, clientY)) {
      const edge = element.closest(".react-flow__edge");
      if (edge) return edge.getAttribute("data-id");
    }
    return null;
  };

  const addKind = useCallback(
    (kind: NodeKind, at?: { x: number; y: number }, onEdge?: string | null) => {
      const state = store.getState();
      const taken = state.nodes.map((node) => node.id);
      if (onEdge) {
        state.insertNode(onEdge, makeNode(kind, taken, at ?? { x: 0, y: 0 }));
        return;
      }
      if (at) {
        state.addNode(makeNode(kind, taken, at));
        return;
      }
      // From the keyboard: below the selected step, connected from its first free way out.
      const anchor = state.nodes.find((node) => node.id === state.panel) ?? state.nodes.find((node) => node.selected);
      const port = anchor ? freePort(state, anchor.id) : null;
      if (anchor) {
        const node = makeNode(kind, taken, { x: anchor.position.x, y: anchor.position.y + NODE_HEIGHT + 72 });
        state.addNode(node, port && !connectionProblem({ nodes: [...state.nodes, node], edges: state.edges }, { source: anchor.id, sourceHandle: port, target: node.id }) ? { source: anchor.id, port } : null);
        return;
      }
      const bounds = wrapper.current?.getBoundingClientRect();
      const center = bounds ? flow.screenToFlowPosition({ x: bounds.left + bounds.width / 2, y: bounds.top + bounds.height / 2 }) : { x: 0, y: 0 };
      state.addNode(makeNode(kind, taken, { x: center.x - NODE_WIDTH / 2, y: center.y - NODE_HEIGHT / 2 }));
    },
    [flow, store],
  );

  const onDragOver = (event: DragEvent) => {
    if (readOnly || !event.dataTransfer.types.includes(DRAG_TYPE)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    const edge = edgeAt(event.clientX, event.clientY);
    if (edge !== dropEdge) setDropEdge(edge);
  };
  const onDrop = (event: DragEvent) => {
    const kind = event.dataTransfer.getData(DRAG_TYPE) as NodeKind;
    setDropEdge(null);
    if (readOnly || !kind) return;
    event.preventDefault();
    const onEdge = edgeAt(event.clientX, event.clientY);
    const { zoom } = flow.getViewport();
    const box = { left: event.clientX - (NODE_WIDTH / 2) * zoom, top: event.clientY - 20 * zoom, right: event.clientX + (NODE_WIDTH / 2) * zoom, bottom: event.clientY + (NODE_HEIGHT - 20) * zoom };
    const area = wrapper.current?.getBoundingClientRect();
    let placed: Rect = box;
    if (area) {
      // Inside the pane and off the zoom controls and the minimap, even while the minimap hides
      // for the side panel: it comes back, in the same corner, when the panel closes.
      const controls = wrapper.current?.querySelector(".react-flow__controls")?.getBoundingClientRect();
      const shown = wrapper.current?.querySelector(".react-flow__minimap")?.getBoundingClientRect();
      if (shown) minimapCorner.current = { width: shown.width, height: shown.height, right: area.right - shown.right, bottom: area.bottom - shown.bottom };
      const corner = minimapCorner.current;
      const minimap = { left: area.right - corner.right - corner.width, top: area.bottom - corner.bottom - corner.height, right: area.right - corner.right, bottom: area.bottom - corner.bottom };
      placed = keepInView(box, { left: area.left, top: area.top, right: area.right, bottom: area.bottom }, controls ? [minimap, controls] : [minimap]);
    }
    const point = flow.screenToFlowPosition({ x: placed.left, y: placed.top });
    addKind(kind, { x: point.x, y: point.y }, onEdge);
    if (area) keepDroppedInView(store.getState().panel, area);
  };

  /** Once the dropped step is drawn, its real height (an email's is taller) may still leave it
   * partly out of view or under the minimap: move it up into view (part of the same undo step). */
  const keepDroppedInView = (nodeId: string | null, area: DOMRect) => {
    if (!nodeId) return;
    let tries = 0;
    const check = () => {
      const element = wrapper.current?.querySelector(`.react-flow__node[data-id="${CSS.escape(nodeId)}"]`);
      if (!element) {
        if ((tries += 1) < 10) requestAnimationFrame(check);
        return;
      }
      const box = element.getBoundingClientRect();
      const corner = minimapCorner.current;
      const minimap = { left: area.right - corner.right - corner.width, top: area.bottom - corner.bottom - corner.height, right: area.right - corner.right, bottom: area.bottom - corner.bottom };
      const placed = keepInView(box, { left: area.left, top: area.top, right: area.right, bottom: area.bottom }, [minimap]);
      const { zoom } = flow.getViewport();
      const dx = (placed.left - box.left) / zoom;
      const dy = (placed.top - box.top) / zoom;
      if (Math.abs(dx) < 1 && Math.abs(dy) < 1) return;
      const node = store.getState().nodes.find((item) => item.id === nodeId);
      if (node) store.getState().onNodesChange([{ id: nodeId, type: "position", position: { x: Math.round(node.position.x + dx), y: Math.round(node.position.y + dy) } }]);
    };
    requestAnimationFrame(check);
  };

  // -- keyboard: undo, redo, copy, paste, escape ---------------------------------------------
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const state = store.getState();
      if (isTyping(event.target)) return;
      const active = document.activeElement;
      const editor = wrapper.current?.closest(".journey-editor");
      // In the editor, or on nothing in particular (the page, or a container of the editor such as
      // <main>, where a click on the empty canvas used to leave the focus).
      const inside = !active || active === document.body || Boolean(editor?.contains(active)) || Boolean(editor && active.contains(editor) && !active.closest("dialog"));
      if (!inside) return;
      if (event.key === "Escape") {
        state.openPanel(null);
        state.select([]);
        return;
      }
      const mod = event.ctrlKey || event.metaKey;
      if (!mod || readOnly) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) {
        event.preventDefault();
        state.undo();
      } else if ((key === "z" && event.shiftKey) || key === "y") {
        event.preventDefault();
        state.redo();
      } else if (key === "c") {
        const selected = state.nodes.filter((node) => node.selected && node.id !== TRIGGER_NODE).map((node) => node.id);
        if (!selected.length) return;
        const clipboard = state.copy(selected);
        localStorage.setItem(CLIPBOARD_KEY, JSON.stringify(clipboard));
        say(`Copied ${selected.length} step${selected.length > 1 ? "s" : ""}.`);
      } else if (key === "v") {
        const clipboard = readClipboard();
        if (!clipboard) return;
        event.preventDefault();
        state.paste(clipboard, { x: 48, y: 48 });
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [readOnly, say, store]);

  // -- arrange: ELK's layered layout, one undo step -----------------------------------------------
  const arrangeNodes = useCallback(
    async (undoable = true) => {
      const state = store.getState();
      try {
        const result = await arrange(state.nodes, state.edges);
        const current = store.getState();
        if (undoable) {
          const moves = current.nodes.filter((node) => result.positions[node.id]).map((node) => ({ id: node.id, type: "position" as const, position: result.positions[node.id] }));
          current.beginDrag(); // the history's snapshot: Undo puts the nodes back
          current.onNodesChange(moves);
        } else {
          // On open, like the layout on load: how the journey is shown, not an edit (nothing to
          // save, no new revision, no approval lost). Not once someone has started editing.
          if (current.changes !== 0 || current.saveState !== "saved") return;
          store.setState({ nodes: current.nodes.map((node) => (result.positions[node.id] ? { ...node, position: result.positions[node.id] } : node)) });
          store.setState({ savedJson: JSON.stringify(store.getState().definition()) });
        }
        setArranged(result);
      } catch {
        if (undoable) store.getState().layout(); // ELK failed to load or to lay out: the simpler layout
        setArranged(null);
      }
      setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1, duration: 200 }), 50);
    },
    [flow, store],
  );
  // A definition without stored places (a ready-made or imported journey) was laid out roughly on
  // load, before the steps had their sizes: ELK arranges it once they are measured.
  const measured = useNodesInitialized();
  const arrangeOnOpen = useRef(!readOnly && needsLayout(journey.draft));
  useEffect(() => {
    if (!measured || !arrangeOnOpen.current) return;
    arrangeOnOpen.current = false;
    void arrangeNodes(false);
  }, [measured, arrangeNodes]);

  // -- lifecycle ------------------------------------------------------------------------------
  const lifecycle = useLifecycle(id);
  const saveName = async () => {
    const trimmed = name.trim();
    if (!trimmed || trimmed === journey.name || readOnly) {
      setName(journey.name);
      return;
    }
    try {
      const updated = await renameJourney(id, trimmed);
      client.setQueryData<Journey>(journeyKeys.detail(id), (old) => (old ? { ...old, name: updated.name ?? trimmed } : old));
      client.invalidateQueries({ queryKey: journeyKeys.all });
    } catch (error) {
      say(errorMessage(error));
      setName(journey.name);
    }
  };

  const blocking = problems.length > 0;
  const unpublished = journey.has_unpublished_changes !== false;
  const publishDisabled = readOnly || blocking || saveState !== "saved" || !unpublished;
  const publishTitle = readOnly
    ? "Your role cannot publish"
    : blocking
      ? `Fix ${problems.length} problem${problems.length > 1 ? "s" : ""} first`
      : saveState !== "saved"
        ? "Waiting for the draft to save"
        : !unpublished
          ? "The live version is the draft: nothing new to publish"
          : "Publish the draft as a new version";

  // ELK's routes hold while every node is where it put them; after that RoutedEdge routes itself.
  const elkRoutes = useMemo(() => {
    if (!arranged || nodes.length !== Object.keys(arranged.positions).length) return null;
    const still = nodes.every((node) => {
      const at = arranged.positions[node.id];
      return at && Math.abs(at.x - node.position.x) < 1 && Math.abs(at.y - node.position.y) < 1;
    });
    return still ? arranged.routes : null;
  }, [arranged, nodes]);
  const styledEdges = useMemo(
    () =>
      edges.map((edge) => {
        const points = elkRoutes?.[edge.id];
        const routed = points ? { ...edge, data: { ...edge.data, points } } : edge;
        return edge.id === dropEdge ? { ...routed, className: "is-drop-target", animated: true } : routed;
      }),
    [edges, dropEdge, elkRoutes],
  );

  return (
    <CanvasContext.Provider value={view}>
      <div className="journey-editor" data-testid="journey-editor" data-readonly={readOnly ? "true" : "false"}>
        <header className="editor-bar">
          <Link to="/journeys" className="button button-quiet button-small editor-back" aria-label="Back to journeys">
            ←
          </Link>
          <div className="editor-title">
            <label htmlFor="journey-name" className="visually-hidden">
              Journey name
            </label>
            <input id="journey-name" className="editor-name" style={{ width: `${Math.min(Math.max(name.length, 8), 36) + 2}ch` }} value={name} readOnly={readOnly} onChange={(event) => setName(event.target.value)} onBlur={saveName} onKeyDown={(event) => event.key === "Enter" && event.currentTarget.blur()} />
            <Tag tone={STATUS_TONE[journey.status]}>{journey.status}</Tag>
            {journey.live_version ? (
              <span className="muted editor-version" title={`Version ${journey.live_version} is live`}>
                v{journey.live_version}
              </span>
            ) : null}
            <SaveStatus state={saveState} readOnly={readOnly} />
            <JourneyPresence journeyId={id} />
            <JourneyTabs journeyId={id} onLeave={() => void save()} />
          </div>
          <div className="editor-actions" role="toolbar" aria-label="Journey">
            {!readOnly ? (
              <>
                <button type="button" className="button button-quiet button-small" onClick={() => store.getState().undo()} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo">
                  <Icon name="undo" size={16} />
                </button>
                <button type="button" className="button button-quiet button-small" onClick={() => store.getState().redo()} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo">
                  <Icon name="redo" size={16} />
                </button>
                <button
                  type="button"
                  className="button button-quiet button-small"
                  onClick={() => void arrangeNodes(true)}
                  title="Arrange the steps top to bottom, connections around them"
                  aria-label="Auto-layout"
                >
                  <Icon name="layout" size={16} /> <span className="wide-only">Auto-layout</span>
                </button>
              </>
            ) : null}
            <button type="button" className="button button-quiet button-small" onClick={() => flow.fitView({ padding: 0.2, maxZoom: 1, duration: 200 })} title="Show the whole journey" aria-label="Fit">
              <Icon name="fit" size={16} /> <span className="wide-only">Fit</span>
            </button>
            {hasResults ? (
              <label className="checkbox editor-toggle">
                <input type="checkbox" checked={showCounts} onChange={(event) => setShowCounts(event.target.checked)} /> Results
                {showCounts ? <span className={`live-dot live-${live.state}`} title={live.state === "live" ? "Updating live" : live.state} /> : null}
              </label>
            ) : null}
            <button type="button" className="button button-quiet button-small" onClick={() => setShowVersions(true)} title="Published versions" aria-label="Versions">
              <Icon name="history" size={16} /> <span className="wide-only">Versions</span>
            </button>
            <button type="button" className="button button-quiet button-small" aria-pressed={simulating} onClick={() => setSimulating((open) => !open)} data-testid="simulate-toggle">
              Simulate
            </button>
            {canEdit && journey.status === "live" ? (
              <button type="button" className="button button-small" onClick={() => lifecycle.mutate("pause")} disabled={lifecycle.isPending}>
                Pause
              </button>
            ) : null}
            {canEdit && journey.status === "paused" ? (
              <button type="button" className="button button-small" onClick={() => lifecycle.mutate("resume")} disabled={lifecycle.isPending}>
                Resume
              </button>
            ) : null}
            {canEdit && journey.status !== "archived" ? <ArchiveButton onArchive={() => lifecycle.mutate("archive")} busy={lifecycle.isPending} /> : null}
            {canEdit ? (
              <button type="button" className="button button-primary button-small" disabled={publishDisabled} title={publishTitle} onClick={() => setPublishing(true)} data-testid="publish">
                Publish
              </button>
            ) : null}
          </div>
        </header>
        {lifecycle.isError ? <Banner tone="error">{errorMessage(lifecycle.error)}</Banner> : null}
        {readOnly ? (
          <div className="editor-banner banner banner-info" role="status" data-testid="read-only">
            {canEdit ? "This journey is archived: it can be looked at, not changed." : "Read-only: your role can look at journeys but not change them."}
          </div>
        ) : null}
        {saveState === "conflict" ? <ConflictBanner message={saveError} journeyId={id} /> : null}
        {saveState === "error" ? (
          <div className="editor-banner banner banner-error" role="alert">
            The draft could not be saved: {saveError}{" "}
            <button type="button" className="button button-small" onClick={() => save()}>
              Try again
            </button>
          </div>
        ) : null}
        {readOnly ? null : (
          <p className="phone-only phone-note" data-testid="phone-note">
            On a phone you can look at the journey, pan it and read its counts; to add or change steps, open it on a larger screen.
          </p>
        )}
        <div className={`editor-body${panel ? " with-panel" : ""}${readOnly ? " is-readonly" : ""}`}>
          {readOnly ? null : <Palette onAdd={(kind) => addKind(kind)} />}
          <div className="canvas-wrap" ref={wrapper} tabIndex={0} aria-label="Journey canvas" onDragOver={onDragOver} onDrop={onDrop} onDragLeave={() => setDropEdge(null)}>
            <FlowCanvas
              readOnly={readOnly}
              fitView={fitOnOpen}
              minimap={!panel}
              nodes={nodes}
              edges={styledEdges}
              onNodesChange={(items) => store.getState().onNodesChange(items)}
              onEdgesChange={(items) => store.getState().onEdgesChange(items)}
              onDelete={({ nodes: gone, edges: cut }) => store.getState().deleteElements(gone.map((node) => node.id), cut.map((edge) => edge.id))}
              onConnect={(connection) => store.getState().connectPorts(connection)}
              onConnectEnd={onConnectEnd}
              isValidConnection={isValidConnection}
              onNodeDragStart={() => store.getState().beginDrag()}
              onNodeClick={(_event, node) => store.getState().openPanel(node.id)}
              // The keys (undo, redo, copy, paste) keep working after a click on the empty canvas.
              onPaneClick={() => wrapper.current?.focus({ preventScroll: true })}
              onSelectionChange={onSelectionChange}
              onInit={(instance) => {
                // A new journey: the trigger at the top middle, room below for the steps.
                const width = wrapper.current?.clientWidth ?? 800;
                if (store.getState().nodes.length === 1) instance.setViewport({ x: width / 2 - NODE_WIDTH / 2, y: 48, zoom: 1 });
              }}
            >
              {notice ? (
                <Panel position="top-center">
                  <div className="canvas-notice" role="status">
                    {notice}
                  </div>
                </Panel>
              ) : null}
              <Panel position="top-right">
                <ProblemsBadge problems={problems} unpublished={journey.has_unpublished_changes !== false} onShow={(node) => node && store.getState().openPanel(node)} loading={problemsQuery.isFetching || saveState === "unsaved" || saveState === "saving"} />
              </Panel>
            </FlowCanvas>
            {simulating ? <SimulationDrawer journeyId={id} onClose={() => setSimulating(false)} /> : null}
          </div>
          {panel ? <SidePanel nodeId={panel} problems={problems} readOnly={readOnly} hints={hints} eventProperties={triggerProperties.data ?? []} journeyId={hasResults ? id : undefined} /> : null}
        </div>
        {publishing ? <PublishDialog journey={journey} onClose={() => setPublishing(false)} /> : null}
        {showVersions ? <VersionsDrawer journey={journey} onClose={() => setShowVersions(false)} /> : null}
      </div>
    </CanvasContext.Provider>
  );
}

function SaveStatus({ state, readOnly }: { state: string; readOnly: boolean }) {
  if (readOnly) return null;
  const text: Record<string, string> = { saved: "Saved", unsaved: "Unsaved…", saving: "Saving…", conflict: "Conflict: not saved", error: "Not saved" };
  const title: Record<string, string> = { saved: "All changes are saved in the draft", unsaved: "Changes save by themselves in a moment", saving: "Saving the draft", conflict: "Someone else saved meanwhile", error: "The last save failed" };
  return (
    <span className={`save-status save-${state}`} role="status" data-testid="save-status" title={title[state]}>
      {text[state] ?? state}
    </span>
  );
}

function ConflictBanner({ message, journeyId }: { message: string | null; journeyId: number }) {
  const client = useQueryClient();
  const reload = async () => {
    const journey = await client.fetchQuery({ queryKey: journeyKeys.detail(journeyId), queryFn: () => api.get<Journey>(`journeys/${journeyId}`), staleTime: 0 });
    useCanvas.getState().load(journeyId, journey.draft, journey.draft_revision);
    client.invalidateQueries({ queryKey: journeyKeys.problems(journeyId) });
  };
  const copyMine = async () => {
    try {
      await navigator.clipboard.writeText(JSON.stringify(useCanvas.getState().definition(), null, 2));
    } catch {
      // no clipboard without a secure context; nothing else to do
    }
  };
  return (
    <div className="editor-banner banner banner-error" role="alert" data-testid="conflict">
      <strong className="banner-title">Someone else changed this journey while you were editing.</strong>
      {message ? `${message} ` : ""}Your latest changes are not saved, and nothing of theirs was overwritten.{" "}
      <span className="conflict-actions">
        <button type="button" className="button button-small" onClick={reload}>
          Load their version
        </button>
        <button type="button" className="button button-quiet button-small" onClick={copyMine}>
          Copy my version (JSON)
        </button>
      </span>
    </div>
  );
}

function ArchiveButton({ onArchive, busy }: { onArchive: () => void; busy: boolean }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming)
    return (
      <button type="button" className="button button-quiet button-small" onClick={() => setConfirming(true)}>
        Archive
      </button>
    );
  return (
    <span className="confirm-inline">
      <span>Archive and end it for everyone in it?</span>
      <button type="button" className="button button-danger-solid button-small" onClick={onArchive} disabled={busy}>
        Archive
      </button>
      <button type="button" className="button button-quiet button-small" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  );
}

function ProblemsBadge({ problems, onShow, loading, unpublished }: { problems: ValidationProblem[]; onShow: (node: string | null) => void; loading: boolean; unpublished: boolean }) {
  const [open, setOpen] = useState(false);
  if (!problems.length)
    return (
      <div className="problems-badge is-ok" role="status" data-testid="problems-badge">
        {loading ? "Checking…" : unpublished ? "✓ Ready to publish" : "✓ Live version is up to date"}
      </div>
    );
  return (
    <div className="problems-wrap">
      <button type="button" className="problems-badge is-bad" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="problems-badge">
        <Icon name="warning" size={14} /> {problems.length} problem{problems.length > 1 ? "s" : ""}
      </button>
      {open ? (
        <ul className="problems-list" data-testid="problems-list">
          {problems.map((problem, index) => (
            <li key={index}>
              <button type="button" className="problems-item" onClick={() => onShow(problem.node)}>
                <span className="mono">{problem.node ?? "journey"}</span> {problem.message}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function Palette({ onAdd }: { onAdd: (kind: NodeKind) => void }) {
  return (
    <nav className="palette" aria-label="Steps to add">
      <h2>Steps</h2>
      <p className="palette-help">Drag onto the canvas or onto a connection, or press Enter to add below the selected step.</p>
      <ul>
        {NODE_TYPES.map((spec) => (
          <li key={spec.type}>
            <button
              type="button"
              className={`palette-item kind-${spec.type}`}
              draggable
              data-testid={`palette-${spec.type}`}
              title={spec.description}
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, spec.type);
                event.dataTransfer.effectAllowed = "copy";
              }}
              onClick={() => onAdd(spec.type)}
            >
              <span className="palette-icon">
                <Icon name={spec.type} size={16} />
              </span>
              <span className="palette-label">{spec.label}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className="palette-keys" aria-label="Keyboard shortcuts">
        <h3>Keys</h3>
        <dl>
          <dt>Ctrl Z / Ctrl Shift Z</dt>
          <dd>undo / redo</dd>
          <dt>Ctrl C / Ctrl V</dt>
          <dd>copy / paste steps</dd>
          <dt>Delete</dt>
          <dd>remove selected</dd>
          <dt>Shift drag</dt>
          <dd>select several</dd>
        </dl>
      </div>
    </nav>
  );
}
