import { Elysia } from "elysia";

/**
 * Metrics label each request by the route pattern that matched
 * (`/api/jobs/:id`), never by its path: paths are the caller's to choose,
 * so labels from them would grow the series without end.
 */
const matched = new WeakMap<Request, string>();

/** Records the matched pattern; `use` it before the routes and before the app's own onError. */
export const routeLabels = new Elysia({ name: "route-labels" })
  .onTransform({ as: "global" }, ({ request, route }) => {
    matched.set(request, route);
  })
  // A body that fails to parse never reaches transform; its route is known here.
  .onError({ as: "global" }, ({ request, route }) => {
    if (route) matched.set(request, route);
  });

/**
 * The label for a finished request: the pattern, `ui` for what the console's
 * catch-all served, `unmatched` for a path no route owns, `unrouted` for a
 * request answered before routing (credentials, origin, preflight).
 */
export function routeLabel(request: Request, status: number): string {
  const route = matched.get(request);
  if (route === undefined) return "unrouted";
  if (route === "/*" || route === "*") return status < 400 ? "ui" : "unmatched";
  if (route === "/api/*") return "unmatched";
  return route;
}
