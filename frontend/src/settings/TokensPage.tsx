import { PageHeader } from "../lib/ui";

export function TokensPage() {
  return (
    <div className="page">
      <PageHeader title="TokensPage" description="Being built." />
    </div>
  );
}
