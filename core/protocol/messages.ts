/**
 * Versioned message schemas. Every message has `v`; a consumer checks it with
 * `decode()` and skips (with a logged reason) whatever does not match.
 */
import { Type, type Static } from "@sinclair/typebox";
import { BRAIN_TRANSFER_STEPS, HEARTBEAT_ROLES } from "./subjects.ts";
import { WIRE_ERRORS } from "./errors.ts";

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
