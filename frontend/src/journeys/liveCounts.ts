/**
 * Per-node counts of a live journey, pushed over a websocket (editor/counts.py) while the page is
 * open: a snapshot on connect, then a new snapshot whenever contacts move. Reconnects by itself.
 */
import { useEffect, useState } from "react";
import { formatMoney } from "./reportFormat";
import type { CountsByNode, NodeCounts } from "./types";

export type LiveState = "connecting" | "live" | "offline";

export function countsSocketUrl(journeyId: number, location: Pick<Location, "protocol" | "host"> = window.location): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/journeys/${journeyId}/counts`;
}

/** "3 conversions · $240.00" for a node conversions are credited to; null for the others. */
export function conversionText(counts: Pick<NodeCounts, "conversions" | "revenue"> | undefined, locale?: string): string | null {
  const n = counts?.conversions ?? 0;
  if (!n) return null;
  const money = formatMoney(counts?.revenue, locale);
  return `${n.toLocaleString(locale)} conversion${n === 1 ? "" : "s"}${money === "—" ? "" : ` · ${money}`}`;
}

export function useLiveCounts(journeyId: number, enabled: boolean): { counts: CountsByNode | null; state: LiveState } {
  const [counts, setCounts] = useState<CountsByNode | null>(null);
  const [state, setState] = useState<LiveState>("connecting");
  useEffect(() => {
    if (!enabled) {
      setCounts(null);
      return;
    }
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempts = 0;
    let closed = false;
    const open = () => {
      setState("connecting");
      socket = new WebSocket(countsSocketUrl(journeyId));
      socket.onopen = () => {
        attempts = 0;
        setState("live");
      };
      socket.onmessage = (message) => {
        try {
          const data = JSON.parse(String(message.data)) as { type?: string; nodes?: CountsByNode };
          if (data.type === "counts" && data.nodes) setCounts(data.nodes);
        } catch {
          // not ours: ignore
        }
      };
      socket.onclose = (event) => {
        setState("offline");
        // 4403/4404: not allowed or gone; do not knock again.
        if (closed || event.code === 4403 || event.code === 4404) return;
        attempts += 1;
        retry = setTimeout(open, Math.min(30_000, 1000 * 2 ** Math.min(attempts, 5)));
      };
    };
    open();
    return () => {
      closed = true;
      clearTimeout(retry);
      if (socket) {
        socket.onclose = null;
        socket.close();
      }
    };
  }, [journeyId, enabled]);
  return { counts: enabled ? counts : null, state };
}
