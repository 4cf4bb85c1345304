/** The journey report (GET /api/journeys/{id}/report, journeys/report.py) through TanStack Query. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ApiError, api, buildUrl } from "../lib/api";
import { journeyKeys } from "./api";
import type { components } from "../lib/schema";

export interface ReportQuery {
  /** YYYY-MM-DD, both days included (UTC) */
  from: string;
  to: string;
  /** one version; null: all */
  version: number | null;
}

// The report's shapes, generated from /api/schema/ (lib/schema.d.ts: `make types`).
type Schemas = components["schemas"];

export type ReportFigures = Schemas["ReportFigures"];
export type ReportDay = Schemas["ReportDay"];
export type ReportLink = Schemas["ReportLink"];
export type ReportEmail = Schemas["ReportEmail"];
export type ReportNode = Schemas["ReportNode"];
export type FunnelStep = Schemas["FunnelStep"];
export type JourneyReport = Schemas["Report"];

export const reportKeys = {
  report: (id: number, query: ReportQuery) => [...journeyKeys.detail(id), "report", query] as const,
};

function params(query: ReportQuery) {
  return { from: query.from, to: query.to, version: query.version };
}

/** The address of the report as a CSV file (same range and version). */
export function reportCsvUrl(id: number, query: ReportQuery): string {
  return buildUrl(`journeys/${id}/report`, { ...params(query), download: "csv" });
}

export function useJourneyReport(id: number, query: ReportQuery) {
  return useQuery({
    queryKey: reportKeys.report(id, query),
    queryFn: ({ signal }) => api.get<JourneyReport>(`journeys/${id}/report`, params(query), signal),
    placeholderData: keepPreviousData,
    // a 400 names a parameter: asking again will not help
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
}
