/** The journeys API (journeys/api.py) through TanStack Query: the only place that knows its URLs. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import type { components } from "../lib/schema";
import type {
  CountsByNode,
  DryRun,
  Journey,
  JourneyDefinition,
  JourneySummary,
  JourneyVersion,
  JourneyVersionSummary,
  LibraryJourney,
} from "./types";

export const journeyKeys = {
  all: ["journeys"] as const,
  list: (filters: Record<string, string>) => ["journeys", "list", filters] as const,
  detail: (id: number) => ["journeys", id] as const,
  versions: (id: number) => ["journeys", id, "versions"] as const,
  version: (id: number, number: number) => ["journeys", id, "versions", number] as const,
  problems: (id: number) => ["journeys", id, "problems"] as const,
  counts: (id: number) => ["journeys", id, "counts"] as const,
  experiments: (id: number) => ["journeys", id, "experiments"] as const,
  library: ["journeys", "library"] as const,
};

function results<T>(data: Page<T> | T[]): T[] {
  return Array.isArray(data) ? data : data.results;
}

export function useJourneys(filters: Record<string, string>) {
  return useQuery({
    queryKey: journeyKeys.list(filters),
    queryFn: async ({ signal }): Promise<JourneySummary[]> => results(await api.get<Page<JourneySummary> | JourneySummary[]>("journeys", { limit: 200, ...filters }, signal)),
    placeholderData: keepPreviousData,
  });
}

export function useJourney(id: number) {
  return useQuery({ queryKey: journeyKeys.detail(id), queryFn: ({ signal }) => api.get<Journey>(`journeys/${id}`, undefined, signal) });
}

export function useLibrary(enabled: boolean) {
  return useQuery({
    queryKey: journeyKeys.library,
    queryFn: ({ signal }) => api.get<Page<LibraryJourney> | LibraryJourney[]>("journeys/library", undefined, signal).then(results),
    enabled,
    staleTime: 5 * 60_000,
  });
}

export function useVersions(id: number, enabled = true) {
  return useQuery({
    queryKey: journeyKeys.versions(id),
    queryFn: ({ signal }) => api.get<Page<JourneyVersionSummary> | JourneyVersionSummary[]>(`journeys/${id}/versions`, undefined, signal).then(results),
    enabled,
  });
}

export function useVersion(id: number, number: number | null) {
  return useQuery({
    queryKey: journeyKeys.version(id, number ?? 0),
    queryFn: ({ signal }) => api.get<JourneyVersion>(`journeys/${id}/versions/${number}`, undefined, signal),
    enabled: number !== null,
  });
}

export function useCounts(id: number, enabled: boolean) {
  return useQuery({
    queryKey: journeyKeys.counts(id),
    queryFn: ({ signal }) => api.get<{ nodes: CountsByNode }>(`journeys/${id}/counts`, undefined, signal).then((data) => data.nodes ?? {}),
    enabled,
  });
}

// Request bodies as the UI sends them (the generated request shapes type `definition` as unknown).
type Schemas = components["schemas"];

export interface CreateJourney {
  name: string;
  library_key?: string;
  definition?: JourneyDefinition;
}

export function useCreateJourney() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateJourney) => api.post<Journey>("journeys", body),
    onSuccess: () => client.invalidateQueries({ queryKey: journeyKeys.all }),
  });
}

export type SavedDraft = Pick<Journey, "draft_revision" | "problems">;

/** PUT the draft with the revision it was based on; 409 when someone saved in the meantime. */
export function saveDraft(id: number, definition: JourneyDefinition, revision: number) {
  return api.put<SavedDraft & Partial<Journey>>(`journeys/${id}/draft`, { definition, revision });
}

export function validateDraft(id: number, definition: JourneyDefinition) {
  return api.post<Schemas["Validation"]>(`journeys/${id}/validate`, { definition });
}

export function renameJourney(id: number, name: string) {
  return api.patch<Journey>(`journeys/${id}`, { name });
}

/** old node id -> new node id (move there) or null (exit); a node not named: contacts stay on their version */
export type NodeMap = Record<string, string | null>;

export function publishDryRun(id: number, revision: number, node_map: NodeMap) {
  return api.post<DryRun | { plan: DryRun }>(`journeys/${id}/publish`, { revision, node_map, dry_run: true }).then((answer) => ("plan" in answer ? answer.plan : answer));
}

export interface PublishBody {
  revision: number;
  node_map: NodeMap;
}

