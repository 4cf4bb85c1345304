/**
 * One live preview session over the websocket (ws/preview/): what is open, the chosen subjects,
 * the newest draft, and what comes back: each subject's variant, the template's problems, who else
 * is here, saved changes.
 *
 * Edits go out leading edge first, then coalesced (./coalesce.ts): the first change of a burst at
 * once, then, while it renders, only the newest, sent when its answer is back: the "rendered"
 * message and the variants' frames loaded (LivePreview reports them through `frameBusy`), so edits
 * go no faster than the page shows them. One edit in flight per session; the server renders the
 * newest it has too. `?preview=debounce` in the page's address brings back the earlier 120 ms
 * debounce (bench/preview_browser.py's baseline).
 *
 * Results carry the generation they were rendered for; a variant older than the one shown is
 * dropped, so a slow answer never replaces a newer one.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { JsonSocket, socketUrl, type SocketMessage, type SocketState } from "../lib/socket";
import { Coalescer } from "./coalesce";
import { expandVariant, type Bases, type VariantMessage } from "./patch";
import type { ContactHit, DraftSource, Member, PreviewTarget, Problem, SavedNotice, SubjectInfo, SubjectSpec, Variant } from "./types";

/** The earlier debounce, now only for the bench's baseline (`?preview=debounce`). */
export const EDIT_DEBOUNCE_MS = 120;

function debounceMode(): boolean {
  return typeof window !== "undefined" && new URLSearchParams(window.location.search).get("preview") === "debounce";
}

/** `register(subjectKey, sink)`: the socket hands each new variant of that subject to `sink` as
 * it arrives, before React renders it; returns what unregisters it. */
export type RegisterFrame = (subjectKey: string, sink: (variant: Variant) => void) => () => void;

export interface PreviewSession {
  state: SocketState;
  canEdit: boolean;
  subjects: SubjectInfo[];
  variants: Record<string, Variant>;
  /** problems of the newest render: errors when `ok` is false, warnings otherwise */
  problems: Problem[];
  ok: boolean | null;
  /** an edit was sent and its variants are not all back yet */
  pending: boolean;
  lastMs: number | null;
  presence: Member[];
  saved: SavedNotice | null;
  error: string | null;
  contacts: ContactHit[];
  setSubjects: (specs: SubjectSpec[]) => void;
  search: (query: string) => void;
  refresh: () => void;
  /** a variant's frame started (true) or finished (false) loading a new rendering */
  frameBusy: (subjectKey: string, busy: boolean) => void;
  registerFrame: RegisterFrame;
}

/** Runs `callback` at the next animation frame (or in 50 ms where frames are held back, as in a
 * background tab); returns what cancels it. */
function nextFrame(callback: () => void): () => void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    callback();
  };
  const frame = requestAnimationFrame(run);
  const timer = setTimeout(run, 50);
  return () => {
    done = true;
    cancelAnimationFrame(frame);
    clearTimeout(timer);
  };
}

function sameDraft(a: DraftSource | null, b: DraftSource | null): boolean {
  return Boolean(a && b && a.mjml === b.mjml && a.subject === b.subject && a.preheader === b.preheader);
}

