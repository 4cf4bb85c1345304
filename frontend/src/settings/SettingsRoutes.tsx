import { lazy, Suspense, type ReactNode } from "react";
import { Navigate, Route, Routes } from "react-router-dom";
import { settingsNavigation } from "../lib/navigation";
import { useMember, type Capability } from "../lib/session";
import { Banner, PageHeader } from "../lib/ui";
import { MembersPage } from "./MembersPage";
import { WriteKeysPage } from "./WriteKeysPage";
import { TokensPage } from "./TokensPage";
import { AuditPage } from "./AuditPage";
import { PredictionsPage } from "./PredictionsPage";

const SendingSettingsPage = lazy(() => import("../outbox/SendingSettingsPage"));

/** Settings sections. A new section: a line in SETTINGS_NAV (lib/navigation.ts) and a route here. */
export function SettingsRoutes() {
  const member = useMember();
  const first = settingsNavigation(member)[0]?.to ?? "/settings/tokens";
  const guard = (capability: Capability, element: ReactNode) =>
    member.capabilities.includes(capability) ? (
      element
    ) : (
      <div className="page">
        <Banner tone="error">Your role does not give access to this page. Ask an admin of this workspace.</Banner>
      </div>
    );
  return (
    <div className="page-container">
      <Routes>
        <Route index element={<Navigate to={first} replace />} />
        <Route path="members" element={guard("manage", <MembersPage />)} />
        <Route path="api-keys" element={guard("manage", <WriteKeysPage />)} />
        <Route
          path="sending"
          element={guard(
            "manage",
            <div className="page">
              <PageHeader
                title="Sending"
                description="How this workspace sends: sender, transport, limits, topics, DKIM and the DNS records mailbox providers require."
              />
              <Suspense fallback={null}>
                <SendingSettingsPage />
              </Suspense>
            </div>,
          )}
        />
        <Route path="audit" element={guard("manage", <AuditPage />)} />
        <Route path="predictions" element={guard("read", <PredictionsPage />)} />
        <Route path="tokens" element={guard("read", <TokensPage />)} />
        <Route path="*" element={<Navigate to={first} replace />} />
      </Routes>
    </div>
  );
}
