import { Type } from "@sinclair/typebox";
import { type BrainTools, defineTool } from "../brain/tools.ts";
import { AppError } from "../errors.ts";
import type { JobsSettings } from "./keys.ts";
import { parseJobRequest } from "./request.ts";
import type { JobService } from "./service.ts";
import { JOB_STATUSES, type JobStore, type JobView } from "./store.ts";

/** What the model sees of a job: no spec echo beyond the essentials. */
function brief(j: JobView) {
  return {
    id: j.id,
    type: j.type,
    status: j.status,
    ...(j.result !== undefined ? { result: j.result } : {}),
    ...(j.error ? { error: j.error } : {}),
    createdAt: new Date(j.createdAt).toISOString(),
  };
}

const FIELDS = {
  command: ["type", "command", "argv", "timeoutMs"],
  http: ["type", "url", "method", "headers", "body", "timeoutMs"],
  agent: ["type", "prompt", "tokenBudget", "timeoutMs"],
} as const;

export function registerJobTools(tools: BrainTools, jobs: JobService, store: JobStore, settings: JobsSettings): void {
  const waitMs = settings.JOB_WAIT_TIMEOUT_MS;
  tools.register(
    defineTool({
      name: "dispatch_job",
      description:
        'Run a background job on a worker. command: an allowlisted read-only program, as `command` ("df -h") or `argv`; no shell syntax. ' +
        "http: one request to `url` (cloud metadata addresses are refused). agent: a worker model with its own tools runs `prompt`. " +
        `By default waits up to ${Math.round(waitMs / 1000)} s for the result; set wait=false to return at once and check later with get_job.`,
      input: Type.Object({
        type: Type.Union([Type.Literal("command"), Type.Literal("http"), Type.Literal("agent")]),
        command: Type.Optional(Type.String({ description: 'command line, e.g. "df -h"' })),
        argv: Type.Optional(Type.Array(Type.String(), { description: "program and arguments" })),
        url: Type.Optional(Type.String()),
        method: Type.Optional(Type.String()),
        headers: Type.Optional(Type.Record(Type.String(), Type.String())),
        body: Type.Optional(Type.String()),
        prompt: Type.Optional(Type.String()),
        tokenBudget: Type.Optional(Type.Integer({ minimum: 256 })),
        timeoutMs: Type.Optional(Type.Integer({ minimum: 100 })),
        wait: Type.Optional(Type.Boolean({ description: "wait for the result (default true)" })),
        idempotencyKey: Type.Optional(Type.String({ description: "reuse to make a retried dispatch return the same job" })),
      }),
      timeoutMs: waitMs + 15_000,
      async run(input, ctx) {
        const picked = Object.fromEntries(
          FIELDS[input.type].flatMap((k) => ((input as Record<string, unknown>)[k] !== undefined ? [[k, (input as Record<string, unknown>)[k]]] : [])),
        );
        const { spec } = parseJobRequest(picked);
        const { job } = await jobs.dispatch(spec, {
          conversationId: ctx.conversationId,
          origin: ctx.origin,
          ...(input.idempotencyKey ? { idempotencyKey: `${ctx.conversationId}:${input.idempotencyKey}` } : {}),
        });
        if (input.wait === false) {
          ctx.emit({ type: "job", id: job.id, status: job.status });
          return brief(job);
        }
        const done = await jobs.waitFor(job.id, waitMs, (ev) => ctx.emit({ type: "job", ...ev }), ctx.signal);
        const final = done ?? job;
        if (final.status === "completed" || final.status === "failed") return brief(final);
        return { ...brief(final), note: `still ${final.status} after ${Math.round(waitMs / 1000)} s; check again with get_job` };
      },
    }),
  );
  tools.register(
    defineTool({
      name: "get_job",
      description: "Status and result of a background job by id.",
      input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
      run(input) {
        const job = store.get(input.id);
        if (!job) throw new AppError("not_found", `job ${input.id} not found`);
        return brief(job);
      },
    }),
  );
  tools.register(
    defineTool({
      name: "list_jobs",
      description: "Recent background jobs, newest first.",
      input: Type.Object({
        status: Type.Optional(Type.Union(JOB_STATUSES.map((st) => Type.Literal(st)))),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
      }),
      run(input) {
        return store.list({ limit: input.limit ?? 10, ...(input.status ? { status: input.status } : {}) }).map((j) => ({ ...brief(j), result: undefined }));
      },
    }),
  );
}
