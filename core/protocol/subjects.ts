/**
 * Every NATS subject, stream and consumer name bakerst uses, built in one
 * place. Names keep the seeds' spelling so both systems read alike.
 */

/** Stream holding dispatched jobs: work-queue retention, file storage. */
export const JOBS_STREAM = "BAKERST_JOBS";
/** Durable pull consumer every worker shares; each job goes to one of them. */
export const JOBS_CONSUMER = "JOB_WORKERS";
/** Stream keeping job statuses so a restarted core catches up from where it stopped. */
export const STATUS_STREAM = "BAKERST_JOB_STATUS";
/** Durable consumer the core's status tracker reads. */
export const STATUS_CONSUMER = "JOB_STATUS_TRACKER";
/** Stream holding tasks sent to companions, so a companion that was away gets them when it returns. */
export const COMPANION_TASKS_STREAM = "BAKERST_COMPANION_TASKS";

export const HEARTBEAT_ROLES = ["brain", "worker", "companion", "extension"] as const;
export type HeartbeatRole = (typeof HEARTBEAT_ROLES)[number];

/** A subject token: no dots, spaces, wildcards or control characters. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export class InvalidSubjectTokenError extends Error {
  override name = "InvalidSubjectTokenError";
  constructor(what: string, value: string) {
    super(`${what} ${JSON.stringify(value)} cannot be used in a NATS subject: use letters, digits, "_" or "-" (1-128)`);
  }
}

function token(what: string, value: string): string {
  if (!TOKEN.test(value)) throw new InvalidSubjectTokenError(what, value);
  return value;
}

/** The durable consumer one companion reads its tasks from (one per companion). */
export const companionTaskConsumer = (companionId: string) => `COMPANION_${token("companion id", companionId)}`;

export const BRAIN_TRANSFER_STEPS = ["ready", "clear", "ack", "abort"] as const;
export type BrainTransferStep = (typeof BRAIN_TRANSFER_STEPS)[number];

/** The `*All` builders are wildcards, for subscriptions and permissions. */
export const subjects = {
  jobDispatch: () => "bakerst.jobs.dispatch",
  jobStatus: (jobId: string) => `bakerst.jobs.status.${token("job id", jobId)}`,
  /** Matches every job's status subject. */
  jobStatusAll: () => "bakerst.jobs.status.*",
  /** Request/reply: a worker asks the core whether a redelivered job already has a final status. */
  jobLookup: () => "bakerst.jobs.lookup",
  heartbeat: (role: HeartbeatRole, id: string) => `bakerst.heartbeat.${token("role", role)}.${token("heartbeat id", id)}`,
  /** Every heartbeat of one role. */
  heartbeatRoleAll: (role: HeartbeatRole) => `bakerst.heartbeat.${token("role", role)}.*`,
  heartbeatAll: () => "bakerst.heartbeat.>",
  companionAnnounce: () => "bakerst.companions.announce",
  companionHeartbeat: (companionId: string) => `bakerst.companions.${token("companion id", companionId)}.heartbeat`,
  companionHeartbeatAll: () => "bakerst.companions.*.heartbeat",
  /** Tasks for one companion; kept in COMPANION_TASKS_STREAM until it takes them. */
  companionTask: (companionId: string) => `bakerst.companions.${token("companion id", companionId)}.task`,
  companionTaskAll: () => "bakerst.companions.*.task",
  taskProgress: (taskId: string) => `bakerst.tasks.${token("task id", taskId)}.progress`,
  taskProgressAll: () => "bakerst.tasks.*.progress",
  taskResult: (taskId: string) => `bakerst.tasks.${token("task id", taskId)}.result`,
  taskResultAll: () => "bakerst.tasks.*.result",
  extensionAnnounce: () => "bakerst.extensions.announce",
  extensionHeartbeat: (extensionId: string) => `bakerst.extensions.${token("extension id", extensionId)}.heartbeat`,
  extensionHeartbeatAll: () => "bakerst.extensions.*.heartbeat",
  /** Blue-green handoff between an old and a new core. */
  brainTransfer: (step: BrainTransferStep) => `bakerst.brain.transfer.${token("transfer step", step)}`,
  brainTransferAll: () => "bakerst.brain.transfer.*",
} as const;

/**
 * The JetStream API subjects a client publishes to, for permissions. The
 * client library builds them itself; these name the same ones.
 */
export const jsApi = {
  /** Every JetStream API call: whoever holds it administers streams and consumers. */
  all: () => "$JS.API.>",
  /** Account info: the client asks it when it opens a JetStream manager. */
  accountInfo: () => "$JS.API.INFO",
  consumerInfo: (stream: string, consumer: string) => `$JS.API.CONSUMER.INFO.${token("stream", stream)}.${token("consumer", consumer)}`,
  /** A pull: ask a durable consumer for the next messages. */
  consumerNext: (stream: string, consumer: string) => `$JS.API.CONSUMER.MSG.NEXT.${token("stream", stream)}.${token("consumer", consumer)}`,
  /** Acks, naks and working() of messages a consumer delivered. */
  ack: (stream: string, consumer: string) => `$JS.ACK.${token("stream", stream)}.${token("consumer", consumer)}.>`,
  /** Writes to a KV bucket's keys (put, create, compare-and-set, delete). */
  kv: (bucket: string) => `$KV.${token("bucket", bucket)}.>`,
} as const;

/** The job id at the end of a status subject, or undefined when the subject is not one. */
export function jobIdOfStatusSubject(subject: string): string | undefined {
  const prefix = "bakerst.jobs.status.";
  if (!subject.startsWith(prefix)) return undefined;
  const id = subject.slice(prefix.length);
  return TOKEN.test(id) ? id : undefined;
}

export const isSubjectToken = (value: string) => TOKEN.test(value);
