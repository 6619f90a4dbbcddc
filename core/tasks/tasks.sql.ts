import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { TaskTarget } from "../protocol/launcher.ts";

/** One row per task; its status only moves forward (queued → starting → running → an end). */
export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    mode: text("mode", { enum: ["script", "agent"] }).notNull(),
    /** `local`, `kubernetes` or a companion id. */
    target: text("target").$type<TaskTarget>().notNull(),
    status: text("status", { enum: ["queued", "starting", "running", "succeeded", "failed", "cancelled", "timed_out"] }).notNull(),
    /** What was asked: script or goal, mounts (resolved), network, toolbox, token budget. */
    request: text("request", { mode: "json" }).notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    /** What needed the owner's word and whether it was given; null when nothing did. */
    approval: text("approval", { mode: "json" }),
    /** The runner sends it back with each report; reports without it are dropped. */
    reportToken: text("report_token").notNull(),
    exitCode: integer("exit_code"),
    error: text("error", { mode: "json" }),
    /** Agent mode: the answer. */
    answer: text("answer"),
    /** The last few KiB of output, for lists, the agent and a quick look. */
    outputTail: text("output_tail").notNull().default(""),
    outputBytes: integer("output_bytes").notNull().default(0),
    usage: text("usage", { mode: "json" }),
    /** Who asked: web, api, cli, or the origin of the turn whose tool did. */
    origin: text("origin"),
    actor: text("actor").notNull(),
    conversationId: text("conversation_id"),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("tasks_created_idx").on(t.createdAt, t.id), index("tasks_status_idx").on(t.status, t.createdAt)],
);

/** A task's events in order (output, tool calls, statuses, the result): what GET /api/tasks/:id/events replays from any id. */
export const taskEvents = sqliteTable(
  "task_events",
  {
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    /** 1, 2, 3... per task: the SSE event id. */
    id: integer("id").notNull(),
    at: integer("at").notNull(),
    event: text("event", { enum: ["progress", "status", "result"] }).notNull(),
    data: text("data", { mode: "json" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.id] })],
);
