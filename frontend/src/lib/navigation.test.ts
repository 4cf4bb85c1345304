import { describe, expect, it } from "vitest";
import { homePath, mainNavigation, settingsNavigation } from "./navigation";
import type { Capability } from "./session";

// The capabilities the server hands out per role (accounts/models.py CAPABILITIES).
const ROLE_CAPABILITIES: Record<string, Capability[]> = {
  admin: ["approve", "edit", "manage", "qa", "read"],
  marketer: ["edit", "qa", "read"],
  qa: ["approve", "qa", "read"],
};

const labels = (items: { label: string }[]) => items.map((item) => item.label);

describe("navigation by role", () => {
  it("shows every section to every role that may read the workspace", () => {
    for (const role of Object.keys(ROLE_CAPABILITIES)) {
      expect(labels(mainNavigation({ capabilities: ROLE_CAPABILITIES[role] }))).toEqual(["Journeys", "Templates", "Contacts", "Segments", "Broadcasts", "Catalog", "Data sources", "Outbox", "QA", "Settings"]);
    }
  });

  it("gives only admins the members, API keys, sending and audit log settings", () => {
    expect(labels(settingsNavigation({ capabilities: ROLE_CAPABILITIES.admin }))).toEqual(["Members", "API keys", "Sending", "Audit log", "Personal tokens", "Predictions"]);
    expect(labels(settingsNavigation({ capabilities: ROLE_CAPABILITIES.marketer }))).toEqual(["Personal tokens", "Predictions"]);
    expect(labels(settingsNavigation({ capabilities: ROLE_CAPABILITIES.qa }))).toEqual(["Personal tokens", "Predictions"]);
  });

  it("shows nothing to a session without capabilities and sends it to its tokens", () => {
    expect(mainNavigation({ capabilities: [] })).toEqual([]);
    expect(homePath({ capabilities: [] })).toBe("/settings/tokens");
    expect(homePath({ capabilities: ROLE_CAPABILITIES.qa })).toBe("/journeys");
  });
});

describe("safeNext", () => {
  it("keeps paths of this app and refuses other origins and the login page", async () => {
    const { safeNext } = await import("../auth/AuthLayout");
    expect(safeNext("/journeys/12")).toBe("/journeys/12");
    expect(safeNext("//evil.example")).toBeNull();
    expect(safeNext("https://evil.example")).toBeNull();
    expect(safeNext("/login?next=/x")).toBeNull();
    expect(safeNext(null)).toBeNull();
  });
});
