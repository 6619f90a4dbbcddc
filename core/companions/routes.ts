import { Elysia, t } from "elysia";
import { addressOf } from "../audit/http.ts";
import { AppError, notFound } from "../errors.ts";
import type { Requester, TaskService } from "../tasks/service.ts";
import type { CompanionService } from "./service.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 128 }) });

const requester = (request: Request): Requester => {
  const origin = request.headers.has("authorization") ? "api" : "web";
  const address = addressOf(request);
  return { actor: origin, origin, ...(address ? { address } : {}) };
};

/** Companions and their tasks; `available` is false when the core runs without NATS or its own nkey. */
export const companionRoutes = (o: { companions: CompanionService | undefined; tasks: TaskService; why: string }) => () => {
  const need = (): CompanionService => {
    if (!o.companions) throw new AppError("companions_unavailable", o.why);
    return o.companions;
  };
  return new Elysia({ name: "companions" })
    .get("/api/companions", () => ({ companions: o.companions?.list() ?? [], available: !!o.companions, ...(o.companions ? {} : { detail: o.why }) }))
    .post(
      "/api/companions",
      ({ body, request, set }) => {
        const pairing = need().pair(body.name, requester(request).actor);
        set.status = 201;
        return pairing;
      },
      { body: t.Object({ name: t.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }) },
    )
    .get(
      "/api/companions/:id",
      ({ params }) => {
        const c = o.companions?.view(params.id);
        if (!c) throw notFound("companion", params.id);
        const tasks = o.tasks.list({ limit: 200 }).filter((task) => task.target === params.id);
        return { ...c, tasks };
      },
      { params: Id },
    )
    .delete("/api/companions/:id", ({ params, request }) => need().revoke(params.id, requester(request).actor), { params: Id })
    .post(
      "/api/companions/:id/tasks",
      ({ params, body, request, set }) => {
        if (!need().view(params.id)) throw notFound("companion", params.id);
        if (!body || typeof body !== "object" || Array.isArray(body)) throw new AppError("invalid_task", 'body: expected a JSON object with mode "script" or "agent"');
        if ("target" in body) throw new AppError("invalid_task", "target: the companion is in the path; leave target out");
        const task = o.tasks.create({ ...(body as Record<string, unknown>), target: params.id }, requester(request));
        set.status = 202;
        return task;
      },
      { params: Id },
    );
};
