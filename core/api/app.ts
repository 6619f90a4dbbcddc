import { Elysia } from "elysia";
import type { Server } from "bun";
import { AppError } from "../errors.ts";
import { ClientAddress, clientKey, rememberClient } from "./client-ip.ts";
import { auditPreflight } from "../audit/http.ts";
import { auditRoutes } from "../audit/routes.ts";
import type { Services } from "../services.ts";
import { traceIdFrom } from "../telemetry/trace.ts";
import { authenticate, authRoutes, isPublic } from "./auth.ts";
import { readJson } from "./body.ts";
import { chatRoutes } from "./chat.ts";
import { conversationRoutes } from "./conversations.ts";
import { corsHeaders, preflight } from "./cors.ts";
import { errorResponse, mapError } from "./errors.ts";
import { modelRoutes } from "./models.ts";
import { notificationRoutes } from "../notifications/routes.ts";
import type { RoutePlugin } from "./routes.ts";
import { systemRoutes } from "./system.ts";

export interface ApiOptions {
  routes?: RoutePlugin[];
  /** Serves every path the API does not own (the UI). */
  fallback?: (request: Request) => Response | undefined | Promise<Response | undefined>;
}

/** Collapses ids in a path so metrics keep a bounded set of route labels. */
export function routeLabel(path: string, status: number): string {
  if (status === 404) return "unmatched";
  if (!(path.startsWith("/api/") || path === "/ping" || path === "/readyz" || path === "/metrics")) return "ui";
  return path.replace(/\/(?=[^/]*\d)[^/]{8,}/g, "/:id");
}

/** The fetch handler for Bun.serve: records the client address and request metrics around the app. */
export function serveFetch(app: { handle(r: Request): Promise<Response> }, s: Services) {
  const addresses = new ClientAddress(s.config.trustedProxies);
  return async (request: Request, server: Server<unknown>): Promise<Response> => {
    const t0 = performance.now();
    const peer = server.requestIP(request)?.address;
    if (peer) rememberClient(request, addresses.resolve(peer, request.headers.get("x-forwarded-for")));
    const res = await app.handle(request);
    const method = request.method;
    const route = routeLabel(new URL(request.url).pathname, res.status);
    s.metrics.httpRequests.inc({ method, route, status: String(res.status) });
    s.metrics.httpDuration.observe({ method, route }, (performance.now() - t0) / 1000);
    return res;
  };
}

export function createApi(s: Services, opts: ApiOptions = {}) {
  let app = new Elysia({ name: "bakerst", normalize: false })
    .decorate("s", s)
    .onRequest(({ request, set }) => {
      const trace = traceIdFrom(request.headers);
      set.headers["x-trace-id"] = trace;
      const cors = corsHeaders(request, s.config.corsOrigins);
      if (cors) Object.assign(set.headers, cors);
      const url = new URL(request.url);
      if (request.method === "OPTIONS") return auditPreflight(s.audit, request, preflight(request, s.config.corsOrigins, trace));
      if (isPublic(request.method, url.pathname)) return;
      const denied = authenticate(s, request, clientKey(request));
      if (denied) {
        for (const [k, v] of Object.entries(set.headers)) if (typeof v === "string") denied.headers.set(k, v);
        return denied;
      }
    })
    // JSON lines (POST /api/memories/import) are not one JSON document; that route reads its body itself, under the same cap.
    .onParse(({ request }) => (request.headers.get("content-type")?.startsWith("application/x-ndjson") ? "" : readJson(request, s.config.maxBodyBytes)))
    .onError(({ code, error, set, request }) => {
      const e = mapError(code, error);
      if (e.code === "internal" && !(error instanceof AppError)) s.log.error("request failed", { path: new URL(request.url).pathname, error: error as Error });
      const headers: Record<string, string> = { ...(e.headers ?? {}) };
      for (const [k, v] of Object.entries(set.headers)) if (typeof v === "string") headers[k] = v;
      return errorResponse(e.code, e.message, headers);
    })
    .use(systemRoutes(s))
    .use(authRoutes(s))
    .use(chatRoutes(s))
    .use(conversationRoutes(s))
    .use(modelRoutes(s))
    .use(notificationRoutes(s))
    .use(auditRoutes(s));
  for (const plugin of opts.routes ?? []) app = app.use(plugin(s)) as typeof app;
  return app
    .all("/api/*", ({ request }) => {
      throw new AppError("not_found", `no API route ${request.method} ${new URL(request.url).pathname}`);
    })
    .all("*", async ({ request }) => {
      const res = await opts.fallback?.(request);
      if (res) return res;
      throw new AppError("not_found", `nothing at ${new URL(request.url).pathname}`);
    });
}
