import { Navigate, Route, Routes } from "react-router-dom";
import { featureRoutes } from "./routes";
import { Shell } from "./shell/Shell";
import { LoginPage } from "./auth/LoginPage";
import { ForgotPasswordPage } from "./auth/ForgotPasswordPage";
import { ResetPasswordPage } from "./auth/ResetPasswordPage";
import { InvitationPage } from "./auth/InvitationPage";
import { SettingsRoutes } from "./settings/SettingsRoutes";
import { homePath } from "./lib/navigation";
import { useMember } from "./lib/session";
import { PageHeader } from "./lib/ui";

function Home() {
  return <Navigate to={homePath(useMember())} replace />;
}

function NotFound() {
  return (
    <div className="page">
      <PageHeader title="Page not found" description="There is no page at this address. Use the navigation on the left." />
    </div>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/forgot-password" element={<ForgotPasswordPage />} />
      <Route path="/reset/:uid/:token" element={<ResetPasswordPage />} />
      <Route path="/invite/:token" element={<InvitationPage />} />
      <Route element={<Shell />}>
        <Route index element={<Home />} />
        {featureRoutes.map(({ path, component: Page, layout }) => (
          <Route
            key={path}
            path={path}
            element={
              <div className={layout === "full" ? "page-full" : "page-container"}>
                <Page />
              </div>
            }
          />
        ))}
        <Route path="settings/*" element={<SettingsRoutes />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
