/** The broadcasts API (journeys/broadcasts_api.py) through TanStack Query: its keys and calls. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import type { Broadcast, BroadcastInput } from "./types";

export const broadcastKeys = {
  all: ["broadcasts"] as const,
  list: (offset: number) => ["broadcasts", "list", offset] as const,
  detail: (id: number) => ["broadcasts", id] as const,
};

export const BROADCAST_PAGE = 50;
/** How often a running broadcast's progress is asked for. */
export const PROGRESS_POLL_MS = 1000;
/** How often its report is asked for while the emails of those entered are still going out. */
export const REPORT_POLL_MS = 3000;

export function isUnderWay(broadcast: Pick<Broadcast, "status">): boolean {
  return broadcast.status === "running" || broadcast.status === "scheduled";
}

export function useBroadcasts(offset: number) {
  return useQuery({
    queryKey: broadcastKeys.list(offset),
    queryFn: ({ signal }) => api.get<Page<Broadcast>>("broadcasts", { offset, limit: BROADCAST_PAGE }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.results.some(isUnderWay) ? PROGRESS_POLL_MS * 3 : false),
  });
}

/** One broadcast; asked again every second while it runs (its progress bar). */
export function useBroadcast(id: number) {
  return useQuery({
    queryKey: broadcastKeys.detail(id),
    queryFn: ({ signal }) => api.get<Broadcast>(`broadcasts/${id}`, undefined, signal),
    refetchInterval: (query) => (query.state.data && isUnderWay(query.state.data) ? PROGRESS_POLL_MS : false),
  });
}

function useBroadcastAction<T>(call: (input: T) => Promise<Broadcast>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: call,
    onSuccess: (broadcast) => {
      client.setQueryData(broadcastKeys.detail(broadcast.id), broadcast);
      client.invalidateQueries({ queryKey: broadcastKeys.all });
    },
  });
}

export function useCreateBroadcast() {
  return useBroadcastAction((input: BroadcastInput) => api.post<Broadcast>("broadcasts", input));
}

export function useStartBroadcast(id: number) {
  return useBroadcastAction((_: void) => api.post<Broadcast>(`broadcasts/${id}/start`));
}

export function useCancelBroadcast(id: number) {
  return useBroadcastAction((_: void) => api.post<Broadcast>(`broadcasts/${id}/cancel`));
}

export function useDeleteBroadcast(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.delete(`broadcasts/${id}`),
    onSuccess: () => {
      client.removeQueries({ queryKey: broadcastKeys.detail(id) });
      client.invalidateQueries({ queryKey: broadcastKeys.all });
    },
  });
}
