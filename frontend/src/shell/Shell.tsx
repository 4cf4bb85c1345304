import { Suspense, useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router-dom";
import { useMutation, useQueryClient, type UseMutationResult } from "@tanstack/react-query";
import { api, errorMessage } from "../lib/api";
import { mainNavigation, settingsNavigation } from "../lib/navigation";
import { forgetSessionData, isMember, LOGGED_OUT, MemberContext, roleLabel, SESSION_KEY, useSession, type MemberSession } from "../lib/session";
import { Banner, Loading } from "../lib/ui";
import { featureRoutes } from "../routes";
import { WorkspaceSwitcher } from "./WorkspaceSwitcher";
import { Logo } from "./Logo";
import { Checklist } from "./Checklist";

type Logout = UseMutationResult<unknown, Error, void>;

/** Below this width the sidebar is a drawer behind the top bar's "Menu" button (keep in step with styles.css). */
const DRAWER_QUERY = "(max-width: 900px)";

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

/** The editors of full-layout features (the canvas, the template editor) take the whole height: no checklist above them. */
function isFullPageEditor(pathname: string): boolean {
  return featureRoutes.some(({ path, layout }) => {
    if (layout !== "full") return false;
    const base = `/${path.replace(/\/\*$/, "")}`;
    return pathname.startsWith(`${base}/`) && pathname !== `${base}/`;
  });
}

const FOCUSABLE = 'a[href], button:not([disabled]), select:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * The navigation drawer of narrow screens: open/closed, closed on navigation, on Escape and when
 * the screen grows wide; focus moves into it when it opens, stays inside while open (Tab wraps)
 * and goes back to the "Menu" button when it closes (or to the page after a navigation).
 */
function useDrawer() {
  const [open, setOpen] = useState(false);
  const drawer = useRef<HTMLElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const location = useLocation();
  const lastPath = useRef(location.pathname);

  const close = useCallback(() => {
    setOpen(false);
    button.current?.focus();
  }, []);

  const openNow = useRef(open);
  openNow.current = open;

  useEffect(() => {
    if (lastPath.current === location.pathname) return;
    lastPath.current = location.pathname;
    if (!openNow.current) return;
    // A link in the drawer was followed: the drawer goes, the focus goes to the new page.
    setOpen(false);
    document.getElementById("main")?.focus();
  }, [location.pathname]);

  useEffect(() => {
    if (!open) return;
    drawer.current?.querySelector<HTMLElement>(FOCUSABLE)?.focus();
    const narrow = window.matchMedia(DRAWER_QUERY);
    const onChange = () => {
      if (!narrow.matches) setOpen(false);
    };
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    };
    narrow.addEventListener("change", onChange);
    document.addEventListener("keydown", onKey);
    return () => {
      narrow.removeEventListener("change", onChange);
      document.removeEventListener("keydown", onKey);
    };
  }, [open, close]);

  const trapTab = (event: KeyboardEvent<HTMLElement>) => {
    if (!open || event.key !== "Tab" || !drawer.current) return;
    const items = [...drawer.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((item) => item.offsetParent !== null);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };

  return { open, toggle: () => (open ? close() : setOpen(true)), close, drawer, button, trapTab };
}

function ShellFrame({ member, logout }: { member: MemberSession; logout: Logout }) {
  const location = useLocation();
  const inSettings = location.pathname.startsWith("/settings");
  const menu = useDrawer();
  return (
    <div className="shell" data-menu={menu.open ? "open" : "closed"}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <Logo />
          <span>Wayline</span>
        </div>
        <button
          ref={menu.button}
          type="button"
          className="button button-small topbar-menu"
          aria-expanded={menu.open}
          aria-controls="sidebar"
          onClick={menu.toggle}
        >
          Menu
        </button>
      </header>
      {menu.open ? <div className="drawer-backdrop" aria-hidden="true" onClick={menu.close} /> : null}
      <aside
        id="sidebar"
        ref={menu.drawer}
        className="sidebar"
        aria-label={menu.open ? "Menu" : undefined}
        aria-modal={menu.open ? true : undefined}
        role={menu.open ? "dialog" : undefined}
        onKeyDown={menu.trapTab}
      >
        <div className="sidebar-head">
          <div className="brand">
            <Logo />
            <span>Wayline</span>
          </div>
          <button type="button" className="button button-small sidebar-close" onClick={menu.close}>
            Close menu
          </button>
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
        {isFullPageEditor(location.pathname) ? null : <Checklist member={member} />}
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
