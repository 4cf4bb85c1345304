/** The templates API (delivery/api.py) through TanStack Query: the only place that knows its URLs. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";

export interface TemplateProblem {
  message: string;
  line: number | null;
  column: number | null;
  /** mjml, subject, preheader, block:<name> */
  part: string;
  kind?: string;
}

export interface TemplateSummary {
  id: number;
  slug: string;
  name: string;
  category: "marketing" | "transactional";
  subject?: string;
  updated_at?: string;
  version?: number | null;
  latest_version?: number | { number: number } | null;
}

export interface TemplateDetail extends TemplateSummary {
  subject: string;
  preheader: string;
  from_name?: string;
  mjml: string;
  warnings?: TemplateProblem[];
  versions?: { number: number; created_at: string }[];
}

export interface TemplateSource {
  name?: string;
  slug?: string;
  category?: string;
  subject: string;
  preheader: string;
  mjml: string;
}

export interface Preview {
  subject: string;
  preheader?: string;
  html: string;
  text?: string;
  problems?: TemplateProblem[];
}

export interface ContentBlockSummary {
  id: number;
  name: string;
  description?: string;
  source?: string;
}

export const templateKeys = {
  all: ["templates"] as const,
  list: ["templates", "list"] as const,
  detail: (id: number) => ["templates", id] as const,
  blocks: ["templates", "blocks"] as const,
  preview: (ref: string) => ["templates", "preview", ref] as const,
};

function results<T>(data: Page<T> | T[]): T[] {
  return Array.isArray(data) ? data : data.results;
}

export function useTemplates() {
  return useQuery({
    queryKey: templateKeys.list,
    queryFn: ({ signal }) => api.get<Page<TemplateSummary> | TemplateSummary[]>("templates", { limit: 500 }, signal).then(results),
    staleTime: 30_000,
  });
}

export function useTemplate(id: number | null) {
  return useQuery({
    queryKey: templateKeys.detail(id ?? 0),
    queryFn: ({ signal }) => api.get<TemplateDetail>(`templates/${id}`, undefined, signal),
    enabled: id !== null,
  });
}

export function useContentBlocks() {
  return useQuery({
    queryKey: templateKeys.blocks,
    queryFn: ({ signal }) => api.get<Page<ContentBlockSummary> | ContentBlockSummary[]>("content-blocks", undefined, signal).then(results),
    staleTime: 60_000,
  });
}

export function useCreateTemplate() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TemplateSource & { name: string }) => api.post<TemplateDetail>("templates", body),
    onSuccess: () => client.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

export function useSaveTemplate(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TemplateSource) => api.put<TemplateDetail>(`templates/${id}`, body),
    onSuccess: (template) => {
      client.setQueryData(templateKeys.detail(id), template);
      client.invalidateQueries({ queryKey: templateKeys.list });
    },
  });
}

/** Render a source that may not be saved yet (the editor's preview). */
export function previewSource(body: TemplateSource & { template?: number }, signal?: AbortSignal) {
  return api.post<Preview>("templates/preview", body).then((preview) => {
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
    return preview;
  });
}

/** The latest saved version of a template rendered with sample data, for thumbnails. */
export function useTemplatePreview(ref: string | undefined, templates: TemplateSummary[] | undefined) {
  const template = templates?.find((item) => item.slug === ref || String(item.id) === ref);
  return useQuery({
    queryKey: templateKeys.preview(ref ?? ""),
    queryFn: ({ signal }) => api.get<Preview>(`templates/${template!.id}/preview`, undefined, signal),
    enabled: Boolean(template),
    staleTime: 60_000,
  });
}

export function templateRef(template: TemplateSummary): string {
  return template.slug || String(template.id);
}
