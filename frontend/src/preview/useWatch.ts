/**
 * Presence and saved changes of one journey or template (ws/preview/, "watch"): who else has it
 * open, and each save anyone makes (read from the database by the server, pushed here).
 */
import { useEffect, useRef, useState } from "react";
import { JsonSocket, socketUrl } from "../lib/socket";
import type { Member, SavedNotice } from "./types";

export function useWatch(kind: "journey" | "template", id: number, onSaved?: (saved: SavedNotice) => void): { members: Member[]; saved: SavedNotice | null } {
  const [members, setMembers] = useState<Member[]>([]);
  const [saved, setSaved] = useState<SavedNotice | null>(null);
  const callback = useRef(onSaved);
  callback.current = onSaved;
  useEffect(() => {
    const socket = new JsonSocket(socketUrl("/ws/preview/"), (open) => open.send({ type: "watch", kind, id }));
    const off = [
      socket.on("presence", (message) => setMembers(message.members as Member[])),
      socket.on("saved", (message) => {
        const notice = message as unknown as SavedNotice;
        setSaved(notice);
        callback.current?.(notice);
      }),
    ];
    return () => {
      off.forEach((unsubscribe) => unsubscribe());
      socket.close();
    };
  }, [kind, id]);
  return { members, saved };
}
