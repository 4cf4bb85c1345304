import { PageHeader } from "../lib/ui";

export function MembersPage() {
  return (
    <div className="page">
      <PageHeader title="MembersPage" description="Being built." />
    </div>
  );
}
