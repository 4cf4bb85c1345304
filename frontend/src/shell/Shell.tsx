import { Suspense, useEffect } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router-dom";
import { useMutation, useQueryClient, type UseMutationResult } from "@tanstack/react-query";
import { api, errorMessage } from "../lib/api";
import { mainNavigation, settingsNavigation } from "../lib/navigation";
import { forgetSessionData, isMember, LOGGED_OUT, MemberContext, roleLabel, SESSION_KEY, useSession, type MemberSession } from "../lib/session";
import { Banner, Loading } from "../lib/ui";
import { WorkspaceSwitcher } from "./WorkspaceSwitcher";
import { Logo } from "./Logo";

type Logout = UseMutationResult<unknown, Error, void>;

/**
 * The logged-in frame: navigation on the left, the page on the right. It is the one reader of the
 * session query and hands the member to its pages (`useMember`); when the session ends it
 * redirects to the login in the same render that unmounts the pages, then forgets their data.
 */
export function Shell() {
  const session = useSession();
  const location = useLocation();
  const client = useQueryClient();
  const logout = useMutation({
    mutationFn: () => api.post("auth/logout"),
    onSuccess: async () => {
      // Answers still in flight were asked for by the session that just ended: drop them.
      await client.cancelQueries();
      client.setQueryData(SESSION_KEY, LOGGED_OUT);
    },
  });
  const ended = session.data !== undefined && !isMember(session.data);
  useEffect(() => {
    // The pages are unmounted by now, so none of them refetches what is removed.
    if (ended) void forgetSessionData(client);
  }, [ended, client]);

  if (session.isPending) return <Loading label="Opening Wayline…" />;
  if (session.isError) {
    return (
      <main className="auth-page">
        <Banner tone="error">{errorMessage(session.error)}</Banner>
      </main>
    );
  }
  if (!isMember(session.data)) {
    // A session that ended by itself comes back here after the login; "Log out" does not.
    const next = location.pathname + location.search;
    return <Navigate to={logout.isIdle && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login"} replace />;
  }
  return (
    <MemberContext value={session.data}>
      <ShellFrame member={session.data} logout={logout} />
    </MemberContext>
  );
}

function ShellFrame({ member, logout }: { member: MemberSession; logout: Logout }) {
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
        <UserBox member={member} logout={logout} />
      </aside>
      <main id="main" className="content" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

function UserBox({ member, logout }: { member: MemberSession; logout: Logout }) {
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
