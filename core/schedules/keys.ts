import { defineKeys, type KeyValues } from "../config/keys.ts";

/** The schedules area's settings. */
export const schedulesKeys = defineKeys({
  SCHEDULE_TIME_ZONE: { kind: "string", help: "the owner's IANA time zone, e.g. Europe/Berlin: schedules that name none run in it (default: the machine's zone)" },
  SCHEDULE_CATCH_UP_MAX: {
    kind: "int",
    min: 1,
    max: 1000,
    default: "10",
    help: "most missed due times a schedule with catchUp each runs after a downtime (the rest are recorded as skipped)",
  },
  SCHEDULE_GRACE_MS: {
    kind: "int",
    min: 1000,
    max: 86_400_000,
    default: "300000",
    help: "a due time not started within this (the process stalled, the clock jumped, a run is stuck) is reported to the owner",
  },
  SCHEDULE_FAILURE_ALERT: { kind: "int", min: 1, max: 1000, default: "3", help: "failed runs in a row after which the owner is told" },
  SCHEDULE_RUN_TIMEOUT_MS: { kind: "int", min: 1000, max: 86_400_000, default: "1800000", help: "longest a run may take before it is stopped and counted as failed" },
  SCHEDULE_AGENT_MAX: { kind: "int", min: 0, max: 1000, default: "20", help: "schedules the agent may have at once (its own; the owner's do not count)" },
  SCHEDULE_AGENT_MIN_INTERVAL_S: { kind: "int", min: 1, max: 86_400, default: "900", help: "the agent may not create a schedule that fires more often than this" },
  SCHEDULE_HISTORY: { kind: "int", min: 10, max: 100_000, default: "500", help: "runs kept per schedule; older ones are dropped" },
});

export type SchedulesSettings = KeyValues<typeof schedulesKeys>;
