/** The templates API (delivery/api.py) through TanStack Query: the only place that knows its URLs. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";

export interface TemplateProblem {
  message: string;
  line: number | null;
  column: number | null;
  /** mjml, subject, preheader, block:<name> */
  part: string;
  /** syntax, undefined, mjml, limit */
  kind?: string;
}

export type Category = "marketing" | "transactional";

export interface TemplateSummary {
  id: number;
  slug: string;
  name: string;
  category: Category;
  topic?: string;
  version: number | null;
  subject: string;
  updated_at: string;
}

export interface TemplateVersion {
  id: number;
  number: number;
  subject: string;
  preheader: string;
  from_name: string;
  mjml: string;
  warnings: TemplateProblem[];
  created_by: string | null;
  created_at: string;
}

export interface TemplateDetail {
  id: number;
  slug: string;
  name: string;
  category: Category;
  topic: string;
  latest_version: TemplateVersion | null;
  created_at: string;
  updated_at: string;
}

export interface TemplateSource {
  subject: string;
  preheader: string;
  mjml: string;
}

export interface Rendered {
  subject: string;
  html: string;
  text: string;
}

export interface ContentBlock {
  id: number;
  name: string;
  description: string;
  source: string;
  condition: unknown;
  updated_at: string;
}

export const templateKeys = {
  all: ["templates"] as const,
  list: ["templates", "list"] as const,
  detail: (id: number) => ["templates", id] as const,
  versions: (id: number) => ["templates", id, "versions"] as const,
  blocks: ["templates", "blocks"] as const,
  thumbnail: (id: number, version: number | null) => ["templates", id, "thumbnail", version] as const,
};

function results<T>(data: Page<T> | T[]): T[] {
  return Array.isArray(data) ? data : data.results;
}

export function useTemplates() {
  return useQuery({
    queryKey: templateKeys.list,
    queryFn: async ({ signal }): Promise<TemplateSummary[]> => results(await api.get<Page<TemplateSummary> | TemplateSummary[]>("templates", { limit: 500 }, signal)),
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

export function useTemplateVersions(id: number) {
  return useQuery({
    queryKey: templateKeys.versions(id),
    queryFn: ({ signal }) => api.get<TemplateVersion[]>(`templates/${id}/versions`, undefined, signal),
  });
}

export function useContentBlocks() {
  return useQuery({
    queryKey: templateKeys.blocks,
    queryFn: async ({ signal }): Promise<ContentBlock[]> => results(await api.get<Page<ContentBlock> | ContentBlock[]>("blocks", { limit: 200 }, signal)),
    staleTime: 60_000,
  });
}

export interface NewTemplate extends TemplateSource {
  name: string;
  slug: string;
  category: Category;
}

export function useCreateTemplate() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: NewTemplate) => api.post<TemplateDetail>("templates", body),
    onSuccess: () => client.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

/** Saving content makes a new immutable version; a source with errors is refused with them. */
export function useSaveTemplate(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<TemplateSource> & { name?: string; category?: Category }) => api.patch<TemplateDetail>(`templates/${id}`, body),
    onSuccess: (template) => {
      client.setQueryData(templateKeys.detail(id), template);
      client.invalidateQueries({ queryKey: templateKeys.list });
      client.invalidateQueries({ queryKey: templateKeys.versions(id) });
    },
  });
}

/** The problems of a source (with line and column), nothing saved. */
export function validateSource(body: TemplateSource) {
  return api.post<{ valid: boolean; problems: TemplateProblem[] }>("templates/validate", body);
}

/** Render unsaved source of a template with the sample context (or a contact). */
export function previewSource(id: number, body: TemplateSource & { contact?: number }) {
  return api.post<Rendered>(`templates/${id}/preview`, body);
}

/** The latest version rendered with sample data: the template picker's thumbnail. */
export function useTemplateThumbnail(template: TemplateSummary | undefined) {
  return useQuery({
    queryKey: templateKeys.thumbnail(template?.id ?? 0, template?.version ?? null),
    queryFn: () => api.post<Rendered>(`templates/${template!.id}/preview`, {}),
    enabled: Boolean(template && template.version),
    staleTime: 5 * 60_000,
  });
}

export function templateRef(template: Pick<TemplateSummary, "slug" | "id">): string {
  return template.slug || String(template.id);
}

export function findTemplate(templates: TemplateSummary[] | undefined, ref: string): TemplateSummary | undefined {
  return templates?.find((item) => item.slug === ref || String(item.id) === ref);
}
