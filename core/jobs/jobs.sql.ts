import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One row per job; `status` only moves forward (queued < received < running < completed|failed). */
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    type: text("type", { enum: ["command", "http", "agent"] }).notNull(),
    /** The job as dispatched (argv, url, prompt...). */
    spec: text("spec", { mode: "json" }).notNull(),
    status: text("status", { enum: ["queued", "received", "running", "completed", "failed"] }).notNull(),
    result: text("result", { mode: "json" }),
    error: text("error", { mode: "json" }),
    /** A retried dispatch with the same key returns this job instead of making another. */
    idempotencyKey: text("idempotency_key"),
    /** The worker holding the job: the first to report the current delivery; only its statuses apply. */
    workerId: text("worker_id"),
    attempts: integer("attempts").notNull().default(0),
    /** When the bus stored the holder's last status; silent past the ack wait, another delivery may take over. */
    leaseAt: integer("lease_at"),
    conversationId: text("conversation_id"),
    /** Who dispatched it: web, api, or the origin of the turn whose tool did (telegram, schedule...). */
    origin: text("origin"),
    traceId: text("trace_id"),
    timeoutMs: integer("timeout_ms").notNull(),
    /** Past this without a final status, the reaper fails the job. */
    deadlineAt: integer("deadline_at").notNull(),
    /** Set once the bus has the job; unpublished rows are published again (outbox). */
    publishedAt: integer("published_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("jobs_idempotency_key_idx").on(t.idempotencyKey), index("jobs_status_idx").on(t.status, t.deadlineAt), index("jobs_created_idx").on(t.createdAt, t.id)],
);

/** Every status a worker reported, duplicates and late ones included: the job's history. */
export const jobStatuses = sqliteTable(
  "job_statuses",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    status: text("status").notNull(),
    workerId: text("worker_id").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    /** Whether this status moved the job forward (false for duplicates and stale ones). */
    applied: integer("applied", { mode: "boolean" }).notNull(),
  },
  (t) => [uniqueIndex("job_statuses_unique_idx").on(t.jobId, t.status, t.workerId, t.attempt)],
);
