import type { Server } from "bun";
import { Elysia } from "elysia";
import { auditPreflight } from "../audit/http.ts";
import { auditRoutes } from "../audit/routes.ts";
import { AppError } from "../errors.ts";
import { notificationRoutes } from "../notifications/routes.ts";
import type { Services } from "../services.ts";
import { traceIdFrom } from "../telemetry/trace.ts";
import { currentTraceId, withSpan } from "../telemetry/tracing.ts";
import { authenticate, authRoutes } from "./auth.ts";
import { readJson } from "./body.ts";
import { chatRoutes } from "./chat.ts";
import { ClientAddress, clientKey, rememberClient } from "./client-ip.ts";
import type { Connections } from "./connections.ts";
import { conversationRoutes } from "./conversations.ts";
import { corsHeaders, preflight } from "./cors.ts";
import { errorResponse, mapError } from "./errors.ts";
import { modelRoutes } from "./models.ts";
import { OriginGuard } from "./origin.ts";
import { isWebhook, OPEN_BODY_BYTES, PathPolicy, routable } from "./paths.ts";
import { queryProblem } from "./query.ts";
import { routeLabel, routeLabels } from "./route-label.ts";
import type { RoutePlugin } from "./routes.ts";
import { systemRoutes } from "./system.ts";
import { webhookRoutes } from "./webhooks.ts";

export interface ApiOptions {
  routes?: RoutePlugin[];
  /** Serves every path the API does not own (the UI). */
  fallback?: (request: Request) => Response | undefined | Promise<Response | undefined>;
}

/**
 * The fetch handler for Bun.serve: records the client address, and around the
 * app a server span (continuing the caller's `traceparent`) and the request metrics.
 */
export function serveFetch(app: { handle(r: Request): Promise<Response> }, s: Services, connections?: Connections) {
  const addresses = new ClientAddress(s.config.trustedProxies);
  return async (incoming: Request, server: Server<unknown>): Promise<Response> => {
    const t0 = performance.now();
    const peer = server.requestIP(incoming);
    if (!connections || !peer) return handle(incoming, peer?.address, t0);
    const key = `${peer.address}:${peer.port}`;
    connections.begin(key);
    let res: Response;
    try {
      res = await handle(incoming, peer.address, t0);
    } catch (err) {
      connections.end(key, new Response());
      throw err;
    }
    return connections.end(key, res);
  };

  async function handle(incoming: Request, peer: string | undefined, t0: number): Promise<Response> {
    const request = routable(incoming);
    if (request instanceof Response) return request;
    if (peer) rememberClient(request, addresses.resolve(peer, request.headers.get("x-forwarded-for")));
    const method = request.method;
    return withSpan(`HTTP ${method}`, { kind: "server", parent: request.headers.get("traceparent"), attributes: { "http.request.method": method } }, async (span) => {
      let res: Response;
      try {
        res = await app.handle(request);
      } catch (err) {
        // Never Bun's development error page, which shows source lines.
        s.log.error("request failed outside the app", { error: err as Error });
        res = errorResponse("internal", "internal error; the log has the details");
      }
      const route = routeLabel(request, res.status);
      span.rename(`${method} ${route}`);
      span.set({ "http.route": route, "http.response.status_code": res.status });
      if (res.status >= 500) span.fail(`HTTP ${res.status}`);
      s.metrics.httpRequests.inc({ method, route, status: String(res.status) });
      s.metrics.httpDuration.observe({ method, route }, (performance.now() - t0) / 1000);
      return res;
    });
  }
}

export function createApi(s: Services, opts: ApiOptions = {}) {
  const paths = new PathPolicy(() => app.routes);
  const origins = new OriginGuard(s.config.corsOrigins, s.config.publicUrl);
  let app = new Elysia({ name: "bakerst", normalize: false })
    .decorate("s", s)
    .use(routeLabels)
    .onRequest(({ request, set }) => {
      // Served by Bun, the request runs in its span; driven by app.handle in a test, it has none.
      const trace = currentTraceId() ?? traceIdFrom(request.headers);
      set.headers["x-trace-id"] = trace;
      const cors = corsHeaders(request, s.config.corsOrigins);
      if (cors) Object.assign(set.headers, cors);
      if (request.method === "OPTIONS") return auditPreflight(s.audit, request, preflight(request, s.config.corsOrigins, trace));
      const access = paths.access(request.method, request.url);
      const denied = origins.refuse(request) ?? (access === "private" ? authenticate(s, request, clientKey(request)) : undefined);
      if (denied) {
        for (const [k, v] of Object.entries(set.headers)) if (typeof v === "string") denied.headers.set(k, v);
        return denied;
      }
      if (access !== "ui") {
        const bad = queryProblem(request.url);
        if (bad) throw bad;
      }
    })
    // JSON lines (POST /api/memories/import) are not one JSON document; that route reads its body itself, under the same cap.
    .onParse(({ request }) => {
      if (request.headers.get("content-type")?.startsWith("application/x-ndjson")) return "";
      // A webhook's body is read by its route, after its secret was checked.
      if (isWebhook(request.method, request.url)) return "";
      // Without credentials only the login and logout bodies are read, and they are small.
      return readJson(request, paths.access(request.method, request.url) === "open" ? OPEN_BODY_BYTES : s.config.maxBodyBytes);
    })
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
    .use(auditRoutes(s))
    .use(webhookRoutes(s));
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
