/**
 * Versioned message schemas. Every message has `v`; a consumer checks it with
 * `decode()` and skips (with a logged reason) whatever does not match.
 */
import { type Static, Type } from "@sinclair/typebox";
import { WIRE_ERRORS } from "./errors.ts";
import { BRAIN_TRANSFER_STEPS, HEARTBEAT_ROLES } from "./subjects.ts";

/** Job ids are UUIDs (v7 from the core), usable as a subject token. */
export const JobId = Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$", description: "job id" });

export const MAX_TIMEOUT_MS = 3_600_000;
const TimeoutMs = Type.Integer({ minimum: 100, maximum: MAX_TIMEOUT_MS });

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export const MAX_ARGS = 64;
export const MAX_ARG_CHARS = 4096;
export const MAX_HTTP_BODY_CHARS = 1024 * 1024;
export const MAX_PROMPT_CHARS = 100_000;

export const CommandJob = Type.Object(
  {
    type: Type.Literal("command"),
    argv: Type.Array(Type.String({ minLength: 1, maxLength: MAX_ARG_CHARS }), { minItems: 1, maxItems: MAX_ARGS }),
    timeoutMs: Type.Optional(TimeoutMs),
  },
  { additionalProperties: false },
);

export const HttpJob = Type.Object(
  {
    type: Type.Literal("http"),
    url: Type.String({ minLength: 1, maxLength: 8192 }),
    method: Type.Optional(Type.Union(HTTP_METHODS.map((m) => Type.Literal(m)))),
    headers: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 8192 }), { maxProperties: 64 })),
    body: Type.Optional(Type.String({ maxLength: MAX_HTTP_BODY_CHARS })),
    timeoutMs: Type.Optional(TimeoutMs),
  },
  { additionalProperties: false },
);

export const AgentJob = Type.Object(
  {
    type: Type.Literal("agent"),
    prompt: Type.String({ minLength: 1, maxLength: MAX_PROMPT_CHARS }),
    /** Total tokens (input + output, across rounds) the job may spend. */
    tokenBudget: Type.Optional(Type.Integer({ minimum: 256, maximum: 1_000_000 })),
    timeoutMs: Type.Optional(TimeoutMs),
  },
  { additionalProperties: false },
);

export const JobSpec = Type.Union([CommandJob, HttpJob, AgentJob]);
export type CommandJob = Static<typeof CommandJob>;
export type HttpJob = Static<typeof HttpJob>;
export type AgentJob = Static<typeof AgentJob>;
export type JobSpec = Static<typeof JobSpec>;
export type JobType = JobSpec["type"];
export const JOB_TYPES = ["command", "http", "agent"] as const satisfies readonly JobType[];

/** `bakerst.jobs.dispatch`, v1. */
export const JobDispatchV1 = Type.Object(
  {
    v: Type.Literal(1),
    id: JobId,
    job: JobSpec,
    /** What the worker enforces on the run itself. */
    timeoutMs: TimeoutMs,
    createdAt: Type.Integer({ minimum: 0 }),
    /** The worker persona (WORKER.md) for agent jobs: the core owns personality, workers stay stateless. */
    persona: Type.Optional(Type.String({ maxLength: 64_000 })),
  },
  { additionalProperties: false },
);
export type JobDispatch = Static<typeof JobDispatchV1>;

export const WORKER_STATUSES = ["received", "running", "completed", "failed"] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];
export const FINAL_STATUSES = ["completed", "failed"] as const;
export const isFinal = (s: string): s is "completed" | "failed" => s === "completed" || s === "failed";

export const WireErrorSchema = Type.Object(
  {
    code: Type.Union(Object.keys(WIRE_ERRORS).map((c) => Type.Literal(c))),
    message: Type.String({ maxLength: 8192 }),
  },
  { additionalProperties: false },
);

/** Token usage of an agent job, so the core can record it like the brain's. */
export const UsageSchema = Type.Object({
  model: Type.String({ maxLength: 256 }),
  provider: Type.Union([Type.Literal("anthropic"), Type.Literal("openai")]),
  inputTokens: Type.Integer({ minimum: 0 }),
  outputTokens: Type.Integer({ minimum: 0 }),
  cacheReadTokens: Type.Integer({ minimum: 0 }),
  cacheWriteTokens: Type.Integer({ minimum: 0 }),
  /** True when the worker ran inside the core and the router already recorded it. */
  recorded: Type.Boolean(),
});
export type JobUsage = Static<typeof UsageSchema>;

