import { AppError, ERRORS, type ErrorCode } from "../errors.ts";

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** The JSON error body with the status the error table gives the code. */
export function errorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message }, ...extra }), {
    status: ERRORS[code].status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

interface ElysiaValidationLike {
  type?: string;
  valueError?: { path?: string; message?: string };
}

/** "/messages/0/text" -> "messages[0].text"; the body's root becomes "body". */
export function fieldName(path: string | undefined, on = "body"): string {
  if (!path || path === "/") return on;
  return path
    .split("/")
    .filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join("");
}

/** The one place that turns any error into `{ error: { code, message } }` and a status. */
export function mapError(code: string | number, error: unknown): { code: ErrorCode; message: string; headers?: Record<string, string> } {
  if (error instanceof AppError) return { code: error.code, message: error.message, headers: error.headers };
  const cause = (error as { cause?: unknown })?.cause;
  if (code === "PARSE") {
    if (cause instanceof AppError) return { code: cause.code, message: cause.message };
    return { code: "invalid_body", message: "the request body could not be parsed" };
  }
  if (code === "VALIDATION") {
    const v = error as ElysiaValidationLike;
    const on = v.type === "query" ? "query" : v.type === "params" ? "path" : "body";
    const field = fieldName(v.valueError?.path, on);
    const why = (v.valueError?.message ?? "is invalid").replace(/^Expected/, "expected");
    return { code: "invalid_request", message: `${field}: ${why}` };
  }
  if (code === "NOT_FOUND") return { code: "not_found", message: "no such route" };
  return { code: "internal", message: "internal error; the log has the details" };
}
