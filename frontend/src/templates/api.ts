/** The templates API (delivery/api.py) through TanStack Query: the only place that knows its URLs. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import type { components } from "../lib/schema";

// The API's shapes, generated from /api/schema/ (lib/schema.d.ts: `make types`). `Required<>`: a
// model serializer writes every field in its answers, even those a request may leave out.
type Schemas = components["schemas"];

export type TemplateProblem = Schemas["TemplateProblem"];
export type Category = Schemas["CategoryEnum"];
export type TemplateSummary = Required<Schemas["TemplateList"]>;
export type TemplateVersion = Required<Schemas["Version"]>;
export type TemplateDetail = Omit<Required<Schemas["Template"]>, "latest_version"> & { latest_version: TemplateVersion | null };
/** What the editor sends to validate and preview. */
export type TemplateSource = Schemas["SourceRequest"];
export type Rendered = Schemas["Rendered"];
export type ContentBlock = Required<Schemas["Block"]>;

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

// -- starters and thumbnails (issue 15) -------------------------------------------------------------

/** A starter template of the gallery, rendered with sample data for its thumbnail. */
export interface Starter {
  key: string;
  name: string;
  description: string;
  subject: string;
  category: Category;
  html: string;
}

/** A template's latest version rendered with sample data (the template picker's thumbnail). */
export interface TemplatePreviewThumbnail {
  slug: string;
  name: string;
  html: string;
}

export const starterKeys = {
  gallery: ["templates", "starters"] as const,
  thumbnails: (search: string) => ["templates", "thumbnails", search] as const,
};

export function useStarters() {
  return useQuery({
    queryKey: starterKeys.gallery,
    queryFn: ({ signal }) => api.get<Starter[]>("templates/starters", undefined, signal),
    staleTime: 5 * 60_000,
  });
}

/** Copy a starter into the workspace as a new template (with the content blocks it includes). */
export function useCreateFromStarter() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { key: string; slug?: string; name?: string }) => api.post<TemplateDetail>("templates/from-starter", body),
    onSuccess: () => client.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

/** The workspace's templates (by name, at most 50) whose name or slug holds `search`, with their previews. */
export function useTemplateThumbnails(search: string, enabled = true) {
  return useQuery({
    queryKey: starterKeys.thumbnails(search),
    queryFn: async ({ signal }): Promise<TemplatePreviewThumbnail[]> =>
      results(await api.get<Page<TemplatePreviewThumbnail> | TemplatePreviewThumbnail[]>("templates/thumbnails", { search, limit: 50 }, signal)),
    enabled,
    staleTime: 60_000,
    placeholderData: (previous) => previous,
  });
}

/** `base`, or `base-2`, `base-3`… : the first slug no template of `taken` has. */
export function freeSlug(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}-${n}`)) n += 1;
  return `${base}-${n}`;
}