export function usePreview(target: PreviewTarget | null, draft: DraftSource | null, options: { onSaved?: (saved: SavedNotice) => void } = {}): PreviewSession {
  const [state, setState] = useState<SocketState>("connecting");
  const [canEdit, setCanEdit] = useState(false);
  const [subjects, setSubjectInfos] = useState<SubjectInfo[]>([]);
  const [variants, setVariants] = useState<Record<string, Variant>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [ok, setOk] = useState<boolean | null>(null);
  const [pending, setPending] = useState(false);
  const [lastMs, setLastMs] = useState<number | null>(null);
  const [presence, setPresence] = useState<Member[]>([]);
  const [saved, setSaved] = useState<SavedNotice | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [contacts, setContacts] = useState<ContactHit[]>([]);

  const socket = useRef<JsonSocket | null>(null);
  const specs = useRef<SubjectSpec[] | null>(null);
  const seq = useRef(0);
  const wanted = useRef<DraftSource | null>(null); // the newest draft the server has or will get (opened, sent or waiting)
  const coalescer = useRef<Coalescer<DraftSource> | null>(null);
  const latestDraft = useRef(draft);
  latestDraft.current = draft;
  const canEditRef = useRef(false);
  const busyFrames = useRef(new Set<string>());
  const frameSinks = useRef(new Map<string, (variant: Variant) => void>());
  const release = useRef<(() => void) | null>(null); // answers the edit in flight once its frames are loaded
  const shownGeneration = useRef(0);
  const onSaved = useRef(options.onSaved);
  onSaved.current = options.onSaved;
  const targetKey = target ? JSON.stringify(target) : "";

  useEffect(() => {
    if (!targetKey) return;
    const opened = JSON.parse(targetKey) as PreviewTarget;
    shownGeneration.current = 0;
    setVariants({});
    setProblems([]);
    setOk(null);
    const edits = new Coalescer<DraftSource>((source) => sendEdit(connection, source), debounceMode() ? { debounceMs: EDIT_DEBOUNCE_MS } : {});
    coalescer.current = edits;
    let renderedSeq: number | null = null; // rendered, its frames perhaps still loading
    release.current = () => {
      if (renderedSeq === null || busyFrames.current.size > 0) return;
      const answered = renderedSeq;
      renderedSeq = null;
      edits.answered(answered); // the next (newest) edit may go
    };
    // Variants arrive one message each: they are shown together, once per frame (one render of
    // the preview for ten variants, not ten).
    const bases: Bases = new Map(); // what each subject's next patch applies to (patch.ts)
    let arrived: Variant[] = [];
    let cancelFlush: (() => void) | null = null;
    const applyArrived = () => {
      cancelFlush = null;
      const batch = arrived;
      arrived = [];
      setVariants((old) => {
        let next = old;
        for (const variant of batch) {
          const previous = next[variant.subject_key];
          if (previous && previous.generation > variant.generation) continue;
          if (next === old) next = { ...old };
          next[variant.subject_key] = variant;
        }
        return next;
      });
    };
    const connection = new JsonSocket(socketUrl("/ws/preview/"), (open) => {
      // (Re)connected: replay what this session is about. Generations restart on a new socket,
      // and nothing is in flight on it.
      shownGeneration.current = 0;
      edits.reset();
      bases.clear();
      open.send({ type: "open", ...opened });
      if (specs.current) open.send({ type: "subjects", subjects: specs.current });
    });
    socket.current = connection;
    const off = [
      connection.onState(setState),
      connection.on("ready", (message) => {
        canEditRef.current = Boolean(message.can_edit);
        setCanEdit(canEditRef.current);
      }),
      connection.on("opened", (message) => {
        const current = message.draft as DraftSource;
        // The server renders its saved draft; an unsaved draft of ours goes out (again).
        wanted.current = current;
        const mine = latestDraft.current;
        if (canEditRef.current && mine && !sameDraft(mine, current)) {
          wanted.current = mine;
          edits.push(mine);
        }
      }),
      connection.on("subjects", (message) => setSubjectInfos(message.subjects as SubjectInfo[])),
      connection.on("variant", (message) => {
        // Every variant is expanded, shown or not: the next one may be a patch to it.
        const variant = expandVariant(message as unknown as VariantMessage, bases);
        if (variant === null) {
          bases.clear();
          connection.send({ type: "resync" }); // the next variants come whole
          return;
        }
        if (variant.generation < shownGeneration.current) return;
        frameSinks.current.get(variant.subject_key)?.(variant);
        arrived.push(variant);
        if (cancelFlush === null) cancelFlush = nextFrame(applyArrived);
      }),
      connection.on("rendered", (message) => {
        renderedSeq = Math.max(renderedSeq ?? 0, Number(message.seq));
        // Every variant of it has reached its frame already (frameSinks): the edit in flight is
        // answered now if no frame is applying one, else when the last one is done (frameBusy).
        release.current?.();
        const generation = Number(message.generation);
        if (generation < shownGeneration.current) return; // nothing of it is shown
        if (cancelFlush !== null) {
          // This render's variants are shown now, before the filter below keeps only its generation.
          cancelFlush();
          applyArrived();
        }
        shownGeneration.current = generation;
        setOk(Boolean(message.ok));
        setProblems((message.problems as Problem[]) ?? []);
        if (typeof message.ms === "number") setLastMs(message.ms);
        if (Number(message.seq) >= seq.current) setPending(false);
        if (message.ok) {
          // Subjects no longer chosen drop out.
          setVariants((old) => Object.fromEntries(Object.entries(old).filter(([, item]) => item.generation === generation)));
        }
      }),
      connection.on("presence", (message) => setPresence(message.members as Member[])),
      connection.on("saved", (message) => {
        const notice = message as unknown as SavedNotice;
        setSaved(notice);
        onSaved.current?.(notice);
      }),
      connection.on("search", (message) => setContacts(message.contacts as ContactHit[])),
      connection.on("error", (message: SocketMessage) => {
        setError(String(message.error ?? "The preview failed."));
        if (message.request === "edit" || message.code === "render_failed") {
          setPending(false);
          edits.answered(seq.current); // no "rendered" follows
        }
      }),
    ];
    return () => {
      off.forEach((unsubscribe) => unsubscribe());
      if (cancelFlush !== null) cancelFlush();
      release.current = null;
      edits.reset();
      connection.close();
      socket.current = null;
      coalescer.current = null;
      wanted.current = null;
    };
  }, [targetKey]);

  /** Sends one edit; its sequence number is what its "rendered" answer carries. */
  const sendEdit = (connection: JsonSocket, source: DraftSource): number => {
    seq.current += 1;
    setPending(true);
    setError(null);
    connection.send({ type: "edit", seq: seq.current, mjml: source.mjml, subject: source.subject, preheader: source.preheader });
    return seq.current;
  };

  // Edits: the first at once, the rest coalesced (the newest wins on the server too). Before the
  // server said what it has ("opened"), the "opened" handler sends the draft.
  useEffect(() => {
    if (!draft || !canEdit || !coalescer.current || wanted.current === null || sameDraft(draft, wanted.current)) return;
    wanted.current = draft;
    coalescer.current.push(draft);
  }, [draft, canEdit]);

  const frameBusy = useCallback((subjectKey: string, busy: boolean) => {
    if (busy) busyFrames.current.add(subjectKey);
    else if (busyFrames.current.delete(subjectKey)) release.current?.();
  }, []);

  const registerFrame = useCallback<RegisterFrame>((subjectKey, sink) => {
    frameSinks.current.set(subjectKey, sink);
    return () => {
      if (frameSinks.current.get(subjectKey) === sink) frameSinks.current.delete(subjectKey);
    };
  }, []);

  const setSubjects = useCallback((next: SubjectSpec[]) => {
    specs.current = next;
    socket.current?.send({ type: "subjects", subjects: next });
  }, []);
  const search = useCallback((query: string) => socket.current?.send({ type: "search", q: query }), []);
  const refresh = useCallback(() => socket.current?.send({ type: "refresh" }), []);

  return useMemo(
    () => ({ state, canEdit, subjects, variants, problems, ok, pending, lastMs, presence, saved, error, contacts, setSubjects, search, refresh, frameBusy, registerFrame }),
    [state, canEdit, subjects, variants, problems, ok, pending, lastMs, presence, saved, error, contacts, setSubjects, search, refresh, frameBusy, registerFrame],
  );
}
