/**
 * The console's only way to the core: HTTP to /api with the session cookie.
 * Errors arrive as `{ error: { code, message } }`; they become ApiError.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
  /** The area behind this route is not part of this build or not started. */
  get missing(): boolean {
    return this.status === 404 && this.code === "not_found" && /no API route/.test(this.message);
  }
}

let onUnauthorized: (() => void) | undefined;
/** Called when any request answers 401 (session gone), so the app can show the login page. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function toApiError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `request failed with ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body?.error?.code) code = body.error.code;
    if (body?.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status text
  }
  const retry = Number(res.headers.get("retry-after"));
  return new ApiError(res.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  signal?: AbortSignal;
  /** Do not treat 401 as "session gone" (the login call itself). */
  quiet401?: boolean;
}

export async function raw(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method: opts.method ?? (opts.json !== undefined ? "POST" : "GET"),
    headers,
    body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
    credentials: "same-origin",
    signal: opts.signal,
  });
  if (res.status === 401 && !opts.quiet401) onUnauthorized?.();
  return res;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await raw(path, opts);
  if (!res.ok) throw await toApiError(res);
  return (await res.json()) as T;
}

/** Builds a query string from the defined, non-empty values only. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}
