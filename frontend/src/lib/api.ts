/**
 * The one way the browser app talks to the server.
 *
 * - Session auth: cookies go along (same origin); unsafe methods carry the CSRF token from the
 *   `csrftoken` cookie as `X-CSRFToken`.
 * - JSON in, JSON out.
 * - Every failure is thrown as an `ApiError` with the server's `{error, code, fields}` shape and the
 *   HTTP status, so forms can put `fields` next to their inputs and show `error` as a banner.
 */

export type FieldErrors = Record<string, string[]>;

export interface ApiErrorBody {
  error: string;
  code: string;
  fields: FieldErrors;
}

export class ApiError extends Error implements ApiErrorBody {
  readonly error: string;
  readonly code: string;
  readonly fields: FieldErrors;
  readonly status: number;

  constructor(body: ApiErrorBody, status: number) {
    super(body.error);
    this.name = "ApiError";
    this.error = body.error;
    this.code = body.code;
    this.fields = body.fields;
    this.status = status;
  }

  /** The first message for a field, if the server named it. */
  field(name: string): string | undefined {
    return this.fields[name]?.[0];
  }
}

/** A page of a list endpoint (DRF LimitOffsetPagination). */
export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function readCookie(name: string, cookies: string = typeof document === "undefined" ? "" : document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function asStringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => (typeof item === "string" ? [item] : asStringList(item)));
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(asStringList);
  return [];
}

function statusMessage(status: number): string {
  if (status === 401) return "Your session has ended. Log in again.";
  if (status === 403) return "Your role does not allow this.";
  if (status === 404) return "Not found.";
  if (status === 429) return "Too many attempts. Wait a minute and try again.";
  if (status >= 500) return `The server failed (${status}). Try again in a moment.`;
  return `The request failed (${status}).`;
}

/** Turns any error answer (ours, DRF's, a proxy's HTML page) into the one error shape. */
export function parseError(status: number, body: unknown): ApiError {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    const fields: FieldErrors = {};
    if (record.fields && typeof record.fields === "object" && !Array.isArray(record.fields)) {
      for (const [key, value] of Object.entries(record.fields as Record<string, unknown>)) {
        const messages = asStringList(value);
        if (messages.length) fields[key] = messages;
      }
    }
    const detail = typeof record.detail === "string" ? record.detail : undefined;
    const error = typeof record.error === "string" && record.error ? record.error : (detail ?? statusMessage(status));
    const code = typeof record.code === "string" && record.code ? record.code : `http_${status}`;
    return new ApiError({ error, code, fields }, status);
  }
  return new ApiError({ error: statusMessage(status), code: `http_${status}`, fields: {} }, status);
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
}

export function buildUrl(path: string, query?: RequestOptions["query"]): string {
  const url = path.startsWith("/") ? path : `/api/${path}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${url}${url.includes("?") ? "&" : "?"}${search}` : url;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) {
    const token = readCookie("csrftoken");
    if (token) headers["X-CSRFToken"] = token;
  }
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError({ error: "Cannot reach the server. Check your connection.", code: "network", fields: {} }, 0);
  }
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) throw parseError(response.status, data);
  return data as T;
}

/** `api.get("members")` is `/api/members`; a path starting with "/" is used as it is. */
export const api = {
  get: <T>(path: string, query?: RequestOptions["query"], signal?: AbortSignal) =>
    request<T>("GET", path, { query, signal }),
  post: <T>(path: string, body: unknown = {}) => request<T>("POST", path, { body }),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, { body }),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, { body }),
  delete: <T = void>(path: string) => request<T>("DELETE", path),
};

/** Message of any thrown value, for banners. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.error;
  if (error instanceof Error) return error.message;
  return String(error);
}
