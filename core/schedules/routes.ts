import { Elysia, t } from "elysia";
import { QueryText, queryInt } from "../api/query.ts";
import { addressOf } from "../audit/http.ts";
import { notFound } from "../errors.ts";
import type { Requester, ScheduleService } from "./service.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 128 }) });

/** A bearer token is a program calling the API; the session cookie is the owner in the console. */
const requester = (request: Request): Requester => {
  const address = addressOf(request);
  return { actor: request.headers.has("authorization") ? "api" : "web", ...(address ? { address } : {}) };
};

export const scheduleRoutes = (schedules: ScheduleService) => () =>
  new Elysia({ name: "schedules" })
    .get("/api/schedules", () => ({ schedules: schedules.list(), timeZone: schedules.defaultZone }))
    .post("/api/schedules", ({ body, request, set }) => {
      const s = schedules.create(body, requester(request));
      set.status = 201;
      return s;
    })
    // The next due times of a `when` in a zone, before saving it.
    .post("/api/schedules/preview", ({ body }) => schedules.preview(body))
    .get(
      "/api/schedules/:id",
      ({ params, query }) => {
        const s = schedules.get(params.id);
        if (!s) throw notFound("schedule", params.id);
        return { ...s, runs: schedules.runs(params.id, queryInt(query.runs, "runs", 1, 500, 50)) };
      },
      { params: Id, query: t.Object({ runs: QueryText }) },
    )
    .put("/api/schedules/:id", ({ params, body, request }) => schedules.replace(params.id, body, requester(request)), { params: Id })
    .delete("/api/schedules/:id", ({ params, request }) => schedules.delete(params.id, requester(request)), { params: Id })
    .post(
      "/api/schedules/:id/run",
      ({ params, request, set }) => {
        const run = schedules.runNow(params.id, requester(request));
        set.status = 202;
        return run;
      },
      { params: Id },
    )
    .post("/api/schedules/:id/pause", ({ params, request }) => schedules.pause(params.id, requester(request)), { params: Id })
    .post("/api/schedules/:id/resume", ({ params, request }) => schedules.resume(params.id, requester(request)), { params: Id });
