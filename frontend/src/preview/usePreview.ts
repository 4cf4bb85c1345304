/**
 * One live preview session over the websocket (ws/preview/): what is open, the chosen subjects,
 * the newest draft (debounced), and what comes back: each subject's variant, the template's
 * problems, who else is here, saved changes.
 *
 * Results carry the generation they were rendered for; a variant older than the one shown is
 * dropped, so a slow answer never replaces a newer one.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { JsonSocket, socketUrl, type SocketMessage, type SocketState } from "../lib/socket";
import type { ContactHit, DraftSource, Member, PreviewTarget, Problem, SavedNotice, SubjectInfo, SubjectSpec, Variant } from "./types";

export const EDIT_DEBOUNCE_MS = 120;

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
  const sent = useRef<DraftSource | null>(null); // the newest draft the server has (sent or opened)
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
    const connection = new JsonSocket(socketUrl("/ws/preview/"), (open) => {
      // (Re)connected: replay what this session is about. Generations restart on a new socket.
      shownGeneration.current = 0;
      open.send({ type: "open", ...opened });
      if (specs.current) open.send({ type: "subjects", subjects: specs.current });
    });
    socket.current = connection;
    const off = [
      connection.onState(setState),
      connection.on("ready", (message) => setCanEdit(Boolean(message.can_edit))),
      connection.on("opened", (message) => {
        const current = message.draft as DraftSource;
        // The server renders its saved draft; an unsaved draft of ours goes out again.
        const mine = sent.current;
        sent.current = current;
        if (mine && !sameDraft(mine, current)) sendEdit(connection, mine);
      }),
      connection.on("subjects", (message) => setSubjectInfos(message.subjects as SubjectInfo[])),
      connection.on("variant", (message) => {
        const variant = message as unknown as Variant;
        if (variant.generation < shownGeneration.current) return;
        setVariants((old) => {
          const previous = old[variant.subject_key];
          if (previous && previous.generation > variant.generation) return old;
          return { ...old, [variant.subject_key]: variant };
        });
      }),
      connection.on("rendered", (message) => {
        const generation = Number(message.generation);
        if (generation < shownGeneration.current) return;
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
        if (message.request === "edit") setPending(false);
      }),
    ];
    return () => {
      off.forEach((unsubscribe) => unsubscribe());
      connection.close();
      socket.current = null;
    };
  }, [targetKey]);

  const sendEdit = (connection: JsonSocket, source: DraftSource) => {
    seq.current += 1;
    sent.current = source;
    setPending(true);
    setError(null);
    connection.send({ type: "edit", seq: seq.current, mjml: source.mjml, subject: source.subject, preheader: source.preheader });
  };

  // Edits: debounced; the newest wins on the server too.
  useEffect(() => {
    if (!draft || !canEdit || !socket.current || sameDraft(draft, sent.current)) return;
    const connection = socket.current;
    const timer = setTimeout(() => sendEdit(connection, draft), EDIT_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [draft, canEdit]);

  const setSubjects = useCallback((next: SubjectSpec[]) => {
    specs.current = next;
    socket.current?.send({ type: "subjects", subjects: next });
  }, []);
  const search = useCallback((query: string) => socket.current?.send({ type: "search", q: query }), []);
  const refresh = useCallback(() => socket.current?.send({ type: "refresh" }), []);

  return useMemo(
    () => ({ state, canEdit, subjects, variants, problems, ok, pending, lastMs, presence, saved, error, contacts, setSubjects, search, refresh }),
    [state, canEdit, subjects, variants, problems, ok, pending, lastMs, presence, saved, error, contacts, setSubjects, search, refresh],
  );
}
