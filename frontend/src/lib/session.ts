import { createContext, useContext } from "react";
import { useQuery, type QueryClient } from "@tanstack/react-query";
import { api } from "./api";

export type Role = "admin" | "marketer" | "qa";
export type Capability = "read" | "edit" | "qa" | "approve" | "manage";

export const ROLES: { value: Role; label: string; help: string }[] = [
  { value: "admin", label: "Admin", help: "Everything, including members, keys and sending settings" },
  { value: "marketer", label: "Marketer", help: "Journeys, templates, contacts and catalog" },
  { value: "qa", label: "QA", help: "Reads everything; previews, simulates, test-sends and approves" },
];

export function roleLabel(role: string): string {
  return ROLES.find((item) => item.value === role)?.label ?? role;
}

export interface WorkspaceRef {
  id: number;
  name: string;
  role: Role;
}

/** GET /api/auth/session when logged in as an active member. */
export interface MemberSession {
  authenticated: true;
  user: { id: number; email: string; name: string };
  workspace: { id: number; name: string; slug: string };
  role: Role;
  capabilities: Capability[];
  workspaces: WorkspaceRef[];
}

export interface AnonymousSession {
  authenticated: boolean;
  user: null;
  workspace: null;
}

export type Session = MemberSession | AnonymousSession;

export const SESSION_KEY = ["session"] as const;

export function isMember(session: Session | undefined): session is MemberSession {
  return Boolean(session && session.authenticated && session.user && session.workspace);
}

export function can(session: Session | undefined, capability: Capability): boolean {
  return isMember(session) && session.capabilities.includes(capability);
}

export function useSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: ({ signal }) => api.get<Session>("auth/session", undefined, signal),
    staleTime: 60_000,
  });
}

/** What GET /api/auth/session answers once the member has logged out. */
export const LOGGED_OUT: AnonymousSession = { authenticated: false, user: null, workspace: null };

/**
 * The member the shell shows, for the components inside it. Only the shell reads the session query,
 * so a page that re-renders while the session ends (an answer still in flight) sees the member it
 * was opened for, never a logged-out session: the shell's own render unmounts it.
 */
export const MemberContext = createContext<MemberSession | null>(null);

/** The logged-in member's session; only for components rendered inside the shell. */
export function useMember(): MemberSession {
  const member = useContext(MemberContext);
  if (!member) throw new Error("useMember() outside the logged-in shell");
  return member;
}

/**
 * Forgets everything cached for a session but the session itself: once the session has ended, and
 * on a workspace switch. Answers still in flight are dropped, not stored.
 */
export async function forgetSessionData(client: QueryClient): Promise<void> {
  const others = { predicate: (query: { queryKey: readonly unknown[] }) => query.queryKey[0] !== SESSION_KEY[0] };
  await client.cancelQueries(others);
  client.removeQueries(others);
  client.getMutationCache().clear();
}

/** True when the member may do it: for showing or hiding controls (the server checks again). */
export function useCan(capability: Capability): boolean {
  return useMember().capabilities.includes(capability);
}
