import { errorResponse } from "./errors.ts";

const ALLOW_HEADERS = "authorization, content-type, last-event-id, traceparent";
const ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

/** CORS headers for an allowed origin; none at all for any other (the browser then blocks it). */
export function corsHeaders(request: Request, allowed: string[]): Record<string, string> | undefined {
  const origin = request.headers.get("origin");
  if (!origin || !allowed.includes(origin)) return undefined;
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": "x-trace-id, retry-after",
    vary: "Origin",
  };
}

export function preflight(request: Request, allowed: string[], trace: string): Response {
  const cors = corsHeaders(request, allowed);
  if (!cors) return errorResponse("cors_forbidden", "this origin is not in CORS_ORIGINS", { "x-trace-id": trace });
  return new Response(null, {
    status: 204,
    headers: { ...cors, "access-control-allow-methods": ALLOW_METHODS, "access-control-allow-headers": ALLOW_HEADERS, "access-control-max-age": "600", "x-trace-id": trace },
  });
}