/** `bakerst.jobs.status.<id>`, v1. */
export const JobStatusV1 = Type.Object(
  {
    v: Type.Literal(1),
    jobId: JobId,
    status: Type.Union(WORKER_STATUSES.map((s) => Type.Literal(s))),
    workerId: Type.String({ minLength: 1, maxLength: 128 }),
    /** Which delivery of the job this worker is running (1 for the first). */
    attempt: Type.Integer({ minimum: 1 }),
    at: Type.Integer({ minimum: 0 }),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(WireErrorSchema),
    usage: Type.Optional(UsageSchema),
  },
  { additionalProperties: false },
);
export type JobStatusMessage = Static<typeof JobStatusV1>;

/** `bakerst.heartbeat.<role>.<id>`, v1. */
export const HeartbeatV1 = Type.Object(
  {
    v: Type.Literal(1),
    role: Type.Union(HEARTBEAT_ROLES.map((r) => Type.Literal(r))),
    id: Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$" }),
    at: Type.Integer({ minimum: 0 }),
    version: Type.String({ maxLength: 64 }),
    /** How often this sender beats; a reader calls it stale after 3 missed. */
    intervalMs: Type.Integer({ minimum: 100 }),
    running: Type.Optional(Type.Integer({ minimum: 0 })),
    capacity: Type.Optional(Type.Integer({ minimum: 0 })),
    host: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type Heartbeat = Static<typeof HeartbeatV1>;

/** `bakerst.jobs.lookup` request, v1. */
export const JobLookupV1 = Type.Object({ v: Type.Literal(1), jobId: JobId }, { additionalProperties: false });
export type JobLookup = Static<typeof JobLookupV1>;

/** `bakerst.jobs.lookup` reply, v1: what the core's job store holds; `status` absent for an unknown job. */
export const JobLookupReplyV1 = Type.Object(
  {
    v: Type.Literal(1),
    jobId: JobId,
    status: Type.Optional(Type.Union(["queued", ...WORKER_STATUSES].map((s) => Type.Literal(s)))),
    /** The highest delivery attempt a worker has reported. */
    attempts: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type JobLookupReply = Static<typeof JobLookupReplyV1>;

const InstanceId = Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$", description: "a core's instance id" });

/**
 * `bakerst.brain.transfer.<step>`, v1: the blue-green handoff between two
 * cores. `ready` (new to old: started, migrated, healthy, listening), `clear`
 * (old to new: no longer taking traffic, its turns finished), `ack` (new to
 * old: it holds the active lease now), `abort` (either way: the handoff is
 * off, the old core carries on). Over NATS in cluster mode; between two
 * processes on one data dir, over their control sockets.
 */
export const BrainTransferV1 = Type.Object(
  {
    v: Type.Literal(1),
    step: Type.Union(BRAIN_TRANSFER_STEPS.map((s) => Type.Literal(s))),
    /** The handoff's id: the new core's instance id, also held in the `brain.handoff` lease. */
    handoff: InstanceId,
    from: InstanceId,
    to: Type.Optional(InstanceId),
    version: Type.String({ maxLength: 64 }),
    at: Type.Integer({ minimum: 0 }),
    /** ready: the host name and port the new core listens on; the same host and port as the old core's means they share it (SO_REUSEPORT). */
    host: Type.Optional(Type.String({ maxLength: 255 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    /** ready: the new core's control socket, when it shares the old core's data dir. */
    socket: Type.Optional(Type.String({ maxLength: 200 })),
    /** clear: turns the old core finished after it stopped taking traffic. */
    turns: Type.Optional(Type.Integer({ minimum: 0 })),
    /** abort: why. */
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type BrainTransfer = Static<typeof BrainTransferV1>;

/** The answer to a transfer step: taken, or refused with the reason. */
export const BrainTransferReplyV1 = Type.Object(
  { v: Type.Literal(1), ok: Type.Boolean(), reason: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
export type BrainTransferReply = Static<typeof BrainTransferReplyV1>;
// ---- tasks ----

/** Task ids are UUIDs (v7 from the core), usable as a subject token and in a Kubernetes name. */
export const TaskId = Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$", description: "task id" });
export const TASK_MODES = ["script", "agent"] as const;
export type TaskMode = (typeof TASK_MODES)[number];
export const MAX_SCRIPT_CHARS = 64 * 1024;
export const MAX_TASK_MOUNTS = 16;
export const MAX_NETWORK_HOSTS = 32;
/** Longest a task may run: a day. */
export const MAX_TASK_TIMEOUT_MS = 86_400_000;
/** Longest text in one progress message; the runner splits longer output. */
export const MAX_PROGRESS_CHARS = 16 * 1024;

const AbsolutePath = Type.String({ pattern: "^/[^\\x00-\\x1f]{0,1023}$", description: "absolute path" });
/** `api.example.com`, `*.debian.org`, `10.0.0.5`, each optionally with `:port` (without: ports 80 and 443). */
export const NetworkHost = Type.String({ pattern: "^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?(:[0-9]{1,5})?$|^\\[[0-9A-Fa-f:.]{2,45}\\](:[0-9]{1,5})?$", maxLength: 262 });

/** A host path the task sees at `target` (default the same path); read-only unless `writable`. */
export const TaskMountSpec = Type.Object(
  {
    source: AbsolutePath,
    target: AbsolutePath,
    writable: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type TaskMountSpec = Static<typeof TaskMountSpec>;

/** No network (a private loopback only), or only these hosts through the egress proxy. */
export const TaskNetworkSpec = Type.Union([
  Type.Literal("none"),
  Type.Object({ allow: Type.Array(NetworkHost, { minItems: 1, maxItems: MAX_NETWORK_HOSTS }) }, { additionalProperties: false }),
]);
export type TaskNetworkSpec = Static<typeof TaskNetworkSpec>;

/**
 * What the runner (`bakerst-satellite --mode task`) is given: one task,
 * already checked and approved by the core. v1.
 */
export const TaskRunSpecV1 = Type.Object(
  {
    v: Type.Literal(1),
    id: TaskId,
    mode: Type.Union(TASK_MODES.map((m) => Type.Literal(m))),
    script: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_SCRIPT_CHARS })),
    goal: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PROMPT_CHARS })),
    mounts: Type.Array(TaskMountSpec, { maxItems: MAX_TASK_MOUNTS }),
    network: TaskNetworkSpec,
    timeoutMs: Type.Integer({ minimum: 100, maximum: MAX_TASK_TIMEOUT_MS }),
    /** Sent back with every report: the core drops reports for this task that do not carry it. */
    reportToken: Type.String({ pattern: "^[A-Za-z0-9_-]{16,128}$" }),
    /** Tools the owner set up for tasks that ask for them: host directories, bound read-only and put first on PATH (a Kubernetes toolbox is an image instead). */
    toolbox: Type.Optional(
      Type.Object({ name: Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$" }), paths: Type.Array(AbsolutePath, { maxItems: 16 }) }, { additionalProperties: false }),
    ),
    /** Agent mode: the worker persona (WORKER.md) and the tokens the loop may spend. */
    persona: Type.Optional(Type.String({ maxLength: 64_000 })),
    tokenBudget: Type.Optional(Type.Integer({ minimum: 256, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type TaskRunSpec = Static<typeof TaskRunSpecV1>;

export const PROGRESS_KINDS = ["log", "tool", "thinking", "milestone"] as const;
export type ProgressKind = (typeof PROGRESS_KINDS)[number];

/** What every report of a task carries, progress and result alike. */
const ReportEnvelope = {
  v: Type.Literal(1),
  taskId: TaskId,
  /** The task's report token (TaskRunSpec.reportToken). */
  token: Type.String({ maxLength: 128 }),
  /** 1, 2, 3... per task and runner: the core keeps each once, whichever way it arrived (NATS or the log). */
  seq: Type.Integer({ minimum: 1 }),
  at: Type.Integer({ minimum: 0 }),
};

/** `bakerst.tasks.<id>.progress`, v1: output lines, tool calls, the model's thinking, milestones. */
export const TaskProgressV1 = Type.Object(
  {
    ...ReportEnvelope,
    type: Type.Literal("progress"),
    kind: Type.Union(PROGRESS_KINDS.map((k) => Type.Literal(k))),
    text: Type.String({ maxLength: MAX_PROGRESS_CHARS }),
    /** log: which output stream. */
    stream: Type.Optional(Type.Union([Type.Literal("stdout"), Type.Literal("stderr")])),
    /** tool: which tool, and whether it worked. */
    name: Type.Optional(Type.String({ maxLength: 64 })),
    ok: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type TaskProgress = Static<typeof TaskProgressV1>;

export const TASK_END_STATUSES = ["succeeded", "failed", "cancelled", "timed_out"] as const;
export type TaskEndStatus = (typeof TASK_END_STATUSES)[number];

/** `bakerst.tasks.<id>.result`, v1: how the task ended. */
export const TaskResultV1 = Type.Object(
  {
    ...ReportEnvelope,
    type: Type.Literal("result"),
    status: Type.Union(TASK_END_STATUSES.map((s) => Type.Literal(s))),
    /** The script's exit code; null when it was killed or never started. */
    exitCode: Type.Union([Type.Integer(), Type.Null()]),
    /** Agent mode: the answer. */
    answer: Type.Optional(Type.String({ maxLength: MAX_PROGRESS_CHARS * 4 })),
    error: Type.Optional(WireErrorSchema),
    usage: Type.Optional(UsageSchema),
  },
  { additionalProperties: false },
);
export type TaskResult = Static<typeof TaskResultV1>;

/** What the runner writes on stdout, one JSON object a line (the launcher's and the pod log's reading of it). */
export const TaskReportV1 = Type.Union([TaskProgressV1, TaskResultV1]);
export type TaskReport = Static<typeof TaskReportV1>;
