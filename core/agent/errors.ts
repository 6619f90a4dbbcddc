import { Redactor } from "./redact.ts";
import { ModelCallError, type ProviderName } from "./types.ts";

/** Longest provider error text kept: enough to say what went wrong, too short to carry a request echoed back. */
export const MAX_PROVIDER_ERROR_CHARS = 300;

/** Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | Record<string, string> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const get = (k: string) => (headers instanceof Headers ? headers.get(k) : (headers[k] ?? headers[k.toLowerCase()])) ?? null;
  const ms = get("retry-after-ms");
  if (ms !== null && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get("retry-after");
  if (ra === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

interface SdkErrorLike {
  name?: string;
  message?: string;
  status?: number;
  headers?: Headers | Record<string, string>;
  error?: { type?: string; error?: { type?: string; message?: string }; message?: string };
}

/**
 * A provider's error text as it may be stored, logged and shown: secrets (the
 * provider's own key, and anything shaped like a token) redacted, and cut
 * short, since a provider may echo the whole request back.
 */
export function cleanProviderText(text: string, redactor: Redactor): string {
  const flat = redactor.redact(text).replace(/\s+/g, " ").trim();
  return flat.length > MAX_PROVIDER_ERROR_CHARS ? `${flat.slice(0, MAX_PROVIDER_ERROR_CHARS)}... [cut]` : flat;
}

/** Maps an error from either SDK (they share a lineage) onto ModelCallError, its text cleaned of secrets. */
export function normalizeError(err: unknown, provider: ProviderName, redactor = new Redactor()): ModelCallError {
  if (err instanceof ModelCallError) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const name = e.name ?? (err as object)?.constructor?.name ?? "Error";
  const message = cleanProviderText(e.message || String(err), redactor);
  const mk = (kind: ModelCallError["kind"], retryable: boolean, status?: number, after?: number) =>
    new ModelCallError(`${provider}: ${message}`, provider, status, retryable, after, kind);

  if (name === "APIUserAbortError" || name === "AbortError") return mk("other", false);
  if (name === "APIConnectionTimeoutError") return mk("timeout", true);
  if (name === "APIConnectionError" || (err instanceof TypeError && /fetch|connect|socket/i.test(message))) return mk("network", true);

  const status = typeof e.status === "number" ? e.status : undefined;
  const errorType = e.error?.error?.type ?? e.error?.type;
  const after = retryAfterMs(e.headers);
  if (status === 429 || errorType === "rate_limit_error") return mk("rate_limited", true, status, after);
  if (status === 529 || errorType === "overloaded_error") return mk("overloaded", true, status, after);
  if (status === 408) return mk("timeout", true, status, after);
  if (status !== undefined && status >= 500) return mk("server", true, status, after);
  if (status === 401 || status === 403) return mk("auth", false, status);
  if (status !== undefined && status >= 400) return mk("bad_request", false, status);
  // An `event: error` in the middle of a stream arrives without a status.
  if (errorType === "api_error") return mk("server", true);
  return mk("other", false, status);
}
