/** The QA workspace's API (editor/api.py) through TanStack Query: the only place that knows its URLs. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import type { Problem } from "../preview/types";

export interface CartItem {
  sku: string;
  quantity: number;
  price?: number | null;
  name?: string;
}

export interface RecentEvent {
  name: string;
  properties?: Record<string, unknown>;
  /** how long ago, an ISO 8601 duration ("PT2H") */
  ago: string;
}

export interface Persona {
  id: number;
  name: string;
  description: string;
  email: string;
  traits: Record<string, unknown>;
  country: string;
  city: string;
  timezone: string;
  locale: string;
  cart_items: CartItem[];
  recent_events: RecentEvent[];
  created_at: string;
  updated_at: string;
}

export type PersonaInput = Omit<Persona, "id" | "created_at" | "updated_at">;

export interface QASettings {
  publish_requires_approval: boolean;
  seed_list: string[];
  updated_at: string;
}

export interface ApprovalInfo {
  id: number;
  revision: number;
  approved_by: string | null;
  approved_at: string;
  note: string;
  withdrawn_at: string | null;
  withdrawn_reason: string;
}

export interface ApprovalStatus {
  journey: number;
  draft_revision: number;
  required: boolean;
  approved: boolean;
  problem: string | null;
  approval: ApprovalInfo | null;
  latest: ApprovalInfo | null;
  history: ApprovalInfo[];
}

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

export interface Gallery {
  journey: { id: number; name: string; draft_revision: number };
  generated_at: string;
  nodes: { id: string; template: string | null; version: number | null }[];
  personas: { id: number; name: string; country: string; city: string }[];
  cells: GalleryCell[];
}

export interface HypotheticalEvent {
  name: string;
  /** after the start, an ISO 8601 duration ("PT30M") */
  after: string;
  properties?: Record<string, unknown>;
}

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

export interface TestSendBody {
  template?: number;
  journey?: number;
  node?: string;
  persona?: number;
  contact?: number;
  /** a made-up profile given inline ({} for nobody in particular) */
  profile?: Record<string, unknown>;
  to: string[];
}

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
    mutationFn: (body: TestSendBody) => api.post<{ sent: { to: string; message_id: number; status: string; reason: string }[] }>("qa/test-send", body),
  });
}
