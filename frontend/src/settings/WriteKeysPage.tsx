import { PageHeader } from "../lib/ui";

export function WriteKeysPage() {
  return (
    <div className="page">
      <PageHeader title="WriteKeysPage" description="Being built." />
    </div>
  );
}
