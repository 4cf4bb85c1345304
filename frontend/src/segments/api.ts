/** The segments API (journeys/customers/segments_api.py) through TanStack Query: its keys and calls. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, type Page } from "../lib/api";
import type { Added, HistoryDay, Preview, Segment, SegmentInput, SegmentMember } from "./types";

export const segmentKeys = {
  all: ["segments"] as const,
  list: (search: string, offset: number) => ["segments", "list", search, offset] as const,
  detail: (id: number) => ["segments", id] as const,
  members: (id: number, q: string, offset: number) => ["segments", id, "members", q, offset] as const,
  history: (id: number, days: number) => ["segments", id, "history", days] as const,
  preview: (rule: string) => ["segments", "preview", rule] as const,
};

export const SEGMENT_PAGE = 50;
export const MEMBER_PAGE = 25;
export const PREVIEW_DEBOUNCE_MS = 400;
export const REBUILD_POLL_MS = 1000;

export function isRebuilding(segment: Segment | undefined): boolean {
  const state = segment?.rebuild && "state" in segment.rebuild ? segment.rebuild.state : undefined;
  return state === "queued" || state === "running";
}

export function useSegments(search: string, offset: number) {
  return useQuery({
    queryKey: segmentKeys.list(search, offset),
    queryFn: ({ signal }) => api.get<Page<Segment>>("segments", { search, offset, limit: SEGMENT_PAGE }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useSegment(id: number | null) {
  return useQuery({
    queryKey: segmentKeys.detail(id ?? 0),
    queryFn: ({ signal }) => api.get<Segment>(`segments/${id}`, undefined, signal),
    enabled: id !== null,
    // While a worker evaluates every contact, the page follows its progress.
    refetchInterval: (query) => (isRebuilding(query.state.data) ? REBUILD_POLL_MS : false),
  });
}

export function useMembers(id: number, q: string, offset: number) {
  return useQuery({
    queryKey: segmentKeys.members(id, q, offset),
    queryFn: ({ signal }) => api.get<Page<SegmentMember>>(`segments/${id}/members`, { q, offset, limit: MEMBER_PAGE }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useHistory(id: number, days = 30) {
  return useQuery({
    queryKey: segmentKeys.history(id, days),
    queryFn: ({ signal }) => api.get<HistoryDay[]>(`segments/${id}/history`, { days }, signal),
  });
}

/** `value`, once it has not changed for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** The live count and sample of a rule being edited, asked again ~400 ms after the last change. */
export function usePreview(rule: unknown, enabled: boolean) {
  const key = useDebounced(JSON.stringify(rule ?? {}), PREVIEW_DEBOUNCE_MS);
  return useQuery({
    queryKey: segmentKeys.preview(key),
    queryFn: () => api.post<Preview>("segments/preview", { rule: JSON.parse(key) }),
    enabled,
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 10_000,
  });
}

export function useSaveSegment(id: number | null) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: SegmentInput) => (id === null ? api.post<Segment>("segments", input) : api.patch<Segment>(`segments/${id}`, input)),
    onSuccess: (segment) => {
      client.setQueryData(segmentKeys.detail(segment.id), segment);
      client.invalidateQueries({ queryKey: segmentKeys.all });
    },
  });
}

export function useDeleteSegment(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.delete(`segments/${id}`),
    onSuccess: () => {
      client.removeQueries({ queryKey: segmentKeys.detail(id) });
      client.invalidateQueries({ queryKey: segmentKeys.all });
    },
  });
}

export function useAddMembers(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (emails: string[]) => api.post<Added>(`segments/${id}/members`, { emails }),
    onSuccess: () => client.invalidateQueries({ queryKey: segmentKeys.detail(id) }),
  });
}

export function useRemoveMember(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (contactId: number) => api.delete(`segments/${id}/members/${contactId}`),
    onSuccess: () => client.invalidateQueries({ queryKey: segmentKeys.detail(id) }),
  });
}

export function exportUrl(id: number): string {
  return `/api/segments/${id}/export`;
}
