/** The QA workspace's API (editor/api.py) through TanStack Query: the only place that knows its URLs. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import type { components } from "../lib/schema";
import type { Problem } from "../preview/types";

// The API's shapes, generated from /api/schema/ (lib/schema.d.ts: `make types`). `Required<>`: a
// model serializer writes every field in its answers, even those a request may leave out.
type Schemas = components["schemas"];

export type CartItem = Schemas["CartItem"];
export type RecentEvent = Schemas["RecentEvent"];
export type Persona = Required<Schemas["Persona"]>;
export type PersonaInput = Omit<Persona, "id" | "created_at" | "updated_at">;
export type QASettings = Required<Schemas["QASettings"]>;
export type ApprovalInfo = Schemas["ApprovalRecord"];
export type ApprovalStatus = Schemas["ApprovalStatus"];

// Hand-written until editor/api.py describes them: the schema has a gallery cell as a free-form
// object and the simulation's answer as "an object" (the engine's simulator builds both).
export interface PathStep {
  node: string;
  type: string | null;
  outcome: string;
  port: string;
  at: string;
}

export interface GalleryCell {
  persona: number;
  node: string;
  reached: boolean;
  arrives_at: string | null;
  path: PathStep[];
  status: string;
  reason: string;
  ok: boolean;
  error?: string;
  template?: { id: number; name: string; version: number };
  subject?: string;
  preheader?: string;
  html?: string;
  text?: string;
  blocks?: { name: string; shown: boolean; adaptive: boolean }[];
  warnings?: Problem[];
}

export type Gallery = Omit<Schemas["Gallery"], "cells"> & { cells: GalleryCell[] };

export type HypotheticalEvent = Schemas["SimulateEventRequest"];

export interface SimulationResult {
  subject: { persona: number | null; contact: number | null; label: string };
  entered: boolean;
  status: string;
  exit_reason: string;
  reason?: string;
  start: string;
  end: string | null;
  path: PathStep[];
  messages: { node: string; at: string; template: string | null }[];
  conversion: { goal: string; revenue: number | null; at: string } | null;
  waiting_at?: string;
}

export type TestSendBody = Schemas["TestSendRequest"];
export type TestSendResult = Schemas["TestSendResult"];

export const qaKeys = {
  personas: ["qa", "personas"] as const,
  settings: ["qa", "settings"] as const,
  approval: (journey: number) => ["qa", "approval", journey] as const,
  gallery: (journey: number) => ["qa", "gallery", journey] as const,
};

export function usePersonas() {
  return useQuery({
    queryKey: qaKeys.personas,
    queryFn: ({ signal }) => api.get<Persona[]>("personas", undefined, signal),
    staleTime: 30_000,
  });
}

export function useSavePersona() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: number | null; body: Partial<PersonaInput> }) =>
      id === null ? api.post<Persona>("personas", body) : api.patch<Persona>(`personas/${id}`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: qaKeys.personas }),
  });
}

export function useDeletePersona() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.delete(`personas/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: qaKeys.personas }),
  });
}

export function useQASettings() {
  return useQuery({ queryKey: qaKeys.settings, queryFn: ({ signal }) => api.get<QASettings>("qa/settings", undefined, signal) });
}

export function useSaveQASettings() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<QASettings>) => api.patch<QASettings>("qa/settings", body),
    onSuccess: (data) => client.setQueryData(qaKeys.settings, data),
  });
}

export function useApproval(journey: number) {
  return useQuery({
    queryKey: qaKeys.approval(journey),
    queryFn: ({ signal }) => api.get<ApprovalStatus>(`qa/journeys/${journey}/approval`, undefined, signal),
  });
}

export function useApprove(journey: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { revision: number; note?: string }) => api.post<ApprovalStatus>(`qa/journeys/${journey}/approval`, body),
    onSuccess: (data) => client.setQueryData(qaKeys.approval(journey), data),
    onError: () => client.invalidateQueries({ queryKey: qaKeys.approval(journey) }),
  });
}

export function useWithdrawApproval(journey: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.post<ApprovalStatus>(`qa/journeys/${journey}/approval/withdraw`),
    onSuccess: (data) => client.setQueryData(qaKeys.approval(journey), data),
  });
}

export function useGallery(journey: number) {
  return useQuery({
    queryKey: qaKeys.gallery(journey),
    queryFn: ({ signal }) => api.get<Gallery>(`qa/journeys/${journey}/gallery`, undefined, signal),
  });
}

export function simulate(journey: number, body: { persona?: number; contact?: number; events: HypotheticalEvent[] }) {
  return api.post<SimulationResult>(`qa/journeys/${journey}/simulate`, body);
}

export function useTestSend() {
  return useMutation({
    mutationFn: (body: TestSendBody) => api.post<TestSendResult>("qa/test-send", body),
  });
}
