import { Elysia, t } from "elysia";
import { QueryText, queryInt } from "../api/query.ts";
import { addressOf } from "../audit/http.ts";
import type { AuditLog } from "../audit/service.ts";
import { AppError, notFound } from "../errors.ts";
import { fieldOf } from "./audit.ts";
import type { JobsSettings } from "./keys.ts";
import { parseJobRequest } from "./request.ts";
import type { JobService } from "./service.ts";
import { JOB_STATUSES, type JobStore } from "./store.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 128 }) });

export const jobRoutes = (jobs: JobService, store: JobStore, settings: JobsSettings, audit: AuditLog) => () =>
  new Elysia({ name: "jobs" })
    .get(
      "/api/jobs",
      ({ query }) => {
        const limit = queryInt(query.limit, "limit", 1, 200, 50);
        const items = store.list({ limit, status: query.status, type: query.type, before: queryInt(query.before, "before", 0, Number.MAX_SAFE_INTEGER) });
        return { jobs: items, next: items.length === limit ? items[items.length - 1]!.createdAt : null };
      },
      {
        query: t.Object({
          limit: QueryText,
          before: QueryText,
          status: t.Optional(t.Union(JOB_STATUSES.map((st) => t.Literal(st)))),
          type: t.Optional(t.Union([t.Literal("command"), t.Literal("http"), t.Literal("agent")])),
        }),
      },
    )
    .get(
      "/api/jobs/:id",
      ({ params }) => {
        const job = store.get(params.id);
        if (!job) throw notFound("job", params.id);
        return { ...job, history: store.history(job.id).map(({ id: _, jobId: __, ...h }) => h) };
      },
      { params: Id },
    )
    .post(
      "/api/jobs",
      async ({ body, request, query, set }) => {
        const origin = request.headers.has("authorization") ? "api" : "web";
        const who = { actor: origin, address: addressOf(request) };
        let parsed: ReturnType<typeof parseJobRequest>;
        try {
          parsed = parseJobRequest(body, request.headers.get("idempotency-key"));
        } catch (err) {
          if (err instanceof AppError) {
            // The field, never the message: it may quote what was sent.
            audit.record({ action: "job.refused", outcome: "refused", ...who, detail: { code: err.code, field: fieldOf(err.message) ?? null, origin } });
          }
          throw err;
        }
        const { spec, idempotencyKey } = parsed;
        const traceId = (set.headers["x-trace-id"] as string | undefined) ?? undefined;
        const { job, created } = await jobs.dispatch(spec, { origin, ...who, ...(idempotencyKey ? { idempotencyKey } : {}), ...(traceId ? { traceId } : {}) });
        set.status = created ? 202 : 200;
        const wait = Math.min(queryInt(query.wait, "wait", 0, 3_600_000, 0), settings.JOB_WAIT_TIMEOUT_MS);
        if (wait > 0) return (await jobs.waitFor(job.id, wait)) ?? job;
        return { id: job.id, status: job.status };
      },
      { query: t.Object({ wait: QueryText }) },
    );
