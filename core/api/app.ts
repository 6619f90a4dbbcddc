import { Elysia } from "elysia";
import type { Server } from "bun";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { traceIdFrom } from "../telemetry/trace.ts";
import { authenticate, authRoutes, isPublic } from "./auth.ts";
import { readJson } from "./body.ts";
import { chatRoutes } from "./chat.ts";
import { conversationRoutes } from "./conversations.ts";
import { corsHeaders, preflight } from "./cors.ts";
import { errorResponse, mapError } from "./errors.ts";
import { modelRoutes } from "./models.ts";
import { systemRoutes } from "./system.ts";

/** What a route plugin gets: the services, and the app it adds itself to. */
export type Api = ReturnType<typeof createApi>;

/** Extra route groups later areas add (jobs, memory, tasks...), each an Elysia plugin. */
export type RoutePlugin = (s: Services) => Elysia<any, any, any, any, any, any, any>;

export interface ApiOptions {
  routes?: RoutePlugin[];
  /** Serves every path the API does not own (the UI). */
  fallback?: (request: Request) => Response | undefined | Promise<Response | undefined>;
}

function clientKey(server: Server<unknown> | null, request: Request): string {
  return server?.requestIP(request)?.address ?? "local";
}

export function createApi(s: Services, opts: ApiOptions = {}) {
  const started = new WeakMap<Request, number>();
  let app = new Elysia({ name: "bakerst" })
    .decorate("s", s)
    .derive({ as: "global" }, ({ request, server }) => ({ client: clientKey(server as Server<unknown> | null, request) }))
    .onRequest(({ request, set, server }) => {
      started.set(request, performance.now());
      const trace = traceIdFrom(request.headers);
      set.headers["x-trace-id"] = trace;
      const cors = corsHeaders(request, s.config.corsOrigins);
      if (cors) Object.assign(set.headers, cors);
      const url = new URL(request.url);
      if (request.method === "OPTIONS") return preflight(request, s.config.corsOrigins, trace);
      if (isPublic(request.method, url.pathname)) return;
      const denied = authenticate(s, request, clientKey(server as Server<unknown> | null, request));
      if (denied) {
        for (const [k, v] of Object.entries(set.headers)) if (typeof v === "string") denied.headers.set(k, v);
        return denied;
      }
    })
    .onParse(({ request }) => readJson(request, s.config.maxBodyBytes))
    .onError(({ code, error, set, request }) => {
      const e = mapError(code, error);
      if (e.status >= 500 && !(error instanceof AppError)) s.log.error("request failed", { path: new URL(request.url).pathname, error: error as Error });
      const headers: Record<string, string> = { ...(e.headers ?? {}) };
      for (const [k, v] of Object.entries(set.headers)) if (typeof v === "string") headers[k] = v;
      return errorResponse(e.status, e.code, e.message, headers);
    })
    .onAfterResponse(({ request, route, set }) => {
      const t0 = started.get(request);
      const method = request.method;
      const status = String(typeof set.status === "number" ? set.status : 200);
      s.metrics.httpRequests.inc({ method, route: route || "unmatched", status });
      if (t0 !== undefined) s.metrics.httpDuration.observe({ method, route: route || "unmatched" }, (performance.now() - t0) / 1000);
    })
    .use(systemRoutes(s))
    .use(authRoutes(s))
    .use(chatRoutes(s))
    .use(conversationRoutes(s))
    .use(modelRoutes(s));
  for (const plugin of opts.routes ?? []) app = app.use(plugin(s)) as typeof app;
  return app
    .all("/api/*", ({ request }) => {
      throw new AppError("not_found", `no API route ${request.method} ${new URL(request.url).pathname}`, 404);
    })
    .all("*", async ({ request }) => {
      const res = await opts.fallback?.(request);
      if (res) return res;
      throw new AppError("not_found", `nothing at ${new URL(request.url).pathname}`, 404);
    });
}
