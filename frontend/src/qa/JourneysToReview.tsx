import { Link } from "react-router-dom";
import { useJourneys } from "../journeys/api";
import { errorMessage } from "../lib/api";
import { Banner, Loading, PageHeader, Tag, useDocumentTitle } from "../lib/ui";
import { useQASettings } from "./api";

export function JourneysToReview() {
  useDocumentTitle("QA · Journeys");
  const journeys = useJourneys({});
  const settings = useQASettings();
  return (
    <div className="page">
      <PageHeader
        title="Review journeys"
        description={
          <>
            See every persona's email at every step, simulate paths with events that have not happened yet, send tests and approve a draft for publishing.
            {settings.data ? (settings.data.publish_requires_approval ? " Publishing needs a QA approval in this workspace." : " Publishing does not need a QA approval in this workspace.") : null}
          </>
        }
      />
      {journeys.isLoading ? <Loading /> : null}
      {journeys.isError ? <Banner tone="error">{errorMessage(journeys.error)}</Banner> : null}
      {journeys.data ? (
        <table className="table">
          <thead>
            <tr>
              <th>Journey</th>
              <th>Status</th>
              <th>Draft</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {journeys.data.filter((journey) => journey.status !== "archived").map((journey) => (
              <tr key={journey.id}>
                <td>
                  <Link to={`/qa/journeys/${journey.id}`}>{journey.name}</Link>
                  <div className="cell-sub">{journey.trigger_event ? `When “${journey.trigger_event}” happens` : journey.trigger_type}</div>
                </td>
                <td>
                  <Tag tone={journey.status === "live" ? "good" : journey.status === "paused" ? "warn" : "neutral"}>{journey.status}</Tag>
                </td>
                <td>{journey.has_unpublished_changes ? <Tag tone="accent">unpublished changes</Tag> : <span className="muted">as published</span>}</td>
                <td className="nowrap">
                  <Link className="button button-small" to={`/qa/journeys/${journey.id}`}>
                    Review
                  </Link>
                </td>
              </tr>
            ))}
            {journeys.data.length === 0 ? (
              <tr>
                <td colSpan={4} className="table-empty">
                  No journeys yet.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
