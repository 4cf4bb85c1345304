import { PageHeader } from "../lib/ui";

export function AuditPage() {
  return (
    <div className="page">
      <PageHeader title="AuditPage" description="Being built." />
    </div>
  );
}