export function usePublish(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: PublishBody) => api.post<Journey>(`journeys/${id}/publish`, body),
    onSuccess: (journey) => {
      client.setQueryData(journeyKeys.detail(id), journey);
      client.invalidateQueries({ queryKey: journeyKeys.all });
    },
  });
}

export type LifecycleAction = "pause" | "resume" | "archive";

export function useLifecycle(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (action: LifecycleAction) => api.post<Journey>(`journeys/${id}/${action}`),
    onSuccess: (journey) => {
      client.setQueryData(journeyKeys.detail(id), journey);
      client.invalidateQueries({ queryKey: journeyKeys.all });
    },
  });
}

export function exportUrl(id: number): string {
  return `/api/journeys/${id}/export`;
}

/** Event names and property names this workspace has received (customers' API), for suggestions. */
export function useEventNames() {
  return useQuery({
    queryKey: ["events", "names"],
    queryFn: ({ signal }) =>
      api.get<unknown>("events/names", undefined, signal).then((data) => namesOf(data)),
    staleTime: 60_000,
  });
}

export function useEventProperties(event: string | undefined) {
  return useQuery({
    queryKey: ["events", "properties", event ?? ""],
    queryFn: ({ signal }) => api.get<unknown>("events/properties", { event }, signal).then((data) => namesOf(data)),
    enabled: Boolean(event),
    staleTime: 60_000,
  });
}

/** ["a", "b"], {"results": [...]}, [{"name": "a"}] or {"names": [...]}: a list of names. */
export function namesOf(data: unknown): string[] {
  const list = Array.isArray(data)
    ? data
    : data && typeof data === "object"
      ? ((data as Record<string, unknown>).results ?? (data as Record<string, unknown>).names ?? (data as Record<string, unknown>).properties ?? [])
      : [];
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => {
    if (typeof item === "string") return [item];
    if (item && typeof item === "object") {
      const record = item as Record<string, unknown>;
      const name = record.name ?? record.event ?? record.property ?? record.key;
      return typeof name === "string" ? [name] : [];
    }
    return [];
  });
}

export type EnrollmentRow = Schemas["EnrollmentRow"];

/** The contacts on a node now (its open enrollments), newest first: the side panel's list. */
export function useContactsOnNode(id: number, node: string, enabled: boolean) {
  return useQuery({
    queryKey: [...journeyKeys.detail(id), "enrollments", node] as const,
    queryFn: ({ signal }) => api.get<Page<EnrollmentRow>>(`journeys/${id}/enrollments`, { node, status: "open", limit: "20" }, signal),
    enabled,
    refetchInterval: 15_000,
  });
}

/** One experiment node's results (GET /api/journeys/{id}/experiments). */
export type ExperimentResult = Omit<Schemas["ExperimentResult"], "variants"> & {
  /** the schema says number[]: OpenAPI 3.0 has no tuples */
  variants: (Omit<Schemas["ExperimentVariant"], "interval"> & { interval: [number, number] })[];
};

/** {experiment node: the winning variant's label (or id)} of the decided experiments, for the canvas. */
export function winnersOf(results: ExperimentResult[] | undefined, nodes: readonly { id: string; data: { config?: unknown } }[]): Record<string, string> {
  const winners: Record<string, string> = {};
  for (const result of results ?? []) {
    const winner = result.decision?.winner;
    if (!winner) continue;
    const config = nodes.find((node) => node.id === result.node)?.data.config as { variants?: { id: string; label?: string }[] } | undefined;
    winners[result.node] = config?.variants?.find((variant) => variant.id === winner)?.label || winner;
  }
  return winners;
}

/** The journey's experiments, per variant, with the winner rule's decision: the side panel's results. */
export function useExperiments(id: number, enabled: boolean) {
  return useQuery({
    queryKey: journeyKeys.experiments(id),
    queryFn: ({ signal }) => api.get<ExperimentResult[]>(`journeys/${id}/experiments`, undefined, signal),
    enabled,
    refetchInterval: 15_000,
  });
}

/** GET /api/journeys/{id}/entry-estimate: about how many contacts a day the draft's trigger lets in. */
export type EntryEstimate = Schemas["EntryEstimate"];

export function useEntryEstimate(id: number, revision: number) {
  return useQuery({
    queryKey: [...journeyKeys.detail(id), "entry-estimate", revision] as const,
    queryFn: ({ signal }) => api.get<EntryEstimate>(`journeys/${id}/entry-estimate`, undefined, signal),
    staleTime: 60_000,
  });
}
