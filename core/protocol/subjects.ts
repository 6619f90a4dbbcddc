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

export const subjects = {
  jobDispatch: () => "bakerst.jobs.dispatch",
  jobStatus: (jobId: string) => `bakerst.jobs.status.${token("job id", jobId)}`,
  /** Matches every job's status subject. */
  jobStatusAll: () => "bakerst.jobs.status.*",
  /** Request/reply: a worker asks the core what it knows of a job (is a redelivered one already final?). */
  jobLookup: () => "bakerst.jobs.lookup",
  companionTask: (id: string) => `bakerst.companions.${token("companion id", id)}.task`,
  heartbeat: (role: HeartbeatRole, id: string) => `bakerst.heartbeat.${token("role", role)}.${token("heartbeat id", id)}`,
  heartbeatAll: () => "bakerst.heartbeat.>",
} as const;

/** The job id at the end of a status subject, or undefined when the subject is not one. */
export function jobIdOfStatusSubject(subject: string): string | undefined {
  const prefix = "bakerst.jobs.status.";
  if (!subject.startsWith(prefix)) return undefined;
  const id = subject.slice(prefix.length);
  return TOKEN.test(id) ? id : undefined;
}

export const isSubjectToken = (value: string) => TOKEN.test(value);
