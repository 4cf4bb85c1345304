import { PageHeader } from "../lib/ui";

/** The honest placeholder of a page whose feature is not built yet. */
export function ComingSoon({ title, description }: { title: string; description: string }) {
  return (
    <div className="page">
      <PageHeader title={title} />
      <section className="coming-soon" aria-label="Not available yet">
        <p className="coming-soon-label">Coming soon</p>
        <p>{title} is not available in this version of Wayline yet.</p>
        <p className="muted">{description}</p>
      </section>
    </div>
  );
}
