import type { Capability, MemberSession } from "./session";

export interface NavItem {
  key: string;
  label: string;
  to: string;
  capability: Capability;
}

/** The main navigation. Each item is shown to the members whose role has its capability. */
export const MAIN_NAV: NavItem[] = [
  { key: "journeys", label: "Journeys", to: "/journeys", capability: "read" },
  { key: "templates", label: "Templates", to: "/templates", capability: "read" },
  { key: "contacts", label: "Contacts", to: "/contacts", capability: "read" },
  { key: "segments", label: "Segments", to: "/segments", capability: "read" },
  { key: "broadcasts", label: "Broadcasts", to: "/broadcasts", capability: "read" },
  { key: "catalog", label: "Catalog", to: "/catalog", capability: "read" },
  { key: "data-sources", label: "Data sources", to: "/data-sources", capability: "read" },
  { key: "outbox", label: "Outbox", to: "/outbox", capability: "read" },
  { key: "qa", label: "QA", to: "/qa", capability: "qa" },
  { key: "settings", label: "Settings", to: "/settings", capability: "read" },
];

/** Settings sections, shown under Settings. Add a line here for a new section (and its route in settings/). */
export const SETTINGS_NAV: NavItem[] = [
  { key: "members", label: "Members", to: "/settings/members", capability: "manage" },
  { key: "api-keys", label: "API keys", to: "/settings/api-keys", capability: "manage" },
  { key: "sending", label: "Sending", to: "/settings/sending", capability: "manage" },
  { key: "audit", label: "Audit log", to: "/settings/audit", capability: "manage" },
  { key: "tokens", label: "Personal tokens", to: "/settings/tokens", capability: "read" },
  { key: "predictions", label: "Predictions", to: "/settings/predictions", capability: "read" },
];

type Member = Pick<MemberSession, "capabilities">;

export function allowed(items: NavItem[], member: Member): NavItem[] {
  return items.filter((item) => member.capabilities.includes(item.capability));
}

export function mainNavigation(member: Member): NavItem[] {
  return allowed(MAIN_NAV, member);
}

export function settingsNavigation(member: Member): NavItem[] {
  return allowed(SETTINGS_NAV, member);
}

/** Where "/" leads: the first page the member may open. */
export function homePath(member: Member): string {
  return mainNavigation(member)[0]?.to ?? "/settings/tokens";
}
