import { PageHeader } from "../lib/ui";
import { SecretList } from "./SecretList";

export function WriteKeysPage() {
  return (
    <div className="page">
      <PageHeader
        title="API keys"
        description="Write keys let your shop or app send identify and track calls to this workspace (Segment-compatible API under /v1/). Only a hash of each key is stored."
      />
      <SecretList
        endpoint="write-keys"
        secretField="key"
        noun="write key"
        namePlaceholder="Shop backend"
        usage={
          <>
            Use it as the username of HTTP Basic auth (empty password) on <code>/v1/identify</code>, <code>/v1/track</code> and <code>/v1/batch</code>.
          </>
        }
      />
    </div>
  );
}
