import { defineKeys, type KeyValues } from "../config/keys.ts";

/** The jobs area's settings. */
export const jobsKeys = defineKeys({
  JOB_ACK_WAIT_MS: { kind: "int", min: 1000, max: 600_000, default: "30000", help: "how long a job may go unacked by its worker before it is redelivered" },
  JOB_WAIT_TIMEOUT_MS: { kind: "int", min: 0, max: 3_600_000, default: "60000", help: "longest the agent waits for a job's result before answering without it" },
  JOB_DEADLINE_GRACE_MS: { kind: "int", min: 1000, max: 86_400_000, default: "60000", help: "time past a job's timeout before the reaper fails it" },
  WORKER_CONCURRENCY: { kind: "int", min: 1, max: 256, default: "4", help: "jobs the in-process worker runs at once (edge mode)" },
  EDGE_WORKER: { kind: "bool", default: "true", help: "host the worker in-process in edge mode (false leaves jobs queued)" },
  HEARTBEAT_INTERVAL_MS: { kind: "int", min: 100, max: 600_000, default: "30000", help: "how often the brain and the edge worker send heartbeats" },
  COMMAND_ALLOWLIST: {
    kind: "string",
    help: "programs command jobs may run, e.g. uptime,df,date,kubectl:get|describe (default: every program with a grammar; commands: in the config file adds grammars)",
  },
  COMMAND_SANDBOX: {
    kind: "string",
    default: "required",
    oneOf: ["required", "off"],
    help: "required: command jobs run inside the bubblewrap sandbox and are refused where it cannot work; off: run them unsandboxed",
  },
  COMMAND_TIMEOUT_MS: { kind: "int", min: 100, max: 3_600_000, default: "30000", help: "default timeout of a command job" },
  HTTP_JOB_ALLOW: { kind: "list", help: "hosts/CIDRs http jobs may reach; unset allows any but metadata addresses and HTTP_JOB_DENY" },
  HTTP_JOB_DENY: { kind: "list", help: "hosts/CIDRs http jobs may not reach" },
  HTTP_JOB_TIMEOUT_MS: { kind: "int", min: 100, max: 3_600_000, default: "30000", help: "default timeout of an http job" },
});

export type JobsSettings = KeyValues<typeof jobsKeys>;
