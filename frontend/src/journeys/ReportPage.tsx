/**
 * What a journey did over a range of days: entries, conversions and revenue (tiles and a daily
 * chart), the main path as a funnel, each email's rates and links, each version side by side.
 * Loaded on its own (a lazy route), so the charts' code never weighs on the canvas.
 */
import { useEffect, useId, useState, type ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { Bar, BarChart, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ApiError } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { ErrorBanner, Loading, useDocumentTitle } from "../lib/ui";
import { findTemplate, useTemplates } from "../templates/api";
import { useJourney } from "./api";
import { JourneyTabs } from "./JourneyTabs";
import { NODE_TYPES } from "./nodeTypes";
import { reportCsvUrl, useJourneyReport, type JourneyReport, type ReportNode, type ReportQuery } from "./reportApi";
import { chartDays, currenciesOf, formatAmount, formatMoney, formatRate, presetOf, presetRange, shortDay } from "./reportFormat";
import type { JourneyDefinition } from "./types";
import "./report.css";

const PRESETS = [7, 30, 90] as const;
const DEFAULT_DAYS = 30;
const COLORS = { entries: "#3b4bd8", conversions: "#137a4b", revenue: ["#b26b00", "#8e3fb5", "#0f7c8c", "#b42318"], open: "#3b4bd8", click: "#137a4b" };

export default function ReportPage() {
  const id = Number(useParams().id);
  const journey = useJourney(id);
  const [params, setParams] = useSearchParams();
  const [today] = useState(() => new Date());
  const fallback = presetRange(DEFAULT_DAYS, today);
  const query: ReportQuery = {
    from: params.get("from") ?? fallback.from,
    to: params.get("to") ?? fallback.to,
    version: params.get("version") ? Number(params.get("version")) : null,
  };
  const report = useJourneyReport(id, query);
  // A refused range keeps the last report on the page, under the message that says what to fix.
  const [shown, setShown] = useState<JourneyReport | null>(null);
  useEffect(() => {
    if (report.data && !report.isPlaceholderData) setShown(report.data);
  }, [report.data, report.isPlaceholderData]);
  useDocumentTitle(`${journey.data?.name ?? "Journey"} · report`);

  const change = (next: Partial<ReportQuery>) => {
    const merged = { ...query, ...next };
    const search = new URLSearchParams();
    search.set("from", merged.from);
    search.set("to", merged.to);
    if (merged.version !== null) search.set("version", String(merged.version));
    setParams(search, { replace: true });
  };
  const fields = report.error instanceof ApiError ? report.error.fields : {};
  const data = report.error ? shown : (report.data ?? shown);
  const definition = journey.data?.live_definition ?? journey.data?.draft ?? null;

  return (
    <div className="report-page" data-testid="journey-report">
      <header className="report-head">
        <Link to="/journeys" className="button button-quiet button-small" aria-label="Back to journeys">
          ←
        </Link>
        <h1>{journey.data?.name ?? data?.journey.name ?? "Journey"}</h1>
        <JourneyTabs journeyId={id} />
      </header>

      <form className="report-controls" aria-label="Report period" onSubmit={(event) => event.preventDefault()}>
        <DateField label="From" value={query.from} onChange={(from) => change({ from })} messages={fields.from} />
        <DateField label="To" value={query.to} onChange={(to) => change({ to })} messages={fields.to} />
        <div className="field report-presets">
          <span className="report-presets-label">Last</span>
          <div className="report-preset-buttons" role="group" aria-label="Last days">
            {PRESETS.map((days) => (
              <button key={days} type="button" className="button button-small" aria-pressed={presetOf(query, today, PRESETS) === days} onClick={() => change(presetRange(days, today))}>
                {days} days
              </button>
            ))}
          </div>
        </div>
        <VersionField
          value={query.version}
          versions={data?.versions ?? []}
          onChange={(version) => change({ version })}
          messages={fields.version}
        />
        <a className="button button-small report-csv" href={reportCsvUrl(id, query)} download>
          Download CSV
        </a>
      </form>
      <ErrorBanner error={report.error} shownFields={["from", "to", "version"]} />

      {data ? (
        <Report report={data} definition={definition} busy={report.isFetching} />
      ) : report.isPending ? (
        <Loading label="Counting what this journey did…" />
      ) : null}
    </div>
  );
}

function DateField({ label, value, onChange, messages = [] }: { label: string; value: string; onChange: (value: string) => void; messages?: string[] }) {
  const id = useId();
  return (
    <div className={`field${messages.length ? " field-invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      <input id={id} type="date" value={value} aria-invalid={messages.length ? true : undefined} aria-describedby={messages.length ? `${id}-error` : undefined} onChange={(event) => event.target.value && onChange(event.target.value)} />
      {messages.length ? (
        <div className="field-error" id={`${id}-error`} role="alert">
          {messages.join(" ")}
        </div>
      ) : null}
    </div>
  );
}

function VersionField({ value, versions, onChange, messages = [] }: { value: number | null; versions: JourneyReport["versions"]; onChange: (value: number | null) => void; messages?: string[] }) {
  const id = useId();
  const known = value === null || versions.some((version) => version.number === value);
  return (
    <div className={`field${messages.length ? " field-invalid" : ""}`}>
      <label htmlFor={id}>Version</label>
      <select id={id} value={value === null ? "" : String(value)} aria-invalid={messages.length ? true : undefined} onChange={(event) => onChange(event.target.value ? Number(event.target.value) : null)}>
        <option value="">All versions</option>
        {versions.map((version) => (
          <option key={version.number} value={version.number}>
            Version {version.number}
          </option>
        ))}
        {known ? null : <option value={String(value)}>Version {value}</option>}
      </select>
      {messages.length ? (
        <div className="field-error" role="alert">
          {messages.join(" ")}
        </div>
      ) : null}
    </div>
  );
}

function Report({ report, definition, busy }: { report: JourneyReport; definition: JourneyDefinition | null; busy: boolean }) {
  const totals = report.totals;
  const emails = report.nodes.filter((node) => node.email);
  return (
    <div className="report-body" aria-busy={busy || undefined}>
      <p className="report-rule" data-testid="attribution-rule">
        <strong>How conversions are counted.</strong> {report.attribution.rule}
      </p>
      <section className="report-tiles" aria-label="Totals">
        <Tile label="Entries" value={totals.entries.toLocaleString()} testId="tile-entries" />
        <Tile label="Conversions" value={totals.conversions.toLocaleString()} testId="tile-conversions" />
        <Tile label="Conversion rate" value={formatRate(totals.conversion_rate)} testId="tile-rate" />
        {totals.revenue.length ? (
          totals.revenue.map((money) => <Tile key={money.currency} label={money.currency ? `Revenue (${money.currency})` : "Revenue"} value={formatAmount(money)} testId={`tile-revenue-${money.currency || "none"}`} />)
        ) : (
          <Tile label="Revenue" value="—" testId="tile-revenue-none" />
        )}
      </section>

      {totals.entries === 0 && totals.conversions === 0 ? (
        <div className="card report-empty" role="status">
          No one has entered this journey in these days. Choose a longer period{report.version !== null ? " or all versions" : ""}, or come back once contacts start it.
        </div>
      ) : (
        <>
          <Card title="Over time" description="Entries and conversions per day (UTC); revenue on the right-hand scale.">
            <DailyChart report={report} />
          </Card>
          <Card title="Main path" description="From the trigger, the way most contacts took at each step: how many reached it.">
            <Funnel report={report} />
          </Card>
        </>
      )}

      <Card title="Emails" description="Rates are of delivered emails. Opens are unique; machine opens (such as Apple Mail's privacy prefetch) are counted apart.">
        {emails.length ? <EmailSection emails={emails} definition={definition} /> : <p className="muted">This journey sends no email.</p>}
      </Card>

      <Card title="Versions" description="Each published version over the same days.">
        <VersionTable report={report} />
      </Card>
    </div>
  );
}

function Card({ title, description, children }: { title: string; description?: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card report-card" aria-labelledby={id}>
      <header className="report-card-head">
        <h2 id={id}>{title}</h2>
        {description ? <p className="muted">{description}</p> : null}
      </header>
      {children}
    </section>
  );
}

function Tile({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="report-tile" role="group" aria-label={label}>
      <span className="report-tile-label">{label}</span>
      <strong className="report-tile-value" data-testid={testId}>
        {value}
      </strong>
    </div>
  );
}

function DailyChart({ report }: { report: JourneyReport }) {
  const rows = chartDays(report.daily);
  const currencies = currenciesOf(report.daily);
  return (
    <figure className="report-chart" data-testid="daily-chart" aria-label="Entries, conversions and revenue per day">
      <ResponsiveContainer width="100%" height={260}>
        <ComposedChart data={rows} margin={{ top: 8, right: 4, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" tickFormatter={(day: string) => shortDay(day)} minTickGap={16} fontSize={12} />
          <YAxis yAxisId="count" allowDecimals={false} fontSize={12} />
          {currencies.length ? <YAxis yAxisId="money" orientation="right" fontSize={12} /> : null}
          <Tooltip labelFormatter={(day) => shortDay(String(day))} formatter={(value, name, item) => [typeof value === "number" && String(item.dataKey ?? "").startsWith("revenue:") ? formatAmount({ amount: String(value), currency: String(item.dataKey).slice("revenue:".length) }) : value, name]} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Bar yAxisId="count" dataKey="entries" name="Entries" fill={COLORS.entries} radius={[3, 3, 0, 0]} />
          <Bar yAxisId="count" dataKey="conversions" name="Conversions" fill={COLORS.conversions} radius={[3, 3, 0, 0]} />
          {currencies.map((currency, index) => (
            <Line key={currency} yAxisId="money" type="linear" dataKey={`revenue:${currency}`} name={currency ? `Revenue (${currency})` : "Revenue"} stroke={COLORS.revenue[index % COLORS.revenue.length]} strokeWidth={2} dot={false} />
          ))}
        </ComposedChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** A step as the canvas names it: its label, else its type's name and its id ("Delay · next_day"). */
function stepName(step: { node: string; label: string; type: string }): string {
  if (step.node === "trigger") return "Entered";
  const kind = NODE_TYPES.find((spec) => spec.type === step.type)?.label;
  return step.label || (kind ? `${kind} · ${step.node}` : step.node);
}

function Funnel({ report }: { report: JourneyReport }) {
  const rows = report.funnel.map((step) => ({ name: stepName(step), count: step.count }));
  return (
    <figure className="report-chart" data-testid="funnel-chart" aria-label="Contacts who reached each step of the main path">
      <ResponsiveContainer width="100%" height={Math.max(120, rows.length * 36 + 24)}>
        <BarChart data={rows} layout="vertical" margin={{ top: 0, right: 24, bottom: 0, left: 0 }}>
          <XAxis type="number" allowDecimals={false} fontSize={12} />
          <YAxis type="category" dataKey="name" width={150} fontSize={12} />
          <Tooltip />
          <Bar dataKey="count" name="Contacts" fill={COLORS.entries} radius={[0, 3, 3, 0]} label={{ position: "right", fontSize: 12 }} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

function emailName(node: ReportNode, definition: JourneyDefinition | null, templateName: (ref: string) => string | undefined): string {
  if (node.label) return node.label;
  const config = definition?.nodes.find((item) => item.id === node.id)?.config;
  const template = typeof config?.template === "string" ? templateName(config.template) : undefined;
  return template ? `${node.id} · ${template}` : node.id;
}

function EmailSection({ emails, definition }: { emails: ReportNode[]; definition: JourneyDefinition | null }) {
  const templates = useTemplates();
  const name = (node: ReportNode) => emailName(node, definition, (ref) => findTemplate(templates.data, ref)?.name);
  const rates = emails.map((node) => ({ name: name(node), open: (node.email!.open_rate ?? 0) * 100, click: (node.email!.click_rate ?? 0) * 100 }));
  return (
    <>
      <figure className="report-chart" data-testid="email-chart" aria-label="Open and click rate of each email">
        <ResponsiveContainer width="100%" height={Math.max(140, emails.length * 56 + 40)}>
          <BarChart data={rates} layout="vertical" margin={{ top: 0, right: 24, bottom: 0, left: 0 }}>
            <XAxis type="number" domain={[0, 100]} unit="%" fontSize={12} />
            <YAxis type="category" dataKey="name" width={96} fontSize={12} />
            <Tooltip formatter={(value) => `${Number(value).toFixed(1)}%`} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="open" name="Open rate" fill={COLORS.open} radius={[0, 3, 3, 0]} />
            <Bar dataKey="click" name="Click rate" fill={COLORS.click} radius={[0, 3, 3, 0]} />
          </BarChart>
        </ResponsiveContainer>
      </figure>
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Email figures, scrolls sideways">
        <table className="table report-table" aria-label="Emails">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col" className="num">Sent</th>
              <th scope="col" className="num">Delivered</th>
              <th scope="col" className="num" title="Unique opens of delivered emails">Open rate</th>
              <th scope="col" className="num" title="Opens by mail software, not people (Apple Mail privacy prefetch)">Machine opens</th>
              <th scope="col" className="num" title="Unique clicks of delivered emails">Click rate</th>
              <th scope="col" className="num">Unsubscribes</th>
              <th scope="col" className="num">Bounces</th>
              <th scope="col" className="num">Complaints</th>
              <th scope="col" className="num">Conversions</th>
              <th scope="col" className="num">Revenue</th>
            </tr>
          </thead>
          <tbody>
            {emails.map((node) => {
              const email = node.email!;
              return (
                <tr key={node.id} data-testid={`email-row-${node.id}`}>
                  <th scope="row">{name(node)}</th>
                  <td className="num" data-figure="sent">{email.sent}</td>
                  <td className="num" data-figure="delivered">{email.delivered}</td>
                  <td className="num" data-figure="open_rate">
                    {formatRate(email.open_rate)}
                    <span className="cell-sub">{email.opened_unique} opened</span>
                  </td>
                  <td className="num" data-figure="machine_opens">{email.machine_opens}</td>
                  <td className="num" data-figure="click_rate">
                    {formatRate(email.click_rate)}
                    <span className="cell-sub">{email.clicked_unique} clicked</span>
                  </td>
                  <td className="num" data-figure="unsubscribed">{email.unsubscribed}</td>
                  <td className="num" data-figure="bounced">{email.bounced}</td>
                  <td className="num" data-figure="complained">{email.complained}</td>
                  <td className="num" data-figure="conversions">{node.conversions}</td>
                  <td className="num" data-figure="revenue">{formatMoney(node.revenue)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {emails.map((node) => (
        <Links key={node.id} title={name(node)} node={node} />
      ))}
    </>
  );
}

function Links({ title, node }: { title: string; node: ReportNode }) {
  const links = node.email!.links;
  const most = Math.max(1, ...links.map((link) => link.clicks));
  return (
    <section className="report-links" aria-label={`Links clicked in ${title}`} data-testid={`links-${node.id}`}>
      <h3>Links clicked in {title}</h3>
      {links.length ? (
        <ul>
          {links.map((link) => (
            <li key={link.url}>
              <span className="report-link-url" title={link.url}>
                {link.url}
              </span>
              <span className="report-link-bar" aria-hidden="true">
                <span style={{ width: `${(link.clicks / most) * 100}%` }} />
              </span>
              <span className="report-link-clicks">
                {link.clicks} click{link.clicks === 1 ? "" : "s"}
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No link clicked in these days.</p>
      )}
    </section>
  );
}

function VersionTable({ report }: { report: JourneyReport }) {
  const counted = new Map(report.by_version.map((row) => [row.version, row]));
  const rows = report.versions
    .filter((version) => report.version === null || version.number === report.version)
    .map((version) => ({ ...version, figures: counted.get(version.number) }));
  if (!rows.length) return <p className="muted">This journey has not been published yet.</p>;
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Version figures, scrolls sideways">
      <table className="table report-table" aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Published</th>
            <th scope="col" className="num">Entries</th>
            <th scope="col" className="num">Conversions</th>
            <th scope="col" className="num">Conversion rate</th>
            <th scope="col" className="num">Revenue</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.number}>
              <th scope="row">Version {row.number}</th>
              <td>{formatDateTime(row.published_at)}</td>
              <td className="num">{row.figures?.entries ?? 0}</td>
              <td className="num">{row.figures?.conversions ?? 0}</td>
              <td className="num">{formatRate(row.figures?.conversion_rate)}</td>
              <td className="num">{formatMoney(row.figures?.revenue)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
