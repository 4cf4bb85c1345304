import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, buildUrl, parseError, readCookie } from "./api";

describe("parseError", () => {
  it("keeps the server's error, code and field messages", () => {
    const error = parseError(400, { error: "email: Already invited.", code: "duplicate_invitation", fields: { email: ["Already invited."] } });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.error).toBe("email: Already invited.");
    expect(error.code).toBe("duplicate_invitation");
    expect(error.field("email")).toBe("Already invited.");
    expect(error.status).toBe(400);
  });

  it("flattens nested field errors into lists of messages", () => {
    const error = parseError(400, { error: "x", code: "invalid", fields: { nodes: [{ config: ["Required."] }], name: "Too long." } });
    expect(error.fields).toEqual({ nodes: ["Required."], name: ["Too long."] });
  });

  it("falls back to a message by status when the body is not ours", () => {
    expect(parseError(403, undefined).error).toBe("Your role does not allow this.");
    expect(parseError(502, "<html>").code).toBe("http_502");
    expect(parseError(404, { detail: "Not found." }).error).toBe("Not found.");
  });
});

describe("readCookie and buildUrl", () => {
  it("reads one cookie among several", () => {
    expect(readCookie("csrftoken", "sessionid=abc; csrftoken=t0k%3Den; other=1")).toBe("t0k=en");
    expect(readCookie("missing", "a=1")).toBeNull();
  });

  it("prefixes /api/ and drops empty query values", () => {
    expect(buildUrl("audit", { action: "member.", offset: 0, limit: undefined, q: "" })).toBe("/api/audit?action=member.&offset=0");
    expect(buildUrl("/v1/track")).toBe("/v1/track");
  });
});

describe("request", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("sends the CSRF token on unsafe methods and throws ApiError on failure", async () => {
    vi.stubGlobal("document", { cookie: "csrftoken=secret123" });
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ error: "Wrong email or password.", code: "invalid_credentials", fields: {} }), { status: 400 }));
    vi.stubGlobal("fetch", fetchMock);
    const failure = await api.post("auth/login", { email: "a@b.c", password: "x" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).code).toBe("invalid_credentials");
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/auth/login");
    expect(init.credentials).toBe("same-origin");
    expect((init.headers as Record<string, string>)["X-CSRFToken"]).toBe("secret123");
    expect(init.body).toBe(JSON.stringify({ email: "a@b.c", password: "x" }));
  });

  it("does not send the CSRF token on GET and returns the parsed JSON", async () => {
    vi.stubGlobal("document", { cookie: "csrftoken=secret123" });
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ count: 0, results: [] }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    expect(await api.get("members")).toEqual({ count: 0, results: [] });
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>)["X-CSRFToken"]).toBeUndefined();
  });

  it("reports a network failure as an ApiError with status 0", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const failure = await api.get("auth/session").catch((error: unknown) => error);
    expect((failure as ApiError).status).toBe(0);
    expect((failure as ApiError).code).toBe("network");
  });
});
