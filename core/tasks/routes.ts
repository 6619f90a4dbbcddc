import { Elysia, t } from "elysia";
import { QueryText, queryInt } from "../api/query.ts";
import { eventStream } from "../api/sse.ts";
import { addressOf } from "../audit/http.ts";
import { notFound } from "../errors.ts";
import type { Requester, TaskService } from "./service.ts";
import { TASK_STATUSES } from "./store.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 128 }) });

/** A bearer token is a program (or the CLI) calling the API; the session cookie is the owner in the console. */
const requester = (request: Request): Requester => {
  const origin = request.headers.has("authorization") ? "api" : "web";
  const address = addressOf(request);
  return { actor: origin, origin, ...(address ? { address } : {}) };
};

const headerMap = (set: { headers: Record<string, unknown> }) => Object.fromEntries(Object.entries(set.headers).filter((e): e is [string, string] => typeof e[1] === "string"));

export const taskRoutes = (tasks: TaskService) => () =>
  new Elysia({ name: "tasks" })
    .get(
      "/api/tasks",
      ({ query }) => {
        const limit = queryInt(query.limit, "limit", 1, 200, 50);
        const items = tasks.list({ limit, ...(query.status ? { status: query.status } : {}), before: queryInt(query.before, "before", 0, Number.MAX_SAFE_INTEGER) });
        return { tasks: items, next: items.length === limit ? items[items.length - 1]!.createdAt : null };
      },
      { query: t.Object({ limit: QueryText, before: QueryText, status: t.Optional(t.Union(TASK_STATUSES.map((s) => t.Literal(s)))) }) },
    )
    .post("/api/tasks", ({ body, request, set }) => {
      const task = tasks.create(body, requester(request));
      set.status = 202;
      return task;
    })
    .get(
      "/api/tasks/:id",
      ({ params }) => {
        const task = tasks.get(params.id);
        if (!task) throw notFound("task", params.id);
        return task;
      },
      { params: Id },
    )
    // Progress, statuses and the result as server-sent events, from after Last-Event-ID (or ?after=) to the end.
    .get(
      "/api/tasks/:id/events",
      ({ params, request, query, set }) => {
        if (!tasks.get(params.id)) throw notFound("task", params.id);
        const header = request.headers.get("last-event-id");
        const after = header !== null ? queryInt(header, "Last-Event-ID", 0, Number.MAX_SAFE_INTEGER, 0) : queryInt(query.after, "after", 0, Number.MAX_SAFE_INTEGER, 0);
        return eventStream((signal) => tasks.follow(params.id, after, signal), headerMap(set));
      },
      { params: Id, query: t.Object({ after: QueryText }) },
    )
    .delete("/api/tasks/:id", ({ params, request }) => tasks.cancel(params.id, requester(request)), { params: Id })
    .post("/api/tasks/:id/approve", ({ params, request }) => tasks.approve(params.id, requester(request)), { params: Id });
