import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One row per schedule. `nextDueAt` is the first due time not yet handled: the cursor the timer and catch-up read. */
export const schedules = sqliteTable(
  "schedules",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** `{ cron }`, `{ at }` or `{ every, from? }`: see timing.ts. */
    when: text("when", { mode: "json" }).notNull(),
    timeZone: text("time_zone").notNull(),
    kind: text("kind", { enum: ["agent", "job", "task"] }).notNull(),
    /** What runs: the prompt and conversation, the job request, or the task request. */
    action: text("action", { mode: "json" }).notNull(),
    overlap: text("overlap", { enum: ["skip", "queue"] }).notNull(),
    catchUp: text("catch_up", { enum: ["skip", "once", "each"] }).notNull(),
    paused: integer("paused", { mode: "boolean" }).notNull().default(false),
    /** `owner` (console, API) or `agent` (a tool call): the agent's are marked, counted and revocable. */
    createdBy: text("created_by", { enum: ["owner", "agent"] }).notNull(),
    /** Agent kind with its own conversation: the one its first run opened. */
    conversationId: text("conversation_id"),
    /** Null once a one-shot has run, or when nothing is due any more. */
    nextDueAt: integer("next_due_at"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("schedules_next_idx").on(t.nextDueAt), index("schedules_updated_idx").on(t.updatedAt)],
);

/**
 * One row per due time handled (run, queued or skipped) and per run started by
 * hand. A due time has one row at most, whichever core got to it.
 */
export const scheduleRuns = sqliteTable(
  "schedule_runs",
  {
    id: text("id").primaryKey(),
    scheduleId: text("schedule_id")
      .notNull()
      .references(() => schedules.id, { onDelete: "cascade" }),
    /** The due time (for a run started by hand: when it was asked for). */
    dueAt: integer("due_at").notNull(),
    trigger: text("trigger", { enum: ["due", "manual"] }).notNull(),
    status: text("status", { enum: ["queued", "running", "succeeded", "failed", "skipped"] }).notNull(),
    /** Why it was skipped or failed, in words. */
    reason: text("reason"),
    /** Run after a downtime (or a stall) past its due time. */
    caughtUp: integer("caught_up", { mode: "boolean" }).notNull().default(false),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    /** `{ conversationId, turnId }`, `{ jobId }` or `{ taskId }`. */
    link: text("link", { mode: "json" }),
    costUsd: real("cost_usd"),
    /** The core that ran it. */
    instance: text("instance").notNull(),
  },
  (t) => [index("schedule_runs_schedule_idx").on(t.scheduleId, t.dueAt), uniqueIndex("schedule_runs_due_idx").on(t.scheduleId, t.dueAt, t.trigger)],
);
