import { PageHeader } from "../lib/ui";
import { useMember, roleLabel } from "../lib/session";
import { SecretList } from "./SecretList";

export function TokensPage() {
  const member = useMember();
  return (
    <div className="page">
      <PageHeader
        title="Personal tokens"
        description={
          <>
            Tokens for scripts that use the REST API as you, in <strong>{member.workspace.name}</strong>, with your role ({roleLabel(member.role)}). A token stops
            working when it is revoked or when your membership is deactivated.
          </>
        }
      />
      <SecretList
        endpoint="tokens"
        secretField="token"
        noun="token"
        namePlaceholder="Reporting script"
        showLastUsed
        usage={
          <>
            Send it as <code>Authorization: Bearer &lt;token&gt;</code> to any endpoint under <code>/api/</code>.
          </>
        }
      />
    </div>
  );
}
