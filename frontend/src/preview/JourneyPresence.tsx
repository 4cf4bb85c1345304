/**
 * On the journey canvas: who else has this journey open, and their saved changes, live. When
 * someone else saves and nothing here is unsaved, the canvas loads their draft; with unsaved
 * changes here, it says so (the next save would be refused as a conflict, never overwrite).
 */
import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { journeyKeys } from "../journeys/api";
import { useCanvas } from "../journeys/canvasState";
import type { Journey } from "../journeys/types";
import type { SavedNotice } from "./types";
import { useWatch } from "./useWatch";
import "./preview.css";

export function JourneyPresence({ journeyId }: { journeyId: number }) {
  const client = useQueryClient();
  const [notice, setNotice] = useState<string | null>(null);
  const onSaved = async (saved: SavedNotice) => {
    const state = useCanvas.getState();
    if (saved.mine || saved.object.kind !== "journey" || saved.revision <= state.revision) return;
    const who = saved.by.name || saved.by.email || "Someone";
    if (state.saveState !== "saved") {
      setNotice(`${who} saved revision ${saved.revision}; your unsaved changes here will not overwrite theirs.`);
      return;
    }
    const journey = await client.fetchQuery({ queryKey: journeyKeys.detail(journeyId), queryFn: () => api.get<Journey>(`journeys/${journeyId}`), staleTime: 0 });
    if (useCanvas.getState().saveState !== "saved") return; // an edit started meanwhile
    useCanvas.getState().load(journeyId, journey.draft, journey.draft_revision);
    client.invalidateQueries({ queryKey: journeyKeys.problems(journeyId) });
    setNotice(`${who} saved revision ${journey.draft_revision}: the canvas shows it.`);
  };
  const { members } = useWatch("journey", journeyId, onSaved);
  const others = members.filter((member) => !member.me);
  return (
    <span className="lp-presence" data-testid="journey-presence">
      {others.map((person) => (
        <span key={person.user_id} className="lp-avatar" title={`${person.name} (${person.role}) has this journey open`} aria-label={`${person.name} is here`}>
          {(person.name || person.email).slice(0, 1).toUpperCase()}
        </span>
      ))}
      {others.length ? <span className="muted">{others.length === 1 ? `${others[0].name} is here too` : `${others.length} others here`}</span> : null}
      {notice ? (
        <span className="lp-saved-notice" role="status" data-testid="presence-notice">
          {notice}
        </span>
      ) : null}
    </span>
  );
}
