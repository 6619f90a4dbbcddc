import { type Static, Type } from "@sinclair/typebox";
import { AppError } from "../errors.ts";
import { parseJobRequest } from "../jobs/request.ts";
import { check, MAX_PROMPT_CHARS } from "../protocol/index.ts";
import { parseTaskRequest } from "../tasks/request.ts";
import type { Action } from "./store.ts";
import { checkTimeZone, TimingError, When } from "./timing.ts";

/** `POST /api/schedules`, `PUT /api/schedules/:id` and the create_schedule tool: one shape. */
export const ScheduleRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120 }),
    when: When,
    /** IANA zone; default SCHEDULE_TIME_ZONE (the owner's). */
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    kind: Type.Union([Type.Literal("agent"), Type.Literal("job"), Type.Literal("task")]),
    /** Agent kind: the message the agent gets. */
    prompt: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PROMPT_CHARS })),
    /** Agent kind: run in this conversation; default its own. */
    conversationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** Job kind: the body of POST /api/jobs. */
    job: Type.Optional(Type.Object({}, { additionalProperties: true })),
    /** Task kind: the body of POST /api/tasks. */
    task: Type.Optional(Type.Object({}, { additionalProperties: true })),
    overlap: Type.Optional(Type.Union([Type.Literal("skip"), Type.Literal("queue")])),
    catchUp: Type.Optional(Type.Union([Type.Literal("skip"), Type.Literal("once"), Type.Literal("each")])),
    paused: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ScheduleRequest = Static<typeof ScheduleRequest>;

export interface ParsedSchedule {
  name: string;
  when: When;
  timeZone: string;
  action: Action;
  overlap: "skip" | "queue";
  catchUp: "skip" | "once" | "each";
  paused: boolean;
}

export const invalidSchedule = (message: string) => new AppError("invalid_schedule", message);

/** `POST /api/schedules/preview`: a `when` and a zone, and how many due times to show. */
export const PreviewRequest = Type.Object(
  { when: When, timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })) },
  { additionalProperties: false },
);

export function checkShape<T>(schema: Parameters<typeof check>[0], raw: unknown, what: string): T {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalidSchedule(`body: expected a JSON object (${what})`);
  const r = check(schema, raw);
  if (!r.ok) throw invalidSchedule(r.reason.replace(/^\//, "").replaceAll("/", "."));
  return r.value as T;
}

export function zoneOf(zone: string | undefined, fallback: string): string {
  try {
    return checkTimeZone(zone ?? fallback);
  } catch (err) {
    if (err instanceof TimingError) throw invalidSchedule(err.message);
    throw err;
  }
}

/**
 * Checks an untrusted schedule: its shape, its zone, and what it runs (a job
 * or task body goes through the same checks as POST /api/jobs or /api/tasks,
 * so a schedule cannot hold what those would refuse). The timing itself is
 * checked by building it (service.ts).
 */
export function parseScheduleRequest(raw: unknown, defaultZone: string): ParsedSchedule {
  const b = checkShape<ScheduleRequest>(ScheduleRequest, raw, "name, when, kind");
  if (!b.name.trim()) throw invalidSchedule("name: must not be blank");
  const extra = (allowed: string[]) => {
    for (const k of ["prompt", "conversationId", "job", "task"] as const) {
      if (b[k] !== undefined && !allowed.includes(k)) throw invalidSchedule(`${k}: a schedule of kind ${b.kind} does not take "${k}"`);
    }
  };
  let action: Action;
  if (b.kind === "agent") {
    extra(["prompt", "conversationId"]);
    if (!b.prompt?.trim()) throw invalidSchedule('prompt: an agent schedule needs "prompt"');
    action = { kind: "agent", prompt: b.prompt, ...(b.conversationId ? { conversationId: b.conversationId } : {}) };
  } else if (b.kind === "job") {
    extra(["job"]);
    if (!b.job) throw invalidSchedule('job: a job schedule needs "job" (the body of POST /api/jobs)');
    try {
      parseJobRequest(b.job);
    } catch (err) {
      if (err instanceof AppError) throw invalidSchedule(`job.${err.message}`);
      throw err;
    }
    if ("idempotencyKey" in b.job) throw invalidSchedule("job.idempotencyKey: each run is its own job; leave it out");
    action = { kind: "job", job: b.job };
  } else {
    extra(["task"]);
    if (!b.task) throw invalidSchedule('task: a task schedule needs "task" (the body of POST /api/tasks)');
    try {
      parseTaskRequest(b.task);
    } catch (err) {
      if (err instanceof AppError) throw invalidSchedule(`task.${err.message}`);
      throw err;
    }
    action = { kind: "task", task: b.task };
  }
  return {
    name: b.name.trim(),
    when: b.when,
    timeZone: zoneOf(b.timeZone, defaultZone),
    action,
    overlap: b.overlap ?? "skip",
    catchUp: b.catchUp ?? "once",
    paused: b.paused ?? false,
  };
}
