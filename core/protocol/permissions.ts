/**
 * Who may do what on NATS: one identity per role, and for each the exact
 * subjects it may publish to and subscribe on. `bakerst nats init` writes
 * this table into the nats-server config, so the server refuses the rest.
 * Everything here is built from the names in subjects.ts.
 */
import { KV_BUCKETS } from "./queues.ts";
import {
  COMPANION_TASKS_STREAM,
  companionTaskConsumer,
  InvalidSubjectTokenError,
  isSubjectToken,
  JOBS_CONSUMER,
  JOBS_STREAM,
  jsApi,
  STATUS_CONSUMER,
  STATUS_STREAM,
  subjects,
} from "./subjects.ts";

export const NATS_ROLES = ["core", "worker", "companion", "extension", "task"] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/** Companions and extensions have one identity each; core, worker and task one for all their processes. */
export type NatsIdentity = { role: "core" } | { role: "worker" } | { role: "task" } | { role: "companion"; id: string } | { role: "extension"; id: string };

/** The roles with one shared identity (no id in their name). */
const shared = (identity: NatsIdentity): identity is { role: "core" | "worker" | "task" } => identity.role === "core" || identity.role === "worker" || identity.role === "task";

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
  /** May answer a request it received, once, on the request's own reply subject. */
  allowResponses: boolean;
}

interface RoleEntry {
  doc: string;
  permissions(id: string): NatsPermissions;
}

/**
 * Replies come back on `<prefix>.>`. Each identity has its own prefix and may
 * subscribe only under it, so no one can read another identity's replies
 * (JetStream publish acks, pulled messages, request answers).
 */
export function inboxPrefix(identity: NatsIdentity): string {
  return shared(identity) ? `_INBOX_${identity.role}` : `_INBOX_${identity.role}_${checkId(identity)}`;
}

const inbox = (identity: NatsIdentity) => `${inboxPrefix(identity)}.>`;

function checkId(identity: { role: string; id: string }): string {
  if (!isSubjectToken(identity.id)) throw new InvalidSubjectTokenError(`${identity.role} name`, identity.id);
  return identity.id;
}

/** A pull consumer's subjects for the one that reads it: info, next, acks. */
const pullFrom = (stream: string, consumer: string) => [jsApi.consumerInfo(stream, consumer), jsApi.consumerNext(stream, consumer), jsApi.ack(stream, consumer)];

export const ROLE_PERMISSIONS: Record<NatsRole, RoleEntry> = {
  core: {
    doc: "the brain: administers streams and consumers, dispatches jobs, tracks their statuses, answers lookups, hears every heartbeat, announcement, task progress and result, and hands over to a new core",
    permissions: () => ({
      publish: [
        jsApi.all(),
        jsApi.ack(STATUS_STREAM, STATUS_CONSUMER),
        subjects.jobDispatch(),
        subjects.heartbeatRoleAll("brain"),
        subjects.companionTaskAll(),
        subjects.brainTransferAll(),
        // The leases (which core is active, which one holds a handoff): the KV API writes by publishing to the key.
        jsApi.kv(KV_BUCKETS.leases.bucket),
      ],
      subscribe: [
        inbox({ role: "core" }),
        subjects.jobLookup(),
        subjects.heartbeatAll(),
        subjects.companionAnnounce(),
        subjects.companionHeartbeatAll(),
        subjects.taskProgressAll(),
        subjects.taskResultAll(),
        subjects.extensionAnnounce(),
        subjects.extensionHeartbeatAll(),
        subjects.brainTransferAll(),
      ],
      allowResponses: true,
    }),
  },
  worker: {
    doc: "every job worker: pulls jobs from the shared consumer, publishes their statuses and its heartbeat, asks the core about a redelivered job; cannot dispatch, read the streams' history, create or change streams and consumers, or beat as another role",
    permissions: () => ({
      publish: [jsApi.accountInfo(), ...pullFrom(JOBS_STREAM, JOBS_CONSUMER), subjects.jobStatusAll(), subjects.jobLookup(), subjects.heartbeatRoleAll("worker")],
      subscribe: [inbox({ role: "worker" })],
      allowResponses: false,
    }),
  },
  companion: {
    doc: "one companion (a NAS or VM outside the cluster): announces itself, beats under its own id, pulls only its own tasks and reports their progress and results",
    permissions: (id) => ({
      publish: [
        jsApi.accountInfo(),
        ...pullFrom(COMPANION_TASKS_STREAM, companionTaskConsumer(id)),
        subjects.companionAnnounce(),
        subjects.companionHeartbeat(id),
        subjects.heartbeat("companion", id),
        // Task ids are not known ahead: the core accepts a task's reports only from the companion it sent the task to.
        subjects.taskProgressAll(),
        subjects.taskResultAll(),
      ],
      subscribe: [inbox({ role: "companion", id })],
      allowResponses: false,
    }),
  },
  task: {
    doc: "every task runner (a task pod): reports progress and results of tasks; the core keeps a task's reports only when they carry that task's own token, so one runner cannot speak for another task. Hears nothing",
    permissions: () => ({
      // Task ids are not known ahead; the token in each report is what ties it to its task.
      publish: [subjects.taskProgressAll(), subjects.taskResultAll()],
      subscribe: [inbox({ role: "task" })],
      allowResponses: false,
    }),
  },
  extension: {
    doc: "one extension (an MCP server over HTTP): announces its tools and beats under its own id; hears nothing of jobs or tasks",
    permissions: (id) => ({
      publish: [subjects.extensionAnnounce(), subjects.extensionHeartbeat(id), subjects.heartbeat("extension", id)],
      subscribe: [inbox({ role: "extension", id })],
      allowResponses: false,
    }),
  },
};

export function permissionsFor(identity: NatsIdentity): NatsPermissions {
  const id = identity.role === "companion" || identity.role === "extension" ? checkId(identity) : "";
  return ROLE_PERMISSIONS[identity.role].permissions(id);
}

/** `core`, `worker`, `task`, `companion-<id>`, `extension-<id>`: file names and log lines. */
export function identityName(identity: NatsIdentity): string {
  return shared(identity) ? identity.role : `${identity.role}-${checkId(identity)}`;
}
