/**
 * The durable queues and buckets the bus carries, as data. On NATS each is a
 * JetStream stream with its consumers; on the in-process bus, rows in SQLite.
 * Names keep the seeds' spelling.
 */
import { COMPANION_TASKS_STREAM, companionTaskConsumer, JOBS_CONSUMER, JOBS_STREAM, STATUS_CONSUMER, STATUS_STREAM, subjects } from "./subjects.ts";

export interface QueueDef {
  /** Its name inside bakerst (the in-process bus keys its rows by it). */
  name: string;
  stream: string;
  /** Subjects the stream holds; a publish names one of them (default the first). */
  subjects: readonly string[];
  /** The durable consumer every reader of the queue shares. */
  consumer: string;
  /**
   * `workqueue`: an acked message is gone. `limits`: messages stay (up to
   * `maxAgeMs`, `maxPerSubject`) as history; the durable consumer still sees each once.
   */
  retention: "workqueue" | "limits";
  maxAgeMs?: number;
  maxPerSubject?: number;
  /** A publish repeating a dedupe id within this window is dropped. */
  duplicateWindowMs?: number;
}

export interface KeyedQueueDef {
  name: string;
  stream: string;
  /** The subject of one key's messages. */
  subject(key: string): string;
  /** Matches every key's subject. */
  all: string;
  /** The durable consumer of one key. */
  consumer(key: string): string;
}

export interface KvDef {
  bucket: string;
  /** Entries older than this are gone (a lease left by a crashed core expires). */
  ttlMs: number;
}

const DAY_MS = 86_400_000;

export const QUEUES = {
  /** `bakerst.jobs.dispatch`: jobs for any worker, each to one. */
  jobs: {
    name: "jobs",
    stream: JOBS_STREAM,
    subjects: [subjects.jobDispatch()],
    consumer: JOBS_CONSUMER,
    retention: "workqueue",
    duplicateWindowMs: 120_000,
  },
  /** `bakerst.jobs.status.<jobId>`: what workers report, kept a week so a restarted core catches up. */
  jobStatus: {
    name: "job-status",
    stream: STATUS_STREAM,
    subjects: [subjects.jobStatusAll()],
    consumer: STATUS_CONSUMER,
    retention: "limits",
    maxAgeMs: 7 * DAY_MS,
    maxPerSubject: 32,
  },
} as const satisfies Record<string, QueueDef>;

export const KEYED_QUEUES = {
  /** `bakerst.companions.<id>.task`: tasks for one companion, waiting while it is offline. */
  companionTasks: {
    name: "companion-tasks",
    stream: COMPANION_TASKS_STREAM,
    subject: (id: string) => subjects.companionTask(id),
    all: subjects.companionTaskAll(),
    consumer: companionTaskConsumer,
  },
} as const satisfies Record<string, KeyedQueueDef>;

export const KV_BUCKETS = {
  /** Leases: which core runs a due schedule, which one holds a handoff. */
  leases: { bucket: "bakerst_leases", ttlMs: DAY_MS },
} as const satisfies Record<string, KvDef>;

/** Header carrying when a keyed message stops being worth delivering (ms since epoch). */
export const EXPIRES_HEADER = "bakerst-expires-at";
