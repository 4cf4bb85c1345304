/** The journey report (GET /api/journeys/{id}/report, journeys/report.py) through TanStack Query. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ApiError, api, buildUrl } from "../lib/api";
import { journeyKeys } from "./api";
import type { Money } from "./types";

export interface ReportQuery {
  /** YYYY-MM-DD, both days included (UTC) */
  from: string;
  to: string;
  /** one version; null: all */
  version: number | null;
}

export interface ReportFigures {
  entries: number;
  conversions: number;
  conversion_rate: number | null;
  revenue: Money[];
}

export interface ReportDay {
  day: string;
  entries: number;
  conversions: number;
  revenue: Money[];
}

export interface ReportLink {
  url: string;
  clicks: number;
}

export interface ReportEmail {
  sent: number;
  delivered: number;
  bounced: number;
  failed: number;
  suppressed: number;
  opened_unique: number;
  opened_total: number;
  machine_opens: number;
  clicked_unique: number;
  clicks_total: number;
  unsubscribed: number;
  complained: number;
  open_rate: number | null;
  click_rate: number | null;
  links: ReportLink[];
}

export interface ReportNode {
  id: string;
  type: string;
  label: string;
  entered: number;
  left: Record<string, number>;
  waiting: number;
  exited_by_goal: number;
  conversions: number;
  revenue: Money[];
  email?: ReportEmail;
}

export interface FunnelStep {
  node: string;
  label: string;
  type: string;
  count: number;
}

export interface JourneyReport {
  journey: { id: number; name: string };
  range: { from: string; to: string };
  version: number | null;
  versions: { number: number; published_at: string | null }[];
  attribution: { event: string | null; source: "conversion" | "exit_on" | null; windows: Record<string, string> | null; rule: string };
  totals: ReportFigures;
  daily: ReportDay[];
  by_version: (ReportFigures & { version: number })[];
  nodes: ReportNode[];
  funnel: FunnelStep[];
}

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
