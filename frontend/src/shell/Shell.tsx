import { Suspense } from "react";
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../lib/api";
import { mainNavigation, settingsNavigation } from "../lib/navigation";
import { isMember, roleLabel, SESSION_KEY, useSession, type MemberSession, type Session } from "../lib/session";
import { Banner, Loading } from "../lib/ui";
import { WorkspaceSwitcher } from "./WorkspaceSwitcher";
import { Logo } from "./Logo";

/** The logged-in frame: navigation on the left, the page on the right. */
export function Shell() {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) return <Loading label="Opening Wayline…" />;
  if (session.isError) {
    return (
      <main className="auth-page">
        <Banner tone="error">{errorMessage(session.error)}</Banner>
      </main>
    );
  }
  if (!isMember(session.data)) {
    const next = location.pathname + location.search;
    return <Navigate to={next && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login"} replace />;
  }
  return <ShellFrame member={session.data} />;
}

function ShellFrame({ member }: { member: MemberSession }) {
  const location = useLocation();
  const inSettings = location.pathname.startsWith("/settings");
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <Logo />
          <span>Wayline</span>
        </div>
        <WorkspaceSwitcher member={member} />
        <nav aria-label="Main" className="nav">
          <ul>
            {mainNavigation(member).map((item) => (
              <li key={item.key}>
                <NavLink to={item.to} className="nav-link">
                  {item.label}
                </NavLink>
                {item.key === "settings" && inSettings ? (
                  <ul className="subnav" aria-label="Settings sections">
                    {settingsNavigation(member).map((section) => (
                      <li key={section.key}>
                        <NavLink to={section.to} className="nav-link nav-sublink">
                          {section.label}
                        </NavLink>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        </nav>
        <UserBox member={member} />
      </aside>
      <main id="main" className="content" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

function UserBox({ member }: { member: MemberSession }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const logout = useMutation({
    mutationFn: () => api.post<Session>("auth/logout"),
    onSuccess: () => {
      client.clear();
      client.setQueryData<Session>(SESSION_KEY, { authenticated: false, user: null, workspace: null });
      navigate("/login", { replace: true });
    },
  });
  return (
    <div className="user-box">
      <div className="user-name" title={member.user.email}>
        {member.user.name || member.user.email}
      </div>
      <div className="user-meta">
        <span className="role-badge" data-testid="current-role">
          {roleLabel(member.role)}
        </span>
      </div>
      <button type="button" className="button button-quiet button-small" onClick={() => logout.mutate()} disabled={logout.isPending}>
        Log out
      </button>
      {logout.isError ? <div className="field-error">{errorMessage(logout.error)}</div> : null}
    </div>
  );
}
